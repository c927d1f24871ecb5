from datetime import date, timedelta

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from .common import CertCaptureCase, pdf_b64


@tagged("post_install", "-at_install")
class TestPartner(CertCaptureCase):
    def test_tax_exempt_with_number_or_code(self):
        partner = self.env["res.partner"].create({"name": "Plain", "is_company": True})
        self.assertFalse(partner.is_tax_exempt)
        partner.exemption_code_id = self.resale
        self.assertTrue(partner.is_tax_exempt)
        partner.exemption_code_id = False
        partner.exemption_number = "X-1"
        self.assertTrue(partner.is_tax_exempt)
        exempt = self.env["res.partner"].search([("is_tax_exempt", "=", True)])
        self.assertIn(partner, exempt)

    def test_ap_email_is_validated_and_missing_one_is_flagged(self):
        with self.assertRaises(ValidationError):
            self.customer.certcapture_ap_email = "not an email"
        partner = self.env["res.partner"].create(
            {"name": "No mail", "is_company": True, "exemption_number": "1"}
        )
        self.assertTrue(partner.certcapture_missing_ap_email)

    def test_customer_code_from_reference_then_sequence(self):
        self.customer._certcapture_ensure_customer_code()
        self.assertEqual(self.customer.certcapture_customer_code, "CASCADE-T")
        twin = self.env["res.partner"].create({"name": "Twin", "ref": "CASCADE-T"})
        twin._certcapture_ensure_customer_code()
        self.assertTrue(twin.certcapture_customer_code.startswith("CC"))
        code = twin.certcapture_customer_code
        twin._certcapture_ensure_customer_code()
        self.assertEqual(twin.certcapture_customer_code, code, "codes are stable")

    def test_only_managers_change_customer_codes(self):
        salesman = new_test_user(
            self.env, "cc_sales", groups="sales_team.group_sale_salesman,base.group_partner_manager"
        )
        with self.assertRaises(AccessError):
            self.customer.with_user(salesman).certcapture_customer_code = "OTHER"
        manager = new_test_user(
            self.env, "cc_manager", groups="certcapture_exemption.group_certcapture_manager"
        )
        self.customer.with_user(manager).certcapture_customer_code = "OTHER"
        self.assertEqual(self.customer.certcapture_customer_code, "OTHER")

    def test_pdf_entered_by_hand_records_a_certificate(self):
        with Form(self.customer) as form:
            form.certificate_pdf = pdf_b64()
            form.certificate_signed_date = date.today() - timedelta(days=3)
            form.certificate_expiration_date = date.today() + timedelta(days=200)
            form.exemption_state_id = self.washington
        certificate = self.customer.certificate_ids
        self.assertEqual(len(certificate), 1)
        self.assertEqual(certificate.source, "manual")
        self.assertEqual(certificate.state_id, self.washington)
        self.assertTrue(certificate.pdf)
        self.assertEqual(self.customer.certificate_status, "valid")

    def test_certificate_status(self):
        self.customer.certcapture_customer_code = "CASCADE-T"
        self.assertEqual(self.customer.certificate_status, "missing")
        certificates = self.env["certcapture.certificate"]
        old = certificates.create(
            {
                "partner_id": self.customer.id,
                "state_id": self.washington.id,
                "expiration_date": date.today() - timedelta(days=1),
            }
        )
        self.assertEqual(self.customer.certificate_status, "expired")
        old.expiration_date = date.today() + timedelta(days=10)
        self.assertEqual(self.customer.certificate_status, "expiring")
        old.expiration_date = date.today() + timedelta(days=300)
        self.assertEqual(self.customer.certificate_status, "valid")
        self.assertEqual(self.customer.certcapture_active_certificate_count, 1)
        newcomer = self.env["res.partner"].create({"name": "New", "exemption_number": "9"})
        self.assertEqual(newcomer.certificate_status, "unknown")
        self.assertTrue(newcomer.certificate_status_reason)
