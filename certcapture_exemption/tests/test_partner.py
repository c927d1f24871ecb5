from datetime import date, timedelta

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from .common import CertCaptureCase, pdf_b64


@tagged("post_install", "-at_install")
class TestPartner(CertCaptureCase):
    def test_tax_exempt_with_number_or_code(self):
        partner = self.env["res.partner"].create({"name": "Plain", "is_company": True})
        self.assertFalse(partner.certcapture_is_exempt)
        partner.certcapture_exemption_reason_id = self.resale
        self.assertTrue(partner.certcapture_is_exempt)
        partner.certcapture_exemption_reason_id = False
        partner.certcapture_exemption_number = "X-1"
        self.assertTrue(partner.certcapture_is_exempt)
        exempt = self.env["res.partner"].search([("certcapture_is_exempt", "=", True)])
        self.assertIn(partner, exempt)

    def test_ap_email_is_validated_and_missing_one_is_flagged(self):
        with self.assertRaises(ValidationError):
            self.customer.certcapture_ap_email = "not an email"
        partner = self.env["res.partner"].create(
            {"name": "No mail", "is_company": True, "certcapture_exemption_number": "1"}
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
            form.certcapture_certificate_pdf = pdf_b64()
            form.certcapture_certificate_signed_date = date.today() - timedelta(days=3)
            form.certcapture_certificate_expiration_date = date.today() + timedelta(days=200)
            form.certcapture_exempt_state_id = self.washington
        certificate = self.customer.certcapture_certificate_ids
        self.assertEqual(len(certificate), 1)
        self.assertEqual(certificate.source, "manual")
        self.assertEqual(certificate.state_id, self.washington)
        self.assertTrue(certificate.pdf)
        self.assertEqual(self.customer.certcapture_certificate_status, "valid")

    def test_certificate_status(self):
        self.customer.certcapture_customer_code = "CASCADE-T"
        self.assertEqual(self.customer.certcapture_certificate_status, "missing")
        certificates = self.env["certcapture.certificate"]
        old = certificates.create(
            {
                "partner_id": self.customer.id,
                "state_id": self.washington.id,
                "expiration_date": date.today() - timedelta(days=1),
            }
        )
        self.assertEqual(self.customer.certcapture_certificate_status, "expired")
        old.expiration_date = date.today() + timedelta(days=10)
        self.assertEqual(self.customer.certcapture_certificate_status, "expiring")
        old.expiration_date = date.today() + timedelta(days=300)
        self.assertEqual(self.customer.certcapture_certificate_status, "valid")
        self.assertEqual(self.customer.certcapture_active_certificate_count, 1)
        newcomer = self.env["res.partner"].create(
            {"name": "New", "certcapture_exemption_number": "9"}
        )
        self.assertEqual(newcomer.certcapture_certificate_status, "unknown")
        self.assertTrue(newcomer.certcapture_certificate_status_reason)


@tagged("post_install", "-at_install")
class TestPartnerCertificateFields(CertCaptureCase):
    """The customer's certificate fields show its best certificate; the
    certificate is where the values and the PDF live."""

    def attachments(self, model, record):
        return (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [("res_model", "=", model), ("res_id", "=", record.id), ("res_field", "!=", False)]
            )
        )

    def manual_certificate(self, **values):
        return self.env["certcapture.certificate"].create(
            {"partner_id": self.customer.id, "state_id": self.washington.id, **values}
        )

    def test_fields_show_the_best_current_certificate(self):
        today = date.today()
        self.manual_certificate(expiration_date=today - timedelta(days=5))
        self.assertEqual(
            self.customer.certcapture_certificate_expiration_date,
            today - timedelta(days=5),
            "with no current certificate, the latest lapsed one is shown",
        )
        self.manual_certificate(
            expiration_date=today + timedelta(days=100), signed_date=today, pdf=pdf_b64()
        )
        self.manual_certificate(expiration_date=today + timedelta(days=50))
        self.assertEqual(
            self.customer.certcapture_certificate_expiration_date, today + timedelta(days=100)
        )
        self.assertEqual(self.customer.certcapture_certificate_signed_date, today)
        self.assertEqual(self.customer.certcapture_exempt_state_id, self.washington)
        self.assertTrue(self.customer.certcapture_certificate_pdf)

    def test_typing_goes_to_one_hand_entered_certificate_and_the_pdf_exists_once(self):
        # What the web client's binary widget sends: the file and its name.
        self.customer.write(
            {
                "certcapture_certificate_pdf": pdf_b64(),
                "certcapture_certificate_filename": "cascade.pdf",
                "certcapture_exempt_state_id": self.washington.id,
                "certcapture_certificate_expiration_date": date.today() + timedelta(days=90),
            }
        )
        with Form(self.customer) as form:
            form.certcapture_certificate_expiration_date = date.today() + timedelta(days=400)
        certificate = self.customer.certcapture_certificate_ids
        self.assertEqual(len(certificate), 1, "the second edit updates the same certificate")
        self.assertEqual(certificate.source, "manual")
        self.assertEqual(certificate.pdf_filename, "cascade.pdf")
        self.assertEqual(certificate.expiration_date, date.today() + timedelta(days=400))
        self.assertEqual(certificate.exemption_number, "WA-4471", "the customer's own number")
        self.assertEqual(len(self.attachments("certcapture.certificate", certificate)), 1)
        self.assertFalse(self.attachments("res.partner", self.customer), "no copy on the customer")

    def test_pulled_certificate_is_shown_not_copied_and_not_typed_over(self):
        self.sync_customer()
        self.add_remote_certificate()
        self.env["certcapture.sync"]._pull_customer(self.customer, self.company)
        certificate = self.customer.certcapture_certificate_ids
        self.assertEqual(self.customer.certcapture_certificate_id, certificate)
        self.assertEqual(self.customer.certcapture_certificate_source, "pulled")
        self.assertTrue(self.customer.certcapture_certificate_pdf)
        self.assertFalse(self.attachments("res.partner", self.customer))
        with self.assertRaises(UserError):
            self.customer.certcapture_certificate_expiration_date = date.today()

    def test_another_companys_certificate_is_not_shown(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        self.env["certcapture.certificate"].create(
            {
                "partner_id": self.customer.id,
                "company_id": other_company.id,
                "state_id": self.texas.id,
                "expiration_date": date.today() + timedelta(days=30),
            }
        )
        self.assertFalse(self.customer.certcapture_certificate_id)
        self.assertFalse(self.customer.certcapture_exempt_state_id)
        other = self.customer.with_company(other_company)
        self.assertEqual(other.certcapture_exempt_state_id, self.texas)
