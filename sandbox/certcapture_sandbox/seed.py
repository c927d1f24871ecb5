"""Reference data every sandbox starts with: exposure zones and exemption reasons.

Ids are fixed (zones numbered alphabetically by name, reasons in list order)
so tests, demo data and a persisted state file can refer to them across
restarts and across machines.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExposureZone:
    """A region a certificate can apply to; the sandbox knows US states and DC."""

    id: int
    name: str
    region: str
    country: str = "US"

    @property
    def tag(self) -> str:
        return f"EZ_{self.country}_{self.region}"

    @property
    def description(self) -> str:
        return f"{self.name}, United States"


@dataclass(frozen=True)
class ExemptionReason:
    """Why a customer is exempt, as CertCapture names it."""

    id: int
    name: str


_STATES = (
    ("Alabama", "AL"),
    ("Alaska", "AK"),
    ("Arizona", "AZ"),
    ("Arkansas", "AR"),
    ("California", "CA"),
    ("Colorado", "CO"),
    ("Connecticut", "CT"),
    ("Delaware", "DE"),
    ("District of Columbia", "DC"),
    ("Florida", "FL"),
    ("Georgia", "GA"),
    ("Hawaii", "HI"),
    ("Idaho", "ID"),
    ("Illinois", "IL"),
    ("Indiana", "IN"),
    ("Iowa", "IA"),
    ("Kansas", "KS"),
    ("Kentucky", "KY"),
    ("Louisiana", "LA"),
    ("Maine", "ME"),
    ("Maryland", "MD"),
    ("Massachusetts", "MA"),
    ("Michigan", "MI"),
    ("Minnesota", "MN"),
    ("Mississippi", "MS"),
    ("Missouri", "MO"),
    ("Montana", "MT"),
    ("Nebraska", "NE"),
    ("Nevada", "NV"),
    ("New Hampshire", "NH"),
    ("New Jersey", "NJ"),
    ("New Mexico", "NM"),
    ("New York", "NY"),
    ("North Carolina", "NC"),
    ("North Dakota", "ND"),
    ("Ohio", "OH"),
    ("Oklahoma", "OK"),
    ("Oregon", "OR"),
    ("Pennsylvania", "PA"),
    ("Rhode Island", "RI"),
    ("South Carolina", "SC"),
    ("South Dakota", "SD"),
    ("Tennessee", "TN"),
    ("Texas", "TX"),
    ("Utah", "UT"),
    ("Vermont", "VT"),
    ("Virginia", "VA"),
    ("Washington", "WA"),
    ("West Virginia", "WV"),
    ("Wisconsin", "WI"),
    ("Wyoming", "WY"),
)

_REASONS = (
    "RESALE",
    "CHARITABLE/EXEMPT ORG",
    "GOVERNMENT",
    "AGRICULTURE",
    "INDUSTRIAL PROD/MANUFACTURERS",
    "DIRECT PAY",
    "MEDICAL",
    "EDUCATIONAL ORG",
    "RELIGIOUS ORG",
    "FEDERAL GOV",
    "STATE GOV",
    "LOCAL GOV",
    "TRIBAL GOVERNMENT",
    "FOREIGN DIPLOMAT",
    "COMMERCIAL AQUACULTURE",
    "COMMERCIAL FISHERY",
    "NON-RESIDENT",
    "DIRECT MAIL",
    "OTHER/CUSTOM",
)

EXPOSURE_ZONES: tuple[ExposureZone, ...] = tuple(
    ExposureZone(id=index, name=name, region=region)
    for index, (name, region) in enumerate(_STATES, start=1)
)
EXEMPTION_REASONS: tuple[ExemptionReason, ...] = tuple(
    ExemptionReason(id=index, name=name) for index, name in enumerate(_REASONS, start=1)
)

ZONES_BY_ID = {zone.id: zone for zone in EXPOSURE_ZONES}
ZONES_BY_REGION = {zone.region: zone for zone in EXPOSURE_ZONES}
ZONES_BY_NAME = {zone.name: zone for zone in EXPOSURE_ZONES}
REASONS_BY_ID = {reason.id: reason for reason in EXEMPTION_REASONS}
REASONS_BY_NAME = {reason.name: reason for reason in EXEMPTION_REASONS}
