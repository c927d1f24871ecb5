import logging

from markupsafe import Markup, escape
from odoo import _, api, fields, models

from ..const import COUNTRY_CODE, ORDER_CHECK_STATUSES
from .certcapture_service import CertCaptureUserError

_logger = logging.getLogger(__name__)

# Statuses that an update of the order tries to resolve by pulling again.
UNRESOLVED_STATUSES = ("missing", "expired", "pending", "incomplete", "error")
# Statuses that ask for a certificate request.
MISSING_STATUSES = ("missing", "expired")


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

    def _certcapture_write(self, values):
        """The check's bookkeeping: written whatever the user may write."""
        self.sudo().with_context(certcapture_no_recheck=True).write(values)

    def _certcapture_check(self, interactive=False, apply_policy=True):
        """Ask CertCapture whether the customer is exempt in the ship-to state
        and store the answer. Never raises for CertCapture's sake, nor for the
        add-on's own bookkeeping: the order is kept whatever happens, with a
        status that says what went wrong."""
        for order in self.filtered(lambda o: o._certcapture_applies()):
            try:
                with self.env.cr.savepoint():
                    order._certcapture_check_one(interactive, apply_policy)
            except Exception as error:
                _logger.exception("CertCapture check of order %s failed", order.id)
                order._certcapture_write(
                    {
                        "certcapture_status": "error",
                        "certcapture_checked_at": fields.Datetime.now(),
                        "certcapture_message": _("Unexpected error: %s", error),
                        "certcapture_prompt": False,
                    }
                )

    def _certcapture_check_one(self, interactive, apply_policy):
        self.ensure_one()
        status, certificate, message = self._certcapture_status()
        previous = (self.certcapture_status, self.certcapture_state_id)
        state = self.partner_shipping_id.state_id
        self._certcapture_write(
            {
                "certcapture_status": status,
                "certcapture_state_id": state.id,
                "certcapture_certificate_id": certificate.id,
                "certcapture_checked_at": fields.Datetime.now(),
                "certcapture_message": message,
                "certcapture_prompt": False,
            }
        )
        if previous != (status, state):
            self._certcapture_log_check()
        if apply_policy and status in MISSING_STATUSES:
            self._certcapture_on_missing(interactive)

    def _certcapture_status(self):
        """(status, certificate, message) of the order's ship-to state."""
        self.ensure_one()
        partner = self.partner_id.commercial_partner_id
        state = self.partner_shipping_id.state_id
        country = self.partner_shipping_id.country_id or state.country_id
        no_certificate = self.env["certcapture.certificate"]
        if country and country.code != COUNTRY_CODE:
            return (
                "not_applicable",
                no_certificate,
                _("The delivery address is outside the US: no US exemption certificate applies."),
            )
        if not state:
            return "unknown", no_certificate, _("The delivery address has no US state to check.")
        missing = partner._certcapture_missing_address_fields()
        if missing:
            return (
                "incomplete",
                no_certificate,
                _(
                    "CertCapture needs the customer's full address; %(partner)s has no "
                    "%(fields)s.",
                    partner=partner.name,
                    fields=", ".join(missing),
                ),
            )
        try:
            status, certificate = self.env["certcapture.sync"]._exemption_status(
                partner, self.company_id, state
            )
        except CertCaptureUserError as error:
            return "error", no_certificate, error.args[0]
        if status != "exempt":
            status = self._certcapture_missing_kind(partner, state)
        return status, certificate, False

    def _certcapture_missing_kind(self, partner, state):
        """Tell a missing certificate from an expired one or an open request."""
        self.ensure_one()
        open_request = partner.sudo().certcapture_request_ids.filtered(
            lambda request: request.state != "completed"
            and request.company_id == self.company_id
            and state in request.exposure_zone_ids.state_id
        )
        if open_request:
            return "pending"
        if partner.sudo().certcapture_certificate_ids.filtered(
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
            self._certcapture_write({"certcapture_prompt": True})
            return
        policy = self.company_id.sudo().certcapture_missing_policy
        partner = self.partner_id.commercial_partner_id
        if policy == "send" and allow_send and partner._certcapture_request_recipient():
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
            self._certcapture_write({"certcapture_prompt": True})
            self._certcapture_plan_activity()

    def _certcapture_plan_activity(self):
        """A to-do for the order's salesperson, once per order."""
        self.ensure_one()
        summary = _("Exemption certificate missing")
        if self.activity_ids.filtered(lambda activity: activity.summary == summary):
            return
        self.sudo().activity_schedule(
            "mail.mail_activity_data_todo",
            user_id=self.user_id.id or self.env.uid,
            summary=summary,
            # A note is HTML: the customer's name is text and stays text.
            note=Markup("<p>%s</p>")
            % _(
                "%(partner)s has no valid exemption certificate for %(state)s.",
                partner=escape(self.partner_id.commercial_partner_id.name),
                state=escape(self.certcapture_state_id.name),
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
        self._certcapture_write({"certcapture_prompt": False})
        return self.env["certcapture.certificate.request.wizard"]._action_open(
            self.partner_id.commercial_partner_id, order=self
        )

    def action_certcapture_dismiss_prompt(self):
        self._certcapture_write({"certcapture_prompt": False})
        return True

    def action_certcapture_check_again(self):
        """The order form's button: pull, check, and ask about what is missing."""
        self._certcapture_refresh()
        for order in self.filtered(lambda o: o.certcapture_status in MISSING_STATUSES):
            order._certcapture_on_missing(interactive=True)
            order._certcapture_plan_activity()
        return True
