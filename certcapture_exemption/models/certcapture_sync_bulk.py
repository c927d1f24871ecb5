"""Bulk work on a selection of customers: sync, certificate requests, refresh.

The engines of ``certcapture.sync`` for one customer, run for many. New
customers travel 100 to a POST (``EcmClient.create_customers``); everything
else goes customer by customer, as the API has no bulk form of it. A run never
stops for one customer: what belongs to a customer (its data refused,
CertCapture not knowing it) is recorded against it and the others go on; what
belongs to CertCapture or the settings (unreachable, rate limits, credentials,
the time a person may wait) stops the run, and the customers it did not reach
are handed back (``BulkOutcome.pending``) for a job to resume.

The wizard (``certcapture.bulk.action.wizard``) runs small selections at once
and the job (``certcapture.bulk.job``) the others, batch by batch; both read
the result through ``_bulk_summary``.
"""

import logging

from odoo import _, api, models
from odoo.exceptions import UserError

from .. import ecm
from ..const import BULK_NAMES_SHOWN
from .certcapture_service import CertCaptureUserError

_logger = logging.getLogger(__name__)

# A request of these states is still open: no second one is sent on top of it
# ("unconfirmed" may have reached the customer: the next single request checks).
OPEN_REQUEST_STATES = ("in_progress", "sent", "unconfirmed")

# Failures that belong to one customer: recorded, and the run goes on. Any
# other (CertCapture down, rate limiting, credentials, settings, the time
# budget) stops the run, to be resumed.
BULK_ITEM_FAULTS = (
    ecm.ValidationError,
    ecm.NotFoundError,
    ecm.ProtocolError,
    ecm.CertCaptureError,
)


class BulkOutcome:
    """What a bulk run did to each customer (partner ids): ``done`` by result
    ("created", "sent", "changed"...), ``skipped`` by reason ("incomplete",
    "open_request"...), ``failed`` with its message; ``stopped`` says why the
    run ended early and ``pending`` lists the customers it did not reach."""

    def __init__(self):
        self.done = {}
        self.skipped = {}
        self.failed = {}
        self.stopped = None
        self.pending = []
        #: Whether trying the pending customers later may succeed (CertCapture
        #: down or busy, the time budget spent), rather than needing a person
        #: (settings, credentials, provisioning).
        self.resumable = False

    def add(self, result, partner):
        self.done.setdefault(result, []).append(partner.id)

    def skip(self, reason, partner):
        self.skipped.setdefault(reason, []).append(partner.id)

    def fail(self, partner, message):
        self.failed[partner.id] = str(message)

    def stop(self, message, partners, resumable=False):
        """The run ends here: ``partners`` not yet reached are pending."""
        reached = self.reached_ids()
        self.stopped = str(message)
        self.resumable = resumable
        self.pending += [partner.id for partner in partners if partner.id not in reached]

    def reached_ids(self):
        ids = set(self.failed)
        for group in (*self.done.values(), *self.skipped.values()):
            ids.update(group)
        return ids

    def details(self):
        """As the job keeps it (JSON): counts of done, ids of skipped,
        messages of failed (by id, as text: JSON keys are strings)."""
        return {
            "done": {result: len(ids) for result, ids in self.done.items()},
            "skipped": {reason: list(ids) for reason, ids in self.skipped.items()},
            "failed": {str(partner_id): message for partner_id, message in self.failed.items()},
        }


def merge_details(details, more):
    """Two ``BulkOutcome.details()`` (or their sums) added up, as a new dict."""
    details = details or {}
    merged = {
        "done": dict(details.get("done") or {}),
        "skipped": {reason: list(ids) for reason, ids in (details.get("skipped") or {}).items()},
        "failed": dict(details.get("failed") or {}),
    }
    for result, count in more["done"].items():
        merged["done"][result] = merged["done"].get(result, 0) + count
    for reason, ids in more["skipped"].items():
        merged["skipped"].setdefault(reason, []).extend(ids)
    merged["failed"].update(more["failed"])
    return merged


