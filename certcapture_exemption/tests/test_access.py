from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import CertCaptureCase, pdf_b64


@tagged("post_install", "-at_install")
class TestAccess(CertCaptureCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certificate = cls.env["certcapture.certificate"].create(
            {
                "partner_id": cls.customer.id,
                "state_id": cls.washington.id,
                "pdf": pdf_b64(),
            }
        )
        cls.other_company = cls.env["res.company"].create({"name": "Other Co"})
        cls.other_certificate = cls.env["certcapture.certificate"].create(
            {
                "partner_id": cls.customer.id,
                "company_id": cls.other_company.id,
            }
        )

    def test_portal_and_public_see_nothing(self):
        portal = new_test_user(self.env, "cc_portal", groups="base.group_portal")
        with self.assertRaises(AccessError):
            self.certificate.with_user(portal).read(["exemption_number"])
        with self.assertRaises(AccessError):
            self.env["certcapture.certificate.request"].with_user(portal).search([])

    def test_salesman_reads_statuses_and_certificates_of_own_company(self):
        salesman = new_test_user(self.env, "cc_sales2", groups="sales_team.group_sale_salesman")
        certificates = self.env["certcapture.certificate"].with_user(salesman).search([])
        self.assertIn(self.certificate, certificates)
        self.assertNotIn(self.other_certificate, certificates, "multi-company rule")
        self.assertTrue(self.certificate.with_user(salesman).pdf)
        self.assertTrue(self.customer.with_user(salesman).certcapture_certificate_status)

    def test_certificates_of_another_companys_customer_are_hidden(self):
        other_customer = self.env["res.partner"].create(
            {"name": "Other's customer", "company_id": self.other_company.id}
        )
        hidden = self.env["certcapture.certificate"].create(
            {"partner_id": other_customer.id, "state_id": self.washington.id}
        )
        salesman = new_test_user(self.env, "cc_sales4", groups="sales_team.group_sale_salesman")
        visible = self.env["certcapture.certificate"].with_user(salesman).search([])
        self.assertIn(self.certificate, visible)
        self.assertNotIn(hidden, visible)

    def test_settings_need_an_administrator(self):
        salesman = new_test_user(self.env, "cc_sales3", groups="sales_team.group_sale_salesman")
        with self.assertRaises(AccessError):
            self.company.with_user(salesman).read(["certcapture_license_key"])
