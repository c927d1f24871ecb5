from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..const import BULK_KINDS, BULK_NOW_LIMIT
from ..models.certcapture_service import CertCaptureUserError
from ..notifications import display_notification

MANAGER_GROUP = "certcapture_exemption.group_certcapture_manager"


class CertCaptureBulkActionWizard(models.TransientModel):
    """One CertCapture action on the customers selected in the customer list:
    a small selection runs at once, a larger one in the background."""

    _name = "certcapture.bulk.action.wizard"
    _description = "CertCapture Action on Selected Customers"

    kind = fields.Selection(BULK_KINDS, "Action", required=True, readonly=True)
    partner_ids = fields.Many2many(
        "res.partner",
        "certcapture_bulk_wizard_partner_rel",
        "wizard_id",
        "partner_id",
        "Selected Contacts",
        default=lambda self: self._default_partner_ids(),
    )
    customer_count = fields.Integer("Customers", compute="_compute_customer_count")
    in_background = fields.Boolean(compute="_compute_customer_count")
    exposure_zone_ids = fields.Many2many(
        "certcapture.exposure.zone",
        "certcapture_bulk_wizard_zone_rel",
        "wizard_id",
        "zone_id",
        "States",
        help="The states to ask for. Leave empty to ask each customer for its exempt state, "
        "else the state of its address.",
    )
    exemption_reason_ids = fields.Many2many(
        "certcapture.exemption.reason",
        "certcapture_bulk_wizard_reason_rel",
        "wizard_id",
        "reason_id",
        "Exemption Reasons",
        help="Leave empty to use each customer's exemption reason, or let the customer choose.",
    )

    @api.model
    def _default_partner_ids(self):
        context = self.env.context
        if context.get("active_model") != "res.partner":
            return []
        return [fields.Command.set(context.get("active_ids") or [])]

    @api.depends("partner_ids")
    def _compute_customer_count(self):
        for wizard in self:
            wizard.customer_count = len(wizard._customers())
            wizard.in_background = wizard.customer_count > BULK_NOW_LIMIT

    def _customers(self):
        return self.env["certcapture.sync"]._bulk_customers(self.partner_ids)

    def _check_rights(self, customers):
        """Salespeople send requests and refresh the customers they can read;
        a bulk sync writes many customers in CertCapture at once (PUT replaces
        what was edited there), so it is for CertCapture managers."""
        if self.kind == "sync" and not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(_("Only CertCapture managers can sync customers in bulk."))
        customers.check_access("read")

    def action_run(self):
        self.ensure_one()
        customers = self._customers()
        if not customers:
            raise UserError(_("Select the customers to act on first."))
        self._check_rights(customers)
        company = self.env.company
        if self.kind == "request" and not self.env["certcapture.exposure.zone"].search_count(
            [], limit=1
        ):
            # First requests on a new installation: load the states and reasons.
            try:
                self.env["certcapture.sync"]._refresh_lists(company)
            except CertCaptureUserError as error:
                raise UserError(error.args[0]) from error
        zones, reasons = self.exposure_zone_ids, self.exemption_reason_ids
        title = dict(self._fields["kind"]._description_selection(self.env))[self.kind]
        if len(customers) > BULK_NOW_LIMIT:
            job = self.env["certcapture.bulk.job"]._queue(
                self.kind, customers, company, zones, reasons
            )
            return display_notification(
                title,
                _(
                    "%(count)s customers: this runs in the background (job %(job)s). You will "
                    "be notified when it is done; CertCapture jobs (Sales > Orders) show its "
                    "progress.",
                    count=len(customers),
                    job=job.id,
                ),
                "info",
                next_action={"type": "ir.actions.act_window_close"},
            )
        outcome = self.env["certcapture.sync"]._bulk_run(
            self.kind, customers, company, zones, reasons
        )
        return self._notify(title, outcome, customers, company, zones, reasons)

    def _notify(self, title, outcome, customers, company, zones, reasons):
        """The toast that answers a run done at once. What it could not reach
        in the time a person waits (or while CertCapture turned it away) goes
        on in the background."""
        sync = self.env["certcapture.sync"]
        message = sync._bulk_summary(outcome.details())
        kind = "success" if not (outcome.skipped or outcome.failed) else "warning"
        if outcome.pending and not outcome.resumable:
            # Settings, credentials, provisioning: a person must act first.
            message = sync._bulk_summary(
                outcome.details(), stopped=outcome.stopped, pending=len(outcome.pending)
            )
            kind = "danger"
        elif outcome.pending:
            pending = customers.browse(outcome.pending)
            job = self.env["certcapture.bulk.job"]._queue(
                self.kind, pending, company, zones, reasons
            )
            message = " ".join(
                filter(
                    None,
                    [
                        message if outcome.reached_ids() else "",
                        _(
                            "%(count)s customers could not be done now (%(error)s): they go on "
                            "in the background (job %(job)s).",
                            count=len(pending),
                            error=outcome.stopped,
                            job=job.id,
                        ),
                    ],
                )
            )
            kind = "warning"
        return display_notification(
            title,
            message,
            kind,
            next_action={"type": "ir.actions.act_window_close"},
        )
