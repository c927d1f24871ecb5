"""Typed records of the AvaTax exemption API, read from and written to its JSON.

Each model is a frozen dataclass whose fields declare their camelCase API name
and how to read them, so parsing and serialising is written once (``_ApiModel``)
instead of once per model. Reading is tolerant of missing optional keys (older
or newer API versions omit some) and unknown keys, but strict on types: a value
of the wrong type means the answer is not what the contract says, and acting on
it (say, an id that is a string) would do more harm than a clear ProtocolError.

Dates (``signedDate``...) become ``datetime.date``; the API sends either
``YYYY-MM-DD`` or a date-time at midnight, and the calendar date as written is
kept. Date-times become timezone-aware ``datetime``; one without an offset is
taken as UTC, which is what AvaTax sends. Enum values stay the API's strings
(the known ones are constants in ``const``), so a value added later still reads.
"""
# RUF009 flags calls in dataclass defaults; _api_field returns a dataclasses.Field
# exactly as field() does, so the check does not apply to this module.
# ruff: noqa: RUF009

import base64
import re
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta, timezone

from . import const
from .errors import ProtocolError

# --- value readers: (raw JSON value, where) -> Python value, or ProtocolError --


def _type_error(where, value, expected):
    return ProtocolError(
        f"Avalara sent an unexpected answer: {where} is {type(value).__name__}, "
        f"expected {expected}."
    )


def _read_str(value, where):
    if not isinstance(value, str):
        raise _type_error(where, value, "a string")
    return value


def _read_int(value, where):
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(where, value, "an integer")
    return value


def _read_bool(value, where):
    if not isinstance(value, bool):
        raise _type_error(where, value, "true or false")
    return value


def _read_number(value, where):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type_error(where, value, "a number")
    return float(value)


#: An ISO 8601 date or date-time as a .NET server writes it (Json.NET's default):
#: ``YYYY-MM-DD``, then optionally ``THH:MM[:SS[.fraction]]`` with 0 to 7 fraction
#: digits (more are accepted and cut), then ``Z``, an offset, or nothing.
_ISO_DATETIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?"
    r"(?P<zone>[Zz]|(?P<sign>[+-])(?P<zone_hours>\d{2})(?::?(?P<zone_minutes>\d{2}))?)?)?"
)


