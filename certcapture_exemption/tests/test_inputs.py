"""Bad input and the small things a user meets: email addresses, incomplete
addresses, the order form's buttons, who may record what."""

from datetime import date, timedelta

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import CertCaptureCase, pdf_b64


@tagged("post_install", "-at_install")
class TestEmails(CertCaptureCase):
    def test_a_malformed_ap_email_is_refused(self):
        for bad in ("billing@@bad", "a@b", "x@y.com, z@w.com"):
            with self.assertRaises(ValidationError, msg=bad):
                self.customer.certcapture_ap_email = bad

    def test_a_named_address_is_sent_bare(self):
        self.customer.certcapture_ap_email = "Bob <ap@x.example.com>"
        order = self.create_order()
        self.assertEqual(self.remote_customer("CASCADE-T").email_address, "ap@x.example.com")
        action = order.action_certcapture_request_certificate()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        wizard.action_send()
        self.assertEqual(order.certcapture_request_ids.recipient, "ap@x.example.com")

    def test_a_wizard_recipient_like_billing_at_at_bad_is_refused(self):
        order = self.create_order()
        action = order.action_certcapture_request_certificate()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        wizard.recipient = "billing@@bad"
        with self.assertRaises(UserError):
            wizard.action_send()
        self.assertFalse(order.certcapture_request_ids)

    def test_a_customer_without_email_opens_the_request_to_type_one(self):
        self.customer.write({"certcapture_ap_email": False, "email": False})
        order = self.create_order(interactive=True)
        self.assertTrue(order.certcapture_prompt)
        action = order.action_certcapture_request_certificate()
        self.assertEqual(action["res_model"], "certcapture.certificate.request.wizard")
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        self.assertFalse(wizard.recipient)
        self.assertFalse(order.certcapture_prompt, "answered: the prompt does not come back")
        wizard.recipient = "payables@cascade.example.com"
        wizard.action_send()
        self.assertEqual(order.certcapture_status, "pending")


@tagged("post_install", "-at_install")
class TestAddresses(CertCaptureCase):
    def test_an_incomplete_address_is_named_before_any_call(self):
        self.customer.write({"street": False, "zip": False})
        self.assertIn("Street", self.customer.certcapture_address_warning)
        self.assertIn("Zip", self.customer.certcapture_address_warning)
        order = self.create_order()
        self.assertEqual(order.certcapture_status, "incomplete")
        self.assertIn("Street", order.certcapture_message)
        self.assertIn("Zip", order.certcapture_message)
        self.assertEqual(self.api_calls(), [], "nothing sent that CertCapture would refuse")
        # Completed, the next update of the order checks it.
        self.customer.write({"street": "1201 Pike Street", "zip": "98101"})
        self.assertFalse(self.customer.certcapture_address_warning)
        order.note = "address fixed"
        self.assertEqual(order.certcapture_status, "missing")

    def test_a_delivery_outside_the_us_is_not_applicable(self):
        mexico = self.env.ref("base.mx")
        delivery = self.env["res.partner"].create(
            {
                "name": "Cascade Monterrey",
                "type": "delivery",
                "parent_id": self.customer.id,
                "country_id": mexico.id,
                "state_id": self.env["res.country.state"]
                .search([("country_id", "=", mexico.id)], limit=1)
                .id,
            }
        )
        order = self.create_order(partner_shipping_id=delivery.id)
        self.assertEqual(order.certcapture_status, "not_applicable")
        self.assertFalse(order.certcapture_prompt)


@tagged("post_install", "-at_install")
class TestOrderButtons(CertCaptureCase):
    def test_check_again_prompts_and_plans_the_activity(self):
        self.company.certcapture_missing_policy = "none"
        order = self.create_order()
        self.assertFalse(order.activity_ids)
        order.action_certcapture_check_again()
        self.assertEqual(order.certcapture_status, "missing")
        self.assertTrue(order.certcapture_prompt)
        self.assertEqual(order.activity_ids.summary, "Exemption certificate missing")
        order.action_certcapture_check_again()
        self.assertEqual(len(order.activity_ids), 1, "one activity, not one per click")

    def test_the_activity_note_keeps_html_as_text(self):
        self.customer.name = "<b>Bold</b> & Co"
        order = self.create_order(interactive=False)
        note = str(order.activity_ids.note)
        self.assertIn("&lt;b&gt;Bold&lt;/b&gt; &amp; Co", note)
        self.assertNotIn("<b>Bold</b>", note)

    def test_a_valid_hand_entered_certificate_agrees_with_the_order(self):
        self.customer.write(
            {
                "certcapture_certificate_pdf": pdf_b64(),
                "certcapture_exempt_state_id": self.washington.id,
                "certcapture_certificate_expiration_date": date.today() + timedelta(days=200),
            }
        )
        self.assertEqual(self.customer.certcapture_certificate_status, "valid")
        order = self.create_order(interactive=True)
        self.assertEqual(order.certcapture_status, "exempt")
        self.assertEqual(order.certcapture_certificate_id.source, "manual")
        self.assertFalse(order.certcapture_prompt)


