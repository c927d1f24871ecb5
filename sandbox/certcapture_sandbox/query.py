"""The OData-like query options of list calls: $filter, $orderBy, $top/$skip, $include.

Only what the contract uses is understood, and anything else is refused with
a 400 rather than silently ignored, so a client bug shows up in the sandbox
instead of in production.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, urlencode

from werkzeug.datastructures import MultiDict

from .clock import parse_ticks
from .errors import ApiError, invalid

MAX_TOP = 1000

_OPERATORS = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
# One comparison: field, operator, then a 'quoted' ('' escapes a quote) or bare
# value, then either "and" and the next comparison, or the end of the text.
_CLAUSE = re.compile(
    r"\s*(?P<field>\w+)\s+(?P<op>eq|ne|gt|ge|lt|le)\s+"
    r"(?P<value>'(?:[^']|'')*'|[^\s']+)\s*(?P<more>and\s+|$)",
    re.IGNORECASE,
)

#: Value readers for filterable fields: dates compare as instants (100 ns ticks, as
#: AvaTax keeps them), codes as text, ids as numbers.
DATE_FIELD = parse_ticks
TEXT_FIELD = str
INT_FIELD = int

Predicate = Callable[[dict], bool]


def parse_filter(
    text: str | None, fields: dict[str, Callable], refused: frozenset[str] = frozenset()
) -> list[Predicate]:
    """Turn ``$filter`` into predicates over records keyed like ``fields``.

    ``fields`` maps each filterable record key to the reader applied to both
    the record's value and the literal, e.g. ``{"modifiedDate": DATE_FIELD}``.
    An operation in ``refused`` is answered InvalidExemptionOperation (1212).
    """
    if not text or not text.strip():
        return []
    predicates, position = [], 0
    while True:
        match = _CLAUSE.match(text, position)
        if match is None:
            raise invalid([f"cannot read $filter at: {text[position:]!r}"], target="$filter")
        if match["op"].lower() in refused:
            raise ApiError(
                400,
                "InvalidExemptionOperation",
                f"The operation '{match['op']}' is not supported on this call.",
                target="$filter",
                descriptions=[f"'{match['field']} {match['op']}' is not supported"],
            )
        predicates.append(_predicate(match, fields))
        if not match["more"]:
            return predicates
        position = match.end()


def _predicate(match: re.Match, fields: dict[str, Callable]) -> Predicate:
    """The test for one ``field op value`` comparison of a $filter."""
    field = {name.lower(): name for name in fields}.get(match["field"].lower())
    if field is None:
        raise invalid(
            [f"$filter on '{match['field']}' is not supported; use {sorted(fields)}"],
            target="$filter",
        )
    literal = match["value"]
    if literal.startswith("'"):
        literal = literal[1:-1].replace("''", "'")
    read = fields[field]
    try:
        wanted = read(literal)
    except ValueError:
        raise invalid([f"'{literal}' is not a valid value for {field}"], "$filter") from None
    compare = _OPERATORS[match["op"].lower()]

    def test(record: dict) -> bool:
        value = record[field]
        return value is not None and compare(read(value), wanted)  # null matches nothing

    return test


def apply_filter(records: Iterable[dict], predicates: list[Predicate]) -> list[dict]:
    return [record for record in records if all(p(record) for p in predicates)]


def sort_records(
    records: list[dict],
    order_by: str | None,
    fields: Iterable[str],
    default: str = "modifiedDate",
) -> list[dict]:
    """Order by ``$orderBy`` ("modifiedDate desc, id"); without it by ``default``, then id.

    The id always breaks ties, so paging through equal timestamps is stable.
    """
    by_lower_name = {name.lower(): name for name in fields}
    keys = []
    for part in (order_by or default).split(","):
        words = part.split()
        field = by_lower_name.get(words[0].lower()) if words else None
        direction = words[1].lower() if len(words) == 2 else "asc"
        if field is None or len(words) > 2 or direction not in ("asc", "desc"):
            allowed = sorted(by_lower_name.values())
            raise invalid(
                [f"cannot order by {part.strip()!r}; use one of {allowed} [asc|desc]"],
                target="$orderBy",
            )
        keys.append((field, direction == "desc"))
    ordered = sorted(records, key=operator.itemgetter("id"))
    for field, descending in reversed(keys):
        ordered.sort(key=operator.itemgetter(field), reverse=descending)
    return ordered


def includes(args: MultiDict) -> set[str]:
    """The ``$include`` names (comma-separated, case-insensitive)."""
    return {name.strip().lower() for name in args.get("$include", "").split(",") if name.strip()}


def _int_arg(args: MultiDict, name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid([f"{name} must be an integer, not {raw!r}"], target=name) from None
    if value < 0:
        raise invalid([f"{name} must not be negative"], target=name)
    return value


def fetch_result(
    records: list,
    args: MultiDict,
    raw_path: str,
    serialize: Callable[[object], dict] | None = None,
    *,
    cap: int = MAX_TOP,
    exemption: bool = False,
) -> dict:
    """One FetchResult page of ``records`` as chosen by ``$top``/``$skip``.

    ``serialize`` turns each record of the page into JSON (records that are
    JSON already need none). ``$top`` 0 or absent means the largest page, ``cap``
    records (1,000 at most); more is cut to ``cap``, silently, as AvaTax may do.
    ``@nextLink`` (path and query, relative to the host, as AvaTax sends it) is
    present only when records remain after this page, and repeats every other
    query option with the page size served and the next ``$skip``.

    ``exemption`` lists also want pages of one size: a ``$skip`` that is not a
    multiple of ``$top`` is refused with ExemptionPaginationLimits (1218).
    """
    cap = min(cap, MAX_TOP)
    asked = _int_arg(args, "$top", cap) or cap
    top = min(asked, cap)
    skip = _int_arg(args, "$skip", 0)
    if exemption and skip % asked:
        raise ApiError(
            400,
            "ExemptionPaginationLimits",
            "Pages must all have the same size: $skip must be a multiple of $top.",
            target="$skip",
            descriptions=[f"$skip {skip} is not a multiple of $top {asked}"],
        )
    result = {
        "@recordsetCount": len(records),
        "value": [serialize(r) if serialize else r for r in records[skip : skip + top]],
    }
    if skip + top < len(records):
        following = MultiDict(args)
        following["$top"] = str(top)
        following["$skip"] = str(skip + top)
        query = urlencode(list(following.items(multi=True)), quote_via=quote, safe="$,'")
        result["@nextLink"] = f"{raw_path}?{query}"
    return result
