"""Shared set-up of the add-on's tests: real Odoo, and the project's local
CertCapture sandbox running in a thread on loopback (Odoo's test mode lets
requests reach 127.0.0.1 only, which is where it listens)."""

import base64
from datetime import date, timedelta

from odoo import Command
from odoo.tests import TransactionCase

from certcapture_sandbox import SandboxConfig, SandboxServer

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class CertCaptureSandboxMixin:
    """Starts one sandbox per test class and points the company at it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = SandboxServer(SandboxConfig(), host="127.0.0.1", port=0)
        cls.sandbox.start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.company = cls.env.company
        cls.company.write(
            {
                "certcapture_enabled": True,
                "certcapture_environment": "custom",
                "certcapture_custom_url": cls.sandbox.url,
                "certcapture_account_id": "1100000001",
                "certcapture_license_key": "sandbox-license-key",
                "certcapture_company_code": "DEFAULT",
                "certcapture_missing_policy": "flag",
                "certcapture_status_cache_minutes": 60,
                "certcapture_read_timeout": 5.0,
            }
        )
        cls.env["certcapture.sync"]._refresh_lists(cls.company)
        cls.us = cls.env.ref("base.us")
        cls.washington = cls.env.ref("base.state_us_48")
        cls.texas = cls.env.ref("base.state_us_44")
        cls.resale = cls.env["certcapture.exemption.reason"].search([("name", "=", "RESALE")])
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Cascade Outfitters Test",
                "is_company": True,
                "street": "1201 Pike Street",
                "city": "Seattle",
                "zip": "98101",
                "state_id": cls.washington.id,
                "country_id": cls.us.id,
                "email": "orders@cascade.example.com",
                "certcapture_ap_email": "ap@cascade.example.com",
                "certcapture_exemption_number": "WA-4471",
                "ref": "CASCADE-T",
            }
        )
        cls.product = cls.env["product.product"].create(
            {"name": "Climbing rope", "list_price": 120}
        )

    def setUp(self):
        super().setUp()
        # The database rolls back after each test; the sandbox must too.
        self.sandbox.reset()

    # -- helpers

    def create_order(self, partner=None, interactive=False, **values):
        orders = self.env["sale.order"].with_context(certcapture_interactive=interactive)
        return orders.create(
            {
                "partner_id": (partner or self.customer).id,
                "order_line": [
                    Command.create({"product_id": self.product.id, "product_uom_qty": 2})
                ],
                **values,
            }
        )

    def assertLogged(self, record, text):
        """``text`` is in one of the record's chatter messages."""
        bodies = record.message_ids.mapped("body")
        self.assertTrue(any(text in str(body) for body in bodies), f"{text!r} not in {bodies}")

    def emailed_link(self, request):
        """The CertExpress link CertCapture emailed for ``request`` (an Email
        request's link is in the email, not in the API's answer)."""
        links = [
            email["link"]
            for email in self.sandbox.sent_emails()
            if email["invitationId"] == request.certcapture_id
        ]
        self.assertTrue(links, f"no email sent for request {request.certcapture_id}")
        return links[-1]

    def second_company(self, name="East Co"):
        """Another company using the same CertCapture account and company."""
        return self.env["res.company"].create(
            {
                "name": name,
                "certcapture_enabled": True,
                "certcapture_environment": "custom",
                "certcapture_custom_url": self.sandbox.url,
                "certcapture_account_id": "1100000001",
                "certcapture_license_key": "sandbox-license-key",
                "certcapture_company_code": "DEFAULT",
            }
        )

    def api_calls(self, method=None):
        return [call for call in self.sandbox.requests if method in (None, call[0])]

    def remote_customer(self, code):
        with self.env["certcapture.service"]._session(self.company) as client:
            return client.get_customer(code)

    def add_remote_certificate(self, partner=None, region="WA", expires_in=365, **values):
        """What a customer's upload through CertExpress leaves in CertCapture."""
        partner = partner or self.customer
        today = date.today()
        return self.sandbox.add_certificate(
            partner.certcapture_customer_code,
            region=region,
            exemption_number=values.pop("exemption_number", "WA-RESALE-9"),
            reason="RESALE",
            signed_date=today - timedelta(days=10),
            expiration_date=today + timedelta(days=expires_in),
            pdf=values.pop("pdf", PDF_BYTES),
            **values,
        )

    def sync_customer(self, partner=None):
        partner = partner or self.customer
        with self.env["certcapture.service"]._session(self.company) as client:
            self.env["certcapture.sync"]._sync_customer(client, partner, self.company)


class CertCaptureCase(CertCaptureSandboxMixin, TransactionCase):
    pass


def pdf_b64():
    return base64.b64encode(PDF_BYTES)
