from odoo import api, fields, models


class CertCaptureApiList(models.AbstractModel):
    """A list CertCapture defines (exposure zones, exemption reasons), kept
    in Odoo as records keyed by their CertCapture id."""

    _name = "certcapture.api.list"
    _description = "CertCapture List Entry"
    _order = "name"

    name = fields.Char(required=True)
    certcapture_id = fields.Integer("CertCapture ID", required=True, index=True)
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("certcapture_id_unique", "unique(certcapture_id)", "CertCapture ids are unique."),
    ]

    def _values_from_api(self, api_item):
        return {"name": api_item.name, "certcapture_id": api_item.id, "active": True}

    @api.model
    def _sync_from_api(self, api_items):
        """Create or update one record per API item."""
        existing = {
            record.certcapture_id: record
            for record in self.with_context(active_test=False).search([])
        }
        for api_item in api_items:
            values = self._values_from_api(api_item)
            if api_item.id in existing:
                existing[api_item.id].write(values)
            else:
                self.create(values)
