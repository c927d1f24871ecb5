"""The one place that builds, sends, logs and maps errors of every API request.

``Transport`` knows HTTP, not the API's resources: it takes a method, a path
(already percent-encoded by the caller), query parameters and a JSON body, and
returns the answer's bytes or parsed JSON, or raises one ``EcmError`` subclass.
It retries what is safe to retry (see ``_may_retry``) and records every request
actually sent in ``request_count``, so callers can measure what a feature costs.

Secrets: the license key travels only in the Authorization header built by
requests from ``auth``; it is never logged, never in a repr, and scrubbed from
any text that ends up in an error message.
"""

import ipaddress
import json
import logging
import random
import re
import socket
import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError, ReadTimeoutError

from . import const
from .errors import (
    AuthenticationError,
    CertCaptureError,
    ConfigurationError,
    EcmError,
    NotFoundError,
    NotProvisionedError,
    ProtocolError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    ValidationError,
)

_logger = logging.getLogger(const.LOGGER_NAME)

JSON_TYPE = "application/json"
PDF_TYPE = "application/pdf"
_REDACTED = "********"
_CHUNK_BYTES = 64 * 1024

#: Error classes by the ``code`` of the API's error envelope; checked before the status.
_ERROR_BY_CODE = {
    const.ERROR_AUTHENTICATION: AuthenticationError,
    const.ERROR_NOT_FOUND: NotFoundError,
    const.ERROR_CERTCAPTURE_NOT_CONFIGURED: NotProvisionedError,
    const.ERROR_CERTIFICATES_NOT_SETUP: NotProvisionedError,
    const.ERROR_ACCOUNT_NOT_PROVISIONED: NotProvisionedError,
    const.ERROR_CERTIFICATES: CertCaptureError,
    const.ERROR_RATE_LIMITED: RateLimitedError,
    const.ERROR_REQUEST_LIMIT: RateLimitedError,
    const.ERROR_CONCURRENT_REQUEST_LIMIT: RateLimitedError,
    const.ERROR_RATE_LIMIT_EXCEEDED: RateLimitedError,
}
#: CertCapture's words (in ``details[].description``) for a record it does not have:
#: Avalara's Magento connector reads a ``CertificatesError`` on a customer call as
#: "no such customer", so the client does too when the text or a 404 says so.
_NOT_FOUND_TEXT = re.compile(
    r"not\s+(?:be\s+)?found|does\s*n[o']?t\s+exists?|not\s+exists?|no\s+such"
    r"|unknown\s+(?:customer|entity|record|certificate)",
    re.IGNORECASE,
)
#: Statuses after which the same request may well succeed later.
_TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
#: Statuses that say a gateway lost track of the request: the service may have
#: carried it out. (429 and 503 say it was turned away; 500 says it failed.)
_AMBIGUOUS_STATUSES = frozenset({502, 504})


