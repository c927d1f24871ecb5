from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import CertCaptureCase


@tagged("post_install", "-at_install")
class TestRequestWizard(CertCaptureCase):
    def open_wizard(self, order):
        action = order.action_certcapture_request_certificate()
        return self.env[action["res_model"]].browse(action["res_id"])

    def test_yes_opens_the_request_filled_in_and_sends_it(self):
        order = self.create_order(interactive=True)
        wizard = self.open_wizard(order)
        self.assertFalse(order.certcapture_prompt, "answering clears the prompt")
        self.assertEqual(wizard.recipient, "ap@cascade.example.com")
        self.assertEqual(wizard.exposure_zone_ids.state_id, self.washington)
        with Form(wizard) as form:
            form.recipient = "tax@cascade.example.com"
            form.exemption_reason_ids.add(self.resale)
        wizard.action_send()
        request = order.certcapture_request_ids
        self.assertEqual(request.recipient, "tax@cascade.example.com")
        self.assertTrue(request.certcapture_id)
        self.assertEqual(request.state, "sent", "the sandbox sends the email at once")
        self.assertIn("/certexpress/", self.emailed_link(request))
        self.assertFalse(request.request_link, "an Email request's link is in the email only")
        self.assertEqual(order.certcapture_status, "pending")
        self.assertLogged(order, "Certificate request sent")
        self.assertLogged(self.customer, "Certificate request sent")
        self.assertEqual(self.customer.certcapture_certificate_status, "pending")
        posts = [c for c in self.api_calls("POST") if c[1].endswith("/certexpressinvites")]
        self.assertEqual(len(posts), 1)

    def test_sending_clears_the_status_cache(self):
        order = self.create_order()
        cache = self.env["certcapture.status.cache"].search([("partner_id", "=", self.customer.id)])
        self.assertTrue(cache)
        self.open_wizard(order).action_send()
        self.assertFalse(cache.exists())

    def test_no_from_the_prompt(self):
        order = self.create_order(interactive=True)
        order.action_certcapture_dismiss_prompt()
        self.assertFalse(order.certcapture_prompt)
        self.assertEqual(order.certcapture_status, "missing", "the button stays for later")

    def test_bad_recipient_is_refused(self):
        wizard = self.open_wizard(self.create_order())
        wizard.recipient = "nobody"
        with self.assertRaises(UserError):
            wizard.action_send()

    def test_request_from_the_customer_form(self):
        self.customer.certcapture_exempt_state_id = self.washington
        action = self.customer.action_certcapture_request_certificate()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        self.assertEqual(wizard.exposure_zone_ids.state_id, self.washington)
        wizard.action_send()
        self.assertEqual(len(self.customer.certcapture_request_ids), 1)

    def test_certcapture_refusing_the_request_is_a_clear_message(self):
        wizard = self.open_wizard(self.create_order())
        self.sandbox.set_faults(
            rules=[{"method": "POST", "path": "certexpressinvites", "status": 400}]
        )
        with self.assertRaises(UserError) as caught:
            wizard.action_send()
        self.assertIn("CertCapture", str(caught.exception))

    def test_a_download_request_gives_the_user_the_link(self):
        self.customer.write({"certcapture_ap_email": False, "email": False})
        wizard = self.open_wizard(self.create_order())
        wizard.delivery_method = "download"
        answer = wizard.action_send()
        request = self.customer.certcapture_request_ids
        self.assertEqual(request.delivery_method, "download")
        self.assertIn("/certexpress/", request.request_link)
        self.assertIn(request.request_link, answer["params"]["message"])
        self.assertTrue(answer["params"]["sticky"], "a link to copy stays on screen")
        self.assertEqual(self.sandbox.sent_emails(), [], "nothing emailed")