@tagged("post_install", "-at_install")
class TestWhoRecordsWhat(CertCaptureCase):
    def test_only_the_engine_records_pulled_certificates(self):
        salesperson = new_test_user(self.env, "cc_sp_pull", groups="sales_team.group_sale_salesman")
        certificates = self.env["certcapture.certificate"].with_user(salesperson)
        with self.assertRaises(AccessError):
            certificates.create(
                {"partner_id": self.customer.id, "source": "pulled", "certcapture_id": 99}
            )
        mine = certificates.create({"partner_id": self.customer.id, "state_id": self.texas.id})
        with self.assertRaises(AccessError):
            mine.write({"verified": True})
        with self.assertRaises(AccessError):
            mine.write({"certcapture_id": 42})

    def test_refresh_while_a_pull_runs_says_so(self):
        from ..models.certcapture_sync import PULL_LOCK_NAMESPACE

        self.sync_customer()
        with self.registry.cursor() as pull_cr:
            pull_cr.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", (PULL_LOCK_NAMESPACE, self.company.id)
            )
            action = self.customer.action_certcapture_refresh()
        self.assertIn("being pulled", action["params"]["message"])

    def test_a_second_companys_pdfs_belong_to_it(self):
        east = self.second_company()
        self.sync_customer()
        self.add_remote_certificate()
        self.env["certcapture.sync"]._pull_customer(self.customer, east)
        certificate = self.customer.certcapture_certificate_ids.filtered(
            lambda c: c.company_id == east
        )
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", "certcapture.certificate"),
                    ("res_id", "=", certificate.id),
                    ("res_field", "=", "pdf"),
                ]
            )
        )
        self.assertEqual(attachment.company_id, east)


@tagged("post_install", "-at_install")
class TestHandEnteredCertificatesGoToCertCapture(CertCaptureCase):
    def type_certificate(self, **values):
        self.customer.write(
            {
                "certcapture_exemption_reason_id": self.resale.id,
                "certcapture_certificate_pdf": pdf_b64(),
                "certcapture_exempt_state_id": self.washington.id,
                "certcapture_certificate_expiration_date": date.today() + timedelta(days=200),
                **values,
            }
        )
        return self.customer.certcapture_certificate_ids

    def test_the_job_sends_it_and_certcapture_then_covers_it(self):
        certificate = self.type_certificate(
            certcapture_certificate_signed_date=date.today() - timedelta(days=2)
        )
        self.env["certcapture.sync"]._cron_pull_certificates()
        self.assertEqual(certificate.certcapture_push_state, "sent")
        self.assertTrue(certificate.certcapture_id)
        with self.env["certcapture.service"]._session(self.company) as client:
            remote = client.get_certificate(certificate.certcapture_id)
        self.assertEqual(remote.exposure_zone.region, "WA")
        self.assertTrue(remote.document_exists)
        # CertCapture's own answer now covers the order, with the same record.
        self.company.certcapture_status_cache_minutes = 0
        order = self.create_order()
        self.assertEqual(order.certcapture_status, "exempt")
        self.assertEqual(order.certcapture_certificate_id, certificate)
        self.assertTrue(
            [c for c in self.api_calls("GET") if "/certificates/US/WA" in c[1]],
            "asked CertCapture, not only the local certificate",
        )
        self.env["certcapture.sync"]._cron_pull_certificates()
        self.assertEqual(len(self.customer.certcapture_certificate_ids), 1, "no duplicate")

    def test_what_certcapture_needs_is_said_and_it_still_counts_meanwhile(self):
        certificate = self.type_certificate()  # no signed date
        self.env["certcapture.sync"]._cron_pull_certificates()
        self.assertEqual(certificate.certcapture_push_state, "incomplete")
        self.assertIn("signed date", certificate.certcapture_push_message)
        self.assertEqual(self.create_order().certcapture_status, "exempt")
