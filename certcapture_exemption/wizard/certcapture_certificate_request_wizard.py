from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.certcapture_service import CertCaptureUserError
from ..notifications import display_notification
from ..tools import normalize_email


class CertCaptureCertificateRequestWizard(models.TransientModel):
    """Send a customer a certificate request: a CertExpress link where they
    upload their certificate."""

    _name = "certcapture.certificate.request.wizard"
    _description = "Send a Certificate Request"

    partner_id = fields.Many2one("res.partner", "Customer", required=True, readonly=True)
    order_id = fields.Many2one("sale.order", readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    delivery_method = fields.Selection(
        [("email", "Email it to the customer"), ("download", "Give me the link")],
        "Delivery",
        required=True,
        default="email",
        help="Give me the link: for a customer without email, pass the link on yourself.",
    )
    # Not required here: a customer without email opens the wizard with an
    # empty address for the user to type (the view requires it for Email).
    recipient = fields.Char(help="The customer's A/P email address.")
    exposure_zone_ids = fields.Many2many(
        "certcapture.exposure.zone",
        "certcapture_request_wizard_zone_rel",
        "wizard_id",
        "zone_id",
        string="States",
        required=True,
    )
    exemption_reason_ids = fields.Many2many(
        "certcapture.exemption.reason",
        "certcapture_request_wizard_reason_rel",
        "wizard_id",
        "reason_id",
        string="Exemption Reasons",
        help="Optional: leave empty to let the customer choose.",
    )

    @api.model
    def _default_values(self, partner, order=None, states=None):
        company = order.company_id if order else self.env.company
        states = (
            states or (order and order.certcapture_state_id) or partner.certcapture_exempt_state_id
        )
        zones = self.env["certcapture.exposure.zone"].search([("state_id", "in", states.ids)])
        return {
            "partner_id": partner.id,
            "order_id": order.id if order else False,
            "company_id": company.id,
            "recipient": partner._certcapture_request_recipient()
            or partner.certcapture_ap_email
            or partner.email,
            "exposure_zone_ids": [fields.Command.set(zones.ids)],
            "exemption_reason_ids": [
                fields.Command.set(partner.certcapture_exemption_reason_id.ids)
            ],
        }

    @api.model
    def _action_open(self, partner, order=None, states=None):
        company = order.company_id if order else self.env.company
        if not self.env["certcapture.exposure.zone"].search_count([], limit=1):
            # First request on a new installation: load the states and reasons.
            try:
                self.env["certcapture.sync"]._refresh_lists(company)
            except CertCaptureUserError as error:
                raise UserError(error.args[0]) from error
        wizard = self.create(self._default_values(partner, order, states))
        return {
            "type": "ir.actions.act_window",
            "name": _("Send a Certificate Request"),
            "res_model": self._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }

    def action_send(self):
        self.ensure_one()
        recipient = normalize_email(self.recipient)
        if self.delivery_method == "download" and not self.recipient:
            recipient = False  # nobody to email: the link goes to the user
        elif not recipient:
            raise UserError(
                _(
                    "%s is not a valid email address: type the customer's A/P address.",
                    self.recipient or _("(empty)"),
                )
            )
        sync = self.env["certcapture.sync"]
        request, outcome = sync._send_request(
            self.partner_id,
            self.company_id,
            recipient,
            self.exposure_zone_ids,
            self.exemption_reason_ids,
            order=self.order_id,
            delivery=self.delivery_method,
        )
        states = ", ".join(self.exposure_zone_ids.mapped("name"))
        recipient = recipient or _("the user, to pass on")
        if self.delivery_method == "download" and outcome != "unconfirmed":
            body = (
                _(
                    "Certificate request for %(states)s created (CertCapture request %(id)s): "
                    "give the customer this link to upload the certificate: %(link)s",
                    states=states,
                    id=request.certcapture_id,
                    link=request.request_link,
                )
                if request.request_link
                else _(
                    "Certificate request for %(states)s created (CertCapture request %(id)s); "
                    "CertCapture is preparing its link, which the request shows once ready.",
                    states=states,
                    id=request.certcapture_id,
                )
            )
        else:
            body = sync._request_sent_note(request, outcome, recipient, states)
        sync._note(self.partner_id, body)
        if self.order_id:
            sync._note(self.order_id, body)
            self.order_id._certcapture_write(
                {"certcapture_status": "pending", "certcapture_prompt": False}
            )
        title = (
            _("Certificate request not confirmed")
            if outcome == "unconfirmed"
            else _("Certificate request sent")
        )
        return display_notification(
            title,
            body,
            "warning" if outcome == "unconfirmed" else "success",
            next_action={"type": "ir.actions.act_window_close"},
            sticky=self.delivery_method == "download",
        )
