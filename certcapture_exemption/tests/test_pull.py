import threading
import time
from datetime import date, timedelta
from unittest.mock import patch

from odoo import sql_db
from odoo.tests import tagged

from .. import ecm
from ..models.certcapture_sync import PULL_LOCK_NAMESPACE
from .common import PDF_BYTES, CertCaptureCase


@tagged("post_install", "-at_install")
class TestPull(CertCaptureCase):
    def pull(self, batch_size=50):
        return self.env["certcapture.sync"]._cron_pull_certificates(batch_size=batch_size)

    def test_pull_fills_certificate_and_customer_fields(self):
        self.sync_customer()
        self.add_remote_certificate()
        self.assertEqual(self.pull(), 1)
        certificate = self.customer.certcapture_certificate_ids
        self.assertEqual(len(certificate), 1)
        self.assertEqual(certificate.source, "pulled")
        self.assertEqual(certificate.state_id, self.washington)
        self.assertEqual(certificate.exemption_reason_id, self.resale)
        self.assertEqual(
            self.env["certcapture.certificate"].browse(certificate.id).pdf, certificate.pdf
        )
        self.customer.invalidate_recordset()
        self.assertEqual(self.customer.certcapture_exemption_number, "WA-RESALE-9")
        self.assertEqual(self.customer.certcapture_exemption_reason_id, self.resale)
        self.assertEqual(self.customer.certcapture_exempt_state_id, self.washington)
        self.assertEqual(
            self.customer.certcapture_certificate_expiration_date,
            date.today() + timedelta(days=365),
        )
        self.assertTrue(self.customer.certcapture_certificate_pdf)
        self.assertLogged(self.customer, "Exemption certificate received")
        self.assertTrue(self.company.certcapture_pull_watermark)

    def test_running_twice_creates_nothing_new(self):
        self.sync_customer()
        self.add_remote_certificate()
        self.pull()
        self.sandbox.clear_requests()
        self.assertEqual(self.pull(), 0, "the watermark is past the certificate")
        self.assertEqual(len(self.customer.certcapture_certificate_ids), 1)
        self.company.certcapture_pull_watermark = False  # a full re-pull
        self.assertEqual(self.pull(), 1)
        self.assertEqual(len(self.customer.certcapture_certificate_ids), 1)
        self.assertFalse([c for c in self.api_calls() if c[1].endswith("/attachment")])

    def test_unknown_customer_code_is_skipped(self):
        self.sync_customer()
        with self.env["certcapture.service"]._session(self.company) as client:
            client.create_customer(
                ecm.Customer(
                    customer_code="STRANGER",
                    name="Stranger",
                    line1="1 Main St",
                    city="Olympia",
                    postal_code="98501",
                    region="WA",
                    country="US",
                )
            )
        self.sandbox.add_certificate("STRANGER", region="WA", pdf=PDF_BYTES)
        partners_before = self.env["res.partner"].search_count([])
        self.pull()
        self.assertEqual(self.env["res.partner"].search_count([]), partners_before)
        self.assertFalse(self.env["certcapture.certificate"].search([]))
        self.assertTrue(self.company.certcapture_pull_watermark, "skipped, not failed")

    def test_a_file_that_is_not_a_pdf_is_skipped_and_retried(self):
        self.sync_customer()
        self.add_remote_certificate()
        self.sandbox.set_faults(non_pdf_attachment=True)
        self.pull()
        certificate = self.customer.certcapture_certificate_ids
        self.assertTrue(certificate, "CertCapture's record is in")
        self.assertFalse(certificate.pdf, "its file is not")
        self.assertFalse(certificate.pdf_waiting, "a failure, not a file still to download")
        failure = self.env["certcapture.pull.failure"].search([])
        self.assertIn("not a PDF", failure.message)
        self.assertTrue(self.company.certcapture_pull_watermark, "the others go on")
        self.sandbox.clear_faults()
        self.assertEqual(self.pull(), 1, "the failure is retried")
        self.assertTrue(certificate.pdf)
        self.assertEqual(len(self.customer.certcapture_certificate_ids), 1)
        self.assertEqual(failure.state, "resolved")

    def test_batches_resume_where_they_stopped(self):
        self.sync_customer()
        for number in range(5):
            self.add_remote_certificate(exemption_number=f"N-{number}")
        self.sandbox.clear_requests()
        with patch.object(type(self.env["ir.cron"]), "_notify_progress") as progress:
            # Pages of 4: three certificates, the fourth telling where the
            # batch may end; the next page starts again at the watermark's
            # microsecond (the third, known by id), then the last two.
            self.assertEqual(self.pull(batch_size=4), 3)
            self.assertEqual(progress.call_args.kwargs["remaining"], 1)
            self.assertEqual(self.pull(batch_size=4), 2)
            self.assertEqual(progress.call_args.kwargs["remaining"], 0)
        self.assertEqual(len(self.customer.certcapture_certificate_ids), 5)
        listings = [c for c in self.api_calls("GET") if c[1].endswith("/certificates")]
        self.assertEqual(len(listings), 2, "one listing call per batch")

    def test_overlapping_runs_are_refused(self):
        self.sync_customer()
        self.add_remote_certificate()
        with self.registry.cursor() as other_cr:
            other_cr.execute("SELECT pg_advisory_xact_lock(%s, %s)", (0x43435055, self.company.id))
            self.assertEqual(self.pull(), 0)
        self.assertEqual(self.pull(), 1)

    def test_refresh_button(self):
        self.sync_customer()
        self.add_remote_certificate()
        action = self.customer.action_certcapture_refresh()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(len(self.customer.certcapture_certificate_ids), 1)

    def test_pending_requests_are_followed(self):
        self.sync_customer()
        # CertCapture prepares the request for a while before it emails it.
        self.sandbox.configure(invite_ready_delay=3600)
        self.addCleanup(self.sandbox.configure, invite_ready_delay=0)
        request, _outcome = self.env["certcapture.sync"]._send_request(
            self.customer,
            self.company,
            "ap@cascade.example.com",
            self.env["certcapture.exposure.zone"].search([("region", "=", "WA")]),
            self.env["certcapture.exemption.reason"],
        )
        self.assertEqual(request.state, "in_progress")
        self.sandbox.make_invitations_ready()
        self.pull()
        self.assertEqual(request.state, "sent")
        self.assertEqual(request.email_status, "Sent")
        self.add_remote_certificate()
        self.pull()
        self.assertEqual(request.state, "completed")

    def test_a_pull_in_another_database_does_not_count(self):
        """pg_locks lists the whole server: the same company id pulling in
        another database must not make this one's order checks wait."""
        lock = (PULL_LOCK_NAMESPACE, self.company.id)
        with sql_db.db_connect("postgres").cursor() as other:
            other.execute("SELECT pg_advisory_xact_lock(%s, %s)", lock)
            self.assertFalse(self.env["certcapture.sync"]._pull_running(self.company))


