"""Running the sandbox on a real socket, for tests (in-process) and for the CLI.

Tests of the client and of the add-on start one with::

    with SandboxServer(SandboxConfig(), port=0) as sandbox:
        client = make_client(base_url=sandbox.url, ...)

It serves from a daemon thread with werkzeug's threaded server, so a test
that forgets to stop it cannot keep the interpreter alive.
"""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .admin import add_certificate, sent_emails
from .app import SandboxApp
from .config import SandboxConfig

#: How often the serving loop checks for stop(); small, so stop() is quick.
_POLL_SECONDS = 0.05


class _RequestHandler(WSGIRequestHandler):
    """werkzeug's handler minus its access log: the app logs requests itself."""

    def log_request(self, code="-", size="-"):
        pass


class SandboxServer:
    """A sandbox listening on ``host:port`` (port 0: any free port)."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_requests: bool = False,
    ):
        self.config = config or SandboxConfig()
        self.host = host
        self.port = port
        self.app = SandboxApp(self.config, log_requests=log_requests)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------

    def start(self) -> SandboxServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError("the sandbox is already running")
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_RequestHandler
        )
        self.port = self._server.port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name=f"certcapture-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (calls already running may finish)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL for clients, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    # -- test helpers ------------------------------------------------------------

    def company_id(self, company_code: str) -> int:
        """The numeric AvaTax id of a configured company; KeyError if unknown."""
        company = self.app.store.company_by_code(company_code)
        if company is None:
            raise KeyError(company_code)
        return company.id

    def set_faults(
        self,
        latency_ms: int = 0,
        fail_rate: float = 0.0,
        rules: list[dict] | None = None,
        malformed: str | None = None,
        truncated: str | None = None,
        non_pdf_attachment: bool = False,
        drop_connection: str | None = None,
        delay_path: str | None = None,
        delay_seconds: float = 0,
    ) -> None:
        """Replace all faults (see :mod:`certcapture_sandbox.faults`); ValueError if invalid."""
        self.app.faults.replace(
            {
                "latency_ms": latency_ms,
                "fail_rate": fail_rate,
                "rules": rules or [],
                "malformed": malformed,
                "truncated": truncated,
                "non_pdf_attachment": non_pdf_attachment,
                "drop_connection": drop_connection,
                "delay_path": delay_path,
                "delay_seconds": delay_seconds,
            }
        )

    def clear_faults(self) -> None:
        self.app.faults.clear()

    def configure(self, **changes) -> SandboxConfig:
        """Change settings while running: ``max_top``, ``refuse_gt_filter``,
        ``invite_ready_delay``, ``setup_delay``; ``reset()`` restores those it started
        with. ValueError if invalid. Returns the new configuration."""
        return self.app.configure(**changes)

    def reset(self) -> None:
        """Back to the seeded state: no customers, no faults, empty request log."""
        self.app.reset()

    @property
    def requests(self) -> list[tuple[str, str, int | None]]:
        """(method, path, status) of every API call served; status None = dropped."""
        return self.app.requests

    def clear_requests(self) -> None:
        self.app.clear_requests()

    def add_certificate(self, customer_code: str, **fields) -> dict:
        """Simulate a customer upload; the created CertificateModel JSON.

        Takes the keyword arguments of :func:`certcapture_sandbox.admin.add_certificate`
        (region, company_code, exemption_number, reason, signed_date,
        expiration_date, single_use, pdf, status, filename) with its defaults.
        """
        return add_certificate(self.app, customer_code, **fields)

    def delete_customer(self, customer_code: str, company_code: str = "DEFAULT") -> None:
        """Delete a customer, as a CertCapture user can in its web app."""
        self.app.store.delete_customer(self.company_id(company_code), customer_code)

    def make_invitations_ready(self) -> int:
        """Make every pending invitation Ready now; how many there were."""
        return self.app.store.make_invitations_ready()

    def sent_emails(self) -> list[dict]:
        """The emails Email invitations sent once Ready, oldest first: ``to``,
        ``subject``, ``link`` (the CertExpress upload page, on this server's URL),
        ``invitationId``, ``companyId``, ``customerCode``, ``sentDate``. A test plays
        the customer by opening ``link``."""
        return sent_emails(self.app, self.url)
