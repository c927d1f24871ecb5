from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from .common import CertCaptureCase


@tagged("post_install", "-at_install")
class TestSaleOrderCheck(CertCaptureCase):
    def test_first_order_creates_customer_and_asks_for_state(self):
        order = self.create_order(interactive=True)
        remote = self.remote_customer("CASCADE-T")
        self.assertEqual(remote.name, "Cascade Outfitters Test")
        self.assertEqual(remote.region, "WA")
        self.assertEqual(remote.email_address, "ap@cascade.example.com")
        self.assertEqual(self.customer.certcapture_id, remote.id)
        self.assertEqual(order.certcapture_status, "missing")
        self.assertEqual(order.certcapture_state_id, self.washington)
        self.assertTrue(order.certcapture_prompt, "the order form asks the user")
        self.assertIn("Cascade Outfitters Test", order.certcapture_prompt_message)
        self.assertIn("Washington", order.certcapture_prompt_message)
        self.assertLogged(order, "Certificate missing")

    def test_valid_certificate_on_file(self):
        self.sync_customer()
        self.add_remote_certificate()
        order = self.create_order()
        self.assertEqual(order.certcapture_status, "exempt")
        self.assertEqual(order.certcapture_certificate_id.exemption_number, "WA-RESALE-9")
        self.assertFalse(order.certcapture_prompt)

    def test_certificate_for_another_state_does_not_count(self):
        self.sync_customer()
        self.add_remote_certificate(region="TX")
        self.assertEqual(self.create_order().certcapture_status, "missing")

    def test_expired_certificate(self):
        self.sync_customer()
        self.add_remote_certificate(expires_in=-5)
        self.env["certcapture.sync"]._pull_customer(self.customer, self.company)
        self.assertEqual(self.create_order().certcapture_status, "expired")

    def test_not_exempt_customer_is_left_alone(self):
        plain = self.env["res.partner"].create({"name": "Plain", "state_id": self.washington.id})
        order = self.create_order(partner=plain)
        self.assertFalse(order.certcapture_status)
        self.assertEqual(self.api_calls(), [])

    def test_delivery_without_us_state(self):
        self.customer.state_id = False
        order = self.create_order()
        self.assertEqual(order.certcapture_status, "unknown")
        self.assertTrue(order.certcapture_message)

    def test_steady_state_costs_at_most_one_round_trip(self):
        self.create_order()
        self.sandbox.clear_requests()
        self.create_order()
        self.assertEqual(self.api_calls(), [], "cached status and unchanged customer: no call")
        self.company.certcapture_status_cache_minutes = 0
        self.create_order()
        self.assertEqual(len(self.api_calls()), 1, self.api_calls())

    def test_changed_customer_is_updated(self):
        self.create_order()
        self.customer.city = "Tacoma"
        self.company.certcapture_status_cache_minutes = 0
        self.sandbox.clear_requests()
        self.create_order()
        self.assertEqual([c[0] for c in self.api_calls()], ["PUT", "GET"])
        self.assertEqual(self.remote_customer("CASCADE-T").city, "Tacoma")

    def test_an_unchanged_customer_is_not_even_rebuilt(self):
        self.create_order()
        self.company.certcapture_status_cache_minutes = 0
        sync = type(self.env["certcapture.sync"])
        with patch.object(sync, "_customer_payload", side_effect=AssertionError("rebuilt")):
            order = self.create_order()
        self.assertEqual(order.certcapture_status, "missing")

    def test_a_renamed_or_new_contact_is_sent_with_its_customer(self):
        """The first contact is the CertCapture customer's contact."""
        self.create_order()
        self.company.certcapture_status_cache_minutes = 0
        contact = self.env["res.partner"].create(
            {"name": "Ada Payables", "parent_id": self.customer.id}
        )
        self.sandbox.clear_requests()
        self.create_order()
        self.assertEqual([c[0] for c in self.api_calls()], ["PUT", "GET"])
        self.assertEqual(self.remote_customer("CASCADE-T").contact_name, "Ada Payables")
        contact.name = "Ada Lovelace"
        self.sandbox.clear_requests()
        self.create_order()
        self.assertEqual([c[0] for c in self.api_calls()], ["PUT", "GET"])
        self.assertEqual(self.remote_customer("CASCADE-T").contact_name, "Ada Lovelace")
        contact.unlink()
        self.sandbox.clear_requests()
        self.create_order()
        self.assertEqual([c[0] for c in self.api_calls()], ["PUT", "GET"])

    def test_customer_already_in_certcapture_is_taken_over(self):
        self.sync_customer()
        self.customer.certcapture_id = 0  # this database forgot it
        self.create_order()
        self.assertTrue(self.customer.certcapture_id)
        self.assertEqual(len(self.api_calls("POST")), 2)

    def test_certcapture_down_keeps_the_order(self):
        self.sandbox.set_faults(rules=[{"path": ".*", "status": 503}])
        order = self.create_order(interactive=True)  # after the client's 3 retries
        self.assertTrue(order.exists())
        self.assertEqual(order.certcapture_status, "error")
        self.assertIn("internal error", order.certcapture_message)
        self.assertFalse(order.certcapture_prompt)
        # The scheduled job checks again once CertCapture is back.
        self.sandbox.clear_faults()
        order.certcapture_checked_at = fields.Datetime.now() - timedelta(minutes=10)
        self.assertEqual(self.env["certcapture.sync"]._cron_retry_order_checks(), 1)
        self.assertEqual(order.certcapture_status, "missing")
        self.assertTrue(order.activity_ids, "the retried order is flagged for its salesperson")

    def test_refused_credentials_keep_the_order(self):
        self.company.certcapture_license_key = "revoked"
        order = self.create_order()
        self.assertEqual(order.certcapture_status, "error")
        self.assertIn("credentials", order.certcapture_message)

    def test_malformed_answer_keeps_the_order(self):
        self.sync_customer()
        self.sandbox.set_faults(malformed=r"/certificates/US/")
        order = self.create_order()
        self.assertEqual(order.certcapture_status, "error")
        self.assertIn("cannot be read", order.certcapture_message)

    def test_form_save_asks_instead_of_following_the_policy(self):
        saved = self.env["sale.order"].web_save(
            {"partner_id": self.customer.id}, {"certcapture_prompt": {}}
        )
        order = self.env["sale.order"].browse(saved[0]["id"])
        self.assertTrue(saved[0]["certcapture_prompt"])
        self.assertFalse(order.activity_ids, "the person is asked; no activity is planned")

    def test_policy_flag_plans_an_activity(self):
        order = self.create_order(interactive=False)
        self.assertEqual(order.certcapture_status, "missing")
        self.assertTrue(order.activity_ids)
        self.assertEqual(order.activity_ids.summary, "Exemption certificate missing")

    def test_policy_none_does_nothing_more(self):
        self.company.certcapture_missing_policy = "none"
        order = self.create_order(interactive=False)
        self.assertEqual(order.certcapture_status, "missing")
        self.assertFalse(order.activity_ids)
        self.assertFalse(order.certcapture_prompt)

    def test_policy_send_sends_the_request(self):
        self.company.certcapture_missing_policy = "send"
        order = self.create_order(interactive=False)
        self.assertEqual(order.certcapture_status, "pending")
        request = order.certcapture_request_ids
        self.assertEqual(request.recipient, "ap@cascade.example.com")
        self.assertEqual(request.exposure_zone_ids.state_id, self.washington)
        self.assertEqual(len(self.api_calls("POST")), 2)  # customer, request

    def test_order_update_brings_the_uploaded_certificate(self):
        order = self.create_order()
        self.assertEqual(order.certcapture_status, "missing")
        self.add_remote_certificate()
        order.note = "Customer called: certificate uploaded"
        self.assertEqual(order.certcapture_status, "exempt")
        self.assertEqual(self.customer.certcapture_exemption_number, "WA-RESALE-9")
        self.assertTrue(self.customer.certcapture_certificate_pdf)
