"""The two kinds of body the sandbox sends: JSON (API, admin) and HTML (upload page)."""

from __future__ import annotations

import json

from werkzeug.wrappers import Response


def json_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    """Serialize ``payload`` as UTF-8 JSON (non-ASCII kept readable)."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(
        body, status=status, headers=headers, content_type="application/json; charset=utf-8"
    )


def html_response(page: str, status: int = 200) -> Response:
    return Response(page.encode("utf-8"), status=status, content_type="text/html; charset=utf-8")
