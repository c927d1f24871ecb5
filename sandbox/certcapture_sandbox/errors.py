"""The AvaTax error envelope, built in exactly one place.

Every failure the sandbox answers (real or injected) goes through
:class:`ApiError`, so clients meet one shape (ErrorResult.cs, ErrorDetail.cs)::

    {"error": {"code", "message", "target",
               "details": [{"code", "number", "message", "description", "faultCode",
                            "helpLink", "refersTo", "severity"}]}}
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from .responses import json_response

#: Error codes the sandbox can answer, with their ``ErrorCodeId`` number (the .NET
#: SDK's src/enums/ErrorCodeId.cs), which travels in ``details[].number``.
ERROR_NUMBERS = {
    "EntityNotFoundError": 4,
    "ValueRequiredError": 5,
    "AuthenticationException": 30,
    "AuthorizationException": 31,
    "ValidationException": 32,
    "ModelStateInvalid": 70,
    "DuplicateEntry": 193,
    "InternalServerError": 209,
    "CertificatesError": 1203,
    "CertificatesNotSetup": 1205,
    "InvalidExemptionOperation": 1212,
    "AccountNotProvisioned": 1216,
    "ExemptionPaginationLimits": 1218,
    "ExemptionSortLimits": 1219,
    "CustomerCantBeBothShipToAndBillTo": 1220,
    "BillToCustomerExpected": 1221,
    "ShipToCustomerExpected": 1222,
    "RequestLimitExceeded": 1715,
    "ConcurrentRequestLimitExceeded": 1716,
    "RateLimitExceededError": 1723,
    # The gateway in front of AvaTax: no route, rate limit, no service behind it.
    "NotFound": 4001,
    "RateLimitExceeded": 4011,
    "NoHealthySite": 4012,
    "ServiceDisconnected": 4014,
    "ServiceTimeout": 4015,
}

#: ``error.target`` is one of these ``ErrorTargetCode`` names (ErrorTargetCode.cs).
ERROR_TARGETS = (
    "Unknown",
    "HttpRequest",
    "HttpRequestHeaders",
    "IncorrectData",
    "AvaTaxApiServer",
    "AvalaraIdentityServer",
    "CustomerAccountSetup",
)

HELP_LINK = "https://developer.avalara.com/avatax/errors/{code}"

#: What CertCapture's answer about a customer it does not have looks like to the
#: sandbox (its real wording is unknown; docs/api-reference.md, section 11).
UNKNOWN_CUSTOMER = "Customer '{code}' was not found in CertCapture."


def _target(status: int, code: str, refers_to: str | None) -> str:
    """The ErrorTargetCode an answer of this status and code names."""
    if status in (401, 403):
        return "HttpRequestHeaders"
    if code in ("CertificatesNotSetup", "AccountNotProvisioned"):
        return "CustomerAccountSetup"
    if status >= 500:
        return "AvaTaxApiServer"
    if (refers_to or "").startswith("$") or code == "NotFound":
        return "HttpRequest"
    if status == 400:
        return "IncorrectData"
    return "Unknown"


class ApiError(Exception):
    """A failure answered with the error envelope.

    ``descriptions`` become one ``details`` entry each (a validation error
    lists every problem found); without them a single entry repeats the
    message. ``target`` is an ``ErrorTargetCode`` name; anything else given
    there (a field, a query option) goes to ``details[].refersTo`` and the
    target follows from the status and code.
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
        self.refers_to = None if target in ERROR_TARGETS else target
        self.target = target if target in ERROR_TARGETS else _target(status, code, target)
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
                        "faultCode": "Server" if self.status >= 500 else "Client",
                        "helpLink": HELP_LINK.format(code=self.code),
                        "refersTo": self.refers_to,
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


def unknown_customer(code: str) -> ApiError:
    """404 for a customer code the company does not have, as CertCapture answers it:
    ``CertificatesError`` (1203) with CertCapture's text in ``details[].description``
    (docs/api-reference.md, section 11)."""
    return ApiError(
        404,
        "CertificatesError",
        "Certificates API returned error",
        target="customerCode",
        descriptions=[UNKNOWN_CUSTOMER.format(code=code)],
    )


def invalid(problems: list[str], target: str | None = None) -> ApiError:
    """400 for a request whose body or parameters break the contract."""
    return ApiError(
        400,
        "ValidationException",
        f"The request is not valid: {problems[0]}",
        target=target,
        descriptions=problems,
    )
