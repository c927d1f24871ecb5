"""The customer portal: a portal user of an exempt customer sees its
company's certificates, downloads their PDFs and starts a certificate upload
(a Download request) through CertExpress; nobody sees another customer's."""

import base64
from datetime import date, timedelta

from odoo import http
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged

from ..models.certcapture_service import CertCaptureUserError
from .common import PDF_BYTES, CertCaptureCase, CertCaptureSandboxMixin, pdf_b64

OTHER_PDF = b"%PDF-1.4\n% another customer's certificate\n%%EOF\n"


class PortalSetupMixin(CertCaptureSandboxMixin):
    """The exempt customer with a certificate and a portal user on one of
    its contacts; another exempt customer with its own; a customer that is
    not exempt; a second company where the first customer also has one."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Certificate = cls.env["certcapture.certificate"]
        cls.contact = cls.env["res.partner"].create(
            {
                "name": "Pat Buyer",
                "parent_id": cls.customer.id,
                "email": "pat@cascade.example.com",
            }
        )
        cls.portal_user = new_test_user(
            cls.env,
            "pat@cascade.example.com",
            groups="base.group_portal",
            partner_id=cls.contact.id,
        )
        cls.reason = cls.resale[:1]
        cls.certificate = Certificate.create(
            {
                "partner_id": cls.customer.id,
                "state_id": cls.washington.id,
                "exemption_number": "WA-OWN-1",
                "exemption_reason_id": cls.reason.id,
                "signed_date": date.today() - timedelta(days=30),
                "expiration_date": date.today() + timedelta(days=400),
                "pdf": pdf_b64(),
                "pdf_filename": "wa-own-1.pdf",
            }
        )
        cls.other_customer = cls.env["res.partner"].create(
            {
                "name": "Other Exempt Buyer",
                "is_company": True,
                "street": "1 Main Street",
                "city": "Austin",
                "zip": "73301",
                "state_id": cls.texas.id,
                "country_id": cls.us.id,
                "email": "ap@other.example.com",
                "certcapture_exemption_number": "TX-99",
            }
        )
        cls.other_portal_user = new_test_user(
            cls.env,
            "buyer@other.example.com",
            groups="base.group_portal",
            partner_id=cls.env["res.partner"]
            .create({"name": "Olga Other", "parent_id": cls.other_customer.id})
            .id,
        )
        cls.other_certificate = Certificate.create(
            {
                "partner_id": cls.other_customer.id,
                "state_id": cls.texas.id,
                "exemption_number": "TX-OTHER-1",
                "pdf": base64.b64encode(OTHER_PDF),
            }
        )
        cls.other_company = cls.env["res.company"].create({"name": "Other Seller"})
        cls.other_company_certificate = Certificate.create(
            {
                "partner_id": cls.customer.id,
                "company_id": cls.other_company.id,
                "state_id": cls.washington.id,
                "exemption_number": "WA-OTHER-SELLER",
                "pdf": pdf_b64(),
            }
        )
        cls.plain_customer = cls.env["res.partner"].create(
            {"name": "Not Exempt Shop", "is_company": True, "email": "shop@plain.example.com"}
        )
        cls.plain_portal_user = new_test_user(
            cls.env,
            "shop@plain.example.com",
            groups="base.group_portal",
            partner_id=cls.env["res.partner"]
            .create({"name": "Sam Shop", "parent_id": cls.plain_customer.id})
            .id,
        )

    def customer_requests(self, partner=None):
        return self.env["certcapture.certificate.request"].search(
            [("partner_id", "=", (partner or self.customer).id)]
        )


@tagged("post_install", "-at_install")
class TestPortalAccess(PortalSetupMixin, CertCaptureCase):
    """What the records and the engine allow, without HTTP."""

    def test_portal_user_reads_own_companys_certificates_only(self):
        Certificate = self.env["certcapture.certificate"].with_user(self.portal_user)
        self.assertEqual(Certificate.search([]), self.certificate)
        own = self.certificate.with_user(self.portal_user)
        self.assertEqual(own.exemption_number, "WA-OWN-1")
        self.assertEqual(own.exemption_reason_id.name, self.reason.name)
        self.assertTrue(own.pdf, "the PDF of its own certificate")
        for hidden in (self.other_certificate, self.other_company_certificate):
            with self.assertRaises(AccessError):
                hidden.with_user(self.portal_user).read(["exemption_number"])
        with self.assertRaises(AccessError):
            own.write({"exemption_number": "CHANGED"})
        with self.assertRaises(AccessError):
            self.env["certcapture.certificate.request"].with_user(self.portal_user).search([])

    def test_other_customers_and_non_exempt_customers_see_nothing_of_it(self):
        Certificate = self.env["certcapture.certificate"]
        self.assertEqual(
            Certificate.with_user(self.other_portal_user).search([]), self.other_certificate
        )
        self.assertFalse(Certificate.with_user(self.plain_portal_user).search([]))

    def test_internal_users_keep_their_access(self):
        salesman = new_test_user(
            self.env, "cc_portal_sales", groups="sales_team.group_sale_salesman"
        )
        visible = self.env["certcapture.certificate"].with_user(salesman).search([])
        self.assertIn(self.certificate, visible)
        self.assertIn(self.other_certificate, visible)
        self.assertNotIn(self.other_company_certificate, visible, "multi-company rule")
        self.assertTrue(self.other_certificate.with_user(salesman).pdf)

    def test_validity_as_the_portal_shows_it(self):
        today = date.today()
        certificate = self.certificate
        self.assertEqual(certificate.validity, "valid")
        certificate.expiration_date = today + timedelta(days=10)
        self.assertEqual(certificate.validity, "expiring")
        certificate.expiration_date = today - timedelta(days=1)
        self.assertEqual(certificate.validity, "expired")
        certificate.write({"expiration_date": False, "valid": False})
        self.assertEqual(certificate.validity, "invalid")

    def test_download_request_is_recorded_and_completed_by_the_pull(self):
        sync = self.env["certcapture.sync"].with_user(self.portal_user)
        zones = sync._portal_request_zones(self.customer, self.company)
        self.assertEqual(zones.state_id, self.washington, "the state of its certificate")
        request = sync._send_download_request(self.customer, self.company, zones)
        self.assertRecordValues(
            request,
            [
                {
                    "partner_id": self.customer.id,
                    "company_id": self.company.id,
                    "delivery_method": "download",
                    "recipient": "pat@cascade.example.com",
                    "state": "sent",
                }
            ],
        )
        self.assertTrue(request.certcapture_id)
        self.assertTrue(request.request_link.startswith(self.sandbox.url + "/certexpress/"))
        self.assertIn(request, self.customer.certcapture_request_ids, "tracked on the customer")
        self.assertEqual(self.customer.certcapture_certificate_status, "valid")
        # CertCapture hands out the link of a Download request only, and emails nobody.
        self.assertFalse(self.sandbox.sent_emails())
        self.assertLogged(self.customer, "started a certificate upload on the customer portal")
        # The customer uploads on CertExpress; the pull brings it and closes the request.
        self.add_remote_certificate(exemption_number="WA-NEW-2")
        self.env["certcapture.sync"]._cron_pull_certificates()
        self.assertEqual(request.state, "completed")

    def test_a_request_being_prepared_gets_its_link_on_retry(self):
        self.sandbox.configure(invite_ready_delay=600)
        sync = self.env["certcapture.sync"].with_user(self.portal_user)
        zones = sync._portal_request_zones(self.customer, self.company)
        request = sync._send_download_request(self.customer, self.company, zones)
        self.assertEqual(request.state, "in_progress")
        self.assertFalse(request.request_link)
        sync._refresh_download_request(request)
        self.assertFalse(request.request_link, "still being prepared")
        self.sandbox.make_invitations_ready()
        sync._refresh_download_request(request)
        self.assertEqual(request.state, "sent")
        self.assertIn("/certexpress/", request.request_link)

    def test_a_failed_request_records_nothing(self):
        self.sandbox.set_faults(
            rules=[{"method": "POST", "path": "/certexpressinvites", "status": 400}]
        )
        sync = self.env["certcapture.sync"].with_user(self.portal_user)
        zones = sync._portal_request_zones(self.customer, self.company)
        # Not assertRaises: its savepoint would roll the note back too.
        try:
            sync._send_download_request(self.customer, self.company, zones)
        except CertCaptureUserError as error:
            self.assertIn("CertCapture", error.args[0])
        else:
            self.fail("CertCapture refused: the engine says so")
        self.assertFalse(self.customer_requests())
        self.assertLogged(self.customer, "could not start a certificate upload")

    def test_an_incomplete_address_is_for_the_seller_to_fix(self):
        self.customer.street = False
        sync = self.env["certcapture.sync"].with_user(self.portal_user)
        try:
            sync._send_download_request(
                self.customer, self.company, self.env["certcapture.exposure.zone"]
            )
        except CertCaptureUserError as error:
            self.assertIn("Street", error.args[0])
        else:
            self.fail("nothing to send without an address")
        self.assertFalse(self.api_calls(), "CertCapture is not called")
        self.assertFalse(self.customer_requests())
        self.assertLogged(self.customer, "CertCapture needs the full address")


@tagged("post_install", "-at_install")
class TestPortalHttp(PortalSetupMixin, HttpCase):
    """The portal's pages and routes, over HTTP, as the portal users."""

    def login(self, user):
        self.authenticate(user.login, user.login)

    def url_open(self, *args, **kwargs):
        # The server's requests share this test's cursor, not its cache.
        self.env.flush_all()
        response = super().url_open(*args, **kwargs)
        self.env.invalidate_all()
        return response

    def counters(self):
        return self.make_jsonrpc_request(
            "/my/counters", {"counters": ["certcapture_certificate_count"]}
        )

    def post(self, url, **data):
        return self.url_open(
            url,
            data={"csrf_token": http.Request.csrf_token(self), **data},
            allow_redirects=False,
        )

    def test_home_entry_and_list_of_own_certificates(self):
        self.login(self.portal_user)
        home = self.url_open("/my")
        self.assertEqual(home.status_code, 200)
        self.assertIn('href="/my/exemption-certificates"', home.text)
        self.assertEqual(self.counters(), {"certcapture_certificate_count": 1})
        page = self.url_open("/my/exemption-certificates")
        self.assertEqual(page.status_code, 200)
        self.assertIn("WA-OWN-1", page.text)
        self.assertIn("Washington", page.text)
        self.assertIn(self.reason.name, page.text)
        self.assertIn("Valid", page.text)
        self.assertIn(f"/my/exemption-certificates/{self.certificate.id}/pdf", page.text)
        for hidden in ("TX-OTHER-1", "WA-OTHER-SELLER"):
            self.assertNotIn(hidden, page.text)

    def test_an_exempt_customer_without_certificates_has_the_entry(self):
        self.certificate.unlink()
        self.login(self.portal_user)
        self.assertEqual(self.counters(), {"certcapture_certificate_count": 0})
        home = self.url_open("/my").text
        entry = home.split('href="/my/exemption-certificates"', 1)[0].rsplit("<div", 1)[1]
        self.assertNotIn("d-none", entry, "shown without waiting for a count")
        page = self.url_open("/my/exemption-certificates")
        self.assertEqual(page.status_code, 200)
        self.assertIn("No exemption certificate is on file", page.text)
        self.assertIn("Send a new certificate", page.text)

    def test_a_non_exempt_customer_has_no_entry_and_no_page(self):
        self.login(self.plain_portal_user)
        self.assertEqual(self.counters(), {"certcapture_certificate_count": 0})
        home = self.url_open("/my").text
        entry = home.split('href="/my/exemption-certificates"', 1)[0].rsplit("<div", 1)[1]
        self.assertIn("d-none", entry, "hidden, and a count of 0 keeps it so")
        self.assertEqual(self.url_open("/my/exemption-certificates").status_code, 404)
        self.assertEqual(
            self.url_open(f"/my/exemption-certificates/{self.certificate.id}/pdf").status_code,
            404,
        )

    def test_other_customers_portal_user_sees_nothing_of_this_customer(self):
        self.login(self.other_portal_user)
        page = self.url_open("/my/exemption-certificates")
        self.assertIn("TX-OTHER-1", page.text)
        self.assertNotIn("WA-OWN-1", page.text)
        response = self.url_open(f"/my/exemption-certificates/{self.certificate.id}/pdf")
        self.assertEqual(response.status_code, 404)
        response = self.url_open(f"/web/content/certcapture.certificate/{self.certificate.id}/pdf")
        self.assertNotEqual(response.status_code, 200)
        self.assertNotEqual(response.content, PDF_BYTES)

    def test_download_own_pdf_only(self):
        self.login(self.portal_user)
        response = self.url_open(f"/my/exemption-certificates/{self.certificate.id}/pdf")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, PDF_BYTES)
        self.assertEqual(response.headers["Content-Type"], "application/pdf")
        self.assertIn("wa-own-1.pdf", response.headers["Content-Disposition"])
        for hidden in (self.other_certificate, self.other_company_certificate):
            response = self.url_open(f"/my/exemption-certificates/{hidden.id}/pdf")
            self.assertEqual(response.status_code, 404)
            self.assertNotIn(b"%PDF", response.content)
            response = self.url_open(f"/web/content/certcapture.certificate/{hidden.id}/pdf")
            self.assertNotEqual(response.status_code, 200)
            self.assertNotIn(b"%PDF", response.content)

    def test_send_a_new_certificate_goes_to_certexpress(self):
        self.login(self.portal_user)
        # Whatever the form carries, the request is for the user's own company.
        response = self.post(
            "/my/exemption-certificates/request",
            partner_id=str(self.other_customer.id),
            company_id=str(self.other_company.id),
        )
        self.assertEqual(response.status_code, 303)
        request = self.customer_requests()
        self.assertEqual(len(request), 1)
        self.assertRecordValues(
            request,
            [
                {
                    "company_id": self.company.id,
                    "delivery_method": "download",
                    "recipient": "pat@cascade.example.com",
                    "state": "sent",
                }
            ],
        )
        self.assertEqual(response.headers["Location"], request.request_link)
        self.assertTrue(request.request_link.startswith(self.sandbox.url + "/certexpress/"))
        self.assertFalse(self.customer_requests(self.other_customer))
        # The page is the sandbox's CertExpress upload page for this customer.
        landing = self.url_open(request.request_link)
        self.assertIn("Exemption certificate for Cascade Outfitters Test", landing.text)

    def test_send_needs_the_csrf_token_and_a_post(self):
        self.login(self.portal_user)
        response = self.url_open(
            "/my/exemption-certificates/request", data={"x": "1"}, allow_redirects=False
        )
        self.assertEqual(response.status_code, 400)
        response = self.url_open("/my/exemption-certificates/request", allow_redirects=False)
        self.assertEqual(response.status_code, 405)
        self.assertFalse(self.customer_requests())

    def test_a_non_exempt_customer_cannot_send(self):
        self.login(self.plain_portal_user)
        response = self.post("/my/exemption-certificates/request")
        self.assertEqual(response.status_code, 404)
        self.assertFalse(self.customer_requests(self.plain_customer))
        self.assertFalse(self.api_calls("POST"), "CertCapture is not called")

    def test_a_link_being_prepared_and_try_again(self):
        self.sandbox.configure(invite_ready_delay=600)
        self.login(self.portal_user)
        response = self.post("/my/exemption-certificates/request")
        request = self.customer_requests()
        pending_url = f"/my/exemption-certificates/requests/{request.id}"
        self.assertTrue(response.headers["Location"].endswith(pending_url))
        page = self.url_open(pending_url)
        self.assertIn("is being prepared", page.text)
        self.assertIn("Try again", page.text)
        # Another customer's user cannot look at it or make it call CertCapture.
        self.login(self.other_portal_user)
        self.assertEqual(self.url_open(pending_url).status_code, 404)
        self.assertEqual(self.post(f"{pending_url}/check").status_code, 404)
        # Its own user tries again once CertCapture has the page ready.
        self.login(self.portal_user)
        self.sandbox.make_invitations_ready()
        response = self.post(f"{pending_url}/check")
        self.assertEqual(response.status_code, 303)
        self.assertEqual(request.state, "sent")
        self.assertEqual(response.headers["Location"], request.request_link)

    def test_certcapture_failing_shows_a_page_and_records_nothing(self):
        self.sandbox.set_faults(
            rules=[{"method": "POST", "path": "/certexpressinvites", "status": 400}]
        )
        self.login(self.portal_user)
        with self.assertLogs("odoo.addons.certcapture_exemption", level="WARNING"):
            response = self.post("/my/exemption-certificates/request")
        self.assertEqual(response.status_code, 303)
        page = self.url_open(response.headers["Location"])
        self.assertIn("could not be started right now", page.text)
        self.assertNotIn("CertCapture refused", page.text, "no detail for the customer")
        self.assertFalse(self.customer_requests())
        self.assertLogged(self.customer, "could not start a certificate upload")

    def test_internal_user_still_opens_certificates_in_the_backend(self):
        self.authenticate("admin", "admin")
        response = self.url_open(
            f"/web/content/certcapture.certificate/{self.other_certificate.id}/pdf"
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, OTHER_PDF)
