"""Open in CertCapture: the customer's page in Avalara's exemption web app,
for CertCapture managers."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import CertCaptureCase


@tagged("post_install", "-at_install")
class TestWebApp(CertCaptureCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env, "cc_web_manager", groups="certcapture_exemption.group_certcapture_manager"
        )
        cls.accountant = new_test_user(
            cls.env, "cc_web_accountant", groups="account.group_account_invoice"
        )
        cls.salesman = new_test_user(
            cls.env, "cc_web_salesman", groups="sales_team.group_sale_salesman"
        )

    def form_arch(self, user):
        views = self.env["res.partner"].with_user(user).get_views([(False, "form")])
        return views["views"]["form"]["arch"]

    def test_the_url_is_the_customers_page_for_the_environment(self):
        self.sync_customer()
        customer_id = self.customer.certcapture_id
        self.assertTrue(customer_id)
        self.company.certcapture_environment = "sandbox"
        self.assertEqual(
            self.customer.certcapture_web_app_url,
            f"https://sbx.exemptions.avalara.com/customer/{customer_id}",
        )
        self.company.certcapture_environment = "production"
        self.customer.invalidate_recordset(["certcapture_web_app_url"])
        self.assertEqual(
            self.customer.certcapture_web_app_url,
            f"https://exemptions.avalara.com/customer/{customer_id}",
        )
        action = self.customer.with_user(self.manager).action_certcapture_open_web_app()
        self.assertEqual(action["url"], f"https://exemptions.avalara.com/customer/{customer_id}")
        self.assertEqual(action["target"], "new")

    def test_no_page_in_the_local_sandbox_or_before_the_customer_is_in_certcapture(self):
        self.assertEqual(self.company.certcapture_environment, "custom")
        self.sync_customer()
        self.assertFalse(self.customer.certcapture_web_app_url, "the sandbox has no web app")
        self.company.certcapture_environment = "production"
        newcomer = self.env["res.partner"].create({"name": "Not synced yet", "is_company": True})
        self.assertFalse(newcomer.certcapture_web_app_url)
        with self.assertRaises(UserError):
            newcomer.with_user(self.manager).action_certcapture_open_web_app()

    def test_the_page_is_per_company(self):
        self.sync_customer()
        self.company.certcapture_environment = "production"
        other_company = self.env["res.company"].create(
            {"name": "Other Web Co", "certcapture_environment": "production"}
        )
        customer = self.customer.with_company(other_company)
        self.assertFalse(customer.certcapture_id, "not in the other company's CertCapture")
        self.assertFalse(customer.certcapture_web_app_url)

    def test_managers_see_the_button_and_others_do_not(self):
        self.assertIn('name="action_certcapture_open_web_app"', self.form_arch(self.manager))
        for user in (self.accountant, self.salesman):
            self.assertNotIn('name="action_certcapture_open_web_app"', self.form_arch(user))
        self.sync_customer()
        self.company.certcapture_environment = "production"
        with self.assertRaises(AccessError):
            self.customer.with_user(self.salesman).action_certcapture_open_web_app()
