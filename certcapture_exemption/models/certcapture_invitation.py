import logging
from datetime import timedelta

from odoo import _, api, fields, models

from .certcapture_service import CertCaptureUserError

_logger = logging.getLogger(__name__)

# Requests older than this are no longer followed by the scheduled job.
FOLLOW_DAYS = 30


class CertCaptureInvitation(models.Model):
    """A certificate request sent to a customer through CertExpress."""

    _name = "certcapture.invitation"
    _description = "Certificate Request"
    _order = "id desc"

    name = fields.Char(compute="_compute_name")
    partner_id = fields.Many2one(
        "res.partner", "Customer", required=True, ondelete="cascade", index=True
    )
    order_id = fields.Many2one("sale.order", "Sale Order", ondelete="set null", index=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    certcapture_id = fields.Integer("CertCapture ID", readonly=True)
    recipient = fields.Char(required=True)
    exposure_zone_ids = fields.Many2many("certcapture.exposure.zone", string="States")
    exempt_reason_ids = fields.Many2many("certcapture.exempt.reason", string="Reasons")
    state = fields.Selection(
        [
            ("in_progress", "Being prepared"),
            ("sent", "Sent"),
            ("completed", "Certificate received"),
        ],
        default="in_progress",
        required=True,
    )
    email_status = fields.Char(readonly=True)
    request_link = fields.Char("Upload Link", readonly=True)

    @api.depends("partner_id", "exposure_zone_ids")
    def _compute_name(self):
        for invitation in self:
            states = ", ".join(invitation.exposure_zone_ids.mapped("region")) or "?"
            invitation.name = _(
                "Request to %(partner)s (%(states)s)",
                partner=invitation.partner_id.name,
                states=states,
            )

    @api.model
    def _state_from_api(self, ready):
        return "sent" if ready else "in_progress"

    @api.model
    def _create_from_api(self, result, partner, company, zones, reasons):
        invitation = result.invitation
        return self.create(
            {
                "partner_id": partner.id,
                "company_id": company.id,
                "certcapture_id": invitation.id,
                "recipient": invitation.recipient,
                "exposure_zone_ids": [fields.Command.set(zones.ids)],
                "exempt_reason_ids": [fields.Command.set(reasons.ids)],
                "state": self._state_from_api(result.is_ready),
                "email_status": invitation.email_status,
                "request_link": invitation.request_link,
            }
        )

    def _refresh(self, client):
        for invitation in self:
            remote = client.get_invitation(
                invitation.partner_id.certcapture_customer_code, invitation.certcapture_id
            )
            values = {"email_status": remote.email_status, "request_link": remote.request_link}
            if invitation.state == "in_progress" and remote.request_link:
                values["state"] = "sent"
            invitation.write(values)

    @api.model
    def _follow_pending(self):
        """Ask CertCapture about requests still being prepared."""
        since = fields.Datetime.now() - timedelta(days=FOLLOW_DAYS)
        pending = self.sudo().search([("state", "=", "in_progress"), ("create_date", ">=", since)])
        service = self.env["certcapture.service"]
        for company, invitations in pending.grouped("company_id").items():
            try:
                with service._session(company) as client:
                    invitations._refresh(client)
            except CertCaptureUserError as error:
                _logger.warning(
                    "Following CertCapture requests of company %s failed: %s", company.id, error
                )

    @api.model
    def _mark_completed(self, partners, company):
        """A certificate arrived for these customers: their requests are done."""
        self.sudo().search(
            [
                ("partner_id", "in", partners.ids),
                ("company_id", "=", company.id),
                ("state", "!=", "completed"),
            ]
        ).write({"state": "completed"})
