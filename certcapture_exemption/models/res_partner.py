from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import email_normalize

from ..const import EXPIRING_SOON_DAYS, PARTNER_CERTIFICATE_STATUSES
from .certcapture_service import CertCaptureUserError

# The customer form's certificate fields, as the source names them (Cert,
# Cert Signed, Cert Exp Date, Ex State, Exemption No, Ex Code).
SUMMARY_FIELDS = (
    "certificate_pdf",
    "certificate_signed_date",
    "certificate_expiration_date",
    "exemption_state_id",
    "exemption_number",
    "exemption_code_id",
)


class ResPartner(models.Model):
    _inherit = "res.partner"

    is_tax_exempt = fields.Boolean(
        "Tax Exempt",
        compute="_compute_is_tax_exempt",
        store=True,
        help="Set when an exemption number or an exemption code is entered.",
    )
    exemption_number = fields.Char("Exemption No", tracking=True)
    exemption_code_id = fields.Many2one("certcapture.exempt.reason", tracking=True)
    certificate_pdf = fields.Binary("Certificate", attachment=True, groups="base.group_user")
    certificate_pdf_filename = fields.Char("Certificate Filename", groups="base.group_user")
    certificate_signed_date = fields.Date("Cert Signed")
    certificate_expiration_date = fields.Date("Cert Exp Date", tracking=True)
    exemption_state_id = fields.Many2one("res.country.state", "Ex State")
    certcapture_ap_email = fields.Char(
        "A/P Email", help="Where certificate requests are sent; CertCapture may write to it."
    )
    certcapture_missing_ap_email = fields.Boolean(compute="_compute_certcapture_missing_ap_email")
    certcapture_customer_code = fields.Char(
        "CertCapture Customer Code",
        copy=False,
        index="btree_not_null",
        help="The customer's key in CertCapture; defaults from the reference. "
        "Changing it makes CertCapture see a new customer.",
    )
    # Sync state per company: each company talks to its own AvaTax company.
    certcapture_id = fields.Integer("CertCapture ID", company_dependent=True, copy=False)
    certcapture_sync_hash = fields.Char(company_dependent=True, copy=False)
    certcapture_last_sync = fields.Datetime(
        "Last Sync", company_dependent=True, copy=False, readonly=True
    )
    certificate_ids = fields.One2many("certcapture.certificate", "partner_id", "Certificates")
    certcapture_invitation_ids = fields.One2many(
        "certcapture.invitation", "partner_id", "Certificate Requests"
    )
    certcapture_active_certificate_count = fields.Integer(
        "Active Certificates", compute="_compute_certificate_status"
    )
    certificate_status = fields.Selection(
        PARTNER_CERTIFICATE_STATUSES, compute="_compute_certificate_status"
    )
    certificate_status_reason = fields.Char(compute="_compute_certificate_status")

    _sql_constraints = [
        (
            "certcapture_customer_code_unique",
            "unique(certcapture_customer_code)",
            "Another customer already has this CertCapture customer code.",
        ),
    ]

    @api.depends("exemption_number", "exemption_code_id")
    def _compute_is_tax_exempt(self):
        for partner in self:
            partner.is_tax_exempt = bool(partner.exemption_number or partner.exemption_code_id)

    @api.depends("is_tax_exempt", "certcapture_ap_email", "email")
    def _compute_certcapture_missing_ap_email(self):
        for partner in self:
            partner.certcapture_missing_ap_email = partner.is_tax_exempt and not (
                partner.certcapture_ap_email or partner.email
            )

    @api.depends(
        "is_tax_exempt",
        "certificate_ids.is_current",
        "certificate_ids.expiration_date",
        "certcapture_invitation_ids.state",
    )
    @api.depends_context("date")
    def _compute_certificate_status(self):
        today = fields.Date.context_today(self)
        soon = today + timedelta(days=EXPIRING_SOON_DAYS)
        for partner in self:
            current = partner.certificate_ids.filtered("is_current")
            partner.certcapture_active_certificate_count = len(current)
            partner.certificate_status_reason = False
            pending = partner.certcapture_invitation_ids.filtered(
                lambda invitation: invitation.state != "completed"
            )
            if not partner.is_tax_exempt and not partner.certificate_ids:
                partner.certificate_status = False
            elif current:
                expiries = [c.expiration_date for c in current if c.expiration_date]
                partner.certificate_status = (
                    "expiring" if expiries and max(expiries) <= soon else "valid"
                )
            elif pending:
                partner.certificate_status = "pending"
            elif partner.certificate_ids:
                partner.certificate_status = "expired"
            elif partner.certificate_pdf and partner.certificate_expiration_date:
                partner.certificate_status = (
                    "expired" if partner.certificate_expiration_date < today else "valid"
                )
            elif not partner.certcapture_customer_code:
                partner.certificate_status = "unknown"
                partner.certificate_status_reason = _(
                    "Not yet in CertCapture: it is checked on the first order."
                )
            else:
                partner.certificate_status = "missing"

    @api.constrains("certcapture_ap_email")
    def _check_certcapture_ap_email(self):
        for partner in self:
            if partner.certcapture_ap_email and not email_normalize(partner.certcapture_ap_email):
                raise ValidationError(
                    _(
                        "%(email)s is not a valid A/P email address (customer %(partner)s).",
                        email=partner.certcapture_ap_email,
                        partner=partner.display_name,
                    )
                )

    # ------------------------------------------------------------ CRUD

    @api.model_create_multi
    def create(self, vals_list):
        self._check_certcapture_code_rights(vals_list)
        partners = super().create(vals_list)
        partners.filtered("certificate_pdf")._certcapture_record_manual_certificate()
        return partners

    def write(self, vals):
        self._check_certcapture_code_rights([vals])
        result = super().write(vals)
        if vals.get("certificate_pdf") and not self.env.context.get("certcapture_from_pull"):
            self._certcapture_record_manual_certificate()
        return result

    def _check_certcapture_code_rights(self, vals_list):
        if any("certcapture_customer_code" in vals for vals in vals_list) and not (
            self.env.su
            or self.env.user.has_group("certcapture_exemption.group_certcapture_manager")
        ):
            raise AccessError(_("Only CertCapture managers can change customer codes."))

    def _certcapture_record_manual_certificate(self):
        """A PDF entered by hand on the form is a certificate too."""
        self.env["certcapture.certificate"].create(
            [
                {
                    "partner_id": partner.id,
                    "company_id": self.env.company.id,
                    "source": "manual",
                    "pdf": partner.certificate_pdf,
                    "pdf_filename": partner.certificate_pdf_filename,
                    "signed_date": partner.certificate_signed_date,
                    "expiration_date": partner.certificate_expiration_date,
                    "state_id": partner.exemption_state_id.id,
                    "exemption_number": partner.exemption_number,
                    "exempt_reason_id": partner.exemption_code_id.id,
                }
                for partner in self
            ]
        )

    # ------------------------------------------------------------ CertCapture

    def _certcapture_ensure_customer_code(self):
        """Give the customer its stable code: its reference when no one else
        uses it, an automatic code otherwise."""
        for partner in self.filtered(lambda p: not p.certcapture_customer_code):
            code = partner.ref
            if not code or self.sudo().search_count(
                [("certcapture_customer_code", "=", code)], limit=1
            ):
                code = self.env["ir.sequence"].sudo().next_by_code("certcapture.customer.code")
            partner.sudo().certcapture_customer_code = code

    def _certcapture_apply_best_certificate(self):
        """Fill the form's summary fields from the newest valid certificate."""
        for partner in self:
            current = partner.certificate_ids.filtered("is_current").sorted(
                lambda c: (
                    c.expiration_date or fields.Date.today() + timedelta(days=36500),
                    c.signed_date or fields.Date.today(),
                    c.id,
                ),
                reverse=True,
            )
            best = current[:1]
            if not best:
                continue
            values = {
                "certificate_signed_date": best.signed_date,
                "certificate_expiration_date": best.expiration_date,
                "exemption_state_id": best.state_id.id,
                "exemption_number": best.exemption_number or partner.exemption_number,
                "exemption_code_id": best.exempt_reason_id.id or partner.exemption_code_id.id,
            }
            if best.pdf:
                values["certificate_pdf"] = best.pdf
                values["certificate_pdf_filename"] = best.pdf_filename
            partner.with_context(certcapture_from_pull=True).write(values)

    def _certcapture_log_certificate(self, certificate):
        self.ensure_one()
        self.message_post(
            body=_(
                "Exemption certificate received from CertCapture: %(state)s, number "
                "%(number)s, signed %(signed)s, expires %(expires)s.",
                state=certificate.state_id.name or certificate.exposure_zone_id.name or "-",
                number=certificate.exemption_number or "-",
                signed=certificate.signed_date or "-",
                expires=certificate.expiration_date or "-",
            ),
            subtype_xmlid="mail.mt_note",
        )

    # ------------------------------------------------------------ actions

    def action_certcapture_request_certificate(self):
        self.ensure_one()
        return self.env["certcapture.request.wizard"]._action_open(
            self.commercial_partner_id, states=self.exemption_state_id
        )

    def action_certcapture_refresh(self):
        """Pull this customer's certificates now."""
        self.ensure_one()
        partner = self.commercial_partner_id
        service = self.env["certcapture.service"]
        try:
            changed = self.env["certcapture.certificate"]._pull_partner(partner, self.env.company)
        except CertCaptureUserError as error:
            return service._notification(_("CertCapture"), str(error.args[0]), "warning")
        message = (
            _("New or changed certificates received.")
            if changed
            else _("Nothing new in CertCapture for this customer.")
        )
        return service._notification(
            _("CertCapture"),
            message,
            next_action={"type": "ir.actions.client", "tag": "soft_reload"},
        )

    def action_view_certificates(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "certcapture_exemption.certcapture_certificate_action"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action
