import logging

from odoo import _, api, fields, models

from ..const import COUNTRY_CODE, ORDER_CHECK_STATUSES
from .certcapture_service import CertCaptureUserError

_logger = logging.getLogger(__name__)

# Statuses that an update of the order tries to resolve by pulling again.
UNRESOLVED_STATUSES = ("missing", "expired", "pending", "error")


class SaleOrder(models.Model):
    _inherit = "sale.order"

    certcapture_status = fields.Selection(
        ORDER_CHECK_STATUSES, "Exemption Certificate", copy=False, readonly=True
    )
    certcapture_state_id = fields.Many2one(
        "res.country.state", "Checked State", copy=False, readonly=True
    )
    certcapture_certificate_id = fields.Many2one(
        "certcapture.certificate", "Certificate Found", copy=False, readonly=True
    )
    certcapture_checked_at = fields.Datetime("Checked At", copy=False, readonly=True)
    certcapture_message = fields.Char("Check Message", copy=False, readonly=True)
    certcapture_prompt = fields.Boolean(
        copy=False,
        help="The order form asks the user whether to send a certificate request.",
    )
    certcapture_prompt_message = fields.Char(compute="_compute_certcapture_prompt_message")
    certcapture_request_ids = fields.One2many(
        "certcapture.certificate.request", "order_id", "Certificate Requests"
    )

    @api.depends("certcapture_prompt", "partner_id", "certcapture_state_id")
    def _compute_certcapture_prompt_message(self):
        for order in self:
            order.certcapture_prompt_message = order.certcapture_prompt and _(
                "%(partner)s has no valid exemption certificate for %(state)s. "
                "Send a certificate request?",
                partner=order.partner_id.commercial_partner_id.name,
                state=order.certcapture_state_id.name,
            )

    # ------------------------------------------------------------ CRUD

    @api.model_create_multi
    def create(self, vals_list):
        orders = super().create(vals_list)
        # Saved from a form, a person is there to be asked; imports, RPC and
        # e-commerce follow the company's policy instead.
        orders._certcapture_check(interactive=bool(self.env.context.get("certcapture_interactive")))
        return orders

    def web_save(self, vals, specification, next_id=None):
        # The web client's form save: the one way a person creates an order.
        return super(SaleOrder, self.with_context(certcapture_interactive=True)).web_save(
            vals, specification, next_id=next_id
        )

    def write(self, vals):
        result = super().write(vals)
        if not self.env.context.get("certcapture_no_recheck") and any(
            not name.startswith("certcapture_") for name in vals
        ):
            # As the source says: certificates come back when the order is
            # updated. Only orders still waiting for one pay for the calls.
            self.filtered(
                lambda order: order.certcapture_status in UNRESOLVED_STATUSES
            )._certcapture_refresh()
        return result

    # ------------------------------------------------------------ the check

    def _certcapture_applies(self):
        self.ensure_one()
        return (
            self.partner_id.commercial_partner_id.certcapture_is_exempt
            and self.company_id.sudo().certcapture_enabled
        )

    def _certcapture_check(self, interactive=False, apply_policy=True):
        """Ask CertCapture whether the customer is exempt in the ship-to state
        and store the answer. Never raises for CertCapture's sake: the order is
        kept whatever happens, with a status that says what went wrong."""
        sync = self.env["certcapture.sync"]
        for order in self.filtered(lambda o: o._certcapture_applies()):
            partner = order.partner_id.commercial_partner_id
            state = order.partner_shipping_id.state_id
            values = {
                "certcapture_checked_at": fields.Datetime.now(),
                "certcapture_state_id": state.id,
                "certcapture_certificate_id": False,
                "certcapture_message": False,
            }
            if not state or state.country_id.code != COUNTRY_CODE:
                values.update(
                    certcapture_status="unknown",
                    certcapture_message=_("The delivery address has no US state to check."),
                )
            else:
                try:
                    with self.env.cr.savepoint():
                        status, certificate = sync._exemption_status(
                            partner, order.company_id, state
                        )
                except CertCaptureUserError as error:
                    values.update(certcapture_status="error", certcapture_message=error.args[0])
                except Exception as error:  # the order must survive any failure
                    _logger.exception("CertCapture check of order %s failed", order.id)
                    values.update(
                        certcapture_status="error",
                        certcapture_message=_("Unexpected error: %s", error),
                    )
                else:
                    if status != "exempt":
                        status = order._certcapture_missing_kind(partner, state)
                    values.update(
                        certcapture_status=status, certcapture_certificate_id=certificate.id
                    )
            values["certcapture_prompt"] = False
            order.with_context(certcapture_no_recheck=True).write(values)
            order._certcapture_log_check()
            if apply_policy and order.certcapture_status in ("missing", "expired"):
                order._certcapture_on_missing(interactive)

    def _certcapture_missing_kind(self, partner, state):
        """Tell a missing certificate from an expired one or an open request."""
        self.ensure_one()
        open_request = partner.certcapture_request_ids.filtered(
            lambda request: request.state != "completed"
            and request.company_id == self.company_id
            and state in request.exposure_zone_ids.state_id
        )
        if open_request:
            return "pending"
        if partner.certcapture_certificate_ids.filtered(
            lambda c: c.state_id == state and c.company_id == self.company_id
        ):
            return "expired"
        return "missing"

    def _certcapture_log_check(self):
        self.ensure_one()
        status = dict(self._fields["certcapture_status"]._description_selection(self.env))
        body = _(
            "Exemption certificate check for %(state)s: %(status)s.",
            state=self.certcapture_state_id.name or "-",
            status=status.get(self.certcapture_status, "-"),
        )
        if self.certcapture_message:
            body = f"{body} {self.certcapture_message}"
        self.env["certcapture.sync"]._note(self, body)

    def _certcapture_on_missing(self, interactive, allow_send=True):
        """Ask the user (order form) or follow the company's policy."""
        self.ensure_one()
        if interactive:
            self.with_context(certcapture_no_recheck=True).certcapture_prompt = True
            return
        policy = self.company_id.sudo().certcapture_missing_policy
        partner = self.partner_id.commercial_partner_id
        recipient = partner.certcapture_ap_email or partner.email
        if policy == "send" and allow_send and recipient:
            wizards = self.env["certcapture.certificate.request.wizard"]
            wizard = wizards.create(wizards._default_values(partner, self))
            try:
                with self.env.cr.savepoint():
                    wizard.action_send()
                return
            except CertCaptureUserError as error:
                self.env["certcapture.sync"]._note(
                    self, _("The certificate request could not be sent: %s", error.args[0])
                )
        if policy in ("flag", "send"):
            self.with_context(certcapture_no_recheck=True).certcapture_prompt = True
            self.sudo().activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=self.user_id.id or self.env.uid,
                summary=_("Exemption certificate missing"),
                note=_(
                    "%(partner)s has no valid exemption certificate for %(state)s.",
                    partner=partner.name,
                    state=self.certcapture_state_id.name,
                ),
            )

    def _certcapture_refresh(self):
        """Pull the customers' certificates again, then check again."""
        sync = self.env["certcapture.sync"]
        for (partner, company), orders in self.grouped(
            lambda o: (o.partner_id.commercial_partner_id, o.company_id)
        ).items():
            try:
                with self.env.cr.savepoint():
                    sync._pull_customer(partner, company)
            except CertCaptureUserError as error:
                _logger.info("CertCapture pull for partner %s failed: %s", partner.id, error)
            self.env["certcapture.status.cache"].sudo()._invalidate(partner)
            orders._certcapture_check(apply_policy=False)

    # ------------------------------------------------------------ actions

    def action_certcapture_request_certificate(self):
        self.ensure_one()
        self.with_context(certcapture_no_recheck=True).certcapture_prompt = False
        return self.env["certcapture.certificate.request.wizard"]._action_open(
            self.partner_id.commercial_partner_id, order=self
        )

    def action_certcapture_dismiss_prompt(self):
        self.with_context(certcapture_no_recheck=True).certcapture_prompt = False
        return True

    def action_certcapture_check_again(self):
        self._certcapture_refresh()
        return True
