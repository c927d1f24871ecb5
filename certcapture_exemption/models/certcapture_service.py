"""The one seam between Odoo and CertCapture.

Every CertCapture call of the add-on goes through ``_session``: it builds the
client of a company from its settings (``_make_client``, the one place tests
replace), reads those settings with the privileges they need, bounds the time
a person waits (``_time_budget``), logs failures and turns the client's typed
errors into one ``CertCaptureUserError`` whose text a user can act on.

The engines of ``certcapture.sync`` are its only callers: models hand them
records and get back records or results, never a client.
"""

import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import requests
from odoo import _, api, http, models
from odoo.exceptions import UserError
from odoo.modules.module import get_manifest
from odoo.tools import SQL

from .. import ecm

_logger = logging.getLogger(__name__)

# Named in every request's X-Avalara-Client header.
ADDON_VERSION = get_manifest("certcapture_exemption")["version"]

# Jobs (cron, queue) set this context key: nobody waits on them, so their
# calls get the client's full timeouts and retries instead of a budget.
JOB_CONTEXT_KEY = "certcapture_job"

# One HTTP session (connection pool) per thread, CertCapture host and account,
# kept while the thread lives: an order's call reuses the connection the last
# call opened instead of paying a new TCP and TLS handshake. Per thread, as a
# requests session is not meant to be shared between threads.
_thread_sessions = threading.local()


class CertCaptureUserError(UserError):
    """A CertCapture failure, worded for the user. Callers that must not block
    (order creation, scheduled jobs) catch it and keep its text."""

    def __init__(self, message, error=None):
        super().__init__(message)
        #: The client's error behind it (None for a settings problem).
        self.error = error