def _read_iso(value, where, expected):
    """(aware-or-naive datetime, the calendar date as written) of an ISO text.

    Written by hand rather than with ``datetime.fromisoformat``: on Python 3.10
    that refuses a trailing ``Z`` and any fraction but 3 or 6 digits, which is
    what AvaTax sends (7 digits: 100 ns ticks). The 7th digit is cut, as a
    Python datetime holds microseconds.
    """
    if not isinstance(value, str):
        raise _type_error(where, value, expected)
    match = _ISO_DATETIME.fullmatch(value.strip())
    try:
        if match is None:
            raise ValueError(value)
        day = date(int(match["year"]), int(match["month"]), int(match["day"]))
        zone = None
        if match["sign"]:
            offset = timedelta(
                hours=int(match["zone_hours"]), minutes=int(match["zone_minutes"] or 0)
            )
            zone = timezone(-offset if match["sign"] == "-" else offset)
        elif match["zone"]:
            zone = timezone.utc
        moment = datetime(
            day.year,
            day.month,
            day.day,
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
            int((match["fraction"] or "0")[:6].ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError:
        raise ProtocolError(
            f"Avalara sent an unexpected answer: {where} is {value!r}, expected {expected}."
        ) from None
    return moment, day


def parse_date(value, where="date"):
    """Read ``YYYY-MM-DD`` or an ISO date-time (at midnight) as a ``date``: the
    calendar date as written, never shifted to another time zone."""
    return _read_iso(value, where, "an ISO date")[1]


def parse_datetime(value, where="date-time"):
    """Read an ISO 8601 date-time as an aware datetime: ``Z``, an offset, or none
    (taken as UTC); 0 to 7 fraction digits (the 7th is cut to microseconds)."""
    moment = _read_iso(value, where, "an ISO date-time")[0]
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def format_datetime(moment):
    """Write a datetime as the API's UTC form ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``.

    A naive datetime is taken as UTC (Odoo stores UTC without an offset).
    Fractions of a second are kept when present: a ``gt`` filter cut to the
    second would return the same records again and again when more than a
    page of them changed within one second.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_list(read_item):
    def read(value, where):
        if not isinstance(value, list):
            raise _type_error(where, value, "a list")
        return tuple(read_item(item, f"{where}[{index}]") for index, item in enumerate(value))

    return read


def _read_po_number(value, where):
    """A PoNumberModel's purchase order number (its id is of no use here)."""
    if not isinstance(value, dict):
        raise _type_error(where, value, "a PoNumberModel object")
    return _read_str(value.get("poNumber"), f"{where}.poNumber")


def _read_object(value, where):
    if not isinstance(value, dict):
        raise _type_error(where, value, "an object")
    return value


def _read_model(model):
    def read(value, where):
        return model.from_api(value, where=where)

    return read


# --- field declaration and the generic reader/writer ---------------------------


_SAME_AS_DEFAULT = object()


def _api_field(
    api_name, read, *, required=False, writable=False, default=None, absent=_SAME_AS_DEFAULT
):
    """A dataclass field that knows its API name, its reader and whether it is sent.

    ``absent`` is the value read when the API leaves the key out or sends null, when
    it differs from ``default`` (what a caller building the model gets)."""
    metadata = {"api_name": api_name, "read": read, "required": required, "writable": writable}
    if absent is not _SAME_AS_DEFAULT:
        metadata["absent"] = absent
    if required:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


class _ApiModel:
    """Reads a model from its API JSON object, as declared by its fields."""

    @classmethod
    def from_api(cls, data, *, where=None):
        """Build the model from the API's JSON object.

        Missing or null optional keys take the field's default, unknown keys are
        ignored; a missing required key or a value of the wrong type raises
        ProtocolError naming the field.
        """
        where = where or cls.__name__
        if not isinstance(data, dict):
            raise _type_error(where, data, f"a {cls.__name__} object")
        values = {}
        for model_field in fields(cls):
            meta = model_field.metadata
            value = data.get(meta["api_name"])
            if value is None:
                if meta["required"]:
                    raise ProtocolError(
                        f"Avalara sent an unexpected answer: {where}.{meta['api_name']} "
                        "is missing."
                    )
                if "absent" in meta:
                    values[model_field.name] = meta["absent"]
                continue
            values[model_field.name] = meta["read"](value, f"{where}.{meta['api_name']}")
        return cls(**values)


class _WritableModel(_ApiModel):
    """A model the client also sends: ``to_api`` writes every writable field."""

    def to_api(self, *, omit_none=False):
        """The API JSON object: every writable field, read-only ones left out.

        A field left None is sent as null (a PUT replaces the whole record, so null
        clears it), or left out with ``omit_none`` (what a create sends, as the .NET
        SDK leaves nulls out).
        """
        body = {}
        for model_field in fields(self):
            if model_field.metadata["writable"]:
                value = getattr(self, model_field.name)
                if value is None and omit_none:
                    continue
                body[model_field.metadata["api_name"]] = (
                    list(value) if isinstance(value, tuple) else value
                )
        return body


# --- the models ------------------------------------------------------------------


@dataclass(frozen=True)
class PingResult(_ApiModel):
    """Answer of ``utilities/ping``: whether the credentials were accepted."""

    version: str | None = _api_field("version", _read_str)
    authenticated: bool = _api_field("authenticated", _read_bool, default=False)
    authentication_type: str | None = _api_field("authenticationType", _read_str)
    authenticated_account_id: int | None = _api_field("authenticatedAccountId", _read_int)


@dataclass(frozen=True)
class Company(_ApiModel):
    """An AvaTax company: its numeric ``id`` is what the ``/companies/{id}`` paths need."""

    id: int = _api_field("id", _read_int, required=True)
    company_code: str = _api_field("companyCode", _read_str, required=True)
    name: str | None = _api_field("name", _read_str)


@dataclass(frozen=True)
class SetupStatus(_ApiModel):
    """Whether exemption certificate management is provisioned for the company."""

    status: str = _api_field("status", _read_str, required=True)
    account_id: int | None = _api_field("accountId", _read_int)
    company_id: int | None = _api_field("companyId", _read_int)

    @property
    def is_provisioned(self):
        return self.status == const.SETUP_PROVISIONED


def _read_customers(value, where):
    """A list of CustomerModel (``shipTos``, ``billTos``): read when Customer exists."""
    return _read_list(_read_model(Customer))(value, where)


def _is_blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _same_word(value, expected):
    """An enum value the API sent, compared without case or surrounding spaces."""
    return isinstance(value, str) and value.strip().lower() == expected.lower()


@dataclass(frozen=True)
class Customer(_WritableModel):
    """A CertCapture customer, keyed by its case-sensitive ``customer_code``.

    ``to_api()`` sends the full record because PUT replaces it: a field left None
    is cleared on Avalara's side; ``to_api(omit_none=True)`` is the create's body.
    ``company_id`` is sent (the API requires it; ``EcmClient`` fills it in when left
    None). A customer is a bill-to or a ship-to, never both (the API refuses both
    with ``CustomerCantBeBothShipToAndBillTo``): built here, it is a bill-to
    (``is_bill=True``) and ``is_ship`` is left out; read from the API, a flag the
    API did not send is None. ``missing_fields()`` names what the API requires and
    is not set.

    Certificates list customers in part (at least ``id`` and ``customerCode``),
    hence every field but the code is optional. ``active_certificates`` holds the
    raw entries and is None unless asked for (``include_active_certificates=True``);
    ``ship_tos`` and ``bill_tos`` (the linked customers) likewise
    (``include_ship_tos=True``).
    """

    customer_code: str = _api_field("customerCode", _read_str, required=True, writable=True)
    name: str | None = _api_field("name", _read_str, writable=True)
    line1: str | None = _api_field("line1", _read_str, writable=True)
    line2: str | None = _api_field("line2", _read_str, writable=True)
    city: str | None = _api_field("city", _read_str, writable=True)
    postal_code: str | None = _api_field("postalCode", _read_str, writable=True)
    region: str | None = _api_field("region", _read_str, writable=True)
    country: str | None = _api_field("country", _read_str, writable=True)
    email_address: str | None = _api_field("emailAddress", _read_str, writable=True)
    phone_number: str | None = _api_field("phoneNumber", _read_str, writable=True)
    fax_number: str | None = _api_field("faxNumber", _read_str, writable=True)
    contact_name: str | None = _api_field("contactName", _read_str, writable=True)
    attn_name: str | None = _api_field("attnName", _read_str, writable=True)
    alternate_id: str | None = _api_field("alternateId", _read_str, writable=True)
    taxpayer_id_number: str | None = _api_field("taxpayerIdNumber", _read_str, writable=True)
    is_bill: bool | None = _api_field(
        "isBill", _read_bool, writable=True, default=True, absent=None
    )
    is_ship: bool | None = _api_field("isShip", _read_bool, writable=True)
    company_id: int | None = _api_field("companyId", _read_int, writable=True)
    id: int | None = _api_field("id", _read_int)
    created_date: datetime | None = _api_field("createdDate", parse_datetime)
    modified_date: datetime | None = _api_field("modifiedDate", parse_datetime)
    active_certificates: tuple[dict, ...] | None = _api_field(
        "activeCertificates", _read_list(_read_object)
    )
    ship_tos: tuple["Customer", ...] | None = _api_field("shipTos", _read_customers)
    bill_tos: tuple["Customer", ...] | None = _api_field("billTos", _read_customers)

    @property
    def active_certificate_count(self):
        """Number of active certificates, or None when they were not requested."""
        if self.active_certificates is None:
            return None
        return len(self.active_certificates)

    def missing_fields(self):
        """The API names of the fields the API requires that are empty: customerCode,
        name, line1, city, postalCode, country, and region when the country is the
        US or Canada (docs/api-reference.md, section 6)."""
        missing = [
            api_name
            for name, api_name in const.REQUIRED_CUSTOMER_FIELDS
            if _is_blank(getattr(self, name))
        ]
        country = (self.country or "").strip().upper()
        if country in const.COUNTRIES_NEEDING_REGION and _is_blank(self.region):
            missing.append("region")
        return tuple(missing)


@dataclass(frozen=True)
class ExposureZone(_ApiModel):
    """Where a certificate applies; for the US a state ("Washington", region "WA")."""

    id: int = _api_field("id", _read_int, required=True)
    name: str | None = _api_field("name", _read_str)
    tag: str | None = _api_field("tag", _read_str)
    description: str | None = _api_field("description", _read_str)
    region: str | None = _api_field("region", _read_str)
    country: str | None = _api_field("country", _read_str)


@dataclass(frozen=True)
class ExemptionReason(_ApiModel):
    """Why a customer is exempt ("RESALE", "GOVERNMENT"...)."""

    id: int = _api_field("id", _read_int, required=True)
    name: str | None = _api_field("name", _read_str)


@dataclass(frozen=True)
class Certificate(_ApiModel):
    """An exemption certificate; ``customers`` is empty unless included in the call."""

    id: int = _api_field("id", _read_int, required=True)
    company_id: int | None = _api_field("companyId", _read_int)
    signed_date: date | None = _api_field("signedDate", parse_date)
    expiration_date: date | None = _api_field("expirationDate", parse_date)
    filename: str | None = _api_field("filename", _read_str)
    document_exists: bool | None = _api_field("documentExists", _read_bool)
    valid: bool | None = _api_field("valid", _read_bool)
    verified: bool | None = _api_field("verified", _read_bool)
    exempt_percentage: float | None = _api_field("exemptPercentage", _read_number)
    is_single_certificate: bool | None = _api_field("isSingleCertificate", _read_bool)
    exemption_number: str | None = _api_field("exemptionNumber", _read_str)
    exemption_reason: ExemptionReason | None = _api_field(
        "exemptionReason", _read_model(ExemptionReason)
    )
    status: str | None = _api_field("status", _read_str)
    ecm_status: str | None = _api_field("ecmStatus", _read_str)
    exposure_zone: ExposureZone | None = _api_field("exposureZone", _read_model(ExposureZone))
    created_date: datetime | None = _api_field("createdDate", parse_datetime)
    modified_date: datetime | None = _api_field("modifiedDate", parse_datetime)
    page_count: int | None = _api_field("pageCount", _read_int)
    po_numbers: tuple[str, ...] = _api_field("poNumbers", _read_list(_read_po_number), default=())
    customers: tuple[Customer, ...] = _api_field(
        "customers", _read_list(_read_model(Customer)), default=()
    )


@dataclass(frozen=True)
class ExemptionStatus(_ApiModel):
    """Whether a customer is exempt in one region, and by which certificate."""

    status: str = _api_field("status", _read_str, required=True)
    certificate: Certificate | None = _api_field("certificate", _read_model(Certificate))

    @property
    def is_exempt(self):
        """``Exempt``, compared without case (as Avalara's nopCommerce plugin does);
        any other value, known (``NotExempt``) or not, is not exempt."""
        return _same_word(self.status, const.EXEMPT)

    @property
    def is_known_status(self):
        """Whether ``status`` is one of the values the project knows (Exempt, NotExempt)."""
        return any(_same_word(self.status, known) for known in (const.EXEMPT, const.NOT_EXEMPT))


def _date_text(value):
    """A calendar date as ``YYYY-MM-DD`` (a datetime gives its date as written)."""
    return (value.date() if isinstance(value, datetime) else value).isoformat()


@dataclass(frozen=True)
class CertificateRequest:
    """Body of one certificate to create (a CertificateModel of CreateCertificates).

    Only what is set is sent, as the .NET SDK leaves nulls out. The customers are
    linked by code (``customers: [{companyId, customerCode}]``), the zone and the
    reason are ``{"id": ...}`` objects, dates are ``YYYY-MM-DD``, and ``pdf`` (the
    raw bytes) travels in standard Base64. The API takes exactly one of ``pdf`` and
    ``filename``; this model sends what it is given and leaves the checks to
    ``EcmClient.create_certificate``.
    """

    customer_codes: tuple[str, ...]
    exposure_zone_id: int
    signed_date: date
    expiration_date: date | None = None
    exemption_number: str | None = None
    exemption_reason_id: int | None = None
    pdf: bytes | None = field(default=None, repr=False)
    filename: str | None = None
    is_single_certificate: bool = False
    company_id: int | None = None

    def to_api(self):
        """The CertificateModel JSON object, without the fields left unset."""
        body = {"signedDate": _date_text(self.signed_date)}
        if self.expiration_date is not None:
            body["expirationDate"] = _date_text(self.expiration_date)
        if self.exemption_number is not None:
            body["exemptionNumber"] = self.exemption_number
        body["isSingleCertificate"] = self.is_single_certificate
        if self.exemption_reason_id is not None:
            body["exemptionReason"] = {"id": self.exemption_reason_id}
        body["exposureZone"] = {"id": self.exposure_zone_id}
        body["customers"] = [
            {"customerCode": code}
            if self.company_id is None
            else {"companyId": self.company_id, "customerCode": code}
            for code in self.customer_codes
        ]
        if self.pdf is not None:
            body["pdf"] = base64.b64encode(self.pdf).decode("ascii")
        if self.filename is not None:
            body["filename"] = self.filename
        return body


@dataclass(frozen=True)
class InvitationRequest(_WritableModel):
    """Body of a CertExpress certificate request (CreateCertExpressInvitation).

    ``recipient`` is the email address of an ``Email`` request; a ``Download`` request
    (a link the caller hands over itself) and a ``Fax`` one (the number on file) need
    none, and a None recipient is left out of the body."""

    recipient: str | None = _api_field("recipient", _read_str, writable=True)
    exposure_zone_ids: tuple[int, ...] = _api_field(
        "exposureZones", _read_list(_read_int), writable=True, default=()
    )
    exempt_reason_ids: tuple[int, ...] = _api_field(
        "exemptReasons", _read_list(_read_int), writable=True, default=()
    )
    delivery_method: str = _api_field(
        "deliveryMethod", _read_str, writable=True, default=const.DELIVERY_EMAIL
    )
    cover_letter_title: str = _api_field(
        "coverLetterTitle", _read_str, writable=True, default=const.COVER_LETTER_STANDARD
    )


@dataclass(frozen=True)
class Invitation(_ApiModel):
    """A CertExpress request.

    ``date`` is when the request was made. ``id``, ``customer_code``, ``recipient``,
    ``exposure_zones``, ``delivery_method`` and ``date`` are what tells two requests
    apart (see ``EcmClient.iter_invitations``). GET answers no Ready/InProgress
    status; what says the request reached the customer depends on its delivery:

    - ``Email``: ``is_sent`` (``email_status`` is ``Sent`` once the email went out);
      the email carries the link, and ``request_link`` is not to be handed out;
    - ``Download``: ``upload_link``, the page the caller shows the customer, which
      the API gives only for a Download request once it is Ready.
    """

    id: int = _api_field("id", _read_int, required=True)
    company_id: int | None = _api_field("companyId", _read_int)
    recipient: str | None = _api_field("recipient", _read_str)
    customer_code: str | None = _api_field("customerCode", _read_str)
    email_status: str | None = _api_field("emailStatus", _read_str)
    exposure_zones: tuple[int, ...] = _api_field("exposureZones", _read_list(_read_int), default=())
    exempt_reasons: tuple[int, ...] = _api_field("exemptReasons", _read_list(_read_int), default=())
    delivery_method: str | None = _api_field("deliveryMethod", _read_str)
    message: str | None = _api_field("message", _read_str)
    date: datetime | None = _api_field("date", parse_datetime)
    request_link: str | None = _api_field("requestLink", _read_str)

    @property
    def is_sent(self):
        """An Email request whose email went out (``emailStatus`` ``Sent``)."""
        return _same_word(self.delivery_method, const.DELIVERY_EMAIL) and _same_word(
            self.email_status, const.EMAIL_SENT
        )

    @property
    def upload_link(self):
        """The CertExpress link to hand the customer: ``request_link`` of a Download
        request (the API fills it once the request is Ready), else None: the link of
        an Email or Fax request is not to be used (CertExpressInvitationModel.cs)."""
        if _same_word(self.delivery_method, const.DELIVERY_DOWNLOAD) and self.request_link:
            return self.request_link
        return None


@dataclass(frozen=True)
class InvitationResult(_ApiModel):
    """One entry of the answer to a certificate request: its status and the invitation."""

    status: str = _api_field("status", _read_str, required=True)
    invitation: Invitation = _api_field("invitation", _read_model(Invitation), required=True)

    @property
    def is_ready(self):
        """The CertExpress page is built (``Ready``); ``InProgress``: ask again later."""
        return _same_word(self.status, const.INVITATION_READY)

    @property
    def is_sent(self):
        """An Email request whose email already went out (see ``Invitation.is_sent``)."""
        return self.invitation.is_sent

    @property
    def upload_link(self):
        """The link to hand the customer: only for a Download request that is Ready."""
        return self.invitation.upload_link if self.is_ready else None
