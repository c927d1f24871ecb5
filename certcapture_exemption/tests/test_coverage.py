"""The customer's coverage by state on its Tax Exemption tab, and the one
click that requests every missing or lapsing state, as a salesperson."""

from datetime import date, timedelta

from odoo.tests import Form, new_test_user, tagged

from .common import CertCaptureCase, pdf_b64


@tagged("post_install", "-at_install")
class TestCoverage(CertCaptureCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesperson = new_test_user(
            cls.env,
            "cc_coverage_seller",
            groups="sales_team.group_sale_salesman",
            email="seller@example.com",
        )
        cls.oregon = cls.env["res.country.state"].search(
            [("code", "=", "OR"), ("country_id", "=", cls.us.id)]
        )
        cls.california = cls.env.ref("base.state_us_5")
        cls.florida = cls.env.ref("base.state_us_10")
        # Ships to Texas, Oregon and California; billed in Washington.
        for name, state in (
            ("Dallas Store", cls.texas),
            ("Portland Store", cls.oregon),
            ("Fresno Warehouse", cls.california),
        ):
            cls.env["res.partner"].create(
                {
                    "name": name,
                    "type": "delivery",
                    "parent_id": cls.customer.id,
                    "street": "1 Dock Road",
                    "city": name.split()[0],
                    "state_id": state.id,
                    "country_id": cls.us.id,
                }
            )

    def certificate(self, state, expires_in, number, **values):
        return self.env["certcapture.certificate"].create(
            {
                "partner_id": self.customer.id,
                "state_id": state.id,
                "exemption_number": number,
                "signed_date": date.today() - timedelta(days=400),
                "expiration_date": date.today() + timedelta(days=expires_in),
                "pdf": pdf_b64(),
                **values,
            }
        )

    def lines(self, partner=None):
        partner = (partner or self.customer).with_user(self.salesperson)
        return {
            line["state"].code: (line["status"], line["certificate"].exemption_number or False)
            for line in partner._certcapture_coverage_lines()
        }

    def open_request(self):
        customer = self.customer.with_user(self.salesperson)
        action = customer.action_certcapture_request_missing_states()
        return self.env[action["res_model"]].with_user(self.salesperson).browse(action["res_id"])

    def test_each_state_shipped_to_or_certified(self):
        self.certificate(self.texas, 300, "TX-OK")
        self.certificate(self.oregon, 20, "OR-SOON")
        self.certificate(self.washington, -10, "WA-OLD")
        self.certificate(self.florida, 500, "FL-OK")  # not shipped to, but held
        self.assertEqual(
            self.lines(),
            {
                "CA": ("missing", False),
                "FL": ("covered", "FL-OK"),
                "OR": ("expiring", "OR-SOON"),
                "TX": ("covered", "TX-OK"),
                "WA": ("expired", "WA-OLD"),
            },
        )
        html = str(self.customer.with_user(self.salesperson).certcapture_coverage_html)
        for text in ("Texas", "TX-OK", "Covered", "Expiring", "Missing", "Fresno Warehouse"):
            self.assertIn(text, html)
        self.assertIn("Main address", html)
        self.assertTrue(self.customer.certcapture_coverage_to_request)

    def test_the_button_requests_missing_and_lapsing_states(self):
        self.certificate(self.texas, 300, "TX-OK")
        self.certificate(self.oregon, 20, "OR-SOON")
        self.certificate(self.washington, -10, "WA-OLD")
        wizard = self.open_request()
        self.assertEqual(
            wizard.exposure_zone_ids.state_id, self.california | self.oregon | self.washington
        )
        self.assertEqual(wizard.recipient, "ap@cascade.example.com")
        with Form(wizard) as form:
            form.exemption_reason_ids.add(self.resale)
        wizard.action_send()
        request = self.customer.certcapture_request_ids
        self.assertEqual(len(request), 1, "one CertExpress request for all of them")
        self.assertEqual(
            request.exposure_zone_ids.state_id, self.california | self.oregon | self.washington
        )
        self.customer.invalidate_recordset()
        self.assertEqual(
            self.lines(),
            {
                "CA": ("pending", False),
                "OR": ("expiring", "OR-SOON"),
                "TX": ("covered", "TX-OK"),
                "WA": ("pending", "WA-OLD"),
            },
        )
        self.assertFalse(self.customer.certcapture_coverage_to_request, "all requested")
        answer = self.customer.with_user(
            self.salesperson
        ).action_certcapture_request_missing_states()
        self.assertEqual(answer["tag"], "display_notification")

    def test_a_replaced_certificate_is_history(self):
        self.certificate(self.washington, 15, "WA-OLD")
        self.certificate(self.washington, 700, "WA-NEW")
        self.certificate(self.washington, 300, "WA-SINGLE", single_use=True, po_numbers="PO-9")
        self.assertEqual(self.lines()["WA"], ("covered", "WA-NEW"))

    def test_certificates_that_do_not_count_say_why(self):
        self.certificate(self.texas, 300, "TX-BAD", valid=False)
        self.certificate(self.oregon, 300, "OR-NO-PDF", pdf=False)
        self.certificate(self.california, 300, "CA-REVOKED", status="REVOKED")
        lines = self.lines()
        self.assertEqual(lines["TX"], ("missing", "TX-BAD"))
        self.assertEqual(lines["OR"], ("missing", "OR-NO-PDF"))
        self.assertEqual(lines["CA"], ("missing", "CA-REVOKED"))
        html = str(self.customer.certcapture_coverage_html)
        for reason in ("not valid", "no PDF attached", "revoked"):
            self.assertIn(reason, html)
        self.assertEqual(
            self.open_request().exposure_zone_ids.state_id,
            self.texas | self.oregon | self.california | self.washington,
        )

    def test_addresses_outside_the_us_and_other_companies_are_left_out(self):
        canada_store = self.env["res.partner"].create(
            {
                "name": "Vancouver Store",
                "type": "delivery",
                "parent_id": self.customer.id,
                "state_id": self.env.ref("base.state_ca_bc").id,
                "country_id": self.env.ref("base.ca").id,
            }
        )
        other_company = self.env["res.company"].create({"name": "Other Co"})
        self.certificate(self.florida, 300, "FL-OTHER", company_id=other_company.id)
        self.assertNotIn(canada_store.state_id.code, self.lines())
        self.assertNotIn("FL", self.lines())

    def test_names_are_escaped(self):
        self.env["res.partner"].create(
            {
                "name": "<script>alert(1)</script> Dock",
                "type": "delivery",
                "parent_id": self.customer.id,
                "state_id": self.florida.id,
                "country_id": self.us.id,
            }
        )
        self.certificate(self.florida, 300, "<b>FL</b>")
        html = str(self.customer.certcapture_coverage_html)
        self.assertNotIn("<script>", html)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt; Dock", html)
        self.assertIn("&lt;b&gt;FL&lt;/b&gt;", html)

    def test_customers_without_states_or_exemption_show_no_table(self):
        nowhere = self.env["res.partner"].create(
            {"name": "Nowhere Co", "is_company": True, "certcapture_exemption_number": "1"}
        )
        taxed = self.env["res.partner"].create(
            {
                "name": "Taxed Co",
                "is_company": True,
                "state_id": self.texas.id,
                "country_id": self.us.id,
            }
        )
        for partner in nowhere | taxed:
            self.assertFalse(partner.certcapture_coverage_html)
            self.assertFalse(partner.certcapture_coverage_to_request)

    def test_the_form_shows_the_table_to_a_salesperson(self):
        self.certificate(self.texas, 300, "TX-OK")
        form = Form(self.customer.with_user(self.salesperson))
        self.assertIn("TX-OK", str(form.certcapture_coverage_html))
        self.assertTrue(form.certcapture_coverage_to_request)