def _error_class_for_status(status):
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return ServerError
    if status >= 400:
        return ValidationError
    return ProtocolError  # a redirect or another status the API never sends


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_base_url(base_url):
    """Return the base URL without trailing slash, or raise ConfigurationError.

    HTTPS is required because every request carries the license key; plain
    HTTP is accepted only for loopback hosts (the local sandbox).
    """
    if not isinstance(base_url, str) or not base_url.strip():
        raise ConfigurationError("The Avalara base URL is missing.")
    try:
        parts = urlsplit(base_url.strip())
        _port = parts.port  # reading it raises ValueError on a malformed port
    except ValueError:
        raise ConfigurationError(f"The Avalara base URL {base_url!r} is not a valid URL.") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(
            f"The Avalara base URL {base_url!r} must look like https://rest.avatax.com."
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(
            "The Avalara base URL must not contain credentials; set the account ID and "
            "license key instead."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"The Avalara base URL {base_url!r} must not have a query or fragment."
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            "The Avalara base URL must use https: the license key would travel in clear text. "
            "Plain http is only allowed for a local sandbox (localhost, 127.0.0.1, ::1)."
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP date), or None."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds)


def _seconds(name, value, *, allow_zero=False):
    """A duration setting as float seconds, or ConfigurationError."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value < 0
        or (value == 0 and not allow_zero)
    ):
        raise ConfigurationError(f"{name} must be a positive number of seconds.")
    return float(value)


def _underlying(exc):
    """The urllib3 error a requests exception wraps (unwrapping MaxRetryError)."""
    inner = exc.args[0] if exc.args else None
    return getattr(inner, "reason", inner)


class Transport:
    """HTTP Basic-authenticated JSON transport to the AvaTax REST API, with retries.

    Retry policy (``_may_retry``): connection failures, timeouts, 429, 502, 503
    and 504 are retried up to ``max_retries`` times, waiting ``Retry-After``
    (capped at ``const.RETRY_AFTER_CAP``) when the server sent one, else a
    full-jitter exponential backoff ``min(cap, base * 2**attempt) * random()``.
    Other 4xx and 500 are never retried. A POST is not idempotent, so it is
    retried only when it certainly did not take effect (connection refused,
    connect timeout, 429, 503); any other failure is raised at once with
    ``may_have_taken_effect=True`` for the caller to decide.
    """

    def __init__(
        self,
        base_url,
        account_id,
        license_key,
        *,
        connect_timeout=const.DEFAULT_CONNECT_TIMEOUT,
        read_timeout=const.DEFAULT_READ_TIMEOUT,
        max_retries=const.DEFAULT_MAX_RETRIES,
        backoff_base=const.DEFAULT_BACKOFF_BASE,
        backoff_cap=const.DEFAULT_BACKOFF_CAP,
        app_name=const.DEFAULT_APP_NAME,
        app_version=const.DEFAULT_APP_VERSION,
        session=None,
        sleep=time.sleep,
        jitter=random.random,
    ):
        self.base_url = validate_base_url(base_url)
        account_id = "" if account_id is None else str(account_id).strip()
        if not account_id or not license_key:
            raise ConfigurationError("The Avalara account ID and license key are both required.")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError("max_retries must be a whole number, 0 or more.")
        self.account_id = account_id
        self._auth = (account_id, license_key)
        self.timeout = (
            _seconds("connect_timeout", connect_timeout),
            _seconds("read_timeout", read_timeout),
        )
        self.max_retries = max_retries
        self.backoff_base = _seconds("backoff_base", backoff_base, allow_zero=True)
        self.backoff_cap = _seconds("backoff_cap", backoff_cap, allow_zero=True)
        self.client_header = "; ".join(
            (app_name, app_version, "requests", requests.__version__, socket.gethostname())
        )
        self._owns_session = session is None
        self.session = requests.Session() if session is None else session
        self._sleep = sleep
        self._jitter = jitter
        self.request_count = 0
        #: ``time.monotonic()`` value after which no request is sent and no
        #: retry waited for (None: no budget). See ``EcmClient.time_budget``.
        self.deadline = None
        #: Called with a dict for every request sent (see ``_record``).
        self.on_request = None

    def __repr__(self):
        return f"Transport(base_url={self.base_url!r}, account_id={self.account_id!r})"

    def close(self):
        """Close the HTTP session if this transport created it."""
        if self._owns_session:
            self.session.close()

    # --- public entry points ---------------------------------------------------

    def request_json(self, method, path, *, params=None, body=None):
        """Send a request and return its parsed JSON answer."""
        status, content = self._request(method, path, params=params, body=body, accept=JSON_TYPE)
        try:
            return json.loads(content)
        except ValueError:
            # A 2xx was received, so the server did carry the request out.
            raise ProtocolError(
                "Avalara's answer is not valid JSON (malformed or cut off).",
                status=status,
                method=method,
                path=path,
                may_have_taken_effect=True,
            ) from None

    def request_bytes(self, method, path, *, params=None, accept=PDF_TYPE, max_bytes=None):
        """Send a request and return its raw answer, refusing more than ``max_bytes``."""
        return self._request(
            method, path, params=params, accept=f"{accept}, {JSON_TYPE}", max_bytes=max_bytes
        )[1]

    # --- sending and retrying ----------------------------------------------------

    def _request(self, method, path, *, params=None, body=None, accept=JSON_TYPE, max_bytes=None):
        attempt = 0
        while True:
            try:
                return self._send_once(method, path, params, body, accept, max_bytes, attempt)
            except EcmError as err:
                if attempt >= self.max_retries or not self._may_retry(err, method):
                    raise
                delay = self._retry_delay(err, attempt)
                if not self._budget_allows_wait(delay):
                    raise
                attempt += 1
                _logger.warning(
                    "Avalara %s %s failed (%s, %s); retry %d of %d in %.2f s",
                    method,
                    path,
                    err.status or "no answer",
                    err.code,
                    attempt,
                    self.max_retries,
                    delay,
                )
                self._sleep(delay)

    @staticmethod
    def _may_retry(err, method):
        """Transient failures are retried, but a POST only if it surely did not take effect."""
        return err.transient and (method != "POST" or not err.may_have_taken_effect)

    def _remaining(self):
        """Seconds left in the time budget, or None when there is no budget."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _budget_allows_wait(self, delay):
        """Inside a budget, wait only briefly, and only if a try still fits after."""
        remaining = self._remaining()
        if remaining is None:
            return True
        return delay <= const.BUDGETED_MAX_WAIT and delay + const.BUDGETED_MIN_TRY < remaining

    def _timeout(self, method, path):
        """(connect, read) timeouts, shortened to what is left of the budget."""
        remaining = self._remaining()
        if remaining is None:
            return self.timeout
        if remaining <= 0:
            raise RequestTimeoutError(
                "The time allowed for Avalara's answers is spent.",
                method=method,
                path=path,
                transient=True,
            )
        return tuple(min(limit, remaining) for limit in self.timeout)

    def _retry_delay(self, err, attempt):
        if err.retry_after is not None:
            return min(err.retry_after, const.RETRY_AFTER_CAP)
        return min(self.backoff_cap, self.backoff_base * 2**attempt) * self._jitter()

    def _send_once(self, method, path, params, body, accept, max_bytes, attempt):
        timeout = self._timeout(method, path)
        self.request_count += 1
        started = time.monotonic()
        status, error = None, None
        try:
            try:
                with self.session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    json=body,
                    headers={"Accept": accept, "X-Avalara-Client": self.client_header},
                    auth=self._auth,
                    timeout=timeout,
                    stream=True,
                    allow_redirects=False,
                ) as response:
                    status = response.status_code
                    content = self._read_body(response, max_bytes, method, path)
            except requests.RequestException as exc:
                raise self._transport_error(exc, method, path, timeout) from exc
            if 200 <= response.status_code < 300:
                return response.status_code, content
            raise self._http_error(response, content, method, path)
        except EcmError as err:
            error = err
            raise
        finally:
            self._record(method, path, status, error, started, attempt)

    def _record(self, method, path, status, error, started, attempt):
        """Log one request sent, and hand it to ``on_request`` (the caller's
        request log): method, path, status, error code, duration, attempt.
        Never the query, the body or the credentials."""
        duration_ms = (time.monotonic() - started) * 1000
        _logger.debug(
            "Avalara %s %s -> %s in %.0f ms (attempt %d)",
            method,
            path,
            status or "no answer",
            duration_ms,
            attempt + 1,
        )
        if self.on_request is not None:
            self.on_request(
                {
                    "method": method,
                    "path": path,
                    "status": status,
                    "error_code": (error.code or type(error).__name__) if error else None,
                    "duration_ms": duration_ms,
                    "attempt": attempt + 1,
                }
            )

    @staticmethod
    def _read_body(response, max_bytes, method, path):
        """Read the body, streaming so that an oversized one is refused without being held."""
        if max_bytes is None:
            return response.content

        def too_large():
            return ProtocolError(
                f"The file sent by Avalara is larger than the {max_bytes} bytes allowed.",
                status=response.status_code,
                method=method,
                path=path,
            )

        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise too_large()
        content = bytearray()
        for chunk in response.iter_content(_CHUNK_BYTES):
            content += chunk
            if len(content) > max_bytes:
                raise too_large()
        return bytes(content)

    # --- error mapping -------------------------------------------------------------

    def _redact(self, text):
        return text.replace(self._auth[1], _REDACTED) if text else text

    def _http_error(self, response, content, method, path):
        """Map a non-2xx answer to an error: by the envelope's code first, then by status."""
        status = response.status_code
        try:
            envelope = json.loads(content).get("error")
        except (ValueError, AttributeError):
            envelope = None
        if not isinstance(envelope, dict):
            envelope = {}
        code = envelope.get("code") if isinstance(envelope.get("code"), str) else None
        message = envelope.get("message") if isinstance(envelope.get("message"), str) else None
        details = [d for d in envelope.get("details") or () if isinstance(d, dict)]
        error_class = _ERROR_BY_CODE.get(code) or _error_class_for_status(status)
        if error_class is CertCaptureError:
            # CertCapture's own text is in the details; the envelope message is generic.
            descriptions = [
                d["description"] for d in details if isinstance(d.get("description"), str)
            ]
            message = "; ".join(descriptions) or message
            if status == 404 or any(_NOT_FOUND_TEXT.search(text) for text in descriptions):
                error_class = NotFoundError
        if not message:
            http_status = " ".join(str(part) for part in (status, response.reason) if part)
            message = f"{error_class.default_message} (HTTP {http_status})"
        return error_class(
            self._redact(message),
            code=code,
            status=status,
            details=details,
            method=method,
            path=path,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            transient=status in _TRANSIENT_STATUSES or error_class is RateLimitedError,
            # A rate limit turns the request away, whatever status carries it.
            may_have_taken_effect=status in _AMBIGUOUS_STATUSES
            and error_class is not RateLimitedError,
        )

    def _transport_error(self, exc, method, path, timeout):
        """Map a requests failure (no usable answer) to an error, saying whether the
        request may have reached the server and whether trying again can help."""
        inner = _underlying(exc)
        if isinstance(exc, requests.ConnectTimeout):
            error_class, transient, maybe_done = RequestTimeoutError, True, False
            message = f"Could not connect to Avalara within {timeout[0]:.3g} s."
        elif isinstance(exc, requests.ReadTimeout) or isinstance(inner, ReadTimeoutError):
            error_class, transient, maybe_done = RequestTimeoutError, True, True
            message = f"Avalara did not answer within {timeout[1]:.3g} s."
        elif isinstance(exc, requests.exceptions.SSLError):
            error_class, transient, maybe_done = TransportError, False, False
            message = f"The secure connection to Avalara failed: {exc}"
        elif isinstance(exc, requests.ConnectionError) and isinstance(inner, NewConnectionError):
            error_class, transient, maybe_done = TransportError, True, False
            message = "Could not connect to Avalara; check the network and the base URL."
        elif isinstance(exc, requests.ConnectionError):
            error_class, transient, maybe_done = TransportError, True, True
            message = "The connection to Avalara broke off before its answer arrived."
        elif isinstance(
            exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
        ):
            error_class, transient, maybe_done = ProtocolError, False, True
            message = "Avalara's answer was cut off or could not be decoded."
        else:
            error_class, transient, maybe_done = TransportError, False, False
            message = f"The request to Avalara could not be sent: {exc}"
        return error_class(
            self._redact(message),
            method=method,
            path=path,
            transient=transient,
            may_have_taken_effect=maybe_done,
        )
