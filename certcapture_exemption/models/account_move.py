from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_date

# The evidence an untaxed invoice of an exempt customer keeps, frozen at
# posting: later changes of the certificate do not touch it.
EVIDENCE_FIELDS = (
    "certcapture_certificate_id",
    "certcapture_certificate_ref",
    "certcapture_exemption_number",
    "certcapture_exemption_reason",
    "certcapture_exempt_state",
    "certcapture_signed_date",
    "certcapture_expiration_date",
)


class AccountMove(models.Model):
    _inherit = "account.move"

    certcapture_certificate_id = fields.Many2one(
        "certcapture.certificate",
        "Exemption Certificate",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The certificate that exempted this invoice from sales tax, as it was when the "
        "invoice was posted.",
    )
    certcapture_certificate_ref = fields.Integer(
        "CertCapture Certificate ID", readonly=True, copy=False
    )
    certcapture_exemption_number = fields.Char("Exemption Number", readonly=True, copy=False)
    certcapture_exemption_reason = fields.Char("Exemption Reason", readonly=True, copy=False)
    certcapture_exempt_state = fields.Char("Exempt State", readonly=True, copy=False)
    certcapture_signed_date = fields.Date("Certificate Signed", readonly=True, copy=False)
    certcapture_expiration_date = fields.Date("Certificate Expires", readonly=True, copy=False)
    certcapture_missing_evidence = fields.Boolean(
        "Untaxed Without Certificate",
        readonly=True,
        copy=False,
        help="Posted without sales tax for an exempt customer while no current certificate "
        "covered its delivery state.",
    )

    # ------------------------------------------------------------ fiscal position

    def _certcapture_is_exempt_sale(self):
        self.ensure_one()
        return (
            self.move_type in ("out_invoice", "out_refund")
            and self.partner_id.commercial_partner_id.certcapture_is_exempt
            and self.company_id.sudo().certcapture_enabled
        )

    def _certcapture_delivery_state(self):
        self.ensure_one()
        delivery = self.partner_shipping_id or self.partner_id
        return delivery.state_id

    def _certcapture_covering_certificate(self):
        """The certificate that exempts this invoice: the one its orders used,
        else the customer's current one for the delivery state."""
        self.ensure_one()
        orders = self.line_ids.sale_line_ids.order_id
        used = orders.sudo().certcapture_covering_certificate_id[:1]
        if used:
            return used
        return self.partner_id._certcapture_covering_certificate(
            self._certcapture_delivery_state(),
            self.company_id,
            self.invoice_date or fields.Date.context_today(self),
        )

    @api.depends("partner_id", "partner_shipping_id", "company_id")
    def _compute_fiscal_position_id(self):  # pylint: disable=missing-return
        super()._compute_fiscal_position_id()
        # Invoices and credit notes an accountant makes for an exempt customer
        # get the same test as orders: a covering certificate removes the tax.
        for move in self.filtered(lambda m: m.state == "draft" and m._certcapture_is_exempt_sale()):
            position = move.company_id._certcapture_exempt_fiscal_position()
            if position and move._certcapture_covering_certificate():
                move.fiscal_position_id = position

    # ------------------------------------------------------------ posting

    def _post(self, soft=True):
        self._certcapture_freeze_evidence()
        return super()._post(soft)

    def _certcapture_freeze_evidence(self):
        """An untaxed invoice of an exempt customer keeps the evidence of its
        exemption; one without a covering certificate is flagged (or refused,
        per the company's setting)."""
        for move in self.filtered(lambda m: m._certcapture_is_exempt_sale()):
            if move.invoice_line_ids.tax_ids.filtered(lambda t: t.type_tax_use == "sale"):
                continue  # taxed: nothing to prove
            evidence = move._certcapture_reversed_evidence() or move._certcapture_evidence(
                move._certcapture_covering_certificate()
            )
            if evidence:
                move.sudo().write({**evidence, "certcapture_missing_evidence": False})
                continue
            if move.company_id.sudo().certcapture_block_untaxed_posting:
                raise UserError(
                    _(
                        "%(move)s has no sales tax, but no current exemption certificate of "
                        "%(partner)s covers %(state)s: add the tax or get the certificate.",
                        move=move.display_name,
                        partner=move.partner_id.commercial_partner_id.name,
                        state=move._certcapture_delivery_state().name or _("its delivery state"),
                    )
                )
            move.sudo().certcapture_missing_evidence = True
            self.env["certcapture.sync"]._note(
                move,
                _(
                    "Posted without sales tax, but no current exemption certificate covers "
                    "%s: the exemption has no evidence.",
                    move._certcapture_delivery_state().name or _("the delivery state"),
                ),
            )

    def _certcapture_evidence(self, certificate):
        if not certificate:
            return {}
        certificate = certificate.sudo()
        return {
            "certcapture_certificate_id": certificate.id,
            "certcapture_certificate_ref": certificate.certcapture_id,
            "certcapture_exemption_number": certificate.exemption_number
            or self.partner_id.commercial_partner_id.certcapture_exemption_number,
            "certcapture_exemption_reason": certificate.exemption_reason_id.name,
            "certcapture_exempt_state": certificate.state_id.code,
            "certcapture_signed_date": certificate.signed_date,
            "certcapture_expiration_date": certificate.expiration_date,
        }

    def _certcapture_reversed_evidence(self):
        """A credit note carries the evidence of the invoice it reverses, even
        when the certificate has expired since."""
        self.ensure_one()
        reversed_move = self.reversed_entry_id
        if self.move_type != "out_refund" or not reversed_move.certcapture_certificate_id:
            return {}
        return {name: reversed_move[name] for name in EVIDENCE_FIELDS} | {
            "certcapture_certificate_id": reversed_move.certcapture_certificate_id.id
        }

    def _certcapture_exemption_statement(self):
        """The line the printed invoice carries, or False."""
        self.ensure_one()
        if not (self.certcapture_certificate_id or self.certcapture_exemption_number):
            return False
        return _(
            "Exempt from sales tax: %(reason)s, certificate %(number)s (%(state)s), valid "
            "until %(expires)s",
            reason=self.certcapture_exemption_reason or "-",
            number=self.certcapture_exemption_number or self.certcapture_certificate_ref or "-",
            state=self.certcapture_exempt_state or "-",
            expires=format_date(self.env, self.certcapture_expiration_date)
            if self.certcapture_expiration_date
            else _("no end date"),
        )
