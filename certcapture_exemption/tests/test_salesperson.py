"""The story as the people who live it: a salesperson who sees only their own
documents, and an integration user without an email address and without the
right to create contacts. Nothing here runs as the superuser."""

from datetime import date, timedelta

from odoo import Command
from odoo.tests import new_test_user, tagged

from .common import CertCaptureCase, pdf_b64
from .test_story import upload_as_customer


@tagged("post_install", "-at_install")
class TestSalesperson(CertCaptureCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # "User: Own Documents Only", no Contact Creation.
        cls.salesperson = new_test_user(
            cls.env,
            "cc_own_docs",
            groups="sales_team.group_sale_salesman",
            email="seller@example.com",
        )
        # Integration users often have no email address.
        cls.integration = new_test_user(
            cls.env, "cc_no_email", groups="sales_team.group_sale_salesman", email=False
        )

    def order_as(self, user, **values):
        return (
            self.env["sale.order"]
            .with_user(user)
            .with_context(certcapture_interactive=True)
            .create(
                {
                    "partner_id": self.customer.id,
                    "user_id": user.id,
                    "order_line": [Command.create({"product_id": self.product.id})],
                    **values,
                }
            )
        )

    def test_the_whole_story_as_a_salesperson(self):
        order = self.order_as(self.salesperson)
        self.assertEqual(order.certcapture_status, "missing")
        self.assertTrue(order.certcapture_prompt)
        self.assertTrue(self.customer.certcapture_id, "the customer was sent to CertCapture")

        action = order.action_certcapture_request_certificate()
        wizard = self.env[action["res_model"]].with_user(self.salesperson).browse(action["res_id"])
        wizard.action_send()
        request = order.certcapture_request_ids
        self.assertEqual(order.certcapture_status, "pending")

        answer = upload_as_customer(self, self.emailed_link(request), request.exposure_zone_ids)
        self.assertEqual(answer.status_code, 200, answer.text[:300])

        # The certificate comes back when *they* update *their* order.
        order.note = "Customer confirmed by phone"
        self.assertEqual(order.certcapture_status, "exempt")
        self.assertEqual(order.certcapture_certificate_id.exemption_number, "WA-UPLOADED-77")
        customer = self.customer.with_user(self.salesperson)
        self.assertEqual(customer.certcapture_certificate_status, "valid")
        self.assertTrue(customer.certcapture_certificate_pdf)

    def test_refresh_from_certcapture_as_a_salesperson(self):
        self.sync_customer()
        self.add_remote_certificate()
        action = self.customer.with_user(self.salesperson).action_certcapture_refresh()
        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])
        self.assertEqual(len(self.customer.certcapture_certificate_ids), 1)

    def test_a_user_without_email_nor_contact_creation_creates_orders(self):
        order = self.order_as(self.integration)
        self.assertEqual(order.certcapture_status, "missing")
        self.assertTrue(self.customer.certcapture_id)
        self.assertTrue(self.customer.certcapture_customer_code)
        note = order.message_ids.filtered(lambda m: "Certificate missing" in str(m.body))
        self.assertTrue(note, "the check is logged in the chatter")

    def test_orders_created_by_rpc_follow_the_policy_as_a_user_without_email(self):
        self.company.certcapture_missing_policy = "send"
        order = (
            self.env["sale.order"]
            .with_user(self.integration)
            .create(
                {
                    "partner_id": self.customer.id,
                    "order_line": [Command.create({"product_id": self.product.id})],
                }
            )
        )
        self.assertEqual(order.certcapture_status, "pending")
        self.assertEqual(len(order.certcapture_request_ids), 1)

    def test_a_hand_entered_certificate_as_a_salesperson_who_edits_contacts(self):
        editor = new_test_user(
            self.env,
            "cc_contacts",
            groups="sales_team.group_sale_salesman,base.group_partner_manager",
        )
        customer = self.customer.with_user(editor)
        customer.write(
            {
                "certcapture_exempt_state_id": self.washington.id,
                "certcapture_certificate_expiration_date": date.today() + timedelta(days=365),
            }
        )
        self.assertEqual(customer.certcapture_certificate_status, "valid")
        self.assertEqual(len(customer.certcapture_certificate_ids), 1)

    def test_a_hand_entered_certificate_covers_its_own_company_only(self):
        # The check reads the customer's certificates of the order's company:
        # a salesperson of two companies gets the exemption in the one that
        # holds the certificate, without a call, and not in the other.
        east = self.second_company()
        seller = new_test_user(
            self.env,
            "cc_two_companies",
            groups="sales_team.group_sale_salesman",
            company_id=self.company.id,
            company_ids=[Command.set([self.company.id, east.id])],
        )
        self.customer.write(
            {
                "certcapture_exemption_reason_id": self.resale.id,
                "certcapture_certificate_pdf": pdf_b64(),
                "certcapture_exempt_state_id": self.washington.id,
                "certcapture_certificate_expiration_date": date.today() + timedelta(days=200),
            }
        )
        typed = self.customer.certcapture_certificate_ids
        self.assertEqual((typed.source, typed.company_id), ("manual", self.company))
        self.sandbox.clear_requests()

        here = self.order_as(seller)
        self.assertEqual(here.certcapture_status, "exempt")
        self.assertEqual(here.certcapture_certificate_id, typed)
        self.assertFalse(self.api_calls(), "a certificate typed in Odoo needs no call")

        there = (
            self.env["sale.order"]
            .with_user(seller)
            .with_company(east)
            .create(
                {
                    "partner_id": self.customer.id,
                    "user_id": seller.id,
                    "order_line": [Command.create({"product_id": self.product.id})],
                }
            )
        )
        self.assertEqual(there.company_id, east)
        self.assertEqual(there.certcapture_status, "missing")
        self.assertFalse(there.certcapture_certificate_id)
        self.assertFalse(there.certcapture_covering_certificate_id)
