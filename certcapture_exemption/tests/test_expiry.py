"""Expiry reminders and automatic renewal requests (the daily job), as the
salesperson who gets the reminders and the customer who gets the request."""

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from freezegun import freeze_time
from lxml import etree
from odoo.exceptions import ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from .common import CertCaptureCase, pdf_b64


def search_filter_domain(env, model, name):
    """A filter's domain of the model's search view, evaluated as the web
    client does (context_today, relativedelta)."""
    arch = env[model].get_views([(False, "search")])["views"]["search"]["arch"]
    node = etree.fromstring(arch).xpath(f"//filter[@name='{name}']")[0]
    return safe_eval(
        node.get("domain"), {"context_today": date.today, "relativedelta": relativedelta}
    )


class ExpiryCase(CertCaptureCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesperson = new_test_user(
            cls.env,
            "cc_expiry_seller",
            groups="sales_team.group_sale_salesman",
            email="seller@example.com",
        )
        cls.customer.user_id = cls.salesperson
        cls.oregon = cls.env["res.country.state"].search(
            [("code", "=", "OR"), ("country_id", "=", cls.us.id)]
        )

    def certificate(self, expires_in, state=None, partner=None, **values):
        """A hand-entered certificate (the job treats pulled ones the same)."""
        return self.env["certcapture.certificate"].create(
            {
                "partner_id": (partner or self.customer).id,
                "state_id": (state or self.washington).id,
                "exemption_number": values.pop("exemption_number", "WA-1"),
                "signed_date": date.today() - timedelta(days=700),
                "expiration_date": date.today() + timedelta(days=expires_in),
                "pdf": pdf_b64(),
                **values,
            }
        )

    def run_job(self):
        return self.env["certcapture.sync"]._cron_certificate_expiry()

    def reminders(self, partner=None):
        return (partner or self.customer).activity_ids.filtered(
            lambda a: a.summary and a.summary.startswith("Exemption certificate expires")
        )


@tagged("post_install", "-at_install")
class TestExpiryReminders(ExpiryCase):
    def test_one_reminder_per_window_across_reruns(self):
        certificate = self.certificate(85)
        self.run_job()
        reminder = self.reminders()
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.user_id, self.salesperson)
        self.assertIn("expires in 85 days", reminder.summary)
        self.assertIn("Washington", reminder.summary)
        self.assertIn("WA-1", str(reminder.note))
        self.assertEqual(certificate.expiry_reminder_windows, "90")
        self.assertEqual(certificate.expiry_activity_id, reminder)

        self.run_job()
        self.assertEqual(self.reminders(), reminder, "a rerun announces nothing twice")

        with freeze_time(date.today() + timedelta(days=26)):  # 59 days left
            self.run_job()
            self.run_job()
        second = self.reminders()
        self.assertEqual(len(second), 1, "the 60-day reminder replaces the open 90-day one")
        self.assertNotEqual(second, reminder)
        self.assertIn("expires in 59 days", second.summary)
        self.assertEqual(certificate.expiry_reminder_windows, "90,60")

    def test_a_certificate_first_seen_late_gets_the_last_reminder_only(self):
        certificate = self.certificate(10)
        self.run_job()
        self.assertEqual(len(self.reminders()), 1)
        self.assertIn("expires in 10 days", self.reminders().summary)
        self.assertEqual(certificate.expiry_reminder_windows, "90,60,30")
        self.run_job()
        self.assertEqual(len(self.reminders()), 1)

    def test_expires_today_and_outside_the_windows(self):
        self.certificate(0)
        self.certificate(200, state=self.texas, exemption_number="TX-1")
        self.certificate(-3, state=self.oregon, exemption_number="OR-1")
        self.run_job()
        self.assertEqual(len(self.reminders()), 1, "expired and far-off ones are left alone")
        self.assertIn("expires today", self.reminders().summary)

    def test_a_replaced_certificate_is_not_announced(self):
        old = self.certificate(20)
        new = self.certificate(400, exemption_number="WA-2")
        self.assertFalse(old.is_state_current)
        self.assertTrue(new.is_state_current)
        self.run_job()
        self.assertFalse(self.reminders())
        self.assertFalse(old.expiry_reminder_windows)
        self.assertTrue(old.exists(), "kept as history")

    def test_single_use_invalid_and_paperless_certificates_are_not_announced(self):
        self.certificate(20, single_use=True, po_numbers="PO-1")
        self.certificate(20, state=self.texas, valid=False)
        self.certificate(20, state=self.oregon, pdf=False)
        self.run_job()
        self.assertFalse(self.reminders())

    def test_the_reminder_is_done_when_the_certificate_is_renewed(self):
        old = self.certificate(20)
        self.run_job()
        self.assertTrue(self.reminders())
        self.certificate(380, exemption_number="WA-RENEWED")
        self.run_job()
        self.assertFalse(self.reminders(), "marked done")
        self.assertFalse(old.expiry_activity_id)
        self.assertLogged(self.customer, "Renewed: certificate WA-RENEWED")

    def test_a_new_expiry_date_starts_the_reminders_over(self):
        certificate = self.certificate(20)
        self.run_job()
        self.assertEqual(certificate.expiry_reminder_windows, "90,60,30")
        certificate.expiration_date = date.today() + timedelta(days=80)
        self.assertFalse(certificate.expiry_reminder_windows)
        self.assertFalse(self.reminders(), "the obsolete reminder goes")
        self.run_job()
        self.assertEqual(certificate.expiry_reminder_windows, "90")

    def test_who_is_reminded(self):
        responsible = new_test_user(
            self.env, "cc_expiry_responsible", groups="sales_team.group_sale_salesman"
        )
        self.customer.user_id = False
        self.company.certcapture_responsible_user_id = responsible
        self.certificate(20)
        self.run_job()
        self.assertEqual(self.reminders().user_id, responsible)
        other = self.env["res.partner"].create(
            {"name": "No Salesperson Co", "is_company": True, "certcapture_exemption_number": "7"}
        )
        self.company.certcapture_responsible_user_id = False
        self.certificate(20, partner=other)
        self.run_job()
        self.assertEqual(self.reminders(other).user_id, self.env.ref("base.user_admin"))

    def test_archived_and_no_longer_exempt_customers_are_left_alone(self):
        self.certificate(20)
        self.customer.write({"certcapture_exemption_number": False})
        self.assertFalse(self.customer.certcapture_is_exempt)
        archived = self.env["res.partner"].create(
            {"name": "Closed Co", "is_company": True, "certcapture_exemption_number": "8"}
        )
        self.certificate(20, partner=archived)
        archived.active = False
        self.run_job()
        self.assertFalse(self.reminders() | self.reminders(archived))

    def test_the_job_works_in_batches(self):
        certificates = self.env["certcapture.certificate"]
        for number in range(3):
            partner = self.customer.copy(
                {"name": f"Branch {number}", "certcapture_customer_code": False}
            )
            certificates |= self.certificate(20, partner=partner, exemption_number=f"B{number}")
        sync = self.env["certcapture.sync"]
        self.assertEqual(sync._cron_certificate_expiry(batch_size=2), 2)
        self.assertEqual(sync._cron_certificate_expiry(batch_size=2), 1)
        self.assertEqual(sync._cron_certificate_expiry(batch_size=2), 0)
        self.assertTrue(all(certificates.mapped("expiry_reminder_windows")))

    def test_windows_setting(self):
        with self.assertRaises(ValidationError):
            self.company.certcapture_expiry_reminder_days = "90,soon"
        with self.assertRaises(ValidationError):
            self.company.certcapture_expiry_reminder_days = "0"
        self.company.certcapture_expiry_reminder_days = " 45 ;15,45"
        self.assertEqual(self.company._certcapture_expiry_windows(), (45, 15))
        certificate = self.certificate(40)
        self.run_job()
        self.assertEqual(certificate.expiry_reminder_windows, "45")
        self.company.certcapture_expiry_reminder_days = False
        self.assertEqual(self.company._certcapture_expiry_windows(), ())
        certificate.expiration_date = date.today() + timedelta(days=5)
        self.run_job()
        self.assertFalse(self.reminders(), "no windows, no reminders")

    def test_the_customer_is_expiring_from_the_largest_window(self):
        self.customer.certcapture_customer_code = "CASCADE-T"
        certificate = self.certificate(80)
        self.assertEqual(self.customer.certcapture_certificate_status, "expiring")
        certificate.expiration_date = date.today() + timedelta(days=120)
        self.assertEqual(self.customer.certcapture_certificate_status, "valid")
        self.company.certcapture_expiry_reminder_days = "150,30"
        self.customer.invalidate_recordset(["certcapture_certificate_status"])
        self.assertEqual(self.customer.certcapture_certificate_status, "expiring")

    def test_the_salesperson_filters_customers_and_certificates(self):
        soon = self.certificate(20)
        later = self.certificate(50, state=self.texas, exemption_number="TX-1")
        replaced = self.certificate(10, state=self.oregon, exemption_number="OR-OLD")
        self.certificate(500, state=self.oregon, exemption_number="OR-NEW")
        other = self.env["res.partner"].create({"name": "Far Off Co", "is_company": True})
        self.certificate(200, partner=other)
        Certificates = self.env["certcapture.certificate"].with_user(self.salesperson)
        Partners = self.env["res.partner"].with_user(self.salesperson)
        found = {}
        for days in (30, 60, 90):
            domain = search_filter_domain(Certificates.env, Certificates._name, f"expiring_{days}")
            found[days] = Certificates.search(domain)
        self.assertEqual(found[30], soon)
        self.assertEqual(found[60], soon | later)
        self.assertNotIn(replaced, found[90], "a replaced certificate is history")
        for days in (30, 60, 90):
            domain = search_filter_domain(
                Partners.env, Partners._name, f"certcapture_expiring_{days}"
            )
            both = [("id", "in", (self.customer | other).ids)]
            self.assertEqual(Partners.search([*domain, *both]), self.customer)
        # And they see their reminder.
        self.run_job()
        mine = (
            self.env["mail.activity"]
            .with_user(self.salesperson)
            .search([("user_id", "=", self.salesperson.id), ("res_id", "=", self.customer.id)])
        )
        self.assertEqual(len(mine), 2, "one per certificate: WA and TX")