@tagged("post_install", "-at_install")
class TestPullShape(CertCaptureCase):
    """How the pull spends queries, calls and threads: a page costs the same
    number of queries whatever its size, files are downloaded on threads
    once each, and a claimed file is never taken by a second worker."""

    def customers(self, count):
        partners = self.env["res.partner"].create(
            [
                {
                    "name": f"Shape customer {number}",
                    "is_company": True,
                    "street": "1 Main St",
                    "city": "Seattle",
                    "zip": "98101",
                    "state_id": self.washington.id,
                    "country_id": self.us.id,
                    "certcapture_exemption_number": f"S-{number}",
                    "ref": f"SHAPE-{number}",
                }
                for number in range(count)
            ]
        )
        for partner in partners:
            self.sync_customer(partner)
        return partners

    def listed_page(self, partners):
        """A page of one new certificate per customer, as the pull lists it."""
        for partner in partners:
            self.add_remote_certificate(partner, exemption_number=f"{partner.ref}-1")
        codes = set(partners.mapped("certcapture_customer_code"))
        with self.env["certcapture.service"]._session(self.company) as client:
            return [
                certificate
                for certificate in client.iter_certificates_changed_since(None, page_size=100)
                if certificate.customers[0].customer_code in codes
            ]

    def queries_to_ingest(self, page):
        sync = self.env["certcapture.sync"]
        self.env.flush_all()
        before = sql_db.sql_counter
        with self.env["certcapture.service"]._session(self.company) as client:
            sync._ingest_page(client, page, self.company, defer_files=True)
        self.env.flush_all()
        return sql_db.sql_counter - before

    def test_a_page_costs_the_same_queries_for_5_or_35_certificates(self):
        partners = self.customers(42)
        self.queries_to_ingest(self.listed_page(partners[:2]))  # Odoo's caches warmed
        small = self.listed_page(partners[2:7])
        self.assertEqual(len(small), 5)
        small_queries = self.queries_to_ingest(small)
        large = self.listed_page(partners[7:])
        self.assertEqual(len(large), 35)
        self.assertEqual(small_queries, self.queries_to_ingest(large))
        waiting = self.env["certcapture.certificate"].search([("pdf_waiting", "=", True)])
        self.assertEqual(len(waiting), 42, "records in, files waiting")

    def test_files_are_downloaded_on_threads_once_each(self):
        partners = self.customers(12)
        for partner in partners:
            self.add_remote_certificate(partner)
        threads = set()
        real = ecm.EcmClient.download_certificate_pdf

        def download(client, certificate_id):
            threads.add(threading.get_ident())
            time.sleep(0.02)  # long enough for the others to start
            return real(client, certificate_id)

        self.sandbox.clear_requests()
        with patch.object(ecm.EcmClient, "download_certificate_pdf", download):
            self.env["certcapture.sync"]._cron_pull_certificates()
        certificates = self.env["certcapture.certificate"].search(
            [("partner_id", "in", partners.ids)]
        )
        self.assertEqual(len(certificates), 12)
        self.assertTrue(all(certificates.mapped("pdf")))
        self.assertGreater(len(threads), 1, "downloads overlap")
        downloads = [call for call in self.api_calls("GET") if call[1].endswith("/attachment")]
        self.assertEqual(len(downloads), 12, "one download per certificate")
        logged = self.env["certcapture.api.log"].search([("path", "like", "%/attachment")])
        self.assertEqual(len(logged), 12, "every thread's calls are in the request log")

    def test_a_check_does_not_write_an_unchanged_certificate(self):
        self.sync_customer()
        self.add_remote_certificate()
        self.env["certcapture.sync"]._cron_pull_certificates()
        certificate = self.customer.certcapture_certificate_ids
        self.company.certcapture_status_cache_minutes = 0
        with patch.object(type(certificate), "write") as write:
            order = self.create_order()
        self.assertEqual(order.certcapture_certificate_id, certificate)
        write.assert_not_called()


