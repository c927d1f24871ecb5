"""The sandbox as a WSGI application: the routing table, auth, faults, request log.

Three families of paths share one table:

* ``/api/...`` - the AvaTax contract: HTTP Basic auth, faults, request log;
* ``/_sandbox/...`` - the control interface (no auth, never faulted);
* ``/certexpress/<token>`` - the customer's upload page (no auth, never faulted).
"""

from __future__ import annotations

import dataclasses
import socket
import sys
import threading
import time
import traceback
from hmac import compare_digest

from werkzeug.wrappers import Request, Response

from . import admin, api, upload
from .config import Company, SandboxConfig
from .errors import ApiError, not_found
from .faults import Faults, path_matches
from .routing import Call, Route, find_route, raw_path
from .store import Store

API_PREFIX = "/api/"
COMPANY = "/api/v2/companies/{company_id:int}"
CUSTOMER = COMPANY + "/customers/{customer_code}"
CERTIFICATE = COMPANY + "/certificates/{certificate_id:int}"

ROUTES = (
    Route("GET", "/api/v2/utilities/ping", api.ping),
    Route("GET", "/api/v2/companies", api.list_companies),
    Route("GET", "/api/v2/definitions/certificateexposurezones", api.list_exposure_zones),
    Route("GET", "/api/v2/definitions/certificateexemptreasons", api.list_exempt_reasons),
    Route("GET", COMPANY + "/certificates/setup", api.certificate_setup),
    Route("POST", COMPANY + "/certificates/setup", api.request_certificate_setup),
    Route("GET", COMPANY + "/certificates", api.list_certificates, needs_ecm=True),
    Route("POST", COMPANY + "/certificates", api.create_certificates, needs_ecm=True),
    Route("GET", CERTIFICATE, api.get_certificate, needs_ecm=True),
    Route("GET", CERTIFICATE + "/attachment", api.get_attachment, needs_ecm=True),
    Route("POST", COMPANY + "/customers", api.create_customers, needs_ecm=True),
    Route(
        "POST",
        COMPANY + "/customers/billto/{code}/shipto/link",
        api.link_ship_to_customers,
        needs_ecm=True,
    ),
    Route("GET", CUSTOMER, api.get_customer, needs_ecm=True),
    Route("PUT", CUSTOMER, api.replace_customer, needs_ecm=True),
    Route("GET", CUSTOMER + "/certificates", api.list_customer_certificates, needs_ecm=True),
    Route(
        "GET", CUSTOMER + "/certificates/{country}/{region}", api.exemption_status, needs_ecm=True
    ),
    Route("GET", COMPANY + "/certexpressinvites", api.list_invitations, needs_ecm=True),
    Route("POST", CUSTOMER + "/certexpressinvites", api.create_invitations, needs_ecm=True),
    Route(
        "GET",
        CUSTOMER + "/certexpressinvites/{invitation_id:int}",
        api.get_invitation,
        needs_ecm=True,
    ),
    Route("GET", "/_sandbox/faults", admin.get_faults),
    Route("PUT", "/_sandbox/faults", admin.put_faults),
    Route("DELETE", "/_sandbox/faults", admin.delete_faults),
    Route("POST", "/_sandbox/reset", admin.reset),
    Route("GET", "/_sandbox/requests", admin.get_requests),
    Route("DELETE", "/_sandbox/requests", admin.delete_requests),
    Route("POST", "/_sandbox/certificates", admin.post_certificate),
    Route("POST", "/_sandbox/invitations/ready", admin.post_invitations_ready),
    Route("GET", "/_sandbox/outbox", admin.get_outbox),
    Route("GET", "/certexpress/{token}", upload.show_form),
    Route("POST", "/certexpress/{token}", upload.submit_form),
)

#: Body of the ``malformed`` fault: starts like a FetchResult, is not JSON.
MALFORMED_BODY = b'{"@recordsetCount": 1, "value": [{"id": 1,, <sandbox: malformed>'


