"""Matching request paths to handlers, on the path exactly as it was sent.

Routing works on the raw, still percent-encoded path: customer codes may
contain ``%2F``, and a server that decoded first could no longer tell that
slash from a path separator. Each ``{placeholder}`` segment is decoded
(UTF-8) on its own after matching; ``{name:int}`` only matches digits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

from werkzeug.wrappers import Request

from .errors import ApiError, invalid

if TYPE_CHECKING:
    from .app import SandboxApp

_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Route:
    """One line of the routing table.

    ``needs_ecm`` marks exemption calls, refused for a company whose
    certificate storage is not provisioned.
    """

    method: str
    pattern: str
    handler: Callable
    needs_ecm: bool = False

    def match(self, segments: list[str]) -> dict | None:
        """The decoded path parameters if ``segments`` fit the pattern, else None."""
        parts = self.pattern.strip("/").split("/")
        if len(parts) != len(segments):
            return None
        params = {}
        for part, raw in zip(parts, segments, strict=True):
            if not part.startswith("{"):
                if part != raw:
                    return None
                continue
            name, _, kind = part[1:-1].partition(":")
            if kind == "int":
                if not _DIGITS.fullmatch(raw):
                    return None
                params[name] = int(raw)
            else:
                try:
                    params[name] = unquote(raw, errors="strict")
                except UnicodeDecodeError:
                    raise invalid([f"path segment {raw!r} is not UTF-8"], target=name) from None
        return params


def raw_path(environ: dict) -> str:
    """The request path before percent-decoding (werkzeug's PATH_INFO is decoded).

    Servers that do not pass the raw URI get the decoded path re-encoded, which
    is right for every code except one containing a slash.
    """
    uri = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if uri:
        return urlsplit(uri).path
    return quote(Request(environ).path)


def find_route(routes: tuple[Route, ...], method: str, path: str) -> tuple[Route, dict]:
    """The route for ``method path``; else 404, or 405 when only the method is wrong,
    both with the gateway's code ``NotFound`` (4001)."""
    segments = path.strip("/").split("/")
    allowed = []
    for route in routes:
        params = route.match(segments)
        if params is None:
            continue
        if route.method == method:
            return route, params
        allowed.append(route.method)
    if allowed:
        raise ApiError(
            405,
            "NotFound",
            f"{method} is not allowed on {path}; use {', '.join(sorted(set(allowed)))}.",
            headers={"Allow": ", ".join(sorted(set(allowed)))},
        )
    raise ApiError(404, "NotFound", f"No sandbox call answers {method} {path}.")


@dataclass
class Call:
    """What a handler gets besides its path parameters."""

    request: Request
    app: SandboxApp
    path: str

    @property
    def store(self):
        return self.app.store

    @property
    def config(self):
        return self.app.config

    @property
    def base_url(self) -> str:
        """Scheme and host the client used, for links it can follow back."""
        return self.request.host_url.rstrip("/")

    def json(self):
        """The JSON body; 400 ValidationException if it is not JSON."""
        data = self.request.get_data(cache=True)
        try:
            return json.loads(data or b"null")
        except ValueError:
            raise invalid(["the body is not valid JSON"], target="body") from None