@tagged("post_install", "-at_install")
class TestPullWorkers(CertCaptureCase):
    """Two cron workers downloading files at once, each in its own
    transaction, as Odoo's cron threads run them: data committed for real in
    cursors of their own (the test's transaction cannot be seen by them), and
    removed afterwards."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self.env(cr=cr)
            partner = env["res.partner"].create({"name": "Workers test customer"})
            self.certificate_ids = (
                env["certcapture.certificate"]
                .sudo()
                .create(
                    [
                        {
                            "partner_id": partner.id,
                            "company_id": self.company.id,
                            "certcapture_id": 990000 + number,
                            "source": "pulled",
                            "pdf_waiting": True,
                        }
                        for number in range(6)
                    ]
                )
                .ids
            )
            self.partner_id = partner.id
        self.addCleanup(self.remove_committed)

    def remove_committed(self):
        with self.registry.cursor() as cr:
            env = self.env(cr=cr)
            env["certcapture.certificate"].sudo().browse(self.certificate_ids).unlink()
            env["res.partner"].browse(self.partner_id).unlink()

    def test_two_workers_never_claim_the_same_file(self):
        with self.registry.cursor() as first_cr, self.registry.cursor() as second_cr:
            first = self.env(cr=first_cr)["certcapture.sync"]
            second = self.env(cr=second_cr)["certcapture.sync"]
            company = self.company.with_env(first.env)
            claimed_first = first._claim_waiting_files(company, 4)
            started = time.monotonic()
            claimed_second = second._claim_waiting_files(company.with_env(second.env), 4)
            self.assertLess(time.monotonic() - started, 1.0, "skipped, not waited for")
            self.assertEqual(len(claimed_first), 4)
            self.assertEqual(len(claimed_second), 2, "only what the first does not hold")
            self.assertFalse(set(claimed_first.ids) & set(claimed_second.ids))
            self.assertEqual(
                set(claimed_first.ids) | set(claimed_second.ids), set(self.certificate_ids)
            )
            first_cr.rollback()  # the first worker dies: its files wait again
            third = second._claim_waiting_files(company.with_env(second.env), 10)
            self.assertEqual(len(third), 6, "the same transaction holds its own claims too")

    def test_a_check_does_not_wait_for_a_worker_writing_the_certificate(self):
        with self.registry.cursor() as worker_cr, self.registry.cursor() as check_cr:
            worker = self.env(cr=worker_cr)["certcapture.sync"]
            claimed = worker._claim_waiting_files(self.company.with_env(worker.env), 1)
            check = self.env(cr=check_cr)["certcapture.sync"]
            record = check.env["certcapture.certificate"].sudo().browse(claimed.id)
            started = time.monotonic()
            check._write_unless_locked(record, {"exemption_number": "CHANGED"})
            self.assertLess(time.monotonic() - started, 1.0, "not waited for")
            self.assertNotEqual(record.exemption_number, "CHANGED", "left to the worker")
            worker_cr.rollback()
            check._write_unless_locked(record, {"exemption_number": "CHANGED"})
            self.assertEqual(record.exemption_number, "CHANGED", "written once free")
            check_cr.rollback()
