"""The AvaTax error envelope, built in exactly one place.

Every failure the sandbox answers (real or injected) goes through
:class:`ApiError`, so clients meet one shape::

    {"error": {"code", "message", "target",
               "details": [{"code", "number", "message", "description", "severity"}]}}
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from .responses import json_response

#: Error codes the sandbox can answer, with the (sandbox-specific) number that
#: travels in ``details[].number``. Clients should branch on the code.
ERROR_NUMBERS = {
    "AuthenticationException": 34,
    "EntityNotFoundError": 4,
    "ValidationException": 5,
    "DuplicateEntry": 8,
    "CertCaptureNotConfiguredError": 1203,
    "CertificatesError": 1200,
    "RateLimitExceeded": 429,
    "InternalServerError": 500,
    "BadGateway": 502,
    "ServiceUnavailable": 503,
    "GatewayTimeout": 504,
    "RouteNotFound": 404,
    "MethodNotAllowed": 405,
}


class ApiError(Exception):
    """A failure answered with the error envelope.

    ``descriptions`` become one ``details`` entry each (a validation error
    lists every problem found); without them a single entry repeats the
    message.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        target: str | None = None,
        descriptions: tuple[str, ...] | list[str] = (),
        headers: dict | None = None,
    ):
        if code not in ERROR_NUMBERS:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.descriptions = tuple(descriptions) or (message,)
        self.headers = headers or {}

    def body(self) -> dict:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "target": self.target,
                "details": [
                    {
                        "code": self.code,
                        "number": ERROR_NUMBERS[self.code],
                        "message": self.message,
                        "description": description,
                        "severity": "Error",
                    }
                    for description in self.descriptions
                ],
            }
        }

    def response(self) -> Response:
        return json_response(self.body(), status=self.status, headers=self.headers)


def not_found(entity: str, key) -> ApiError:
    """404 for an id or code that does not exist (in this company)."""
    return ApiError(404, "EntityNotFoundError", f"{entity} '{key}' was not found.", target=entity)


def invalid(problems: list[str], target: str | None = None) -> ApiError:
    """400 for a request whose body or parameters break the contract."""
    return ApiError(
        400,
        "ValidationException",
        f"The request is not valid: {problems[0]}",
        target=target,
        descriptions=problems,
    )
