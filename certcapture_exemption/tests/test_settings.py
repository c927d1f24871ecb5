from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from certcapture_sandbox import SandboxConfig, SandboxServer

from .common import CertCaptureCase


@tagged("post_install", "-at_install")
class TestSettings(CertCaptureCase):
    def test_test_connection_reports_account_company_and_provisioning(self):
        ok, message = self.env["certcapture.sync"]._test_connection(self.company)
        self.assertTrue(ok, message)
        self.assertIn("1100000001", message)
        self.assertIn("DEFAULT", message)
        self.assertEqual(self.company.certcapture_company_id, self.sandbox.company_id("DEFAULT"))

    def test_test_connection_says_what_to_fix_for_wrong_key(self):
        self.company.certcapture_license_key = "wrong"
        ok, message = self.env["certcapture.sync"]._test_connection(self.company)
        self.assertFalse(ok)
        self.assertIn("license key", message)
        self.assertNotIn("wrong", message, "the key itself is never shown")

    def test_test_connection_unknown_company_code(self):
        self.company.write({"certcapture_company_code": "NOPE", "certcapture_company_id": 0})
        ok, message = self.env["certcapture.sync"]._test_connection(self.company)
        self.assertFalse(ok)
        self.assertIn("NOPE", message)

    def test_test_connection_down(self):
        self.company.certcapture_custom_url = "http://127.0.0.1:9"  # discard port: refused
        self.company.certcapture_connect_timeout = 0.5
        ok, message = self.env["certcapture.sync"]._test_connection(self.company)
        self.assertFalse(ok)
        self.assertIn("could not be reached", message)

    def test_ecm_not_provisioned(self):
        sandbox = SandboxServer(SandboxConfig(not_provisioned=("NOECM",)), port=0)
        sandbox.start()
        self.addCleanup(sandbox.stop)
        self.company.write(
            {
                "certcapture_custom_url": sandbox.url,
                "certcapture_company_code": "NOECM",
                "certcapture_company_id": 0,
            }
        )
        ok, message = self.env["certcapture.sync"]._test_connection(self.company)
        self.assertFalse(ok)
        self.assertIn("not provisioned", message)
        order = self.create_order()
        self.assertEqual(order.certcapture_status, "error")
        self.assertIn("not set up for AvaTax company NOECM", order.certcapture_message)
        # An administrator requests the setup from Settings; then it works.
        settings = self.env["res.config.settings"].create({})
        answer = settings.action_certcapture_request_setup()
        self.assertEqual(answer["params"]["type"], "success", answer["params"]["message"])
        ok, message = self.env["certcapture.sync"]._test_connection(self.company)
        self.assertTrue(ok, message)

    def test_only_administrators_request_the_setup(self):
        manager = new_test_user(
            self.env, "cc_setup_mgr", groups="certcapture_exemption.group_certcapture_manager"
        )
        settings = self.env["res.config.settings"].with_user(manager).sudo(False)
        with self.assertRaises(AccessError):
            settings.create({}).action_certcapture_request_setup()

    def test_refresh_lists_maps_zones_to_states(self):
        zone = self.env["certcapture.exposure.zone"].search([("region", "=", "WA")])
        self.assertEqual(zone.state_id, self.washington)
        self.assertGreaterEqual(self.env["certcapture.exposure.zone"].search_count([]), 51)
        self.assertTrue(self.resale)

    def test_settings_form_buttons(self):
        settings = Form(self.env["res.config.settings"])
        settings.certcapture_status_cache_minutes = 15
        settings.certcapture_pull_interval_hours = 6
        record = settings.save()
        action = record.action_certcapture_test_connection()
        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])
        self.assertEqual(self.company.certcapture_status_cache_minutes, 15)
        cron = self.env.ref("certcapture_exemption.ir_cron_certcapture_pull")
        self.assertEqual((cron.interval_number, cron.interval_type), (6, "hours"))
        action = record.action_certcapture_refresh_lists()
        self.assertIn("51 exposure zones", action["params"]["message"])

    def test_license_key_is_for_administrators_only(self):
        field = self.env["res.company"]._fields["certcapture_license_key"]
        self.assertEqual(field.groups, "base.group_system")
