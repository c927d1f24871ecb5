from odoo import api, models


class CertCaptureExemptReason(models.Model):
    """Why a customer is exempt: the "Exemption Code" of the source."""

    _name = "certcapture.exempt.reason"
    _inherit = "certcapture.api.list"
    _description = "CertCapture Exemption Reason"

    @api.model
    def _from_api(self, api_reason):
        """The record for an API reason, created when the lists are stale."""
        if not api_reason:
            return self
        reason = self.with_context(active_test=False).search(
            [("certcapture_id", "=", api_reason.id)], limit=1
        )
        return reason or self.create(self._values_from_api(api_reason))
