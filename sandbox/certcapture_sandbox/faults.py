"""Fault injection: what can go wrong between a client and AvaTax, on demand.

Faults are set as a whole (``set_faults`` / ``PUT /_sandbox/faults``) from a
dict with these keys, all optional:

==================== =========================================================
``latency_ms``       added to every API call before it is handled
``fail_rate``        share (0..1) of API calls answered 500 InternalServerError
``rules``            forced answers: ``{"method", "path", "status",
                     "retry_after", "times", "code"}``; the first rule whose
                     method (``*`` = any) and path regex match answers
                     ``status``; ``times`` is how many calls it still hits
                     (None = all), ``retry_after`` adds a Retry-After header,
                     ``code`` overrides the error code
``malformed``        path regex: answer 200 with bytes that are not JSON
``truncated``        path regex: answer 200 with the real JSON cut in half
``non_pdf_attachment`` attachment calls answer an HTML page as text/html
``drop_connection``  path regex: close the connection without an answer (the
                     call has no effect)
``delay_path``       path regex: the call takes effect at once, then its answer
``delay_seconds``    waits this long (to test client read time-outs)
==================== =========================================================

Path regexes are searched (``re.search``) in the request path as sent, e.g.
``/api/v2/companies/1001/customers``. Faults only touch ``/api/`` paths.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field, replace

from .errors import ERROR_NUMBERS, ApiError

#: Statuses a rule may force, with the error code its envelope carries.
FORCED_STATUS_CODES = {
    400: "CertificatesError",
    401: "AuthenticationException",
    404: "EntityNotFoundError",
    429: "RateLimitExceeded",
    500: "InternalServerError",
    502: "ServiceDisconnected",
    503: "NoHealthySite",
    504: "ServiceTimeout",
}

# CLI form of a rule: "METHOD PATH_REGEX STATUS[:RETRY_AFTER][xTIMES]".
_RULE_SPEC = re.compile(r"(?P<status>\d{3})(?::(?P<retry_after>\d+))?(?:x(?P<times>\d+))?")


@dataclass
class FaultRule:
    """A forced answer for matching calls, counting down its ``times``."""

    path: str
    status: int
    method: str = "*"
    retry_after: int | None = None
    times: int | None = None
    code: str | None = None

    def __post_init__(self):
        self.method = self.method.upper()
        _compile(self.path, "rules[].path")
        if self.status not in FORCED_STATUS_CODES:
            raise ValueError(f"rule status must be one of {sorted(FORCED_STATUS_CODES)}")
        for name in ("retry_after", "times"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f"rules[].{name} must be a non-negative integer or null")
        if self.code is not None and self.code not in ERROR_NUMBERS:
            raise ValueError(f"rules[].code must be one of {sorted(ERROR_NUMBERS)}")

    def matches(self, method: str, path: str) -> bool:
        return (
            self.times != 0
            and self.method in ("*", method.upper())
            and re.search(self.path, path) is not None
        )

    def error(self) -> ApiError:
        code = self.code or FORCED_STATUS_CODES[self.status]
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        return ApiError(
            self.status,
            code,
            f"Sandbox fault: forced {self.status} {code}.",
            descriptions=[f"CertCapture sandbox: simulated failure ({self.status})"],
            headers=headers,
        )


@dataclass
class FaultSettings:
    """All fault knobs; the defaults mean "behave normally"."""

    latency_ms: int = 0
    fail_rate: float = 0.0
    rules: list[FaultRule] = field(default_factory=list)
    malformed: str | None = None
    truncated: str | None = None
    non_pdf_attachment: bool = False
    drop_connection: str | None = None
    delay_path: str | None = None
    delay_seconds: float = 0.0

    @classmethod
    def from_dict(cls, data: dict) -> FaultSettings:
        """Build and check settings from JSON-like data; ValueError explains a mistake."""
        if not isinstance(data, dict):
            raise ValueError("faults must be a JSON object")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}")
        values = {key: value for key, value in data.items() if value is not None}
        rules = values.pop("rules", [])
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise ValueError("rules must be a list of objects")
        try:
            settings = cls(**values, rules=[FaultRule(**rule) for rule in rules])
        except TypeError as error:
            raise ValueError(f"bad fault rule: {error}") from None
        settings._check()
        return settings

    def _check(self) -> None:
        if not isinstance(self.latency_ms, int | float) or self.latency_ms < 0:
            raise ValueError("latency_ms must be a non-negative number")
        if not isinstance(self.fail_rate, int | float) or not 0 <= self.fail_rate <= 1:
            raise ValueError("fail_rate must be between 0 and 1")
        if not isinstance(self.delay_seconds, int | float) or self.delay_seconds < 0:
            raise ValueError("delay_seconds must be a non-negative number")
        if not isinstance(self.non_pdf_attachment, bool):
            raise ValueError("non_pdf_attachment must be true or false")
        for name in ("malformed", "truncated", "drop_connection", "delay_path"):
            if getattr(self, name) is not None:
                _compile(getattr(self, name), name)

    def to_dict(self) -> dict:
        """The settings as ``set_faults`` takes them (rules show their remaining times)."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["rules"] = [vars(rule).copy() for rule in self.rules]
        return data


