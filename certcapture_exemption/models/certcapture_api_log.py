from datetime import timedelta

from odoo import api, fields, models


class CertCaptureApiLog(models.Model):
    """One CertCapture call: when, for whom, what, how it ended, how long.

    Written by the seam (certcapture.service, one SQL insert per session) at
    the end of each session, in the transaction of the work it served (a call
    whose work was rolled back leaves no line). Paths name customer codes and
    ids, never a query, a body or credentials."""

    _name = "certcapture.api.log"
    _description = "CertCapture Request Log"
    _order = "id desc"
    _rec_name = "path"

    company_id = fields.Many2one("res.company", required=True, index=True, ondelete="cascade")
    user_id = fields.Many2one("res.users", ondelete="set null")
    method = fields.Char(required=True)
    path = fields.Char(required=True)
    status = fields.Integer("HTTP Status", help="0: no answer (timeout, connection refused).")
    error_code = fields.Char()
    duration_ms = fields.Float("Round Trip (ms)", digits=(12, 1))
    attempt = fields.Integer(default=1)
    ok = fields.Boolean("Succeeded", compute="_compute_ok", store=True, precompute=True)
    res_model = fields.Char("For Model")
    res_id = fields.Many2oneReference("For Record", model_field="res_model")

    @api.depends("status", "error_code")
    def _compute_ok(self):
        for line in self:
            line.ok = self._is_ok(line.status, line.error_code)

    @api.model
    def _is_ok(self, status, error_code):
        return 200 <= status < 300 and not error_code

    @api.model
    def _cron_prune(self):
        """Scheduled job: forget lines older than each company's retention."""
        companies = (
            self.env["res.company"].sudo().search([("certcapture_log_retention_days", ">", 0)])
        )
        for company in companies:
            days = company.certcapture_log_retention_days
            if days:
                self.sudo().search(
                    [
                        ("company_id", "=", company.id),
                        ("create_date", "<", fields.Datetime.now() - timedelta(days=days)),
                    ]
                ).unlink()

    def action_open_record(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }
