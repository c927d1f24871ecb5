from odoo import api, models


class CertCaptureExemptionReason(models.Model):
    """Why a customer is exempt (resale, government...): CertCapture's
    exemption reasons, the "Ex Code" of aACE."""

    _name = "certcapture.exemption.reason"
    _inherit = "certcapture.api.list"
    _description = "Exemption Reason"

    @api.model
    def _from_api(self, api_reason):
        """The record for an API reason, created when the lists are stale."""
        if not api_reason:
            return self
        reason = self.with_context(active_test=False).search(
            [("certcapture_id", "=", api_reason.id)], limit=1
        )
        return reason or self.create(self._values_from_api(api_reason))