@tagged("post_install", "-at_install")
class TestAutoRenewal(ExpiryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"certcapture_auto_renewal": True, "certcapture_auto_renewal_days": 30})

    def setUp(self):
        super().setUp()
        # The customer is in CertCapture, its certificates pulled from there.
        self.sync_customer()

    def pulled(self, region="WA", expires_in=20, exemption_number="WA-RESALE-9"):
        self.add_remote_certificate(
            region=region, expires_in=expires_in, exemption_number=exemption_number
        )
        self.env["certcapture.sync"]._pull_customer(self.customer, self.company)
        return self.customer.certcapture_certificate_ids.filtered(
            lambda c: c.exemption_number == exemption_number
        )

    def invitations(self):
        return [c for c in self.api_calls("POST") if c[1].endswith("/certexpressinvites")]

    def next_day(self, certificates):
        """As if the job last tried these certificates yesterday."""
        certificates.write({"renewal_tried_on": date.today() - timedelta(days=1)})

    def test_the_renewal_request_goes_once(self):
        washington = self.pulled()
        texas = self.pulled("TX", 25, "TX-RESALE-1")
        self.pulled("OR", 200, "OR-FAR")  # not about to lapse
        self.sandbox.clear_requests()
        self.run_job()
        self.assertEqual(len(self.invitations()), 1, "one request for both states")
        request = washington.renewal_request_id
        self.assertTrue(request)
        self.assertEqual(texas.renewal_request_id, request)
        self.assertEqual(request.exposure_zone_ids.state_id, self.washington | self.texas)
        self.assertEqual(request.recipient, "ap@cascade.example.com")
        self.assertEqual(request.state, "sent")
        self.assertLogged(self.customer, "Renewal request sent automatically")
        self.assertIn("/certexpress/", self.emailed_link(request))

        self.run_job()
        self.next_day(washington | texas)
        self.run_job()
        self.assertEqual(len(self.invitations()), 1, "never twice for the same certificate")

    def test_no_renewal_request_when_off(self):
        self.company.certcapture_auto_renewal = False
        washington = self.pulled()
        self.sandbox.clear_requests()
        self.run_job()
        self.assertFalse(self.invitations())
        self.assertFalse(washington.renewal_request_id)
        self.assertTrue(self.reminders(), "reminders still go")

    def test_not_before_the_renewal_days(self):
        washington = self.pulled(expires_in=45)
        self.sandbox.clear_requests()
        self.run_job()
        self.assertFalse(self.invitations())
        self.assertFalse(washington.renewal_request_id)

    def test_a_replaced_certificate_is_not_renewed(self):
        old = self.pulled()
        self.pulled(expires_in=400, exemption_number="WA-NEW")
        self.sandbox.clear_requests()
        self.run_job()
        self.assertFalse(self.invitations())
        self.assertFalse(old.renewal_request_id)

    def test_a_customer_without_ap_email_is_noted_once_then_sent(self):
        washington = self.pulled()
        self.customer.write({"certcapture_ap_email": False, "email": False})
        self.sandbox.clear_requests()
        self.run_job()
        self.run_job()
        self.next_day(washington)
        self.run_job()
        self.assertFalse(self.invitations())
        self.assertIn("A/P email", washington.renewal_problem)
        notes = self.customer.message_ids.filtered(lambda m: "not sent automatically" in m.body)
        self.assertEqual(len(notes), 1, "one note per reason, not one per run")

        self.customer.certcapture_ap_email = "ap@cascade.example.com"
        self.next_day(washington)
        self.run_job()
        self.assertEqual(len(self.invitations()), 1)
        self.assertTrue(washington.renewal_request_id)
        self.assertFalse(washington.renewal_problem)

    def test_an_open_request_for_the_state_is_not_doubled(self):
        washington = self.pulled()
        customer = self.customer.with_user(self.salesperson)
        action = customer.action_certcapture_request_certificate()
        wizards = self.env[action["res_model"]].with_user(self.salesperson)
        wizards.browse(action["res_id"]).action_send()
        self.sandbox.clear_requests()
        self.run_job()
        self.assertFalse(self.invitations())
        self.assertFalse(washington.renewal_request_id)
        self.assertIn("still open", washington.renewal_problem)
        self.assertLogged(self.customer, "not sent automatically")

    def test_certcapture_down_leaves_the_renewal_for_the_next_run(self):
        washington = self.pulled()
        self.sandbox.set_faults(
            rules=[{"method": "POST", "path": "certexpressinvites", "status": 503}]
        )
        self.company.certcapture_read_timeout = 1.0
        self.run_job()
        self.assertFalse(washington.renewal_request_id)
        self.assertFalse(washington.renewal_problem, "not the customer's problem")
        self.sandbox.clear_faults()
        self.next_day(washington)
        self.run_job()
        self.assertTrue(washington.renewal_request_id)
