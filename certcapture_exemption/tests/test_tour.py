import json
import time
from datetime import date, timedelta
from unittest.mock import patch

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import ChromeBrowser

from .common import CertCaptureSandboxMixin, pdf_b64

try:
    import pytest

    browser = pytest.mark.browser
except ImportError:  # Odoo's own runner does not need pytest

    def browser(cls):
        return cls


# What the browser shows, read through DevTools: it reads a page of any
# origin, where a tour (Odoo's JavaScript) cannot follow.
PAGE_STATE = """JSON.stringify([
    location.href, document.readyState, (document.querySelector("h1") || {}).textContent || ""
])"""


def stop_once_landed(prefix, landed, timeout=30):
    """A ChromeBrowser.stop that first waits until the browser shows a page
    whose address starts with ``prefix`` and notes it in ``landed``: a tour
    that ends by leaving Odoo succeeds on its last click, before the browser
    got there."""
    stop = ChromeBrowser.stop

    def wait_then_stop(browser):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                answer = browser._websocket_request(
                    "Runtime.evaluate",
                    params={"expression": PAGE_STATE, "returnByValue": True},
                    timeout=5,
                )
                href, ready, heading = json.loads(answer["result"]["value"])
            except Exception:  # between two pages: ask again
                href = ready = heading = ""
            if href.startswith(prefix) and ready == "complete":
                landed.update(href=href, heading=heading.strip())
                break
            time.sleep(0.2)
        return stop(browser)

    return wait_then_stop


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

    def test_portal_user_sends_a_new_certificate(self):
        """A customer's portal user finds its certificates on /my and, sending
        a new one, lands on CertExpress (a Download request of its company)."""
        contact = self.env["res.partner"].create(
            {"name": "Pat Buyer", "parent_id": self.customer.id, "email": "pat@cascade.example.com"}
        )
        login = "pat@cascade.example.com"
        new_test_user(self.env, login, groups="base.group_portal", partner_id=contact.id)
        self.env["certcapture.certificate"].create(
            {
                "partner_id": self.customer.id,
                "state_id": self.washington.id,
                "exemption_number": "WA-TOUR-1",
                "exemption_reason_id": self.resale[:1].id,
                "pdf": pdf_b64(),
            }
        )
        landed = {}
        with patch.object(ChromeBrowser, "stop", stop_once_landed(self.sandbox.url, landed)):
            self.start_tour("/my", "certcapture_portal_tour", login=login, timeout=180)
        request = self.customer.certcapture_request_ids
        self.assertEqual(len(request), 1)
        self.assertEqual(request.delivery_method, "download")
        self.assertEqual(request.recipient, login)
        self.assertEqual(landed.get("href"), request.request_link)
        self.assertEqual(landed.get("heading"), "Exemption certificate for Cascade Outfitters Test")

    def test_coverage_by_state_and_expiring_filters(self):
        """The coverage table on the customer, its one click, and the
        "Expiring in 30 days" filters, in the web client."""
        certificates = self.env["certcapture.certificate"]
        oregon = self.env["res.country.state"].search(
            [("code", "=", "OR"), ("country_id.code", "=", "US")]
        )
        california = self.env.ref("base.state_us_5")
        for name, state in (("Dallas", self.texas), ("Portland", oregon), ("Fresno", california)):
            self.env["res.partner"].create(
                {
                    "name": name,
                    "type": "delivery",
                    "parent_id": self.customer.id,
                    "state_id": state.id,
                    "country_id": self.us.id,
                }
            )
        far_off = self.env["res.partner"].create(
            {"name": "Far Off Co", "is_company": True, "certcapture_exemption_number": "F-1"}
        )
        for partner, state, days, number in (
            (self.customer, self.texas, 300, "TX-OK"),
            (self.customer, oregon, 20, "OR-SOON"),
            (far_off, self.texas, 200, "FAR-1"),
        ):
            certificates.create(
                {
                    "partner_id": partner.id,
                    "state_id": state.id,
                    "exemption_number": number,
                    "expiration_date": date.today() + timedelta(days=days),
                    "pdf": pdf_b64(),
                }
            )
        self.start_tour(
            f"/odoo/contacts/{self.customer.id}",
            "certcapture_coverage_tour",
            login="admin",
            timeout=180,
        )
        self.start_tour(
            "/odoo/contacts", "certcapture_expiring_customers_tour", login="admin", timeout=180
        )
        self.start_tour(
            "/odoo/action-certcapture_exemption.certcapture_certificate_action",
            "certcapture_expiring_certificates_tour",
            login="admin",
            timeout=180,
        )
