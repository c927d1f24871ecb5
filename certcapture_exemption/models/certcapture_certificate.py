from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..const import EXPIRING_SOON_DAYS

# What only CertCapture says about a certificate: written by the sync engine
# (as superuser), never by a user.
CERTCAPTURE_ONLY_FIELDS = (
    "certcapture_id",
    "verified",
    "status",
    "ecm_status",
    "remote_modified_date",
    "certcapture_push_state",
    "certcapture_push_message",
)


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
    po_numbers = fields.Char(
        "PO Numbers",
        help="For a single-use certificate: the customer references (purchase orders) it is "
        "for, comma-separated.",
    )
    used_by_order_id = fields.Many2one(
        "sale.order",
        "Used By",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="The order a single-use certificate made tax exempt: it covers no other.",
    )
    status = fields.Char("CertCapture Status")
    ecm_status = fields.Char("ECM Status")
    # Portal users read it too, for the certificates their record rule
    # lets them see: their own company's (customer portal).
    pdf = fields.Binary(
        "Certificate PDF", attachment=True, groups="base.group_user,base.group_portal"
    )
    pdf_filename = fields.Char()
    remote_modified_date = fields.Datetime("Modified in CertCapture", readonly=True)
    # A certificate typed in Odoo goes to CertCapture (certcapture.sync's job),
    # so that CertCapture's exemption status covers it.
    certcapture_push_state = fields.Selection(
        [
            ("to_send", "Waiting to be sent"),
            ("incomplete", "Cannot be sent yet"),
            ("uncertain", "Sent, not confirmed"),
            ("sent", "In CertCapture"),
        ],
        "Sent to CertCapture",
        readonly=True,
        copy=False,
    )
    certcapture_push_message = fields.Char("Sending Problem", readonly=True, copy=False)
    is_current = fields.Boolean(
        "Currently Valid", compute="_compute_is_current", search="_search_is_current"
    )
    validity = fields.Selection(
        [
            ("valid", "Valid"),
            ("expiring", "Expiring soon"),
            ("expired", "Expired"),
            ("invalid", "Not valid"),
        ],
        compute="_compute_validity",
        help="What the customer portal shows: expired once past its expiry date, not valid "
        "when CertCapture or the user says so, expiring soon when it expires within a month.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        self._check_certcapture_only_fields(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._check_certcapture_only_fields([vals])
        if not self.env.su and self.filtered("certcapture_id"):
            raise AccessError(_("A certificate held by CertCapture changes in CertCapture."))
        return super().write(vals)

    def _check_certcapture_only_fields(self, vals_list):
        if self.env.su:
            return
        for vals in vals_list:
            if vals.get("source") == "pulled" or any(vals.get(f) for f in CERTCAPTURE_ONLY_FIELDS):
                raise AccessError(
                    _("Only certificates entered by hand can be recorded or changed in Odoo.")
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

    @api.depends("valid", "status", "expiration_date")
    @api.depends_context("date")
    def _compute_validity(self):
        today = fields.Date.context_today(self)
        soon = today + timedelta(days=EXPIRING_SOON_DAYS)
        for certificate in self:
            expires = certificate.expiration_date
            if expires and expires < today:
                certificate.validity = "expired"
            elif not certificate.valid or certificate.status == "REVOKED":
                certificate.validity = "invalid"
            elif expires and expires <= soon:
                certificate.validity = "expiring"
            else:
                certificate.validity = "valid"

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

    def _certcapture_covers(self, state, on_date, po_number=None, order=None):
        """Whether this certificate exempts a sale delivered to ``state`` on
        ``on_date``: valid and not revoked, signed and not expired on that
        date, a document (a PDF or CertCapture's record), and if single use,
        for that purchase order and no other order."""
        self.ensure_one()
        if not (self.valid and self.state_id == state) or self.status == "REVOKED":
            return False
        if self.signed_date and on_date and self.signed_date > on_date:
            return False
        if self.expiration_date and on_date and self.expiration_date < on_date:
            return False
        if not (self.certcapture_id or self.with_context(bin_size=True).pdf):
            return False
        if self.single_use:
            numbers = {n.strip().lower() for n in (self.po_numbers or "").split(",") if n.strip()}
            if not po_number or po_number.strip().lower() not in numbers:
                return False
            if self.used_by_order_id and self.used_by_order_id != order:
                return False
        return True

    def _sort_key(self):
        """Best first when sorted in reverse: current before lapsed, then the
        latest expiry (none counts as latest), the latest signature, the newest."""
        return (
            self.is_current,
            self.expiration_date or fields.Date.to_date("9999-12-31"),
            self.signed_date or fields.Date.to_date("1900-01-01"),
            self.id,
        )

    def action_certcapture_send(self):
        """Send these hand-entered certificates to CertCapture now."""
        self.env["certcapture.sync"]._push_manual_certificates(self)
        return True

    def action_open_pdf(self):
        self.ensure_one()
        filename = self.pdf_filename or "certificate.pdf"
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/pdf/{filename}",
            "target": "new",
        }
