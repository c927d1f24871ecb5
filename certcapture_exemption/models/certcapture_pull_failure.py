from odoo import fields, models


class CertCapturePullFailure(models.Model):
    """A certificate the pull could not bring in (a file that is not a PDF,
    an unreadable date...). It is skipped so the rest goes on, and tried
    again by later pulls until it comes in or is dismissed."""

    _name = "certcapture.pull.failure"
    _description = "Certificate Pull Failure"
    _order = "last_attempt desc, id desc"
    _rec_name = "certcapture_id"

    company_id = fields.Many2one("res.company", required=True, ondelete="cascade", index=True)
    certcapture_id = fields.Integer("CertCapture Certificate ID", required=True, readonly=True)
    customer_codes = fields.Char(readonly=True)
    message = fields.Text("Why", readonly=True)
    attempts = fields.Integer(default=1, readonly=True)
    first_attempt = fields.Datetime(default=fields.Datetime.now, readonly=True)
    last_attempt = fields.Datetime(default=fields.Datetime.now, readonly=True)
    state = fields.Selection(
        [("open", "To retry"), ("resolved", "Pulled since"), ("dismissed", "Dismissed")],
        default="open",
        required=True,
        index=True,
    )

    _sql_constraints = [
        (
            "certificate_unique",
            "unique(company_id, certcapture_id)",
            "One failure record per certificate and company.",
        ),
    ]

    def action_dismiss(self):
        self.write({"state": "dismissed"})
        return True

    def action_retry(self):
        """Try these certificates again now."""
        sync = self.env["certcapture.sync"]
        for company, failures in (
            self.filtered(lambda f: f.state != "resolved").grouped("company_id").items()
        ):
            sync._retry_pull_failures(company, failures)
        return True
