from odoo import api, fields, models


class CertCaptureExemptReason(models.Model):
    """Why a customer is exempt: the "Exemption Code" of the source."""

    _name = "certcapture.exempt.reason"
    _description = "CertCapture Exemption Reason"
    _order = "name"

    name = fields.Char(required=True)
    certcapture_id = fields.Integer("CertCapture ID", required=True, index=True)
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("certcapture_id_unique", "unique(certcapture_id)", "Exemption reasons are unique."),
    ]

    @api.model
    def _sync_from_api(self, api_reasons):
        existing = {
            reason.certcapture_id: reason
            for reason in self.with_context(active_test=False).search([])
        }
        for api_reason in api_reasons:
            values = {"name": api_reason.name, "certcapture_id": api_reason.id, "active": True}
            if api_reason.id in existing:
                existing[api_reason.id].write(values)
            else:
                self.create(values)

    @api.model
    def _from_api(self, api_reason):
        """The record for an API reason, created when the lists are stale."""
        if not api_reason:
            return self
        reason = self.with_context(active_test=False).search(
            [("certcapture_id", "=", api_reason.id)], limit=1
        )
        return reason or self.create({"name": api_reason.name, "certcapture_id": api_reason.id})
