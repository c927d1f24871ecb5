from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..const import (
    DEFAULT_AUTO_RENEWAL_DAYS,
    DEFAULT_EXPIRY_REMINDER_DAYS,
    DEFAULT_TIME_BUDGET_SECONDS,
    ENVIRONMENT_URLS,
    EXPIRING_SOON_DAYS,
    MISSING_CERTIFICATE_POLICIES,
    WEB_APP_CUSTOMER_PATH,
    WEB_APP_URLS,
)


class ResCompany(models.Model):
    _inherit = "res.company"

    certcapture_enabled = fields.Boolean("CertCapture")
    certcapture_environment = fields.Selection(
        [
            ("sandbox", "Avalara sandbox"),
            ("production", "Avalara production"),
            ("custom", "Custom URL"),
        ],
        "CertCapture Environment",
        default="sandbox",
        required=True,
    )
    certcapture_custom_url = fields.Char(
        "CertCapture URL", help="For the project's local sandbox, e.g. http://127.0.0.1:8099"
    )
    certcapture_account_id = fields.Char("AvaTax Account ID", groups="base.group_system")
    certcapture_license_key = fields.Char(
        "AvaTax License Key", groups="base.group_system", copy=False
    )
    certcapture_company_code = fields.Char("AvaTax Company Code")
    certcapture_company_id = fields.Integer(
        "AvaTax Company ID",
        readonly=True,
        copy=False,
        help="Resolved from the company code on the first call or by Test connection.",
    )
    certcapture_connect_timeout = fields.Float("Connect Timeout (s)", default=5.0)
    certcapture_read_timeout = fields.Float("Read Timeout (s)", default=30.0)
    certcapture_time_budget = fields.Float(
        "Time Budget While a User Waits (s)",
        default=DEFAULT_TIME_BUDGET_SECONDS,
        help="All CertCapture calls made while a person waits (saving an order, a button) "
        "end within this time, retries included; what does not fit is left to the scheduled "
        "jobs and the order says so. 0 means no budget.",
    )
    certcapture_missing_policy = fields.Selection(
        MISSING_CERTIFICATE_POLICIES,
        "Orders Created Outside the Form",
        default="flag",
        required=True,
        help="What an order created by import, RPC or e-commerce does when its customer has "
        "no valid certificate. In the order form the user is always asked.",
    )
    certcapture_status_cache_minutes = fields.Integer(
        "Status Cache (minutes)",
        default=60,
        help="How long a customer's exemption status for a state is reused before CertCapture "
        "is asked again. Pulled certificates and sent requests clear it.",
    )
    # ISO 8601 text, not a Datetime: Odoo drops the sub-second part, and the
    # pull must resume exactly after the last certificate it took.
    certcapture_pull_watermark = fields.Char(
        "Certificates Pulled Until",
        copy=False,
        readonly=True,
        help="The modification time of the last certificate pulled from CertCapture.",
    )
    certcapture_pull_watermark_ids = fields.Char(
        "Certificates Pulled at the Watermark",
        copy=False,
        readonly=True,
        help="CertCapture ids of the certificates pulled at the watermark's exact time: the "
        "next pull skips them when they come back.",
    )

    certcapture_log_retention_days = fields.Integer(
        "Keep the Request Log (days)",
        default=30,
        help="CertCapture calls are logged (method, path, status, round trip); lines older "
        "than this are deleted every day. 0 keeps them.",
    )
    certcapture_fiscal_position_id = fields.Many2one(
        "account.fiscal.position",
        "Exempt Fiscal Position",
        check_company=True,
        help="Applied to quotations, orders and invoices whose delivery state is covered by a "
        "current exemption certificate: it removes sales tax. Created for each company with a "
        "chart of accounts.",
    )
    certcapture_block_untaxed_posting = fields.Boolean(
        "Block Untaxed Invoices Without Certificate",
        help="Refuse to post an untaxed invoice for an exempt customer when no current "
        "certificate covers its delivery state (otherwise it is posted, flagged and noted).",
    )

    # Certificate expiry and renewal (models/certcapture_sync_expiry.py).
    certcapture_expiry_reminder_days = fields.Char(
        "Expiry Reminders (days before)",
        default=DEFAULT_EXPIRY_REMINDER_DAYS,
        help="Comma-separated numbers of days before a certificate expires: when it enters "
        "each of these windows, its customer's salesperson gets a to-do. The largest also "
        "marks the customer's certificate as expiring soon. Empty: no reminders.",
    )
    certcapture_responsible_user_id = fields.Many2one(
        "res.users",
        "CertCapture Responsible",
        domain=[("share", "=", False)],
        help="Gets the expiry reminders of customers without a salesperson (empty: the "
        "administrator).",
    )
    certcapture_auto_renewal = fields.Boolean(
        "Request Renewals Automatically",
        help="The daily job emails the customer a certificate request for the states whose "
        "certificate is about to expire, once per certificate.",
    )
    certcapture_auto_renewal_days = fields.Integer(
        "Renewal Request (days before expiry)",
        default=DEFAULT_AUTO_RENEWAL_DAYS,
        help="How many days before a certificate expires its renewal request is sent.",
    )

    @api.constrains("certcapture_expiry_reminder_days")
    def _check_certcapture_expiry_reminder_days(self):
        for company in self:
            company._certcapture_expiry_windows()

    @api.constrains("certcapture_auto_renewal_days")
    def _check_certcapture_auto_renewal_days(self):
        for company in self:
            if company.certcapture_auto_renewal_days < 1:
                raise ValidationError(
                    _("The renewal request goes at least one day before the certificate expires.")
                )

    def _certcapture_expiry_windows(self):
        """The reminder windows in days, largest first ("90,60,30" ->
        (90, 60, 30)); raises a ValidationError for anything else."""
        self.ensure_one()
        text = self.certcapture_expiry_reminder_days or ""
        windows = set()
        for part in text.replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit() or not 0 < int(part) <= 3650:
                raise ValidationError(
                    _(
                        "Expiry reminders: %s is not a number of days between 1 and 3650 "
                        "(write them like 90,60,30).",
                        part,
                    )
                )
            windows.add(int(part))
        return tuple(sorted(windows, reverse=True))

    def _certcapture_expiring_soon_days(self):
        """From how many days before its expiry a certificate counts as
        expiring soon: the largest reminder window (the first reminder comes
        with the status), or EXPIRING_SOON_DAYS without reminders."""
        self.ensure_one()
        windows = self.sudo()._certcapture_expiry_windows()
        return windows[0] if windows else EXPIRING_SOON_DAYS

    def _certcapture_exempt_fiscal_position(self):
        """The exempt fiscal position, created on first use for a company
        with a chart of accounts (none without one: there are no taxes)."""
        self.ensure_one()
        company = self.sudo()
        if not company.certcapture_fiscal_position_id and company.chart_template:
            company.certcapture_fiscal_position_id = self.env[
                "account.fiscal.position"
            ]._certcapture_create_exempt_position(company)
        return company.certcapture_fiscal_position_id

    def _certcapture_base_url(self):
        self.ensure_one()
        if self.certcapture_environment == "custom":
            if not self.certcapture_custom_url:
                raise UserError(_("CertCapture of %s: set the custom URL in Settings.", self.name))
            return self.certcapture_custom_url.rstrip("/")
        return ENVIRONMENT_URLS[self.certcapture_environment]

    def _certcapture_web_app_customer_url(self, customer_id):
        """The page of CertCapture customer ``customer_id`` in Avalara's
        exemption web app for this company's environment, or False: the
        custom environment (the project's sandbox) has no such page."""
        self.ensure_one()
        base = WEB_APP_URLS.get(self.certcapture_environment)
        if not (base and customer_id):
            return False
        return base + WEB_APP_CUSTOMER_PATH.format(customer_id=customer_id)
