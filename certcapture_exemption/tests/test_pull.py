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
        with patch.object(type(self.env["ir.cron"]), "_notify_progress") as progress:
            self.assertEqual(self.pull(batch_size=2), 2)
            self.assertEqual(progress.call_args.kwargs["remaining"], 1)
            self.pull(batch_size=2)
            self.pull(batch_size=2)
            self.assertEqual(progress.call_args.kwargs["remaining"], 0)
        self.assertEqual(len(self.customer.certcapture_certificate_ids), 5)

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
