"""The whole story of the source document, end to end over loopback HTTP:
order, prompt, request, the customer's upload on the CertExpress page, and the
certificate back in Odoo when the order is updated."""

from datetime import date, timedelta

import requests
from odoo.tests import tagged

from certcapture_sandbox import SandboxConfig, SandboxServer

from .common import PDF_BYTES, CertCaptureCase


def upload_as_customer(case, link, zones, **fields):
    """What the customer does on the CertExpress page behind ``link``."""
    today = date.today()
    form = {
        "zones": [str(zone.certcapture_id) for zone in zones],
        "exemption_number": "WA-UPLOADED-77",
        "reason": str(case.resale.certcapture_id),
        "signed_date": today.isoformat(),
        "expiration_date": (today + timedelta(days=730)).isoformat(),
        **fields,
    }
    files = {"document": ("certificate.pdf", PDF_BYTES, "application/pdf")}
    return requests.post(link, data=form, files=files, timeout=10)


@tagged("post_install", "-at_install")
class TestStory(CertCaptureCase):
    def test_order_request_upload_pull(self):
        order = self.create_order(interactive=True)
        self.assertEqual(order.certcapture_status, "missing")
        self.assertTrue(order.certcapture_prompt)

        action = order.action_certcapture_request_certificate()
        self.env[action["res_model"]].browse(action["res_id"]).action_send()
        request = order.certcapture_request_ids
        link = self.emailed_link(request)

        answer = upload_as_customer(self, link, request.exposure_zone_ids, single_use="1")
        self.assertEqual(answer.status_code, 200, answer.text[:500])

        # "downloaded into Odoo when their order is updated"
        order.client_order_ref = "PO-1138"
        self.assertEqual(order.certcapture_status, "exempt")
        certificate = order.certcapture_certificate_id
        self.assertEqual(certificate.exemption_number, "WA-UPLOADED-77")
        self.assertTrue(certificate.single_use)
        self.assertEqual(certificate.exemption_reason_id, self.resale)
        self.assertEqual(request.state, "completed")
        customer = self.customer
        self.assertEqual(customer.certcapture_exemption_number, "WA-UPLOADED-77")
        self.assertEqual(customer.certcapture_exemption_reason_id, self.resale)
        self.assertEqual(customer.certcapture_exempt_state_id, self.washington)
        self.assertEqual(customer.certcapture_certificate_signed_date, date.today())
        self.assertEqual(
            customer.certcapture_certificate_expiration_date, date.today() + timedelta(days=730)
        )
        self.assertTrue(customer.certcapture_certificate_pdf)
        self.assertEqual(customer.certcapture_certificate_status, "valid")

    def test_a_rejected_upload_changes_nothing(self):
        order = self.create_order()
        action = order.action_certcapture_request_certificate()
        self.env[action["res_model"]].browse(action["res_id"]).action_send()
        request = order.certcapture_request_ids
        answer = requests.post(
            self.emailed_link(request),
            data={
                "zones": [str(request.exposure_zone_ids.certcapture_id)],
                "exemption_number": "X",
                "reason": str(self.resale.certcapture_id),
                "signed_date": date.today().isoformat(),
            },
            files={"document": ("notes.txt", b"not a pdf", "text/plain")},
            timeout=10,
        )
        self.assertIn("not a PDF", answer.text)
        order.client_order_ref = "PO-2"
        self.assertEqual(order.certcapture_status, "pending")
        self.assertFalse(self.customer.certcapture_certificate_ids)


@tagged("post_install", "-at_install")
class TestMultiCompany(CertCaptureCase):
    def test_each_company_syncs_the_customer_to_its_own_avatax_company(self):
        sandbox = SandboxServer(SandboxConfig(company_codes=("DEFAULT", "EAST")), port=0)
        sandbox.start()
        self.addCleanup(sandbox.stop)
        self.company.certcapture_custom_url = sandbox.url
        east = self.env["res.company"].create(
            {
                "name": "East Co",
                "certcapture_enabled": True,
                "certcapture_environment": "custom",
                "certcapture_custom_url": sandbox.url,
                "certcapture_account_id": "1100000001",
                "certcapture_license_key": "sandbox-license-key",
                "certcapture_company_code": "EAST",
            }
        )
        self.env.user.company_ids |= east
        self.create_order()
        self.create_order(company_id=east.id)
        self.assertEqual(east.certcapture_company_id, sandbox.company_id("EAST"))
        ids = {
            company: self.customer.with_company(company).certcapture_id
            for company in (self.company, east)
        }
        self.assertTrue(all(ids.values()))
        created = [
            path
            for method, path, _status in sandbox.requests
            if method == "POST" and path.endswith("/customers")
        ]
        self.assertEqual(
            sorted(created),
            sorted(
                f"/api/v2/companies/{sandbox.company_id(code)}/customers"
                for code in ("DEFAULT", "EAST")
            ),
        )
