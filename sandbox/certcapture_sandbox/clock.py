"""Date and time handling shared by the store, the API and the upload page.

The sandbox works in UTC throughout: "today" for expiry checks is the UTC
date. Every date-time it sends is written as AvaTax's .NET server writes one:
ISO 8601 with seven fraction digits (100 ns ticks) and ``Z``, e.g.
``2024-05-01T12:30:00.1234567Z``. Modification times are kept and compared as
whole ticks, so two changes a tick apart stay apart even for a client that
reads only microseconds.

Nothing here uses ``datetime.fromisoformat``: on Python 3.10 it refuses ``Z``
and fractions of other than 3 or 6 digits.
"""

from __future__ import annotations

import functools
import re
import time
from datetime import date, datetime, timedelta, timezone

#: ``expirationDate`` of a certificate that never expires (CertCapture's habit).
NEVER_EXPIRES = date(9999, 12, 31)

#: .NET's DateTime resolution: 100 ns.
TICKS_PER_SECOND = 10_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_ISO = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?"
    r"(?P<zone>[Zz]|(?P<sign>[+-])(?P<zone_hours>\d{2})(?::?(?P<zone_minutes>\d{2}))?)?)?"
)


def now_ticks() -> int:
    """Now, as 100 ns ticks since 1970-01-01 UTC."""
    return time.time_ns() // 100


def today() -> date:
    """The UTC date against which expiry and future signing are judged."""
    return datetime.now(timezone.utc).date()


def format_ticks(ticks: int) -> str:
    """``2024-05-01T12:30:00.1234567Z``: the form of createdDate/modifiedDate."""
    seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
    moment = _EPOCH + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{fraction:07d}Z"


def format_datetime(moment: datetime) -> str:
    """A datetime (naive = UTC) in the same seven-digit form."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - _EPOCH
    return format_ticks(
        (delta.days * 86400 + delta.seconds) * TICKS_PER_SECOND + delta.microseconds * 10
    )


def _match(text: str) -> re.Match:
    if not isinstance(text, str):
        raise ValueError(f"not a date: {text!r}")
    match = _ISO.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an ISO 8601 date or date-time: {text!r}")
    return match


@functools.lru_cache(maxsize=1 << 18)
def parse_ticks(text: str) -> int:
    """Read an ISO 8601 date or date-time as 100 ns ticks since 1970 UTC: ``Z``, an
    offset, or none (UTC); 0 to 7 fraction digits (more are cut).

    Raises ValueError on anything else, so callers can answer 400.
    """
    match = _match(text)
    offset = timedelta(0)
    if match["sign"]:
        offset = timedelta(hours=int(match["zone_hours"]), minutes=int(match["zone_minutes"] or 0))
        if match["sign"] == "-":
            offset = -offset
    moment = datetime(
        int(match["year"]),
        int(match["month"]),
        int(match["day"]),
        int(match["hour"] or 0),
        int(match["minute"] or 0),
        int(match["second"] or 0),
        tzinfo=timezone(offset),
    )
    delta = moment - _EPOCH
    fraction = int((match["fraction"] or "0")[:7].ljust(7, "0"))
    return (delta.days * 86400 + delta.seconds) * TICKS_PER_SECOND + fraction


def parse_datetime(text: str) -> datetime:
    """Read an ISO 8601 date or date-time as an aware UTC datetime (cut to
    microseconds); a missing offset means UTC."""
    ticks = parse_ticks(text)
    seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
    return _EPOCH + timedelta(seconds=seconds, microseconds=fraction // 10)


def parse_date(value: date | str) -> date:
    """Read ``YYYY-MM-DD`` or a date-time at midnight (both forms are allowed)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _match(value)
    # The date as written: converting "2024-01-01T00:00:00-08:00" to UTC would
    # move it to another day.
    day = date(int(match["year"]), int(match["month"]), int(match["day"]))
    if match["hour"] is not None:
        parse_ticks(value)  # the time part must be valid too
    return day
