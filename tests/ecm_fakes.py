"""A scripted stand-in for ``requests.Session``, for unit tests of the ECM client.

Each call to ``request`` consumes the next scripted outcome: a ``Reply`` (an
HTTP answer) or an exception instance (a network failure, raised as requests
would raise it). Calls are recorded with the URL requests would really send.
"""

import io
import json as jsonlib
from collections import deque
from dataclasses import dataclass, field
from http.client import RemoteDisconnected

import requests
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError
from urllib3.exceptions import ProtocolError as Urllib3ProtocolError

BASE_URL = "https://ecm.example.test"
ACCOUNT_ID = "1100000001"
LICENSE_KEY = "s3cr3t-LICENSE-key-0123456789"


@dataclass
class Reply:
    """An HTTP answer to script: JSON (``json``) or raw bytes (``body``)."""

    status: int = 200
    json: object = None
    body: bytes | None = None
    headers: dict = field(default_factory=dict)

    def to_response(self, url):
        body = self.body if self.body is not None else jsonlib.dumps(self.json).encode()
        response = requests.Response()
        response.status_code = self.status
        response.reason = "Scripted"
        response.url = url
        response.headers = CaseInsensitiveDict(self.headers)
        response.raw = CountingStream(body)
        return response


class CountingStream(io.BytesIO):
    """A response body that remembers how many bytes were read from it."""

    def __init__(self, data):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


@dataclass
class Call:
    method: str
    url: str
    kwargs: dict

    @property
    def path(self):
        return self.url.removeprefix(BASE_URL).split("?")[0]

    @property
    def params(self):
        return self.kwargs.get("params") or {}


class FakeSession:
    """Answers requests from a script; records them in ``calls``."""

    def __init__(self, *outcomes):
        self.outcomes = deque(outcomes)
        self.calls = []
        self.responses = []
        self.closed = False

    def request(self, method, url, **kwargs):
        prepared = requests.Request(method, url, params=kwargs.get("params")).prepare()
        self.calls.append(Call(method, prepared.url, kwargs))
        if not self.outcomes:
            raise AssertionError(f"unexpected request {method} {url}")
        outcome = self.outcomes.popleft()
        if isinstance(outcome, BaseException):
            raise outcome
        response = outcome.to_response(prepared.url)
        self.responses.append(response)
        return response

    def close(self):
        self.closed = True


def error_reply(status, code=None, message=None, details=(), headers=None):
    """An answer carrying the API's error envelope."""
    error = {"code": code, "message": message, "target": "Unknown", "details": list(details)}
    return Reply(status, {"error": error}, headers=headers or {})


def fetch_reply(records, count=None):
    """A FetchResult answer."""
    return Reply(
        200, {"@recordsetCount": len(records) if count is None else count, "value": list(records)}
    )


# Network failures as requests 2.31 / urllib3 1.26 raise them.
def connection_refused():
    reason = NewConnectionError(None, "Failed to establish a new connection: refused")
    return requests.ConnectionError(MaxRetryError(None, "/", reason))


def connection_dropped():
    return requests.ConnectionError(
        Urllib3ProtocolError("Connection aborted.", RemoteDisconnected("closed"))
    )


def body_read_timeout():
    return requests.ConnectionError(ReadTimeoutError(None, "/", "Read timed out."))
