from odoo.tests import HttpCase, tagged

from .common import CertCaptureSandboxMixin

try:
    import pytest

    browser = pytest.mark.browser
except ImportError:  # Odoo's own runner does not need pytest

    def browser(cls):
        return cls


@browser
@tagged("post_install", "-at_install")
class TestTour(CertCaptureSandboxMixin, HttpCase):
    def test_order_prompt_request_chatter(self):
        """An order for an exempt customer without a certificate: the user
        is asked, sends the request and sees it in the chatter."""
        # Only the form view's own context can make the order ask: with this
        # policy, an order created any other way would not.
        self.company.certcapture_missing_policy = "none"
        self.start_tour("/odoo/sales", "certcapture_order_prompt_tour", login="admin", timeout=180)
        order = self.env["sale.order"].search([("partner_id", "=", self.customer.id)], limit=1)
        self.assertEqual(order.certcapture_status, "pending")
        self.assertEqual(len(order.certcapture_request_ids), 1)

    def test_test_connection_answers_with_unsaved_edits(self):
        self.start_tour(
            "/odoo/settings#sale_management",
            "certcapture_settings_test_connection_tour",
            login="admin",
            timeout=180,
        )
        self.assertEqual(self.company.certcapture_company_code, "NOSUCHCODE", "saved, then tested")

    def test_the_taxes_go_away_when_the_certificate_comes(self):
        self.company.certcapture_missing_policy = "none"
        tax = self.env["account.tax"].create(
            {"name": "WA sales tax 10%", "amount": 10, "type_tax_use": "sale"}
        )
        self.product.taxes_id = tax
        self.company._certcapture_exempt_fiscal_position()._certcapture_map_sale_taxes()
        order = self.create_order()
        self.assertEqual(order.order_line.tax_id, tax)
        self.add_remote_certificate()  # uploaded by the customer meanwhile
        self.start_tour(
            f"/odoo/sales/{order.id}", "certcapture_taxes_go_away_tour", login="admin", timeout=180
        )
        self.assertFalse(order.order_line.tax_id)
