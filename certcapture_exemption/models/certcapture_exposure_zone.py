from odoo import fields, models


class CertCaptureExposureZone(models.Model):
    """A region an exemption certificate can cover (a US state for us)."""

    _name = "certcapture.exposure.zone"
    _inherit = "certcapture.api.list"
    _description = "CertCapture Exposure Zone"

    region = fields.Char(help="State code, e.g. WA")
    country_code = fields.Char()
    tag = fields.Char()
    state_id = fields.Many2one("res.country.state", index=True)

    def _values_from_api(self, api_zone):
        state = self.env["res.country.state"].search(
            [("country_id.code", "=", api_zone.country), ("code", "=", api_zone.region)], limit=1
        )
        return {
            **super()._values_from_api(api_zone),
            "region": api_zone.region,
            "country_code": api_zone.country,
            "tag": api_zone.tag,
            "state_id": state.id,
        }
