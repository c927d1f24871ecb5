"""The engines that keep Odoo and CertCapture in step.

Customer sync, the exemption status check, the certificate pull, certificate
requests and their follow-up, the lists of states and reasons: each engine
opens a session on the seam (``certcapture.service``), makes its calls and
writes the records it owns (certificates, requests, the status cache, the
customers' CertCapture bookkeeping) with the privileges that bookkeeping
needs, whoever triggered it. Models hand the engines records and get back
records or results; they never see a client.
"""

import base64
import hashlib
import json
import logging
from datetime import timedelta, timezone

from odoo import _, api, fields, models
from odoo.tools import SQL
from psycopg2.errors import LockNotAvailable, UniqueViolation

from .. import ecm
from ..const import (
    COUNTRY_CODE,
    FOLLOW_REQUEST_DAYS,
    RETRY_BATCH_SIZE,
    RETRY_MAX_AGE_DAYS,
)
from .certcapture_service import JOB_CONTEXT_KEY, CertCaptureUserError

_logger = logging.getLogger(__name__)

# pg_try_advisory_xact_lock(namespace, company id): one pull per company at a
# time, whoever starts it (the scheduled job, a button, an order update).
PULL_LOCK_NAMESPACE = 0x43435055  # "CCPU"

# The request's delivery in Odoo -> CertCapture's deliveryMethod.
DELIVERY_METHODS = {"email": ecm.DELIVERY_EMAIL, "download": ecm.DELIVERY_DOWNLOAD}

# Failures that belong to one certificate (its file, its data): it is
# recorded and skipped. Any other failure (CertCapture down, refusing,
# rate limiting) stops the batch, to be resumed as a whole.
ITEM_FAULTS = (ecm.ProtocolError, ecm.NotFoundError)


def naive_utc(moment):
    """An API date-time as Odoo stores them: UTC without tzinfo."""
    if not moment:
        return False
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


