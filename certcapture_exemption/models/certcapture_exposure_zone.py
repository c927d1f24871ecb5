from odoo import api, fields, models


class CertCaptureExposureZone(models.Model):
    """A region an exemption certificate can cover (a US state for us)."""

    _name = "certcapture.exposure.zone"
    _description = "CertCapture Exposure Zone"
    _order = "name"

    name = fields.Char(required=True)
    certcapture_id = fields.Integer("CertCapture ID", required=True, index=True)
    region = fields.Char(help="State code, e.g. WA")
    country_code = fields.Char()
    tag = fields.Char()
    state_id = fields.Many2one("res.country.state", index=True)
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("certcapture_id_unique", "unique(certcapture_id)", "Exposure zones are unique."),
    ]

    @api.model
    def _for_state(self, state):
        return self.search([("state_id", "=", state.id)], limit=1)

    @api.model
    def _sync_from_api(self, api_zones):
        """Create or update the zones, mapping each to its Odoo state."""
        existing = {
            zone.certcapture_id: zone for zone in self.with_context(active_test=False).search([])
        }
        states = {
            (state.country_id.code, state.code): state
            for state in self.env["res.country.state"].search([])
        }
        for api_zone in api_zones:
            state = states.get((api_zone.country, api_zone.region))
            values = {
                "name": api_zone.name,
                "certcapture_id": api_zone.id,
                "region": api_zone.region,
                "country_code": api_zone.country,
                "tag": api_zone.tag,
                "state_id": state.id if state else False,
                "active": True,
            }
            if api_zone.id in existing:
                existing[api_zone.id].write(values)
            else:
                self.create(values)
