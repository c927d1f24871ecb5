from odoo import _, api, fields, models


class AccountFiscalPosition(models.Model):
    _inherit = "account.fiscal.position"

    certcapture_is_exempt_position = fields.Boolean(
        "CertCapture Exemption",
        compute="_compute_certcapture_is_exempt_position",
        help="The fiscal position CertCapture applies to sales covered by an exemption "
        "certificate (Settings > Sales > CertCapture).",
    )

    def _compute_certcapture_is_exempt_position(self):
        for position in self:
            position.certcapture_is_exempt_position = (
                position == position.company_id.sudo().certcapture_fiscal_position_id
            )

    @api.model
    def _certcapture_create_exempt_position(self, company):
        """The company's "Tax exempt: certificate on file" position, mapping
        every sale tax to no tax."""
        position = self.sudo().create(
            {
                "name": _("Tax exempt: certificate on file"),
                "company_id": company.id,
                "auto_apply": False,
                "note": _("Exempt from sales tax: an exemption certificate is on file."),
            }
        )
        position._certcapture_map_sale_taxes()
        return position

    def _certcapture_map_sale_taxes(self):
        """Map the company's sale taxes not mapped yet to no tax; returns
        the taxes newly mapped."""
        self.ensure_one()
        taxes = (
            self.env["account.tax"]
            .with_context(active_test=False)
            .sudo()
            .search(
                [
                    ("company_id", "=", self.company_id.id),
                    ("type_tax_use", "=", "sale"),
                    ("id", "not in", self.sudo().tax_ids.tax_src_id.ids),
                ]
            )
        )
        self.sudo().write(
            {"tax_ids": [fields.Command.create({"tax_src_id": tax.id}) for tax in taxes]}
        )
        return taxes

    def _certcapture_unmapped_taxes(self, taxes):
        """Which of ``taxes`` this position leaves on a line."""
        self.ensure_one()
        return taxes & self.map_tax(taxes)
