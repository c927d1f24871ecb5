"""Errors raised by the CertCapture (AvaTax exemption) client.

Every failure of a call surfaces as one ``EcmError`` subclass, so the Odoo side
can catch ``EcmError`` once and show ``.message`` to a user: it is human text
(the API's own message when it sent one) and never contains credentials. The
subclass says what the caller can do about it: fix the settings, wait and try
again, or look whether a create went through before sending it again.
"""


class EcmError(Exception):
    """Base of every error of the client.

    Attributes:
        code: the API's error code (``EntityNotFoundError``...) or, for failures
            that never got an API answer, a local code (``ConnectionError``...).
        message: human-readable text, safe to show to a user.
        status: the HTTP status, or None when no response came back.
        details: the ``details`` list of the API's error envelope (dicts).
        method, path: the request that failed (path without query string).
        retry_after: seconds the server asked to wait (``Retry-After``), or None.
        transient: True when sending the same request later may succeed
            (rate limit, gateway errors, connection failures, timeouts).
        may_have_taken_effect: True when the request reached the server and may
            have been carried out even though no usable answer came back (read
            timeout, connection dropped mid-request, 502/504): re-sending a POST
            could then create a duplicate.
    """

    default_code = "EcmError"
    default_message = "The Avalara exemption certificate service failed."

    def __init__(
        self,
        message=None,
        *,
        code=None,
        status=None,
        details=(),
        method=None,
        path=None,
        retry_after=None,
        transient=False,
        may_have_taken_effect=False,
    ):
        self.message = message or self.default_message
        self.code = code or self.default_code
        self.status = status
        self.details = [dict(detail) for detail in details]
        self.method = method
        self.path = path
        self.retry_after = retry_after
        self.transient = transient
        self.may_have_taken_effect = may_have_taken_effect
        super().__init__(self.message)

    def __str__(self):
        return self.message

    def __repr__(self):
        return (
            f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, "
            f"method={self.method!r}, path={self.path!r}, message={self.message!r})"
        )


class ConfigurationError(EcmError):
    """The client's settings are unusable (base URL, credentials, company id)."""

    default_code = "ConfigurationError"
    default_message = "The Avalara connection settings are incomplete or invalid."


class AuthenticationError(EcmError):
    """HTTP 401/403: the account ID / license key pair was refused."""

    default_code = "AuthenticationException"
    default_message = (
        "Avalara refused the credentials: check the account ID and license key, "
        "and that they belong to this environment (production or sandbox)."
    )


class NotFoundError(EcmError):
    """The customer, certificate... does not exist: ``EntityNotFoundError``, any 404,
    or CertCapture's ``CertificatesError`` saying so (then ``code`` is
    ``CertificatesError`` and the message is CertCapture's own text)."""

    default_code = "EntityNotFoundError"
    default_message = "Avalara has no such record."


class NotProvisionedError(EcmError):
    """Exemption certificate management is not set up for the Avalara company:
    ``CertificatesNotSetup`` (1205, once named ``CertCaptureNotConfiguredError``;
    an administrator can ask for it with ``EcmClient.request_certificate_setup``) or
    ``AccountNotProvisioned`` (1216: Avalara's own provisioning failed)."""

    default_code = "CertificatesNotSetup"
    default_message = (
        "Exemption certificate management (CertCapture) is not set up for this " "Avalara company."
    )


class CertCaptureError(EcmError):
    """CertCapture's own error (``CertificatesError``); its text is in details[].description."""

    default_code = "CertificatesError"
    default_message = "CertCapture reported an error."


class ValidationError(EcmError):
    """Any other 4xx: the request itself was refused; sending it again will not help."""

    default_code = "ValidationError"
    default_message = "Avalara refused the request."


class DuplicateCustomersError(ValidationError):
    """``DuplicateEntry`` on ``EcmClient.create_customers``: Avalara already has
    customers with the codes ``codes`` (tuple), which were not created; the other
    customers were, and ``created`` holds them as stored (tuple of ``Customer``)."""

    default_code = "DuplicateEntry"
    default_message = "Avalara already has customers with some of these codes."

    def __init__(self, codes, created, message=None, **kwargs):
        self.codes = tuple(codes)
        self.created = tuple(created)
        if message is None:
            message = (
                f"Avalara already has customers with the codes "
                f"{', '.join(repr(code) for code in self.codes)}: those were not created; "
                f"the {len(self.created)} other(s) were."
            )
        kwargs.setdefault("code", self.default_code)
        super().__init__(message, **kwargs)


class RateLimitedError(EcmError):
    """Too many requests (HTTP 429, or a rate-limit code whatever the status:
    ``RateLimitExceeded``, ``RequestLimitExceeded``, ``ConcurrentRequestLimitExceeded``,
    ``RateLimitExceededError``); always transient, and the request was turned away.
    ``retry_after`` says how long to wait when known."""

    default_code = "RateLimitExceeded"
    default_message = "Avalara is receiving too many requests; try again in a moment."


class ServerError(EcmError):
    """HTTP 5xx: the service (or a gateway in front of it) failed."""

    default_code = "ServerError"
    default_message = "Avalara had an internal error; try again later."


class TransportError(EcmError):
    """No HTTP answer: the connection could not be made or broke off."""

    default_code = "ConnectionError"
    default_message = "Could not reach Avalara; check the network and try again."


class RequestTimeoutError(TransportError):
    """The connection or the answer took longer than the configured timeout."""

    default_code = "Timeout"
    default_message = "Avalara did not answer in time; try again later."


class ProtocolError(EcmError):
    """The answer was unusable: malformed or truncated JSON, unexpected shape, a
    certificate attachment that is not a PDF or is larger than allowed."""

    default_code = "ProtocolError"
    default_message = "Avalara sent an answer this client cannot read."
