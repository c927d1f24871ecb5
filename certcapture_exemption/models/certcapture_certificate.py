import base64
import logging
from datetime import datetime, timezone

from odoo import api, fields, models

from ..const import PULL_BATCH_SIZE
from .certcapture_service import CertCaptureUserError

_logger = logging.getLogger(__name__)

# pg_try_advisory_xact_lock(namespace, company id): one pull per company at a
# time, whoever starts it (the scheduled job, a button, an order update).
PULL_LOCK_NAMESPACE = 0x43435055  # "CCPU"


class CertCaptureCertificate(models.Model):
    """One exemption certificate of a customer for one state.

    Pulled from CertCapture, or entered by hand on the customer form; kept as
    history (an expired certificate stays, a newer one is added)."""

    _name = "certcapture.certificate"
    _description = "Exemption Certificate"
    _order = "expiration_date desc, id desc"

    name = fields.Char(compute="_compute_name", store=True)
    partner_id = fields.Many2one(
        "res.partner", "Customer", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    certcapture_id = fields.Integer("CertCapture ID", index=True, copy=False)
    source = fields.Selection(
        [("manual", "Entered by hand"), ("pulled", "Pulled from CertCapture")],
        required=True,
        default="manual",
    )
    state_id = fields.Many2one("res.country.state")
    exposure_zone_id = fields.Many2one("certcapture.exposure.zone")
    exempt_reason_id = fields.Many2one("certcapture.exempt.reason", "Exemption Reason")
    exemption_number = fields.Char()
    signed_date = fields.Date("Signed")
    expiration_date = fields.Date("Expires")
    valid = fields.Boolean(default=True)
    verified = fields.Boolean()
    single_use = fields.Boolean()
    status = fields.Char("CertCapture Status")
    ecm_status = fields.Char("ECM Status")
    pdf = fields.Binary("Certificate PDF", attachment=True, groups="base.group_user")
    pdf_filename = fields.Char()
    remote_modified_date = fields.Datetime("Modified in CertCapture", readonly=True)
    is_current = fields.Boolean(
        "Currently Valid", compute="_compute_is_current", search="_search_is_current"
    )

    def init(self):
        # One record per pulled certificate and customer; hand-entered ones
        # (certcapture_id 0) are free.
        self.env.cr.execute("""
            CREATE UNIQUE INDEX IF NOT EXISTS certcapture_certificate_remote_unique
                ON certcapture_certificate (company_id, certcapture_id, partner_id)
             WHERE certcapture_id <> 0
        """)

    @api.depends("state_id", "exemption_number", "exposure_zone_id")
    def _compute_name(self):
        for certificate in self:
            region = certificate.state_id.code or certificate.exposure_zone_id.name or "?"
            certificate.name = " - ".join(filter(None, [region, certificate.exemption_number]))

    @api.depends("valid", "expiration_date")
    @api.depends_context("date")
    def _compute_is_current(self):
        today = fields.Date.context_today(self)
        for certificate in self:
            certificate.is_current = certificate.valid and (
                not certificate.expiration_date or certificate.expiration_date >= today
            )

    def _search_is_current(self, operator, value):
        today = fields.Date.context_today(self)
        domain = [
            ("valid", "=", True),
            "|",
            ("expiration_date", "=", False),
            ("expiration_date", ">=", today),
        ]
        positive = (operator == "=") == bool(value)
        return domain if positive else ["!", *domain]

    # ------------------------------------------------------ from the API

    def _values_from_api(self, api_certificate):
        zone = api_certificate.exposure_zone
        zone_record = self.env["certcapture.exposure.zone"]
        state = self.env["res.country.state"]
        if zone:
            zone_record = zone_record.search([("certcapture_id", "=", zone.id)], limit=1)
            state = zone_record.state_id or state.search(
                [("code", "=", zone.region), ("country_id.code", "=", zone.country or "US")],
                limit=1,
            )
        return {
            "certcapture_id": api_certificate.id,
            "source": "pulled",
            "state_id": state.id,
            "exposure_zone_id": zone_record.id,
            "exempt_reason_id": self.env["certcapture.exempt.reason"]
            ._from_api(api_certificate.exemption_reason)
            .id,
            "exemption_number": api_certificate.exemption_number,
            "signed_date": api_certificate.signed_date,
            "expiration_date": api_certificate.expiration_date,
            "valid": bool(api_certificate.valid)
            and api_certificate.ecm_status not in ("Expired", "Invalid"),
            "verified": bool(api_certificate.verified),
            "single_use": bool(api_certificate.is_single_certificate),
            "status": api_certificate.status,
            "ecm_status": api_certificate.ecm_status,
            "remote_modified_date": naive_utc(api_certificate.modified_date),
        }

    def _find_remote(self, certcapture_id, partner, company):
        return self.with_context(active_test=False).search(
            [
                ("company_id", "=", company.id),
                ("certcapture_id", "=", certcapture_id),
                ("partner_id", "=", partner.id),
            ],
            limit=1,
        )

    @api.model
    def _upsert_from_api(self, api_certificate, partner, company, pdf=None):
        """Create or update the record of a CertCapture certificate."""
        values = self._values_from_api(api_certificate)
        if pdf:
            values["pdf"] = base64.b64encode(pdf)
            values["pdf_filename"] = (
                api_certificate.filename or f"certificate-{api_certificate.id}.pdf"
            )
        record = self._find_remote(api_certificate.id, partner, company)
        if record:
            record.write(values)
        else:
            record = self.create({**values, "partner_id": partner.id, "company_id": company.id})
        return record

    @api.model
    def _ingest(self, client, api_certificate, company, partners=None):
        """Bring one API certificate in; returns the partners it touched.

        ``partners`` defaults to the certificate's customers, matched on the
        customer code: a code nobody has is logged and skipped, never turned
        into a new partner."""
        if partners is None:
            codes = [customer.customer_code for customer in api_certificate.customers]
            partners = (
                self.env["res.partner"].search([("certcapture_customer_code", "in", codes)])
                if codes
                else self.env["res.partner"]
            )
            unknown = set(codes) - set(partners.mapped("certcapture_customer_code"))
            if unknown:
                _logger.info(
                    "CertCapture certificate %s skipped for unknown customer code(s) %s",
                    api_certificate.id,
                    ", ".join(sorted(unknown)),
                )
        if not partners:
            return partners
        existing = {
            record.partner_id: record
            for record in self.with_context(active_test=False).search(
                [
                    ("company_id", "=", company.id),
                    ("certcapture_id", "=", api_certificate.id),
                    ("partner_id", "in", partners.ids),
                ]
            )
        }
        modified = naive_utc(api_certificate.modified_date)

        def already_pulled(record):
            return (
                record
                and record.remote_modified_date == modified
                and (record.pdf or not api_certificate.document_exists)
            )

        stale = [partner for partner in partners if not already_pulled(existing.get(partner))]
        if not stale:
            return self.env["res.partner"]  # pulled before and unchanged since
        pdf = None
        if api_certificate.document_exists:
            pdf = client.download_certificate_pdf(api_certificate.id)
        changed = self.env["res.partner"]
        for partner in stale:
            record = self._upsert_from_api(api_certificate, partner, company, pdf=pdf)
            changed |= partner
            partner._certcapture_log_certificate(record)
        if changed:
            changed._certcapture_apply_best_certificate()
            self.env["certcapture.status.cache"]._invalidate(changed)
            self.env["certcapture.invitation"]._mark_completed(changed, company)
        return changed

    # ------------------------------------------------------ pulling

    @api.model
    def _try_pull_lock(self, company):
        self.env.cr.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", (PULL_LOCK_NAMESPACE, company.id)
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _pull_company_batch(self, company, batch_size=PULL_BATCH_SIZE):
        """Pull the next batch of certificates changed since the company's
        watermark. Returns (certificates processed, whether more remain).

        The watermark only moves once the whole batch is in, and a batch never
        ends between two certificates of the same modification time, so a
        failure or a restart resumes exactly where the last success ended."""
        service = self.env["certcapture.service"]
        company = company.sudo()
        batch, more = [], False
        with service._session(company) as client:
            watermark = company.certcapture_pull_watermark
            since = datetime.fromisoformat(watermark) if watermark else None
            for api_certificate in client.iter_certificates_changed_since(
                since, page_size=batch_size
            ):
                if len(batch) >= batch_size and (
                    api_certificate.modified_date != batch[-1].modified_date
                ):
                    more = True
                    break
                batch.append(api_certificate)
            for api_certificate in batch:
                self._ingest(client, api_certificate, company)
        if batch and batch[-1].modified_date:
            company.certcapture_pull_watermark = batch[-1].modified_date.isoformat()
        return len(batch), more

    @api.model
    def _cron_pull_certificates(self, batch_size=PULL_BATCH_SIZE):
        """Scheduled job: pull changed certificates for every company, follow
        pending requests. One batch per company per call; Odoo's cron runner
        commits after each call and calls again while progress remains."""
        done, more = 0, False
        companies = self.env["res.company"].sudo().search([("certcapture_enabled", "=", True)])
        for company in companies:
            if not self._try_pull_lock(company):
                _logger.info("CertCapture pull for company %s already running: skipped", company.id)
                continue
            try:
                count, company_more = self._pull_company_batch(company, batch_size)
            except CertCaptureUserError as error:
                _logger.warning("CertCapture pull for company %s failed: %s", company.id, error)
                continue
            done += count
            more = more or company_more
        self.env["certcapture.invitation"]._follow_pending()
        self.env["ir.cron"]._notify_progress(done=done, remaining=1 if more else 0)
        return done

    @api.model
    def _pull_partner(self, partner, company):
        """Bring in every certificate CertCapture holds for one customer."""
        partner = partner.commercial_partner_id
        if not partner.certcapture_customer_code or not self._try_pull_lock(company):
            return self.env["res.partner"]
        with self.env["certcapture.service"]._session(company) as client:
            changed = self.env["res.partner"]
            for api_certificate in client.iter_customer_certificates(
                partner.certcapture_customer_code
            ):
                changed |= self._ingest(client, api_certificate, company, partners=partner)
        return changed

    def action_open_pdf(self):
        self.ensure_one()
        filename = self.pdf_filename or "certificate.pdf"
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/pdf/{filename}",
            "target": "new",
        }


def naive_utc(moment):
    """An API date-time as Odoo stores them: UTC without tzinfo."""
    if not moment:
        return False
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
