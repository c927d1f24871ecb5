"""Date and time handling shared by the store, the API and the upload page.

The sandbox works in UTC throughout: "today" for expiry checks is the UTC
date, and every date-time it sends is ISO 8601 with milliseconds and ``Z``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

#: ``expirationDate`` of a certificate that never expires (CertCapture's habit).
NEVER_EXPIRES = date(9999, 12, 31)

ONE_MILLISECOND = timedelta(milliseconds=1)


def utc_now() -> datetime:
    """Now, in UTC, cut to the millisecond precision the API shows."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def today() -> date:
    """The UTC date against which expiry and future signing are judged."""
    return datetime.now(timezone.utc).date()


def format_datetime(moment: datetime) -> str:
    """``2024-05-01T12:30:00.123Z``: the form of createdDate/modifiedDate."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def parse_datetime(text: str) -> datetime:
    """Read an ISO 8601 date or date-time; a missing offset means UTC.

    Raises ValueError on anything else, so callers can answer 400.
    """
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def parse_date(value: date | str) -> date:
    """Read ``YYYY-MM-DD`` or a date-time at midnight (both forms are allowed)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    # The date as written: converting "2024-01-01T00:00:00-08:00" to UTC would
    # move it to another day.
    return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