class CertCaptureService(models.AbstractModel):
    _name = "certcapture.service"
    _description = "CertCapture Service"

    # ------------------------------------------------------------ the client

    @api.model
    def _make_client(self, company):
        """A new client for ``company`` (sudo): the seam tests replace. It
        uses the thread's HTTP session for the company's host, unless the
        context asks for one of its own (``certcapture_own_session``: a client
        handed to another thread)."""
        base_url = company._certcapture_base_url()
        return ecm.EcmClient(
            base_url,
            company.certcapture_account_id,
            company.certcapture_license_key,
            company_id=company.certcapture_company_id or None,
            connect_timeout=company.certcapture_connect_timeout or 5.0,
            read_timeout=company.certcapture_read_timeout or 30.0,
            app_version=ADDON_VERSION,
            session=None
            if self.env.context.get("certcapture_own_session")
            else self._thread_http_session(base_url, company.certcapture_account_id),
        )

    @api.model
    def _thread_http_session(self, base_url, account_id):
        sessions = _thread_sessions.__dict__.setdefault("by_key", {})
        key = (base_url, account_id)
        if key not in sessions:
            sessions[key] = requests.Session()
        return sessions[key]

    @api.model
    def _check_settings(self, company):
        if not company.certcapture_enabled:
            raise CertCaptureUserError(
                _(
                    "CertCapture is not enabled for %s (Settings > Sales > CertCapture).",
                    company.name,
                )
            )
        if not (company.certcapture_account_id and company.certcapture_license_key):
            raise CertCaptureUserError(
                _(
                    "CertCapture of %s: set the account ID and license key in Settings.",
                    company.name,
                )
            )
        if not company.certcapture_company_code:
            raise CertCaptureUserError(
                _("CertCapture of %s: set the AvaTax company code in Settings.", company.name)
            )

    @api.model
    def _time_budget(self, company):
        """Seconds left for the calls of a session, or None for a job.

        Inside a person's HTTP request the budget is shared by every session
        the request opens (a save may sync, pull and check): its deadline is
        kept on the request. Outside one, each session gets the full budget."""
        if self.env.context.get(JOB_CONTEXT_KEY) or not company.certcapture_time_budget:
            return None
        budget = company.certcapture_time_budget
        if not http.request:
            return budget
        deadline = getattr(http.request, "_certcapture_deadline", None)
        if deadline is None:
            deadline = time.monotonic() + budget
            http.request._certcapture_deadline = deadline
        return max(0.0, deadline - time.monotonic())

    @contextmanager
    def _session(self, company):
        """``with service._session(company) as client:`` a client for the
        company, its AvaTax company id resolved, inside the time budget; any
        client error raised inside becomes a CertCaptureUserError."""
        company = company.sudo()
        self._check_settings(company)
        calls = []
        try:
            with self._mapped_errors(company):
                client = self._make_client(company)
                client.on_request = calls.append
                try:
                    with client.time_budget(self._time_budget(company)):
                        if client.company_id is None:
                            client.company_id = self._resolve_company_id(client, company)
                        yield client
                finally:
                    client.close()
        finally:
            self._log_calls(company, calls)

    @api.model
    def _concurrently(self, company, client, items, call, workers):
        """``call(a_client, item)`` for every item, on up to ``workers``
        threads; returns, in the items' order, what each call returned or the
        exception it raised (the caller decides what is whose fault).

        ``client`` is the session's; the other threads get clients of their
        own from the seam (one HTTP connection pool each), with the session's
        company id, deadline and request log. The threads only make HTTP
        calls: the ORM and the cursor stay in this thread."""
        items = list(items)

        def outcome(worker, item):
            try:
                return call(worker, item)
            except (
                Exception
            ) as error:  # handed back to the caller, who raises what is not an item's
                return error

        workers = max(1, min(workers, len(items)))
        if workers == 1:
            return [outcome(client, item) for item in items]
        extra = []
        try:
            for _index in range(workers - 1):
                worker = self.with_context(certcapture_own_session=True)._make_client(
                    company.sudo()
                )
                worker.company_id = client.company_id
                worker.deadline = client.deadline
                worker.on_request = client.on_request
                extra.append(worker)
            idle = queue.SimpleQueue()
            for worker in (client, *extra):
                idle.put(worker)

            def run(item):
                worker = idle.get()
                try:
                    return outcome(worker, item)
                finally:
                    idle.put(worker)

            with ThreadPoolExecutor(workers, thread_name_prefix="certcapture") as pool:
                return list(pool.map(run, items))
        finally:
            for worker in extra:
                worker.close()

    @api.model
    def _log_calls(self, company, calls):
        """The session's calls as request log lines, with the record they
        served (the ``certcapture_served`` context key: a record). Calls made
        for a record that does not exist yet (an order being created) wait in
        the ``certcapture_deferred_calls`` context list, as (company, calls),
        for the record to log them once it exists."""
        if not calls:
            return
        deferred = self.env.context.get("certcapture_deferred_calls")
        if deferred is not None:
            deferred.append((company, calls))
            return
        served = self.env.context.get("certcapture_served")
        # One INSERT of plain values, as Odoo's own ir.logging does: a line per
        # call must not cost an ORM create (an order's check makes one).
        now = self.env.cr.now()
        rows = SQL(", ").join(
            SQL(
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                company.id,
                self.env.uid,
                call["method"],
                call["path"],
                call["status"] or 0,
                call["error_code"] or None,
                call["duration_ms"],
                call["attempt"],
                self.env["certcapture.api.log"]._is_ok(call["status"] or 0, call["error_code"]),
                served._name if served else None,
                served.id if served else None,
                self.env.uid,
                self.env.uid,
                now,
                now,
            )
            for call in calls
        )
        self.env.cr.execute(
            SQL(
                """INSERT INTO certcapture_api_log
                       (company_id, user_id, method, path, status, error_code, duration_ms,
                        attempt, ok, res_model, res_id, create_uid, write_uid, create_date,
                        write_date)
                   VALUES %s""",
                rows,
            )
        )

    @api.model
    def _resolve_company_id(self, client, company):
        found = client.find_company(company.certcapture_company_code)
        if not found:
            raise CertCaptureUserError(
                _(
                    "AvaTax has no company with the code %(code)s for this account "
                    "(company %(company)s): check the company code in Settings.",
                    code=company.certcapture_company_code,
                    company=company.name,
                )
            )
        company.certcapture_company_id = found.id
        return found.id

    @contextmanager
    def _mapped_errors(self, company):
        try:
            yield
        except ValueError as error:
            # The client refuses, before sending, what AvaTax would refuse
            # (a customer without its required fields...): nothing was sent.
            _logger.warning("CertCapture call refused for company %s: %s", company.id, error)
            raise CertCaptureUserError(
                _("Not sent to CertCapture, which would refuse it: %s", error)
            ) from error
        except ecm.EcmError as error:
            _logger.warning(
                "CertCapture call failed for company %s: %s %s -> %s %s",
                company.id,
                error.method,
                error.path,
                error.status,
                error.code,
            )
            raise CertCaptureUserError(self._user_message(error, company), error) from error

    @api.model
    def _user_message(self, error, company):
        """One sentence that says what failed and what to do about it."""
        detail = error.message or error.code or ""
        if isinstance(error, ecm.AuthenticationError):
            return _(
                "CertCapture refused the credentials of %s: check the account ID and license "
                "key in Settings > Sales > CertCapture.",
                company.name,
            )
        if isinstance(error, ecm.NotProvisionedError):
            if error.code == ecm.const.ERROR_ACCOUNT_NOT_PROVISIONED:
                return _(
                    "Avalara could not set up exemption certificates for AvaTax company %s "
                    "(AccountNotProvisioned): an administrator can request the setup again "
                    "from Settings > Sales > CertCapture, or ask Avalara.",
                    company.certcapture_company_code,
                )
            return _(
                "Exemption certificates (CertCapture) are not set up for AvaTax company %s: "
                "an administrator can request the setup from Settings > Sales > CertCapture, "
                "or ask Avalara.",
                company.certcapture_company_code,
            )
        if isinstance(error, ecm.RateLimitedError):
            return _("CertCapture is receiving too many requests; it will be asked again later.")
        if isinstance(error, ecm.RequestTimeoutError):
            return _("CertCapture did not answer in time; it will be asked again later.")
        if isinstance(error, ecm.TransportError):
            return _("CertCapture could not be reached (%s); it will be asked again later.", detail)
        if isinstance(error, ecm.ServerError):
            return _(
                "CertCapture had an internal error (HTTP %s); it will be asked again later.",
                error.status,
            )
        if isinstance(error, ecm.ProtocolError):
            return _("CertCapture sent an answer that cannot be read: %s", detail)
        if isinstance(error, ecm.ConfigurationError):
            return _(
                "CertCapture settings of %(company)s are not usable: %(detail)s",
                company=company.name,
                detail=detail,
            )
        if isinstance(error, ecm.NotFoundError):
            return _("CertCapture does not know this record: %s", detail)
        return _("CertCapture refused the request: %s", detail)
