import logging
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape
from odoo import _, api, fields, models
from odoo.tools import format_date

from ..const import COUNTRY_XMLID, ORDER_CHECK_STATUSES
from .certcapture_service import CertCaptureUserError

_logger = logging.getLogger(__name__)

# Statuses that an update of the order tries to resolve by pulling again.
UNRESOLVED_STATUSES = ("missing", "expired", "pending", "incomplete", "error")
# Statuses that ask for a certificate request.
MISSING_STATUSES = ("missing", "expired")
# A first check with these answers logs no note: the order is as it should
# be, its form says so (the status, the sales tax line). Any other first
# answer, and any change, is news for the chatter.
QUIET_STATUSES = ("exempt", "not_applicable")
# What decides whether a certificate covers an order.
COVERAGE_FIELDS = {"partner_id", "partner_shipping_id", "client_order_ref", "date_order"}


@dataclass(frozen=True)
class OrderSubject:
    """What the exemption check of an order looks at: an order, or the values
    of one about to be created (``order`` is then empty)."""

    partner: models.BaseModel  # the commercial partner
    shipping: models.BaseModel
    company: models.BaseModel
    on_date: date
    po_number: str | bool | None
    order: models.BaseModel

    @property
    def state(self):
        return self.shipping.state_id


@dataclass(frozen=True)
class NewOrderDecision:
    """The check of an order decided before it was created: the values it is
    created with (none when the check does not apply) and the CertCapture
    calls made for it, logged once it exists."""

    values: dict
    calls: list


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
    # The tax effect: which certificate makes the sale untaxed, or why not.
    certcapture_covering_certificate_id = fields.Many2one(
        "certcapture.certificate", "Exemption Certificate Used", copy=False, readonly=True
    )
    certcapture_tax_note = fields.Char("Sales Tax", copy=False, readonly=True)
    certcapture_fiscal_position_applied = fields.Boolean(copy=False, readonly=True)
    certcapture_exemption_change = fields.Selection(
        [
            ("apply", "A certificate now covers this order: its sales tax can be removed"),
            ("remove", "No certificate covers this order any more: sales tax applies again"),
        ],
        copy=False,
        readonly=True,
        help="Confirmed orders are not changed silently: the change waits for a click.",
    )
    certcapture_unmapped_tax_note = fields.Char(compute="_compute_certcapture_unmapped_tax_note")

    @api.depends("certcapture_prompt", "partner_id", "certcapture_state_id")
    def _compute_certcapture_prompt_message(self):
        for order in self:
            order.certcapture_prompt_message = order.certcapture_prompt and _(
                "%(partner)s has no valid exemption certificate for %(state)s. "
                "Send a certificate request?",
                partner=order.partner_id.commercial_partner_id.name,
                state=order.certcapture_state_id.name,
            )

    @api.depends("fiscal_position_id", "order_line.tax_id")
    def _compute_certcapture_unmapped_tax_note(self):
        for order in self:
            position = order.company_id.sudo().certcapture_fiscal_position_id
            taxes = (
                order.order_line.tax_id
                if position and order.fiscal_position_id == position
                else False
            )
            order.certcapture_unmapped_tax_note = (
                _(
                    "%(taxes)s still applies: the exempt fiscal position does not remove it "
                    "(Settings > Sales > CertCapture > Map new taxes).",
                    taxes=", ".join(taxes.mapped("name")),
                )
                if taxes
                else False
            )

    # ------------------------------------------------------------ CRUD

    @api.model_create_multi
    def create(self, vals_list):
        # Decided before the orders exist, so that their lines are taxed right
        # the first time: no second tax computation, no second write.
        decisions = [self._certcapture_decide_new(vals) for vals in vals_list]
        orders = super().create(
            [
                {**vals, **decision.values} if decision else vals
                for vals, decision in zip(vals_list, decisions, strict=True)
            ]
        )
        # Saved from a form, a person is there to be asked; imports, RPC and
        # e-commerce follow the company's policy instead.
        interactive = bool(self.env.context.get("certcapture_interactive"))
        undecided = self.browse()
        for order, decision in zip(orders, decisions, strict=True):
            if decision is None:
                undecided |= order
            elif decision.values:
                order._certcapture_log_calls(decision)
                if order._certcapture_needs_after_new():
                    order._certcapture_guarded(order._certcapture_after_new, interactive)
        undecided._certcapture_check(interactive=interactive)
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
            unresolved = self.filtered(
                lambda order: order.certcapture_status in UNRESOLVED_STATUSES
            )
            unresolved._certcapture_refresh()
            if COVERAGE_FIELDS & set(vals):
                # Another customer, delivery address or purchase order: the
                # exemption is decided again (Odoo reset the fiscal position).
                (self - unresolved)._certcapture_check(apply_policy=False)
        return result

    # ------------------------------------------------------------ the check

    def _certcapture_applies(self):
        self.ensure_one()
        return self._certcapture_applies_to(self.partner_id, self.company_id)

    @api.model
    def _certcapture_applies_to(self, partner, company):
        """Whether orders of ``partner`` in ``company`` are checked: the
        customer is exempt and the company uses CertCapture."""
        return bool(
            partner.commercial_partner_id.certcapture_is_exempt
            and company.sudo().certcapture_enabled
        )

    def _certcapture_subject(self):
        """What the check of this order looks at."""
        self.ensure_one()
        return OrderSubject(
            partner=self.partner_id.commercial_partner_id,
            shipping=self.partner_shipping_id,
            company=self.company_id,
            # A quotation is judged today (it is confirmed, and its date set,
            # later); a confirmed order on its date.
            on_date=fields.Date.context_today(self)
            if self.state in ("draft", "sent")
            else fields.Date.to_date(self.date_order),
            po_number=self.client_order_ref,
            order=self,
        )

    @api.model
    def _certcapture_new_subject(self, vals, partner, company):
        """What the check of an order about to be created from ``vals`` for
        ``partner`` and ``company`` looks at, as Odoo will fill it in; None
        when only the order itself can say (a fiscal position or a state
        given)."""
        if "fiscal_position_id" in vals or vals.get("state", "draft") not in ("draft", "sent"):
            return None
        shipping = (
            self.env["res.partner"].browse(vals["partner_shipping_id"])
            if vals.get("partner_shipping_id")
            # sale.order's own rule for the delivery address
            else partner.address_get(["delivery"])["delivery"]
        )
        return OrderSubject(
            partner=partner.commercial_partner_id,
            shipping=self.env["res.partner"].browse(shipping),
            company=company,
            on_date=fields.Date.context_today(self),
            po_number=vals.get("client_order_ref"),
            order=self.browse(),
        )

    @api.model
    def _certcapture_decide_new(self, vals):
        """The check of an order about to be created, as a NewOrderDecision
        (values the order is created with, CertCapture calls made for it), or
        None when it has to wait until the order exists. Never raises: an order
        is never lost for the check's sake."""
        try:
            if not vals.get("partner_id"):
                return None
            partner = self.env["res.partner"].browse(vals["partner_id"])
            company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
            if not self._certcapture_applies_to(partner, company):
                return NewOrderDecision({}, [])  # most orders: nothing to check
            subject = self._certcapture_new_subject(vals, partner, company)
            if subject is None:
                return None
            calls = []
            # Reads, and CertCapture's answer when it is not cached (what
            # asking writes is in a savepoint of its own: _exemption_status).
            values = self.with_context(certcapture_deferred_calls=calls)._certcapture_check_values(
                subject
            )
            position = subject.company.sudo().certcapture_fiscal_position_id
            if not position:
                with self.env.cr.savepoint():
                    position = subject.company._certcapture_exempt_fiscal_position()
            if values["certcapture_covering_certificate_id"] and position:
                values["fiscal_position_id"] = position.id
                values["certcapture_fiscal_position_applied"] = True
            if "partner_shipping_id" not in vals:
                # The address found above: Odoo does not look for it again.
                values["partner_shipping_id"] = subject.shipping.id
            return NewOrderDecision(values, calls)
        except Exception:
            _logger.exception("CertCapture check before creating an order failed: done after")
            return None

    def _certcapture_log_calls(self, decision):
        """The request log lines of the calls made for the order before it
        existed. Plain values into the add-on's own table, with no constraint
        they could break: written without the savepoint the other steps
        need."""
        self.ensure_one()
        service = self.env["certcapture.service"].with_context(certcapture_served=self)
        for company, calls in decision.calls:
            service._log_calls(company, calls)

    def _certcapture_needs_after_new(self):
        """Whether a new order decided before it existed has anything left to
        do (most have not: a covered order is done when it is created)."""
        self.ensure_one()
        return bool(
            self.certcapture_covering_certificate_id.single_use
            or self.certcapture_status not in QUIET_STATUSES
        )

    def _certcapture_after_new(self, interactive):
        """What a new order decided before it existed still needs."""
        self.ensure_one()
        covering = self.certcapture_covering_certificate_id
        if covering.single_use:
            covering.sudo().used_by_order_id = self
        if self.certcapture_status not in QUIET_STATUSES:
            self._certcapture_log_check()
        if self.certcapture_status in MISSING_STATUSES:
            self._certcapture_on_missing(interactive)

    def _certcapture_write(self, values):
        """The check's bookkeeping: written whatever the user may write."""
        self.sudo().with_context(certcapture_no_recheck=True).write(values)

    def _certcapture_write_changed(self, values):
        """Write only what differs from the order's values: an unchanged
        check costs no update of the fields it did not change."""
        self.ensure_one()
        changed = {}
        for name, value in values.items():
            current = self[name]
            if isinstance(current, models.BaseModel):
                current = current.id
            if current != (value or False):
                changed[name] = value
        if changed:
            self._certcapture_write(changed)
        return changed

    def _certcapture_guarded(self, step, *args):
        """Run a step of the check after the order exists; whatever goes wrong
        is the order's check status, not a lost order."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                step(*args)
        except Exception as error:
            _logger.exception("CertCapture check of order %s failed", self.id)
            self._certcapture_write(
                {
                    "certcapture_status": "error",
                    "certcapture_checked_at": fields.Datetime.now(),
                    "certcapture_message": _("Unexpected error: %s", error),
                    "certcapture_prompt": False,
                }
            )

    def _certcapture_check(self, interactive=False, apply_policy=True):
        """Ask CertCapture whether the customer is exempt in the ship-to state
        and store the answer. Never raises for CertCapture's sake, nor for the
        add-on's own bookkeeping: the order is kept whatever happens, with a
        status that says what went wrong."""
        for order in self.filtered(lambda o: o._certcapture_applies()):
            order._certcapture_guarded(order._certcapture_check_one, interactive, apply_policy)

    def _certcapture_check_one(self, interactive, apply_policy):
        self.ensure_one()
        previous = (self.certcapture_status, self.certcapture_state_id.id)
        values = self.with_context(certcapture_served=self)._certcapture_check_values(
            self._certcapture_subject()
        )
        self._certcapture_apply_tax_effect(values)
        if (previous[0] or self.certcapture_status not in QUIET_STATUSES) and previous != (
            values["certcapture_status"],
            values["certcapture_state_id"],
        ):
            self._certcapture_log_check()
        if apply_policy and self.certcapture_status in MISSING_STATUSES:
            self._certcapture_on_missing(interactive)

    @api.model
    def _certcapture_check_values(self, subject):
        """The check's answer for ``subject`` as sale.order values: the status,
        the certificate found, and the coverage it gives."""
        status, certificate, message = self._certcapture_status(subject)
        covering, note = self._certcapture_coverage(subject, status, certificate, message)
        return {
            "certcapture_status": status,
            "certcapture_state_id": subject.state.id,
            "certcapture_certificate_id": certificate.id,
            "certcapture_checked_at": fields.Datetime.now(),
            "certcapture_message": message,
            "certcapture_prompt": False,
            "certcapture_covering_certificate_id": covering.id,
            "certcapture_tax_note": note,
        }

    # ------------------------------------------------------------ the tax effect

    @api.model
    def _certcapture_coverage(self, subject, status, answer, message):
        """(certificate, note): the certificate that exempts the order from
        sales tax, or an empty one and why the order is taxed."""
        certificates = self.env["certcapture.certificate"]
        state = subject.state
        if status != "exempt":
            label = dict(self._fields["certcapture_status"]._description_selection(self.env)).get(
                status, "-"
            )
            if message:
                return certificates, _(
                    "Taxed: %(status)s (%(detail)s)", status=label, detail=message
                )
            return certificates, _("Taxed: %s", label)
        on_date, po_number, order = subject.on_date, subject.po_number, subject.order
        answer = answer.sudo()
        if answer and answer._certcapture_covers(state, on_date, po_number, order):
            covering = answer
        else:
            covering = subject.partner._certcapture_covering_certificate(
                state, subject.company, on_date, po_number, order
            )
        if covering:
            return covering, _(
                "Exempt from sales tax: %(reason)s, certificate %(number)s (%(state)s), valid "
                "until %(expires)s.",
                reason=covering.exemption_reason_id.name or "-",
                number=covering.exemption_number or covering.certcapture_id or "-",
                state=state.code,
                expires=covering.expiration_date or _("no end date"),
            )
        if answer.expiration_date and answer.expiration_date < on_date:
            return certificates, _(
                "Taxed: the certificate for %(state)s expired on %(date)s.",
                state=state.code,
                date=answer.expiration_date,
            )
        if answer.single_use:
            return certificates, _(
                "Taxed: the certificate for %(state)s is for a single purchase order (%(po)s), "
                "not this one.",
                state=state.code,
                po=answer.po_numbers or "-",
            )
        return certificates, _(
            "Taxed until CertCapture's certificate for %s is in Odoo (the next pull brings it).",
            state.code,
        )

    def _certcapture_exemption_statement(self):
        """The line the printed quotation or order carries, or False."""
        self.ensure_one()
        certificate = self.certcapture_covering_certificate_id.sudo()
        position = self.company_id.sudo().certcapture_fiscal_position_id
        if not certificate or self.fiscal_position_id != position:
            return False
        return _(
            "Exempt from sales tax: %(reason)s, certificate %(number)s (%(state)s), valid "
            "until %(expires)s",
            reason=certificate.exemption_reason_id.name or "-",
            number=certificate.exemption_number or certificate.certcapture_id or "-",
            state=certificate.state_id.code or "-",
            expires=format_date(self.env, certificate.expiration_date)
            if certificate.expiration_date
            else _("no end date"),
        )

    def _certcapture_default_fiscal_position(self):
        """The fiscal position Odoo itself would give the order."""
        self.ensure_one()
        return (
            self.env["account.fiscal.position"]
            .with_company(self.company_id)
            ._get_fiscal_position(self.partner_id, self.partner_shipping_id)
        )

    def _certcapture_set_fiscal_position(self, position, applied, values=None):
        """Put ``position`` on the quotation (with ``values``, in one write)
        and recompute its taxes."""
        self.ensure_one()
        self._certcapture_write_changed(
            {
                **(values or {}),
                "fiscal_position_id": position.id,
                "certcapture_fiscal_position_applied": applied,
            }
        )
        self.sudo().with_context(certcapture_no_recheck=True)._recompute_taxes()

    def _certcapture_apply_tax_effect(self, check_values=None):
        """Quotations follow their coverage: the exempt fiscal position and
        no sales tax while a certificate covers them, Odoo's own otherwise.
        Confirmed orders only say what changed and wait for a click. A fiscal
        position chosen by hand is left alone.

        ``check_values``: a check's answer (see _certcapture_check_values),
        written with the tax effect in one write; without, the order's
        coverage is judged again on its last answer."""
        self.ensure_one()
        if check_values is None:
            covering, note = self._certcapture_coverage(
                self._certcapture_subject(),
                self.certcapture_status,
                self.certcapture_certificate_id,
                self.certcapture_message,
            )
            check_values = {
                "certcapture_covering_certificate_id": covering.id,
                "certcapture_tax_note": note,
            }
        covering = self.env["certcapture.certificate"].browse(
            check_values["certcapture_covering_certificate_id"]
        )
        changed = covering != self.certcapture_covering_certificate_id
        exempt_position = self.company_id._certcapture_exempt_fiscal_position()
        values = {**check_values, "certcapture_exemption_change": False}
        if (
            covering.single_use
            and self.state != "cancel"
            and covering.sudo().used_by_order_id != self
        ):
            covering.sudo().used_by_order_id = self
        wants_exempt = bool(covering and exempt_position)
        # Whether the add-on removed the tax: the lines were computed with the
        # exempt position (Odoo may have put its own back since, on a new
        # delivery address, without recomputing them).
        applied = self.certcapture_fiscal_position_applied
        in_place = applied and self.fiscal_position_id == exempt_position
        chosen_exempt = (
            not applied and bool(exempt_position) and self.fiscal_position_id == exempt_position
        )
        if chosen_exempt or (wants_exempt == applied and applied == in_place):
            self._certcapture_write_changed(values)
            return
        if self.state not in ("draft", "sent"):
            values["certcapture_exemption_change"] = "apply" if wants_exempt else "remove"
            self._certcapture_write_changed(values)
            return
        self._certcapture_change_fiscal_position(
            wants_exempt, exempt_position, values["certcapture_tax_note"], changed, values
        )

    def _certcapture_change_fiscal_position(
        self, exempt, exempt_position, note, announce=True, values=None
    ):
        """Give the quotation the exempt fiscal position or Odoo's own back,
        with the check's ``values`` in the same write."""
        self.ensure_one()
        sync = self.env["certcapture.sync"]
        default = self._certcapture_default_fiscal_position()
        if exempt:
            if self.fiscal_position_id and self.fiscal_position_id != default:
                self._certcapture_write_changed(values or {})
                if not announce:
                    return
                sync._note(
                    self,
                    _(
                        "A certificate covers this order, but its fiscal position %s was chosen "
                        "by hand: it is left as it is.",
                        self.fiscal_position_id.name,
                    ),
                )
                return
            self._certcapture_set_fiscal_position(exempt_position, True, values)
            sync._note(self, _("Sales tax removed. %s", note))
        else:
            self._certcapture_set_fiscal_position(default, False, values)
            sync._note(self, _("Sales tax applies again. %s", note))

    @api.model
    def _certcapture_status(self, subject):
        """(status, certificate, message) of the subject's ship-to state."""
        partner, state = subject.partner, subject.state
        country = subject.shipping.country_id or state.country_id
        no_certificate = self.env["certcapture.certificate"]
        # Compared by id (the xml id is cached): the country is not read.
        us_id = self.env["ir.model.data"]._xmlid_to_res_id(COUNTRY_XMLID)
        if (country and country.id != us_id) or (state and state.country_id.id != us_id):
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
                partner, subject.company, state
            )
        except CertCaptureUserError as error:
            return "error", no_certificate, error.args[0]
        if status != "exempt":
            status = self._certcapture_missing_kind(partner, state, subject.company)
        return status, certificate, False

    @api.model
    def _certcapture_missing_kind(self, partner, state, company):
        """Tell a missing certificate from an expired one or an open request."""
        open_request = partner.sudo().certcapture_request_ids.filtered(
            lambda request: request.state != "completed"
            and request.company_id == company
            and state in request.exposure_zone_ids.state_id
        )
        if open_request:
            return "pending"
        if partner.sudo().certcapture_certificate_ids.filtered(
            lambda c: c.state_id == state and c.company_id == company
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

    def action_certcapture_view_log(self):
        """The CertCapture calls made for this order (CertCapture managers)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "certcapture_exemption.certcapture_api_log_action"
        )
        action["domain"] = [("res_model", "=", self._name), ("res_id", "=", self.id)]
        return action

    def action_certcapture_apply_exemption_change(self):
        """A confirmed order: apply what its coverage now says, on a click."""
        for order in self.filtered("certcapture_exemption_change"):
            exempt = order.certcapture_exemption_change == "apply"
            position = order.company_id._certcapture_exempt_fiscal_position()
            order._certcapture_write({"certcapture_exemption_change": False})
            order._certcapture_change_fiscal_position(exempt, position, order.certcapture_tax_note)
        return True

    def action_certcapture_check_again(self):
        """The order form's button: pull, check, and ask about what is missing."""
        self._certcapture_refresh()
        for order in self.filtered(lambda o: o.certcapture_status in MISSING_STATUSES):
            order._certcapture_on_missing(interactive=True)
            order._certcapture_plan_activity()
        return True