class CertCaptureSync(models.AbstractModel):
    _name = "certcapture.sync"
    _description = "CertCapture Sync Engines"

    @api.model
    def _service(self):
        return self.env["certcapture.service"]

    @api.model
    def _note(self, records, body):
        """Log a note in the records' chatter as the add-on's bookkeeping: it
        must not fail for a user without email or write access."""
        for record in records.sudo():
            record._message_log(body=body)

    # ------------------------------------------------------------- customers

    @api.model
    def _customer_payload(self, partner):
        """The CertCapture customer for a commercial partner."""
        return ecm.Customer(
            customer_code=partner.certcapture_customer_code,
            name=partner.name,
            line1=partner.street or None,
            line2=partner.street2 or None,
            city=partner.city or None,
            postal_code=partner.zip or None,
            region=partner.state_id.code or None,
            country=partner.country_id.code or None,
            email_address=partner._certcapture_request_recipient() or None,
            phone_number=partner.phone or None,
            contact_name=self._first_contact_name(partner),
            # The commercial partner is the purchaser: a bill-to customer.
            # AvaTax refuses a customer that is both (1220); the delivery
            # states are asked for on this customer (see docs/architecture.md).
            is_bill=True,
        )

    @api.model
    def _first_contact_name(self, partner):
        """The name of the customer's first contact (as child_ids lists them),
        read alone: the payload is built on every uncached order check."""
        contact = (
            self.env["res.partner"]
            .sudo()
            .search_fetch([("parent_id", "=", partner.id)], ["name"], limit=1)
        )
        return contact.name or None

    @staticmethod
    def _payload_hash(customer):
        return hashlib.sha256(json.dumps(customer.to_api(), sort_keys=True).encode()).hexdigest()

    @api.model
    def _sync_customer(self, client, partner, company):
        """Create the customer in CertCapture the first time, update it when
        its fields changed since the last sync; send nothing otherwise.
        Returns its customer code."""
        # Its bookkeeping in this company is read with the partner's other
        # company-dependent fields, in one query that an order being created
        # for it would make anyway (payment terms, fiscal position).
        partner = partner.commercial_partner_id.sudo().with_company(company)
        if partner.certcapture_id and partner.certcapture_sync_hash:
            # Sent, and nothing it is made of written since: a write of those
            # fields drops the hash (res.partner._certcapture_payload_changed).
            return partner.certcapture_customer_code
        partner._certcapture_ensure_customer_code()
        payload = self._customer_payload(partner)
        payload_hash = self._payload_hash(payload)
        if partner.certcapture_id:
            try:
                remote = client.update_customer(payload)
            except ecm.NotFoundError:
                # Deleted on the CertCapture side: create it again.
                remote = client.create_customer(payload)
        else:
            try:
                remote = client.create_customer(payload)
            except ecm.ValidationError as create_error:
                # Already there (created by another system, or by us before
                # this database forgot): take it over with a full update.
                try:
                    client.get_customer(payload.customer_code)
                except ecm.NotFoundError:
                    raise create_error from None
                remote = client.update_customer(payload)
        partner.write(
            {
                "certcapture_id": remote.id or 0,
                "certcapture_sync_hash": payload_hash,
                "certcapture_last_sync": self.env.cr.now(),
            }
        )
        self._note(partner, _("Customer %s sent to CertCapture.", payload.customer_code))
        return payload.customer_code

    @api.model
    def _forget_customer(self, partner, company):
        """CertCapture no longer knows the customer: the next sync creates it."""
        partner.commercial_partner_id.sudo().with_company(company).write(
            {"certcapture_id": 0, "certcapture_sync_hash": False}
        )

    @api.model
    def _for_customer(self, client, partner, company, call):
        """``call(customer_code)`` after syncing the customer; if CertCapture
        answers that it does not know the customer (deleted there since it was
        last sent), the customer is sent again and the call made once more."""
        code = self._sync_customer(client, partner, company)
        try:
            return call(code)
        except ecm.NotFoundError:
            _logger.info("CertCapture customer %s is gone: sending it again", code)
            self._forget_customer(partner, company)
            return call(self._sync_customer(client, partner, company))

    # ------------------------------------------------------------- status

    @api.model
    def _exemption_status(self, partner, company, state):
        """(status, certificate) of ``partner`` for ``state``: "exempt" or
        "missing". A current certificate typed in Odoo and not yet in
        CertCapture counts; otherwise CertCapture is asked (after syncing the
        customer) unless the cached answer is fresh."""
        partner = partner.commercial_partner_id
        on_file = partner._certcapture_state_certificates(state, company)
        local = on_file._certcapture_local()
        if local:
            return "exempt", local
        cache = self.env["certcapture.status.cache"].sudo()
        cached = cache._lookup(partner, company, state)
        if cached:
            return cached.status, cached.certificate_id
        # What asking writes (the customer's sync, the answer's certificate,
        # the cache) is undone if the database refuses it: an order being
        # created around it must not be lost. CertCapture's own failure undoes
        # nothing (the customer it created is known).
        failure = None
        with self.env.cr.savepoint():
            try:
                with self._service()._session(company) as client:
                    answer = self._for_customer(
                        client,
                        partner,
                        company,
                        # The order check asks for US states only.
                        lambda code: client.get_exemption_status(code, state.code, COUNTRY_CODE),
                    )
            except CertCaptureUserError as error:
                failure = error
            else:
                certificate = self.env["certcapture.certificate"]
                if answer.certificate:
                    # The answer's certificate, linked to the order; its PDF
                    # comes with the pull.
                    certificate = self._record_answer_certificate(
                        answer.certificate, partner, company, on_file
                    )
                status = "exempt" if answer.is_exempt else "missing"
                cache._store(partner, company, state, status, certificate)
        if failure is not None:
            raise failure
        return status, certificate

    # ------------------------------------------------------------- certificates

    @api.model
    def _zone_and_state(self, api_certificate, lookups=None):
        """The exposure zone record and the state of an API certificate;
        ``lookups`` (see _page_lookups) saves the queries for a whole page."""
        zone_record = self.env["certcapture.exposure.zone"].sudo()
        state = self.env["res.country.state"]
        zone = api_certificate.exposure_zone
        if not zone:
            return zone_record, state
        if lookups is None:
            lookups = self._page_lookups([api_certificate])
        zone_record = lookups["zones"].get(zone.id, zone_record)
        state = zone_record.state_id or lookups["states"].get(
            (zone.country or "US", zone.region), state
        )
        return zone_record, state

    @api.model
    def _certificate_values(self, api_certificate, with_po_numbers=True, lookups=None):
        """The record values of an API certificate; ``lookups`` (see
        _page_lookups) when it is one of a page."""
        if lookups is None:
            lookups = self._page_lookups([api_certificate])
        zone_record, state = self._zone_and_state(api_certificate, lookups)
        api_reason = api_certificate.exemption_reason
        reason = lookups["reasons"].get(api_reason.id) if api_reason else None
        reason = reason or self.env["certcapture.exemption.reason"]
        return {
            "certcapture_id": api_certificate.id,
            "source": "pulled",
            "state_id": state.id,
            "exposure_zone_id": zone_record.id,
            "exemption_reason_id": reason.id,
            "exemption_number": api_certificate.exemption_number,
            "signed_date": api_certificate.signed_date,
            "expiration_date": api_certificate.expiration_date,
            "valid": bool(api_certificate.valid)
            and api_certificate.ecm_status not in (ecm.ECM_STATUS_EXPIRED, ecm.ECM_STATUS_INVALID),
            "verified": bool(api_certificate.verified),
            "single_use": bool(api_certificate.is_single_certificate),
            # Only where the call asked for them ($include=po_numbers): the
            # exemption status answer has none and must not erase them.
            **(
                {"po_numbers": ", ".join(api_certificate.po_numbers) or False}
                if with_po_numbers
                else {}
            ),
            "status": api_certificate.status,
            "ecm_status": api_certificate.ecm_status,
            "remote_modified_date": naive_utc(api_certificate.modified_date),
        }

    @api.model
    def _record_answer_certificate(self, api_certificate, partner, company, on_file=None):
        """The record of the certificate an exemption status answer names
        (looked for first among ``on_file``, certificates already read):
        updated where it differs (its file and purchase orders come with the
        pull), created when missing (its file then waits for the download
        step).

        Two transactions may insert the same certificate at once (two order
        checks): the second one hits the unique index and returns an empty
        recordset, the other transaction holding the record."""
        certificates = self.env["certcapture.certificate"].sudo().with_company(company)
        record = certificates
        if on_file:
            record = on_file.filtered(lambda c: c.certcapture_id == api_certificate.id)[:1]
        if not record:
            record = certificates.with_context(active_test=False, bin_size=True).search_fetch(
                [
                    ("company_id", "=", company.id),
                    ("certcapture_id", "=", api_certificate.id),
                    ("partner_id", "=", partner.id),
                ],
                ["remote_modified_date"],
                limit=1,
            )
        if record and record.remote_modified_date == naive_utc(api_certificate.modified_date):
            return record  # as pulled, unchanged since: the steady state
        if self._pull_running(company):
            return record  # the pull is recording it: left to it, not waited for
        # The status answer has no purchase orders: they must not be erased.
        values = self._certificate_values(api_certificate, with_po_numbers=False)
        # Nor is the record pulled by it: its modification date stays the
        # pull's, for the pull to take the whole certificate in when it changed.
        del values["remote_modified_date"]
        if record:
            # Only what changed: a record unchanged is not written (nor locked).
            changed = {
                name: value
                for name, value in values.items()
                if (record[name].id if record._fields[name].type == "many2one" else record[name])
                != (value or False)
            }
            if changed:
                self._write_unless_locked(record, changed)
            return record
        try:
            with self.env.cr.savepoint():
                return certificates.create(
                    {
                        **values,
                        "partner_id": partner.id,
                        "company_id": company.id,
                        "pdf_waiting": bool(api_certificate.document_exists),
                    }
                )
        except UniqueViolation:
            _logger.info(
                "CertCapture certificate %s of partner %s is being recorded by another "
                "transaction: left to it",
                api_certificate.id,
                partner.id,
            )
            return certificates.browse()

    @api.model
    def _write_unless_locked(self, record, values):
        """Write ``values`` on ``record`` unless another transaction holds it
        (a download worker writing its file): a person's save does not wait
        on a job; the pull brings the change in anyway."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM %s WHERE id = %s FOR UPDATE NOWAIT",
                        SQL.identifier(record._table),
                        record.id,
                    )
                )
                record.write(values)
        except LockNotAvailable:
            _logger.info("%s is being written by another transaction: left to it", record)
            record.invalidate_recordset()

    @api.model
    def _certificates_changed(self, partners, company):
        """Certificates of these customers arrived or changed: their exemption
        number and reason follow the best one, their cached statuses and open
        requests are settled."""
        # The note that a certificate arrived names its number: the change of
        # the customer's number is not tracked in a second message.
        for partner in partners.sudo().with_company(company).with_context(mail_notrack=True):
            best = partner._certcapture_best_certificate()
            if best.source != "pulled":
                continue
            values = {}
            if best.exemption_number and best.exemption_number != (
                partner.certcapture_exemption_number
            ):
                values["certcapture_exemption_number"] = best.exemption_number
            if best.exemption_reason_id and (
                best.exemption_reason_id != partner.certcapture_exemption_reason_id
            ):
                values["certcapture_exemption_reason_id"] = best.exemption_reason_id.id
            if values:
                partner.write(values)
        self.env["certcapture.status.cache"].sudo()._invalidate(partners)
        self._complete_requests(partners, company)
        self._recheck_open_orders(partners, company)

    @api.model
    def _recheck_open_orders(self, partners, company):
        """The customers' certificates changed: their open orders are checked
        again, so quotations gain or lose the exemption (confirmed orders say
        so and wait for a click)."""
        orders = (
            self.env["sale.order"]
            .sudo()
            .search(
                [
                    ("partner_id", "child_of", partners.ids),
                    ("company_id", "=", company.id),
                    ("state", "in", ("draft", "sent", "sale")),
                    ("certcapture_status", "!=", False),
                ]
            )
        )
        orders._certcapture_check(apply_policy=False)

    @api.model
    def _reevaluate_lapsed_coverage(self):
        """Quotations whose certificate lapsed since (expired, invalid): the
        exemption goes, without asking CertCapture."""
        today = fields.Date.context_today(self)
        orders = (
            self.env["sale.order"]
            .sudo()
            .search(
                [
                    ("state", "in", ("draft", "sent")),
                    ("certcapture_covering_certificate_id", "!=", False),
                    "|",
                    ("certcapture_covering_certificate_id.expiration_date", "<", today),
                    ("certcapture_covering_certificate_id.valid", "=", False),
                ]
            )
        )
        for order in orders:
            order._certcapture_apply_tax_effect()
        return len(orders)

    @api.model
    def _try_pull_lock(self, company):
        self.env.cr.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", (PULL_LOCK_NAMESPACE, company.id)
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _pull_running(self, company):
        """Whether another transaction is pulling the company's certificates
        now (a look at the pull lock that does not keep it). pg_locks shows
        the whole cluster: only this database's lock counts (another database
        on the server has a company with the same id)."""
        self.env.cr.execute(
            """SELECT EXISTS (
                 SELECT 1 FROM pg_locks
                  WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
                    AND database = (SELECT oid FROM pg_database
                                     WHERE datname = current_database())
                    AND classid = %s AND objid = %s)""",
            (PULL_LOCK_NAMESPACE, company.id),
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _record_pull_failure(self, company, api_certificate, error):
        """Remember a certificate that could not be pulled (an API object, or
        the raw JSON of one that could not be read)."""
        if isinstance(api_certificate, dict):
            certificate_id = api_certificate.get("id")
            codes = [
                customer.get("customerCode")
                for customer in api_certificate.get("customers") or ()
                if isinstance(customer, dict)
            ]
        else:
            certificate_id = api_certificate.id
            codes = [customer.customer_code for customer in api_certificate.customers]
        if not isinstance(certificate_id, int) or isinstance(certificate_id, bool):
            _logger.warning("CertCapture sent a certificate without an id: %s", error)
            return
        message = str(error)
        _logger.warning("CertCapture certificate %s skipped: %s", certificate_id, message)
        failures = self.env["certcapture.pull.failure"].sudo()
        failure = failures.search(
            [("company_id", "=", company.id), ("certcapture_id", "=", certificate_id)]
        )
        now = fields.Datetime.now()
        values = {
            "message": message,
            "last_attempt": now,
            "customer_codes": ", ".join(filter(None, map(str, codes))) or False,
        }
        if failure:
            failure.write({**values, "attempts": failure.attempts + 1, "state": "open"})
        else:
            failures.create({**values, "company_id": company.id, "certcapture_id": certificate_id})

    @api.model
    def _resolve_pull_failures(self, company, certificate_ids):
        """These certificates came in: their earlier failures are over."""
        self.env["certcapture.pull.failure"].sudo().search(
            [
                ("company_id", "=", company.id),
                ("certcapture_id", "in", list(certificate_ids)),
                ("state", "=", "open"),
            ]
        ).write({"state": "resolved"})

    # ------------------------------------------------------------- hand-entered

    @api.model
    def _manual_certificates_to_push(self, company, limit=50):
        return (
            self.env["certcapture.certificate"]
            .sudo()
            .search(
                [
                    ("company_id", "=", company.id),
                    ("source", "=", "manual"),
                    ("certcapture_id", "=", 0),
                    ("certcapture_push_state", "in", (False, "to_send", "uncertain")),
                ],
                limit=limit,
                order="id",
            )
        )

    @api.model
    def _push_problems(self, certificate):
        """What CertCapture needs of a certificate that it lacks."""
        problems = []
        if not certificate.with_context(bin_size=True).pdf:
            problems.append(_("the PDF"))
        if not certificate.state_id:
            problems.append(_("the state"))
        elif not self._zone_for(certificate.state_id):
            problems.append(_("the state's exposure zone (Refresh lists in Settings)"))
        if not certificate.signed_date:
            problems.append(_("the signed date"))
        if not (
            certificate.exemption_reason_id
            or certificate.partner_id.certcapture_exemption_reason_id
        ):
            problems.append(_("the exemption reason"))
        return problems

    @api.model
    def _zone_for(self, state):
        return (
            self.env["certcapture.exposure.zone"]
            .sudo()
            .search([("state_id", "=", state.id)], limit=1)
        )

    @api.model
    def _push_manual_certificates(self, certificates=None, company=None):
        """Send certificates typed in Odoo to CertCapture, so that its
        exemption status covers them (until then the order check counts them
        itself). A certificate that lacks something CertCapture requires waits,
        saying what; one whose answer was lost is looked for before it is sent
        again. Returns how many went."""
        if certificates is None:
            certificates = self._manual_certificates_to_push(company)
        certificates = certificates.sudo().filtered(
            lambda c: c.source == "manual" and not c.certcapture_id
        )
        sent = 0
        for company, batch in certificates.grouped("company_id").items():
            with self._service()._session(company) as client:
                for certificate in batch:
                    sent += self._push_one(client, certificate, company)
        return sent

    @api.model
    def _push_one(self, client, certificate, company):
        problems = self._push_problems(certificate)
        if problems:
            certificate.write(
                {
                    "certcapture_push_state": "incomplete",
                    "certcapture_push_message": _(
                        "CertCapture needs %s.", ", ".join(map(str, problems))
                    ),
                }
            )
            return 0
        partner = certificate.partner_id.commercial_partner_id
        zone = self._zone_for(certificate.state_id)
        reason = certificate.exemption_reason_id or partner.certcapture_exemption_reason_id
        code = self._sync_customer(client, partner, company)
        if certificate.certcapture_push_state == "uncertain":
            found = self._find_pushed_certificate(client, code, certificate, zone)
            if found:
                return self._pushed(certificate, found)
        try:
            remote = client.create_certificate(
                code,
                exposure_zone_id=zone.certcapture_id,
                signed_date=certificate.signed_date,
                expiration_date=certificate.expiration_date or None,
                exemption_number=certificate.exemption_number or None,
                exemption_reason_id=reason.certcapture_id,
                pdf=base64.b64decode(certificate.with_context(bin_size=False).pdf),
                single_use=certificate.single_use,
            )
        except ecm.EcmError as error:
            if error.may_have_taken_effect:
                state, message = "uncertain", _("CertCapture's answer was lost: %s", error)
            elif isinstance(error, ecm.ValidationError):
                state, message = "incomplete", _("CertCapture refused it: %s", error)
            else:
                raise
            certificate.write(
                {"certcapture_push_state": state, "certcapture_push_message": message}
            )
            return 0
        except ValueError as error:  # refused by the client before sending
            certificate.write(
                {"certcapture_push_state": "incomplete", "certcapture_push_message": str(error)}
            )
            return 0
        return self._pushed(certificate, remote)

    @api.model
    def _find_pushed_certificate(self, client, code, certificate, zone):
        for remote in client.iter_customer_certificates(code):
            if (
                remote.signed_date == certificate.signed_date
                and remote.exposure_zone
                and remote.exposure_zone.id == zone.certcapture_id
                and (remote.exemption_number or False) == (certificate.exemption_number or False)
            ):
                return remote
        return None

    @api.model
    def _pushed(self, certificate, remote):
        certificate.write(
            {
                "certcapture_id": remote.id,
                "certcapture_push_state": "sent",
                "certcapture_push_message": False,
                "remote_modified_date": naive_utc(remote.modified_date),
                "status": remote.status,
                "ecm_status": remote.ecm_status,
            }
        )
        self.env["certcapture.status.cache"].sudo()._invalidate(certificate.partner_id)
        self._note(
            certificate.partner_id,
            _("Certificate %s entered in Odoo sent to CertCapture.", certificate.name),
        )
        return 1

    # ------------------------------------------------------------- requests

    @api.model
    def _request_sent_note(self, request, result, recipient, states):
        """The chatter note of a certificate request ``_send_request`` sent,
        by its result ("unconfirmed", "found", or sent)."""
        if result == "unconfirmed":
            body = _(
                "CertCapture did not confirm the certificate request to %(recipient)s for "
                "%(states)s and could not be asked whether it arrived. It is not sent again now: "
                "the next request for this customer checks first.",
                recipient=recipient,
                states=states,
            )
        elif result == "found":
            body = _(
                "Certificate request to %(recipient)s for %(states)s: CertCapture's answer was "
                "lost, but the request is there (CertCapture request %(id)s); it was not sent "
                "twice.",
                recipient=recipient,
                states=states,
                id=request.certcapture_id,
            )
        else:
            body = _(
                "Certificate request sent to %(recipient)s for %(states)s (CertCapture request "
                "%(id)s).",
                recipient=recipient,
                states=states,
                id=request.certcapture_id,
            )
        return body

    @api.model
    def _send_request(
        self, partner, company, recipient, zones, reasons, order=None, delivery="email"
    ):
        """Send a CertExpress certificate request. Returns (request, outcome):
        "sent"; "found" when a request whose answer was lost turned out to
        be in CertCapture (it is not sent twice); "unconfirmed" when the
        answer was lost and CertCapture could not be asked: the next request
        for the customer looks for it first."""
        partner = partner.commercial_partner_id
        requests = self.env["certcapture.certificate.request"].sudo()
        zone_ids = set(zones.mapped("certcapture_id"))
        values = {
            "partner_id": partner.id,
            "order_id": order.id if order else False,
            "company_id": company.id,
            "recipient": recipient,
            "delivery_method": delivery,
            "exposure_zone_ids": [fields.Command.set(zones.ids)],
            "exemption_reason_ids": [fields.Command.set(reasons.ids)],
        }
        unconfirmed = requests.search(
            [
                ("partner_id", "=", partner.id),
                ("company_id", "=", company.id),
                ("state", "=", "unconfirmed"),
            ],
            order="id",
        )
        with self._service()._session(company) as client:
            code = self._sync_customer(client, partner, company)
            if unconfirmed:
                found = self._find_invitation(
                    client, code, recipient, zone_ids, unconfirmed[0].create_date, delivery
                )
                if found:
                    unconfirmed[0].write(self._request_values(found))
                    (unconfirmed - unconfirmed[0]).write({"state": "not_sent"})
                    return unconfirmed[0], "found"
                unconfirmed.write({"state": "not_sent"})
            asked_at = fields.Datetime.now() - timedelta(minutes=1)
            try:
                result = self._for_customer(
                    client,
                    partner,
                    company,
                    lambda code: client.create_invitation(
                        code,
                        recipient or None,
                        sorted(zone_ids),
                        reasons.mapped("certcapture_id"),
                        delivery_method=DELIVERY_METHODS[delivery],
                    ),
                )
            except ecm.EcmError as error:
                if not error.may_have_taken_effect:
                    raise
                _logger.warning(
                    "The answer to a certificate request for %s was lost (%s): looking for it",
                    code,
                    error,
                )
                try:
                    found = self._find_invitation(
                        client, code, recipient, zone_ids, asked_at, delivery
                    )
                except ecm.EcmError:
                    return requests.create({**values, "state": "unconfirmed"}), "unconfirmed"
                if not found:
                    raise CertCaptureUserError(
                        _(
                            "CertCapture did not confirm the certificate request, and it is not "
                            "among the customer's requests: it was not sent. Send it again."
                        ),
                        error,
                    ) from error
                request = requests.create({**values, **self._request_values(found)})
                return request, "found"
        request = requests.create(
            {
                **values,
                **self._request_values(result.invitation),
                "state": "sent" if result.is_sent or result.upload_link else "in_progress",
            }
        )
        self.env["certcapture.status.cache"].sudo()._invalidate(partner)
        return request, "sent"

    @api.model
    def _find_invitation(self, client, customer_code, recipient, zone_ids, since, delivery):
        """The newest CertExpress request of the customer made since ``since``
        the same way to the same address for the same states, or None."""
        method = DELIVERY_METHODS[delivery].lower()
        matches = [
            invitation
            for invitation in client.iter_invitations(
                customer_code=customer_code, created_since=since
            )
            if (invitation.recipient or "").lower() == (recipient or "").lower()
            and set(invitation.exposure_zones) == zone_ids
            and (invitation.delivery_method or method).lower() == method
        ]
        return max(matches, key=lambda invitation: invitation.id, default=None)

    @api.model
    def _request_values(self, invitation):
        """A request's record values from CertCapture's invitation."""
        values = {
            "certcapture_id": invitation.id,
            "email_status": invitation.email_status,
            # Only a Download request's link is for people: an Email request's
            # link is in the email CertCapture sends (CertExpressInvitationModel).
            "request_link": invitation.upload_link,
            "state": "sent" if invitation.is_sent or invitation.upload_link else "in_progress",
        }
        if invitation.recipient:
            values["recipient"] = invitation.recipient
        return values

    @api.model
    def _refresh_requests(self, client, requests):
        for request in requests.sudo():
            remote = client.get_invitation(
                request.partner_id.certcapture_customer_code, request.certcapture_id
            )
            values = {"email_status": remote.email_status, "request_link": remote.upload_link}
            if request.state == "in_progress" and (remote.is_sent or remote.upload_link):
                values["state"] = "sent"
            request.write(values)

    @api.model
    def _follow_pending_requests(self):
        """Ask CertCapture about requests still being prepared."""
        since = fields.Datetime.now() - timedelta(days=FOLLOW_REQUEST_DAYS)
        pending = (
            self.env["certcapture.certificate.request"]
            .sudo()
            .search([("state", "=", "in_progress"), ("create_date", ">=", since)])
        )
        for company, requests in pending.grouped("company_id").items():
            try:
                with self.env.cr.savepoint(), self._service()._session(company) as client:
                    self._refresh_requests(client, requests)
            except CertCaptureUserError as error:
                _logger.warning(
                    "Following CertCapture requests of company %s failed: %s", company.id, error
                )

    @api.model
    def _complete_requests(self, partners, company):
        """A certificate arrived for these customers: their requests are done."""
        self.env["certcapture.certificate.request"].sudo().search(
            [
                ("partner_id", "in", partners.ids),
                ("company_id", "=", company.id),
                ("state", "!=", "completed"),
            ]
        ).write({"state": "completed"})

    # ------------------------------------------------------------- orders

    @api.model
    def _cron_retry_order_checks(self, batch_size=RETRY_BATCH_SIZE):
        """Scheduled job: check again the orders whose check failed."""
        sync = self.with_context(**{JOB_CONTEXT_KEY: True})
        orders = sync.env["sale.order"].sudo()
        now = fields.Datetime.now()
        domain = [
            ("certcapture_status", "=", "error"),
            ("create_date", ">=", now - timedelta(days=RETRY_MAX_AGE_DAYS)),
            ("state", "!=", "cancel"),
            # Checked in this run already (or just now by a user): next run.
            ("certcapture_checked_at", "<", now - timedelta(minutes=5)),
        ]
        batch = orders.search(domain, limit=batch_size, order="id")
        for order in batch:
            order._certcapture_check(apply_policy=False)
            if order.certcapture_status in ("missing", "expired"):
                order._certcapture_on_missing(interactive=False, allow_send=False)
        remaining = orders.search_count(domain)
        sync.env["ir.cron"]._notify_progress(done=len(batch), remaining=remaining)
        return len(batch)

    # ------------------------------------------------------------- settings

    @api.model
    def _test_connection(self, company):
        """(ok, message) for the Settings' Test connection button."""
        try:
            with self._service()._session(company) as client:
                ping = client.ping()
                if not ping.authenticated:
                    return False, _(
                        "CertCapture answered but did not accept the credentials: check the "
                        "account ID and license key."
                    )
                setup = client.certificate_setup()
        except CertCaptureUserError as error:
            return False, str(error.args[0])
        company = company.sudo()
        if not setup.is_provisioned:
            return False, _(
                "Authenticated as account %(account)s and company %(code)s (id %(id)s) was "
                "found, but exemption certificates are not provisioned for it (status "
                "%(status)s): an administrator can click Request setup, or ask Avalara.",
                account=ping.authenticated_account_id,
                code=company.certcapture_company_code,
                id=company.certcapture_company_id,
                status=setup.status,
            )
        return True, _(
            "Authenticated as account %(account)s; company %(code)s found (AvaTax id %(id)s); "
            "exemption certificates are provisioned.",
            account=ping.authenticated_account_id,
            code=company.certcapture_company_code,
            id=company.certcapture_company_id,
        )

    @api.model
    def _request_setup(self, company):
        """Ask Avalara to provision exemption certificates for the company;
        returns its provision status."""
        with self._service()._session(company) as client:
            return client.request_certificate_setup()

    @api.model
    def _refresh_lists(self, company):
        """Load exposure zones and exemption reasons; returns their counts."""
        with self._service()._session(company) as client:
            zones = list(client.iter_exposure_zones())
            reasons = list(client.iter_exemption_reasons())
        self.env["certcapture.exposure.zone"].sudo()._sync_from_api(zones)
        self.env["certcapture.exemption.reason"].sudo()._sync_from_api(reasons)
        return len(zones), len(reasons)