def _compile(pattern, name: str) -> re.Pattern:
    if not isinstance(pattern, str):
        raise ValueError(f"{name} must be a regular expression string")
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ValueError(f"{name} is not a valid regular expression: {error}") from None


def parse_rule(text: str) -> dict:
    """Read the CLI form ``METHOD PATH_REGEX STATUS[:RETRY_AFTER][xTIMES]``.

    ``POST /customers$ 503x2`` fails the next two customer creations with 503;
    ``* /certificates 429:5`` answers every certificate call 429 with
    ``Retry-After: 5``. The regex may contain spaces; METHOD ``*`` means any.
    """
    parts = text.split(None, 1)
    if len(parts) == 2 and len(parts[1].rsplit(None, 1)) == 2:
        path, spec = parts[1].rsplit(None, 1)
        match = _RULE_SPEC.fullmatch(spec)
        if match:
            rule = {"method": parts[0], "path": path, "status": int(match["status"])}
            for name in ("retry_after", "times"):
                if match[name] is not None:
                    rule[name] = int(match[name])
            try:
                FaultRule(**rule)  # validate now, so the CLI can refuse it
            except ValueError as error:
                raise ValueError(f"fault rule {text!r}: {error}") from None
            return rule
    raise ValueError(f"fault rule {text!r} is not 'METHOD PATH_REGEX STATUS[:RETRY_AFTER][xTIMES]'")


class Faults:
    """The live fault settings of one sandbox, safe to use from many threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._random = random.Random()

    def replace(self, data: dict) -> None:
        settings = FaultSettings.from_dict(data)
        with self._lock:
            self._settings = settings

    def clear(self) -> None:
        with self._lock:
            self._settings = FaultSettings()

    def to_dict(self) -> dict:
        with self._lock:
            return self._settings.to_dict()

    def current(self) -> FaultSettings:
        """A copy of the knobs (rules excluded: use :meth:`take_rule`)."""
        with self._lock:
            return replace(self._settings, rules=[])

    def take_rule(self, method: str, path: str) -> FaultRule | None:
        """The first rule matching this call, its ``times`` counted down."""
        with self._lock:
            for rule in self._settings.rules:
                if rule.matches(method, path):
                    if rule.times is not None:
                        rule.times -= 1
                    return replace(rule)
            return None

    def roll_failure(self) -> bool:
        """Whether this call is one of the ``fail_rate`` share that fails."""
        with self._lock:
            rate = self._settings.fail_rate
            return rate > 0 and self._random.random() < rate


def path_matches(pattern: str | None, path: str) -> bool:
    """Whether an optional path-regex knob applies to ``path``."""
    return pattern is not None and re.search(pattern, path) is not None
