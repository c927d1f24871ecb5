from odoo import _, api, fields, models


class CertCaptureCertificateRequest(models.Model):
    """A certificate request: a CertExpress invitation sent to a customer
    (Avalara's ``certexpressinvites``), followed by ``certcapture.sync``."""

    _name = "certcapture.certificate.request"
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
    delivery_method = fields.Selection(
        [("email", "Email"), ("download", "Download link")],
        required=True,
        default="email",
        help="Email: CertCapture emails the customer the link. Download: the link is given "
        "to the user, to pass on (customers without email, the customer portal).",
    )
    recipient = fields.Char()
    exposure_zone_ids = fields.Many2many(
        "certcapture.exposure.zone",
        "certcapture_request_exposure_zone_rel",
        "request_id",
        "zone_id",
        string="States",
    )
    exemption_reason_ids = fields.Many2many(
        "certcapture.exemption.reason",
        "certcapture_request_exemption_reason_rel",
        "request_id",
        "reason_id",
        string="Exemption Reasons",
    )
    state = fields.Selection(
        [
            ("in_progress", "Being prepared"),
            ("sent", "Sent"),
            ("completed", "Certificate received"),
            # The answer to the request was lost and CertCapture could not be
            # asked: the next request for the customer looks for it first.
            ("unconfirmed", "Not confirmed"),
            ("not_sent", "Not sent"),
        ],
        default="in_progress",
        required=True,
    )
    email_status = fields.Char(readonly=True)
    request_link = fields.Char("Upload Link", readonly=True)

    @api.depends("partner_id", "exposure_zone_ids")
    def _compute_name(self):
        for request in self:
            states = ", ".join(request.exposure_zone_ids.mapped("region")) or "?"
            request.name = _(
                "Request to %(partner)s (%(states)s)",
                partner=request.partner_id.name,
                states=states,
            )
