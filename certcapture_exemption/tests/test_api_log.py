from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import CertCaptureCase


@tagged("post_install", "-at_install")
class TestRequestLog(CertCaptureCase):
    def log(self, **domain):
        return self.env["certcapture.api.log"].search(
            [(name, "=", value) for name, value in domain.items()]
        )

    def test_every_call_is_logged_with_its_duration_and_the_record_it_served(self):
        order = self.create_order()
        lines = self.log(res_model="sale.order", res_id=order.id)
        self.assertEqual(
            [(line.method, line.status) for line in lines.sorted("id")],
            [("POST", 201), ("GET", 200)],
            "the customer created, then the status asked",
        )
        self.assertTrue(all(line.duration_ms > 0 for line in lines))
        self.assertEqual(lines.user_id, self.env.user)
        self.assertEqual(lines.company_id, self.company)
        self.assertIn("/certificates/US/WA", lines.sorted("id")[-1].path)

    def test_no_secret_nor_personal_data_is_logged(self):
        self.create_order()
        self.customer.action_certcapture_refresh()
        lines = self.env["certcapture.api.log"].search([])
        text = " ".join(
            lines.mapped(lambda line: f"{line.method} {line.path} {line.error_code or ''}")
        )
        self.assertNotIn("sandbox-license-key", text)
        self.assertNotIn("ap@cascade.example.com", text)
        self.assertNotIn("Pike Street", text)

    def test_a_failed_check_links_to_its_log_lines(self):
        self.sandbox.set_faults(rules=[{"path": "/certificates/US/", "status": 500}])
        order = self.create_order()
        self.assertEqual(order.certcapture_status, "error")
        action = order.action_certcapture_view_log()
        failed = self.env["certcapture.api.log"].search(action["domain"] + [("ok", "=", False)])
        self.assertEqual(failed.mapped("status"), [500])

    def test_old_lines_are_pruned_after_the_retention(self):
        self.create_order()
        old = self.env["certcapture.api.log"].search([], limit=1)
        self.env.cr.execute(
            "UPDATE certcapture_api_log SET create_date = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(days=31), old.id),
        )
        self.env["certcapture.api.log"].invalidate_model()
        self.env["certcapture.api.log"]._cron_prune()
        self.assertFalse(old.exists())
        self.assertTrue(self.env["certcapture.api.log"].search([]), "recent lines stay")

    def test_managers_read_the_log_salespeople_do_not(self):
        self.create_order()
        salesperson = new_test_user(self.env, "cc_log_sp", groups="sales_team.group_sale_salesman")
        with self.assertRaises(AccessError):
            self.env["certcapture.api.log"].with_user(salesperson).search([])
        manager = new_test_user(
            self.env, "cc_log_mgr", groups="certcapture_exemption.group_certcapture_manager"
        )
        self.assertTrue(self.env["certcapture.api.log"].with_user(manager).search([]))