class CertCaptureSync(models.AbstractModel):
    # The engines of certcapture.sync are split by concern (this file: bulk
    # work), each file readable on its own, rather than one long module.
    _inherit = "certcapture.sync"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------- dispatch

    @api.model
    def _bulk_run(self, kind, partners, company, zones=None, reasons=None):
        """Run one kind of bulk work ("sync", "request", "refresh") on the
        customers of ``partners``; returns a BulkOutcome."""
        if kind == "sync":
            return self._sync_customers_bulk(partners, company)
        if kind == "request":
            return self._send_requests_bulk(partners, company, zones, reasons)
        if kind == "refresh":
            return self._refresh_customers_bulk(partners, company)
        raise ValueError(f"unknown bulk kind {kind!r}")

    @api.model
    def _bulk_customers(self, partners):
        """The customers of a selection: commercial partners, each once, in
        id order (a contact of a company stands for its company)."""
        return partners.commercial_partner_id.sorted("id")

    @api.model
    def _bulk_item_fault(self, error):
        """Whether a failure (a CertCaptureUserError or a client error)
        belongs to one customer rather than to CertCapture or the settings."""
        if isinstance(error, CertCaptureUserError):
            if error.error is None:
                # The client refused the customer before sending (ValueError),
                # or the settings are incomplete.
                return isinstance(error.__cause__, ValueError)
            error = error.error
        return isinstance(error, BULK_ITEM_FAULTS)

    @api.model
    def _bulk_resumable(self, error):
        """Whether a CertCaptureUserError that stopped a run may pass by
        itself (CertCapture down or busy, the time budget spent)."""
        return isinstance(error.error, ecm.TransportError | ecm.ServerError | ecm.RateLimitedError)

    @api.model
    def _bulk_each(self, outcome, partners, handle):
        """``handle(partner)`` for each partner, each in a savepoint: returns a
        result key (counted as done) or None (it recorded a skip itself). A
        failure of the customer's is recorded and the others go on; any other
        stops the run, the rest pending."""
        for index, partner in enumerate(partners):
            try:
                with self.env.cr.savepoint():
                    result = handle(partner)
            except CertCaptureUserError as error:
                if not self._bulk_item_fault(error):
                    outcome.stop(error.args[0], partners[index:], self._bulk_resumable(error))
                    return outcome
                _logger.info("CertCapture bulk work: customer %s failed: %s", partner.id, error)
                outcome.fail(partner, error.args[0])
                continue
            except UserError as error:
                # Odoo refused something of this customer's (access, a
                # constraint): its own failure, not the run's.
                _logger.info("CertCapture bulk work: customer %s refused: %s", partner.id, error)
                outcome.fail(partner, error.args[0])
                continue
            if result:
                outcome.add(result, partner)
        return outcome

    # ------------------------------------------------------------- sync

    @api.model
    def _sync_customers_bulk(self, partners, company):
        """Send many customers to CertCapture: those it does not have yet
        (no CertCapture id for the company) go 100 to a POST, those whose
        payload changed since their last sync are updated one by one (PUT has
        no bulk form), unchanged ones cost nothing. Customers whose address
        CertCapture would refuse are skipped ("incomplete"). The bookkeeping
        (id, hash, last sync, chatter note) is that of ``_sync_customer``.
        Returns a BulkOutcome: created, updated, unchanged."""
        outcome = BulkOutcome()
        partners = self._bulk_customers(partners).sudo().with_company(company)
        complete = partners.filtered(lambda p: not p._certcapture_missing_address_fields())
        for partner in partners - complete:
            outcome.skip("incomplete", partner)
        complete._certcapture_ensure_customer_code()
        creates, updates = [], complete.browse()
        for partner in complete:
            payload = self._customer_payload(partner)
            payload_hash = self._payload_hash(payload)
            if payload.missing_fields():  # a name, say: the client would refuse it
                outcome.skip("incomplete", partner)
            elif not partner.certcapture_id:
                creates.append((partner, payload, payload_hash))
            elif partner.certcapture_sync_hash != payload_hash:
                updates |= partner
            else:
                outcome.add("unchanged", partner)
        if not (creates or updates):
            return outcome
        try:
            with self._service()._session(company) as client:
                self._bulk_sync_each(
                    outcome,
                    updates,
                    company,
                    lambda partner: self._sync_customer(client, partner, company) and "updated",
                )
                size = ecm.const.MAX_CUSTOMERS_PER_CREATE
                for start in range(0, len(creates), size):
                    self._bulk_create_chunk(client, creates[start : start + size], company, outcome)
        except CertCaptureUserError as error:
            outcome.stop(
                error.args[0],
                updates | complete.browse([partner.id for partner, *_rest in creates]),
                self._bulk_resumable(error),
            )
        return outcome

    @api.model
    def _bulk_sync_each(self, outcome, partners, company, call):
        """``call(partner)`` -> result key for each partner inside an open
        session: a client error of the customer's is recorded, any other goes
        up (the session maps it; the run stops)."""
        for partner in partners:
            try:
                with self.env.cr.savepoint():
                    result = call(partner)
            except UserError as error:  # Odoo refused something of this customer's
                outcome.fail(partner, error.args[0])
            except ValueError as error:  # refused by the client before sending
                outcome.fail(
                    partner, _("Not sent to CertCapture, which would refuse it: %s", error)
                )
            except ecm.EcmError as error:
                if not self._bulk_item_fault(error):
                    raise
                _logger.info("CertCapture bulk sync: customer %s failed: %s", partner.id, error)
                outcome.fail(partner, self._service()._user_message(error, company))
            else:
                outcome.add(result, partner)

    @api.model
    def _bulk_create_chunk(self, client, chunk, company, outcome):
        """Create up to 100 customers in one POST and book each one."""
        try:
            created, taken = client.create_customers([payload for _p, payload, _h in chunk]), ()
        except ecm.DuplicateCustomersError as error:
            created, taken = error.created, set(error.codes)
        except (ecm.ValidationError, ecm.CertCaptureError, ecm.NotFoundError, ValueError) as error:
            # Refused as a whole: one customer's data can hold the others
            # back, so each goes on its own and only the culprit fails.
            _logger.info(
                "CertCapture refused %d new customers at once (%s): one by one", len(chunk), error
            )
            self._bulk_sync_each(
                outcome,
                [partner for partner, _payload, _hash in chunk],
                company,
                lambda partner: self._sync_customer(client, partner, company) and "created",
            )
            return
        remote_by_code = {customer.customer_code: customer for customer in created}
        for partner, payload, payload_hash in chunk:
            remote = remote_by_code.get(payload.customer_code)
            if remote:
                self._bulk_synced(partner, payload, payload_hash, remote)
                outcome.add("created", partner)
            elif payload.customer_code in taken:
                # Already in CertCapture (created by another system, or by a
                # run whose bookkeeping was rolled back): taken over with a
                # full update, as _sync_customer does.
                self._bulk_sync_each(
                    outcome,
                    [partner],
                    company,
                    lambda partner, payload=payload, payload_hash=payload_hash: (
                        self._bulk_synced(
                            partner, payload, payload_hash, client.update_customer(payload)
                        )
                        and "updated"
                    ),
                )
            else:  # create_customers answers for each customer: never seen
                outcome.fail(partner, _("CertCapture did not say whether it was created."))

    @api.model
    def _bulk_synced(self, partner, payload, payload_hash, remote):
        """The customer's bookkeeping after a create or update, as
        ``_sync_customer`` writes it. Returns True."""
        partner.write(
            {
                "certcapture_id": remote.id or 0,
                "certcapture_sync_hash": payload_hash,
                "certcapture_last_sync": self.env.cr.now(),
            }
        )
        self._note(partner, _("Customer %s sent to CertCapture.", payload.customer_code))
        return True

    # ------------------------------------------------------------- requests

    @api.model
    def _send_requests_bulk(self, partners, company, zones=None, reasons=None):
        """Send a certificate request (by email) to each customer; skipped:
        a request of the company still open ("open_request"), no valid email
        ("no_email"), an address CertCapture would refuse ("incomplete").
        ``zones`` (the states asked for) default to each customer's exempt
        state, else the state of its address; ``reasons`` to its exemption
        reason. Returns a BulkOutcome: sent, found, unconfirmed."""
        outcome = BulkOutcome()
        partners = self._bulk_customers(partners).with_company(company)
        open_requests = (
            self.env["certcapture.certificate.request"]
            .sudo()
            .search(
                [
                    ("partner_id", "in", partners.ids),
                    ("company_id", "=", company.id),
                    ("state", "in", OPEN_REQUEST_STATES),
                ]
            )
        )
        has_open = set(open_requests.partner_id.ids)

        def send(partner):
            recipient = partner._certcapture_request_recipient()
            if partner.id in has_open:
                outcome.skip("open_request", partner)
            elif not recipient:
                outcome.skip("no_email", partner)
            elif partner._certcapture_missing_address_fields():
                outcome.skip("incomplete", partner)
            else:
                return self._bulk_send_one(partner, company, recipient, zones, reasons)
            return None

        return self._bulk_each(outcome, partners, send)

    @api.model
    def _bulk_send_one(self, partner, company, recipient, zones, reasons):
        zones = zones or self._bulk_request_zones(partner)
        reasons = reasons or partner.certcapture_exemption_reason_id
        request, result = self._send_request(partner, company, recipient, zones, reasons)
        states = ", ".join(zones.mapped("name"))
        body = self._request_sent_note(request, result, recipient, states)
        self._note(partner, body)
        return result

    @api.model
    def _bulk_request_zones(self, partner):
        """The states to ask a customer for: its exempt state, else the state
        of its address (none when neither is known: the customer chooses)."""
        state = partner.certcapture_exempt_state_id or partner.state_id
        zones = self.env["certcapture.exposure.zone"].sudo()
        return zones.search([("state_id", "=", state.id)], limit=1) if state else zones

    # ------------------------------------------------------------- refresh

    @api.model
    def _refresh_customers_bulk(self, partners, company):
        """Pull each customer's certificates (``_pull_customer``); skipped:
        never sent to CertCapture ("not_synced"), an address CertCapture would
        refuse ("incomplete"), a pull of the company running now, which brings
        them in ("pull_running"). Returns a BulkOutcome: changed, nothing_new."""
        outcome = BulkOutcome()

        def refresh(partner):
            if not partner.certcapture_customer_code:
                outcome.skip("not_synced", partner)
                return None
            if partner._certcapture_missing_address_fields():
                outcome.skip("incomplete", partner)
                return None
            changed = self._pull_customer(partner, company)
            if changed is None:
                outcome.skip("pull_running", partner)
                return None
            return "changed" if changed else "nothing_new"

        partners = self._bulk_customers(partners).with_company(company)
        return self._bulk_each(outcome, partners, refresh)

    # ------------------------------------------------------------- summary

    @api.model
    def _bulk_labels(self):
        """(labels of results, labels of skip reasons), in the user's words."""
        return (
            {
                "created": _("created"),
                "updated": _("updated"),
                "unchanged": _("already up to date"),
                "sent": _("sent"),
                "found": _("already in CertCapture (not sent twice)"),
                "unconfirmed": _("not confirmed by CertCapture"),
                "changed": _("with new or changed certificates"),
                "nothing_new": _("with nothing new"),
            },
            {
                "incomplete": _("address incomplete"),
                "open_request": _("a request is already open"),
                "no_email": _("no valid email"),
                "not_synced": _("not in CertCapture yet"),
                "pull_running": _("certificates being pulled right now (they come with it)"),
            },
        )

    @api.model
    def _bulk_names(self, partner_ids):
        """Customers' names, the first few only, the rest counted."""
        shown = self.env["res.partner"].sudo().browse(partner_ids[:BULK_NAMES_SHOWN])
        names = ", ".join(shown.mapped("display_name"))
        if len(partner_ids) > BULK_NAMES_SHOWN:
            names = _(
                "%(names)s and %(count)s more",
                names=names,
                count=len(partner_ids) - BULK_NAMES_SHOWN,
            )
        return names

    @api.model
    def _bulk_summary(self, details, stopped=None, pending=0):
        """One paragraph a user reads: what was done, skipped and why, failed
        and why, and what was not reached."""
        result_labels, reason_labels = self._bulk_labels()

        def in_label_order(values, labels):
            # Always in the same order, whatever customer came first.
            known = [(key, values[key]) for key in labels if values.get(key)]
            return known + [(key, value) for key, value in values.items() if key not in labels]

        done = dict(in_label_order(details.get("done") or {}, result_labels))
        skipped = dict(in_label_order(details.get("skipped") or {}, reason_labels))
        failed = details.get("failed") or {}
        parts = []
        # Each _() stands on its own: Babel does not extract one nested in
        # the arguments of another.
        if done:
            results = ", ".join(
                _("%(count)s %(label)s", count=count, label=result_labels.get(key, key))
                for key, count in done.items()
            )
            parts.append(
                _("Done for %(count)s: %(results)s.", count=sum(done.values()), results=results)
            )
        if skipped:
            reasons = "; ".join(
                _(
                    "%(reason)s: %(names)s",
                    reason=reason_labels.get(key, key),
                    names=self._bulk_names(ids),
                )
                for key, ids in skipped.items()
            )
            count = sum(len(ids) for ids in skipped.values())
            parts.append(_("Skipped %(count)s: %(reasons)s.", count=count, reasons=reasons))
        if failed:
            ids = [int(partner_id) for partner_id in failed]
            shown = self.env["res.partner"].sudo().browse(ids[:BULK_NAMES_SHOWN])
            failures = "; ".join(
                _(
                    "%(name)s: %(message)s",
                    name=partner.display_name,
                    message=failed[str(partner.id)],
                )
                for partner in shown
            )
            if len(ids) > BULK_NAMES_SHOWN:
                failures = _(
                    "%(names)s and %(count)s more",
                    names=failures,
                    count=len(ids) - BULK_NAMES_SHOWN,
                )
            parts.append(_("Failed %(count)s: %(failures)s.", count=len(ids), failures=failures))
        if stopped:
            parts.append(
                _(
                    "Stopped before %(count)s customers: %(error)s",
                    count=pending,
                    error=stopped,
                )
            )
        return " ".join(parts) or _("No customer selected.")