class SandboxApp:
    """The WSGI callable plus the state it serves (store, faults, request log)."""

    def __init__(self, config: SandboxConfig, log_requests: bool = False):
        self.config = config
        self._initial_config = config
        self.store = Store(config)
        self.faults = Faults()
        self.log_requests = log_requests
        self._requests: list[tuple[str, str, int | None]] = []
        self._requests_lock = threading.Lock()

    # -- control -------------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str, int | None]]:
        """(method, raw path, status) of the API calls served; status None = dropped."""
        with self._requests_lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._requests_lock:
            self._requests.clear()

    #: The settings ``configure`` may change while the sandbox runs.
    RUNTIME_SETTINGS = ("max_top", "refuse_gt_filter", "invite_ready_delay", "setup_delay")

    def configure(self, **changes) -> SandboxConfig:
        """Change runtime settings (``RUNTIME_SETTINGS``); ValueError if invalid."""
        unknown = set(changes) - set(self.RUNTIME_SETTINGS)
        if unknown:
            raise ValueError(
                f"cannot change {sorted(unknown)} while running; "
                f"only {list(self.RUNTIME_SETTINGS)}"
            )
        self.config = dataclasses.replace(self.config, **changes)
        return self.config

    def reset(self) -> None:
        """Seeded data, no faults, empty request log, the settings it started with."""
        self.store.reset()
        self.faults.clear()
        self.clear_requests()
        self.config = self._initial_config

    # -- WSGI ----------------------------------------------------------------

    def __call__(self, environ, start_response):
        started = time.monotonic()
        request = Request(environ)
        path = raw_path(environ)
        is_api = path.startswith(API_PREFIX)
        response = self._serve_api(request, path) if is_api else self._dispatch(request, path)
        status = None if response is None else response.status_code
        if is_api:
            with self._requests_lock:
                self._requests.append((request.method, path, status))
        if self.log_requests:
            elapsed = (time.monotonic() - started) * 1000
            sys.stderr.write(
                f'{request.remote_addr} "{request.method} {path}" '
                f"{status or 'dropped'} {elapsed:.1f}ms\n"
            )
        if response is None:
            _drop_connection(environ)
        return response(environ, start_response)

    def _serve_api(self, request: Request, path: str) -> Response | None:
        """An API call with its faults applied; None means: drop the connection."""
        faults = self.faults.current()
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if path_matches(faults.drop_connection, path):
            return None
        rule = self.faults.take_rule(request.method, path)
        if rule is not None:
            return rule.error().response()
        if self.faults.roll_failure():
            return ApiError(
                500, "InternalServerError", "Sandbox fault: random failure (fail_rate)."
            ).response()
        response = self._dispatch(request, path)
        if path_matches(faults.delay_path, path):
            time.sleep(faults.delay_seconds)
        if path_matches(faults.malformed, path):
            return Response(MALFORMED_BODY, content_type="application/json; charset=utf-8")
        if path_matches(faults.truncated, path):
            body = response.get_data()
            return Response(body[: len(body) // 2], content_type=response.content_type)
        return response

    def _dispatch(self, request: Request, path: str) -> Response:
        try:
            if path.startswith(API_PREFIX):
                self._authenticate(request)
            route, params = find_route(ROUTES, request.method, path)
            if "company_id" in params:
                params["company"] = self._company(params.pop("company_id"), route.needs_ecm)
            return route.handler(Call(request, self, path), **params)
        except ApiError as error:
            return error.response()
        except Exception:  # a sandbox bug: answer like AvaTax would, keep the trace
            traceback.print_exc(file=sys.stderr)
            return ApiError(
                500, "InternalServerError", "The sandbox failed; its log has the details."
            ).response()

    def _authenticate(self, request: Request) -> None:
        auth = request.authorization
        if auth is None or auth.type != "basic":
            raise ApiError(
                401,
                "AuthenticationException",
                "Authentication is required: HTTP Basic with accountId:licenseKey.",
            )
        expected = (self.config.account_id, self.config.license_key)
        if not all(
            compare_digest((given or "").encode(), wanted.encode())
            for given, wanted in zip((auth.username, auth.password), expected, strict=True)
        ):
            raise ApiError(
                401, "AuthenticationException", "The accountId or licenseKey is not valid."
            )

    def _company(self, company_id: int, needs_ecm: bool) -> Company:
        company = self.store.company(company_id)
        if company is None:
            raise not_found("Company", company_id)
        if needs_ecm and not self.store.is_provisioned(company.id):
            if company.setup_error == "AccountNotProvisioned":
                message = (
                    f"Automatic provisioning of exemption certificates failed for company "
                    f"{company.code}; Avalara has been notified."
                )
            else:
                message = (
                    f"Exemption certificate storage is not set up for company {company.code}: "
                    "call RequestCertificateSetup."
                )
            raise ApiError(400, company.setup_error, message, target="companyId")
        return company


def _drop_connection(environ) -> None:
    """Close the client's connection without answering (werkzeug's server only).

    Raising ConnectionAbortedError makes werkzeug treat the request as
    abandoned by the client: it writes nothing and logs nothing.
    """
    connection = environ.get("werkzeug.socket")
    if connection is None:
        raise RuntimeError("drop_connection needs werkzeug's development server")
    connection.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError("sandbox fault: connection dropped")
