from odoo import api, fields, models


class CertCaptureCertificate(models.Model):
    """One exemption certificate of a customer for one state.

    Pulled from CertCapture (by ``certcapture.sync``), or entered by hand on
    the customer form; kept as history (an expired certificate stays, a newer
    one is added). The customer's certificate fields show its best current
    certificate: this record is where the values and the PDF live."""

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
    exemption_reason_id = fields.Many2one("certcapture.exemption.reason")
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

    def _sort_key(self):
        """Best first when sorted in reverse: current before lapsed, then the
        latest expiry (none counts as latest), the latest signature, the newest."""
        return (
            self.is_current,
            self.expiration_date or fields.Date.to_date("9999-12-31"),
            self.signed_date or fields.Date.to_date("1900-01-01"),
            self.id,
        )

    def action_open_pdf(self):
        self.ensure_one()
        filename = self.pdf_filename or "certificate.pdf"
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/pdf/{filename}",
            "target": "new",
        }
