from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..notifications import display_notification
from .certcapture_service import CertCaptureUserError


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    certcapture_enabled = fields.Boolean(related="company_id.certcapture_enabled", readonly=False)
    certcapture_environment = fields.Selection(
        related="company_id.certcapture_environment", readonly=False
    )
    certcapture_custom_url = fields.Char(
        related="company_id.certcapture_custom_url", readonly=False
    )
    certcapture_account_id = fields.Char(
        related="company_id.certcapture_account_id", readonly=False
    )
    certcapture_license_key = fields.Char(
        related="company_id.certcapture_license_key", readonly=False
    )
    certcapture_company_code = fields.Char(
        related="company_id.certcapture_company_code", readonly=False
    )
    certcapture_company_id = fields.Integer(related="company_id.certcapture_company_id")
    certcapture_connect_timeout = fields.Float(
        related="company_id.certcapture_connect_timeout", readonly=False
    )
    certcapture_read_timeout = fields.Float(
        related="company_id.certcapture_read_timeout", readonly=False
    )
    certcapture_time_budget = fields.Float(
        related="company_id.certcapture_time_budget", readonly=False
    )
    certcapture_missing_policy = fields.Selection(
        related="company_id.certcapture_missing_policy", readonly=False
    )
    certcapture_status_cache_minutes = fields.Integer(
        related="company_id.certcapture_status_cache_minutes", readonly=False
    )
    certcapture_log_retention_days = fields.Integer(
        related="company_id.certcapture_log_retention_days", readonly=False
    )
    certcapture_fiscal_position_id = fields.Many2one(
        related="company_id.certcapture_fiscal_position_id", readonly=False
    )
    certcapture_block_untaxed_posting = fields.Boolean(
        related="company_id.certcapture_block_untaxed_posting", readonly=False
    )
    certcapture_expiry_reminder_days = fields.Char(
        related="company_id.certcapture_expiry_reminder_days", readonly=False
    )
    certcapture_responsible_user_id = fields.Many2one(
        related="company_id.certcapture_responsible_user_id", readonly=False
    )
    certcapture_auto_renewal = fields.Boolean(
        related="company_id.certcapture_auto_renewal", readonly=False
    )
    certcapture_auto_renewal_days = fields.Integer(
        related="company_id.certcapture_auto_renewal_days", readonly=False
    )
    certcapture_pull_interval_hours = fields.Integer(
        "Pull Certificates Every (hours)",
        compute="_compute_certcapture_pull_interval_hours",
        inverse="_inverse_certcapture_pull_interval_hours",
    )

    def _certcapture_pull_cron(self):
        return self.env.ref(
            "certcapture_exemption.ir_cron_certcapture_pull", raise_if_not_found=False
        )

    @api.depends("company_id")
    def _compute_certcapture_pull_interval_hours(self):
        cron = self._certcapture_pull_cron()
        hours = 0
        if cron:
            hours = cron.sudo().interval_number * (24 if cron.sudo().interval_type == "days" else 1)
        for settings in self:
            settings.certcapture_pull_interval_hours = hours

    def _inverse_certcapture_pull_interval_hours(self):
        cron = self._certcapture_pull_cron()
        for settings in self:
            if cron and settings.certcapture_pull_interval_hours > 0:
                cron.sudo().write(
                    {
                        "interval_number": settings.certcapture_pull_interval_hours,
                        "interval_type": "hours",
                    }
                )

    def action_certcapture_test_connection(self):
        self.ensure_one()
        # Settings are saved first so the test uses what is on the screen.
        self.execute()
        ok, message = self.env["certcapture.sync"]._test_connection(self.company_id)
        title = _("CertCapture connection") if ok else _("CertCapture connection failed")
        return display_notification(title, message, "success" if ok else "danger")

    def action_certcapture_request_setup(self):
        """Administrators: ask Avalara to provision exemption certificates for
        this company's AvaTax company (what Test connection says is missing)."""
        self.ensure_one()
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(_("Only administrators can request the CertCapture setup."))
        self.execute()
        try:
            status = self.env["certcapture.sync"]._request_setup(self.company_id)
        except CertCaptureUserError as error:
            return display_notification(_("CertCapture setup"), error.args[0], "danger")
        return display_notification(
            _("CertCapture setup"),
            _(
                "Avalara answered: %s. Provisioning can take a while; Test connection tells "
                "when it is done.",
                status.status,
            ),
            "success" if status.is_provisioned else "info",
        )

    def action_certcapture_view_log(self):
        """The request log of this company, failures first in sight."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "certcapture_exemption.certcapture_api_log_action"
        )
        action["domain"] = [("company_id", "=", self.company_id.id)]
        return action

    def action_certcapture_refresh_lists(self):
        self.ensure_one()
        self.execute()
        zones, reasons = self.env["certcapture.sync"]._refresh_lists(self.company_id)
        message = _(
            "%(zones)s exposure zones and %(reasons)s exemption reasons loaded.",
            zones=zones,
            reasons=reasons,
        )
        return display_notification(_("CertCapture lists"), message)

    def action_certcapture_map_taxes(self):
        """Map the sale taxes created since to no tax in the exempt position."""
        self.ensure_one()
        self.execute()
        position = self.company_id._certcapture_exempt_fiscal_position()
        if not position:
            return display_notification(
                _("CertCapture"),
                _("This company has no chart of accounts: there are no taxes to map."),
                "warning",
            )
        taxes = position._certcapture_map_sale_taxes()
        message = (
            _("Now removed for exempt sales: %s.", ", ".join(taxes.mapped("name")))
            if taxes
            else _("Every sale tax is already removed for exempt sales.")
        )
        return display_notification(_("Exempt fiscal position"), message)

    def action_certcapture_pull_now(self):
        self.ensure_one()
        self.execute()
        self._certcapture_pull_cron().sudo()._trigger()
        return display_notification(
            _("CertCapture"), _("Certificates will be pulled in the background shortly.")
        )
