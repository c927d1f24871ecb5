"""CertCapture misbehaving: down, hanging, rate limiting, malformed, bad
certificates, deleted customers, concurrent pulls and checks. Each test
asserts that nothing is lost and nothing is duplicated."""

import time
from types import SimpleNamespace
from unittest.mock import patch

from odoo import fields
from odoo.http import _request_stack
from odoo.tests import tagged

from ..models.certcapture_service import CertCaptureUserError
from ..models.certcapture_sync import PULL_LOCK_NAMESPACE as PULL_LOCK
from .common import PDF_BYTES, CertCaptureCase


class FaultCase(CertCaptureCase):
    def pull(self, batch_size=50):
        return self.env["certcapture.sync"]._cron_pull_certificates(batch_size=batch_size)

    def customers_created(self):
        return [c for c in self.api_calls("POST") if c[1].endswith("/customers")]

    def in_user_request(self):
        """What Odoo's HTTP layer provides while a person's request runs."""
        _request_stack.push(SimpleNamespace(env=self.env))
        self.addCleanup(_request_stack.pop)


@tagged("post_install", "-at_install")
class TestTimeBudget(FaultCase):
    def test_hanging_certcapture_holds_a_save_for_the_budget_only(self):
        self.company.certcapture_time_budget = 1.5
        self.sandbox.set_faults(delay_path="/customers", delay_seconds=8)
        started = time.monotonic()
        order = self.create_order(interactive=True)
        self.assertLess(time.monotonic() - started, 3.0)
        self.assertEqual(order.certcapture_status, "error")
        self.assertIn("asked again later", order.certcapture_message)

    def test_long_retry_after_is_not_waited_for_in_a_save(self):
        self.sandbox.set_faults(
            rules=[{"method": "*", "path": ".*", "status": 429, "retry_after": 25, "times": 1}]
        )
        started = time.monotonic()
        order = self.create_order(interactive=True)
        self.assertLess(time.monotonic() - started, 3.0)
        self.assertEqual(order.certcapture_status, "error")
        self.assertIn("too many requests", order.certcapture_message)

    def test_one_budget_for_everything_a_user_request_does(self):
        """A note on an unresolved order pulls and checks again: both calls
        share the request's budget instead of each getting a full one."""
        order = self.create_order()
        self.assertEqual(order.certcapture_status, "missing")
        self.company.certcapture_time_budget = 1.5
        self.company.certcapture_status_cache_minutes = 0
        self.sandbox.set_faults(delay_path="/certificates", delay_seconds=1.2)
        self.in_user_request()
        started = time.monotonic()
        order.note = "Called the customer"
        self.assertLess(time.monotonic() - started, 2.2, "pull + check within one budget")
        self.assertEqual(order.certcapture_status, "error")


@tagged("post_install", "-at_install")
class TestCustomersInCertCapture(FaultCase):
    def test_a_failed_check_does_not_orphan_the_customer(self):
        self.sandbox.set_faults(
            rules=[{"method": "GET", "path": "/certificates/US/", "status": 500}]
        )
        first = self.create_order()
        self.assertEqual(first.certcapture_status, "error")
        self.sandbox.clear_faults()
        self.company.certcapture_status_cache_minutes = 0
        self.create_order()
        self.assertEqual(len(self.customers_created()), 1, self.api_calls())

    def test_a_rolled_back_transaction_does_not_orphan_the_customer(self):
        """The customer POST succeeded, then the whole transaction failed."""
        plain = self.env["res.partner"].create(
            {
                "name": "No Reference Inc",
                "is_company": True,
                "street": "1 Main St",
                "city": "Olympia",
                "zip": "98501",
                "state_id": self.washington.id,
                "country_id": self.us.id,
                "certcapture_exemption_number": "WA-1",
            }
        )
        with self.assertRaises(RuntimeError), self.env.cr.savepoint():
            self.create_order(partner=plain)
            raise RuntimeError("something later in the request failed")
        self.assertFalse(plain.certcapture_id, "rolled back with the transaction")
        order = self.create_order(partner=plain)
        self.assertEqual(order.certcapture_status, "missing")
        codes = {self.remote_customer(plain.certcapture_customer_code).customer_code}
        self.assertEqual(len(codes), 1)
        posted = [c for c in self.customers_created() if c[2] == 201 or c[2] == 200]
        self.assertEqual(len(posted), 1, f"one customer created in CertCapture: {self.api_calls()}")

    def test_a_customer_deleted_in_certcapture_is_sent_again(self):
        self.sync_customer()
        self.sandbox.delete_customer(self.customer.certcapture_customer_code)
        order = self.create_order()
        self.assertEqual(order.certcapture_status, "missing", order.certcapture_message)
        self.assertEqual(self.remote_customer("CASCADE-T").name, "Cascade Outfitters Test")
        self.sandbox.delete_customer(self.customer.certcapture_customer_code)
        action = self.customer.action_certcapture_refresh()
        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])


@tagged("post_install", "-at_install")
class TestPullFaults(FaultCase):
    def test_one_bad_certificate_does_not_stop_the_pull(self):
        self.sync_customer()
        self.add_remote_certificate(exemption_number="GOOD-1")
        bad = self.add_remote_certificate(exemption_number="BAD-2")
        self.add_remote_certificate(exemption_number="GOOD-3")
        self.sandbox.set_faults(
            rules=[
                {"method": "GET", "path": f"/certificates/{bad['id']}/attachment", "status": 404}
            ]
        )
        self.pull()
        certificates = self.customer.certcapture_certificate_ids
        with_file = set(certificates.filtered("pdf").mapped("exemption_number"))
        self.assertEqual(with_file, {"GOOD-1", "GOOD-3"})
        self.assertEqual(len(certificates), 3, "the bad one's record is in, without its file")
        failure = self.env["certcapture.pull.failure"].search([])
        self.assertEqual(failure.certcapture_id, bad["id"])
        self.assertTrue(failure.message)
        self.assertTrue(self.company.certcapture_pull_watermark, "the watermark moved on")
        # Retried later, once the certificate can be read.
        self.sandbox.clear_faults()
        self.pull()
        self.assertTrue(certificates.filtered(lambda c: c.exemption_number == "BAD-2").pdf)
        self.assertEqual(len(self.customer.certcapture_certificate_ids), 3)
        self.assertEqual(failure.state, "resolved")

    def test_a_server_error_on_the_files_leaves_them_waiting(self):
        self.sync_customer()
        for number in range(3):
            self.add_remote_certificate(exemption_number=f"N-{number}")
        self.sandbox.set_faults(
            rules=[{"method": "GET", "path": "/attachment", "status": 500, "times": 20}]
        )
        self.pull()
        certificates = self.customer.certcapture_certificate_ids
        self.assertEqual(len(certificates), 3, "the listing went through")
        self.assertTrue(self.company.certcapture_pull_watermark)
        self.assertEqual(certificates.mapped("pdf_waiting"), [True] * 3, "the files wait")
        self.assertFalse(self.env["certcapture.pull.failure"].search([]), "not the item's fault")
        self.sandbox.clear_faults()
        self.pull()
        self.assertTrue(all(certificates.mapped("pdf")))
        self.assertFalse(any(certificates.mapped("pdf_waiting")))

    def test_a_server_error_on_the_listing_keeps_the_watermark(self):
        self.sync_customer()
        for number in range(3):
            self.add_remote_certificate(exemption_number=f"N-{number}")
        self.sandbox.set_faults(
            rules=[{"method": "GET", "path": r"/certificates$", "status": 500, "times": 20}]
        )
        self.pull()
        self.assertFalse(self.company.certcapture_pull_watermark)
        self.assertFalse(self.customer.certcapture_certificate_ids)
        self.sandbox.clear_faults()
        self.pull()
        self.assertEqual(len(self.customer.certcapture_certificate_ids), 3)

    def test_an_oversized_pdf_is_recorded_and_skipped(self):
        self.sync_customer()
        self.add_remote_certificate(exemption_number="HUGE", pdf=PDF_BYTES + b"0" * 4096)
        self.add_remote_certificate(exemption_number="FINE")
        with patch.object(
            type(self.env["certcapture.service"]), "_make_client", big_pdf_limit(1024)
        ):
            self.pull()
        certificates = self.customer.certcapture_certificate_ids
        self.assertEqual(certificates.filtered("pdf").mapped("exemption_number"), ["FINE"])
        self.assertEqual(len(certificates), 2, "the huge one's record, without its file")
        self.assertIn("larger than", self.env["certcapture.pull.failure"].search([]).message)

    def test_a_check_during_a_pull_leaves_the_certificate_to_the_pull(self):
        """While a pull runs (it holds the company's pull lock), an order
        check answers from CertCapture without recording the certificate the
        pull is recording: no duplicate key, no wait."""
        self.sync_customer()
        self.add_remote_certificate()
        with self.registry.cursor() as pull_cr:
            pull_cr.execute("SELECT pg_advisory_xact_lock(%s, %s)", (PULL_LOCK, self.company.id))
            started = time.monotonic()
            order = self.create_order()
            self.assertLess(time.monotonic() - started, 2.0)
        self.assertEqual(order.certcapture_status, "exempt", order.certcapture_message)
        self.assertFalse(self.customer.certcapture_certificate_ids, "left to the pull")
        self.pull()
        self.assertEqual(len(self.customer.certcapture_certificate_ids), 1)

    def test_two_transactions_recording_one_certificate(self):
        """The second insert of the same certificate hits the unique index:
        the check skips it instead of failing the order."""
        self.sync_customer()
        api_certificate = self.add_remote_certificate()
        self.pull()
        with self.env["certcapture.service"]._session(self.company) as client:
            api_certificate = client.get_certificate(api_certificate["id"])
        certificates = type(self.env["certcapture.certificate"])
        sync = self.env["certcapture.sync"]
        # As if the other transaction's row were not visible yet.
        with patch.object(certificates, "search_fetch", lambda self, *a, **k: self.browse()):
            skipped = sync._record_answer_certificate(api_certificate, self.customer, self.company)
        self.assertFalse(skipped)
        self.assertEqual(len(self.customer.certcapture_certificate_ids), 1)


def big_pdf_limit(max_bytes):
    real = type_make_client()

    def make_client(self, company):
        client = real(self, company)
        client.max_pdf_bytes = max_bytes
        return client

    return make_client


def type_make_client():
    from ..models.certcapture_service import CertCaptureService

    return CertCaptureService._make_client


@tagged("post_install", "-at_install")
class TestRetryJob(FaultCase):
    def test_the_retry_job_checks_failed_orders_once_certcapture_is_back(self):
        self.sandbox.set_faults(rules=[{"path": ".*", "status": 503}])
        order = self.create_order()
        self.assertEqual(order.certcapture_status, "error")
        self.sandbox.clear_faults()
        order.sudo().certcapture_checked_at = fields.Datetime.now().replace(year=2000)
        self.env["certcapture.sync"]._cron_retry_order_checks()
        self.assertEqual(order.certcapture_status, "missing")


@tagged("post_install", "-at_install")
class TestUncertainRequests(FaultCase):
    POST_PATH = "customers/.*/certexpressinvites$"

    def send(self, order):
        action = order.action_certcapture_request_certificate()
        return self.env[action["res_model"]].browse(action["res_id"]).action_send()

    def settled_invitations_posted(self, delay):
        """POSTs of certificate requests that reached CertCapture, once a
        delayed answer had the time to leave (the sandbox logs a call then)."""
        time.sleep(delay)
        return [c for c in self.api_calls("POST") if c[1].endswith("/certexpressinvites")]

    def test_a_lost_answer_is_found_and_not_sent_twice(self):
        order = self.create_order()
        self.company.write({"certcapture_read_timeout": 1.0, "certcapture_time_budget": 8.0})
        self.sandbox.set_faults(delay_path=self.POST_PATH, delay_seconds=3)
        answer = self.send(order)
        self.assertIn("not sent twice", answer["params"]["message"])
        request = order.certcapture_request_ids
        self.assertEqual(request.state, "sent")
        self.assertTrue(request.certcapture_id)
        self.assertEqual(len(self.settled_invitations_posted(3)), 1)

    def test_a_request_that_never_arrived_says_so(self):
        order = self.create_order()
        self.sandbox.set_faults(drop_connection=self.POST_PATH)
        with self.assertRaises(CertCaptureUserError) as caught:
            self.send(order)
        self.assertIn("it was not sent", str(caught.exception))
        self.assertFalse(order.certcapture_request_ids)

    def test_an_unconfirmed_request_is_looked_for_before_sending_again(self):
        order = self.create_order()
        self.company.write({"certcapture_read_timeout": 1.0, "certcapture_time_budget": 8.0})
        # The request lands, its answer is lost and CertCapture cannot be asked.
        self.sandbox.set_faults(delay_path="certexpressinvites", delay_seconds=3)
        answer = self.send(order)
        self.assertEqual(answer["params"]["type"], "warning")
        self.assertEqual(order.certcapture_request_ids.state, "unconfirmed")
        self.sandbox.clear_faults()
        # The user sends again: the first one is found, nothing is sent twice.
        answer = self.send(order)
        self.assertIn("not sent twice", answer["params"]["message"])
        self.assertEqual(order.certcapture_request_ids.state, "sent")
        self.assertEqual(len(order.certcapture_request_ids), 1)
        self.assertEqual(len(self.settled_invitations_posted(1)), 1)


@tagged("post_install", "-at_install")
class TestUnreadableAnswers(FaultCase):
    def test_a_truncated_answer_keeps_the_order(self):
        self.sync_customer()
        self.sandbox.set_faults(truncated=r"/certificates/US/")
        order = self.create_order()
        self.assertEqual(order.certcapture_status, "error")
        self.assertIn("cannot be read", order.certcapture_message)
        self.sandbox.clear_faults()
        order.note = "updated"
        self.assertEqual(order.certcapture_status, "missing", "the next update checks again")

    def test_a_truncated_page_stops_the_batch_and_loses_nothing(self):
        self.sync_customer()
        self.add_remote_certificate(exemption_number="A")
        self.add_remote_certificate(exemption_number="B")
        self.sandbox.set_faults(truncated=r"/companies/\d+/certificates$")
        self.pull()
        self.assertFalse(self.company.certcapture_pull_watermark)
        self.assertFalse(self.customer.certcapture_certificate_ids)
        self.sandbox.clear_faults()
        self.pull()
        self.assertEqual(
            sorted(self.customer.certcapture_certificate_ids.mapped("exemption_number")), ["A", "B"]
        )

    def test_two_pulls_at_once_do_not_record_a_certificate_twice(self):
        self.sync_customer()
        self.add_remote_certificate()
        with self.registry.cursor() as other_cr:
            other_cr.execute("SELECT pg_advisory_xact_lock(%s, %s)", (PULL_LOCK, self.company.id))
            self.assertEqual(self.pull(), 0, "the second pull steps aside")
        self.assertEqual(self.pull(), 1)
        self.assertEqual(self.pull(), 0)
        self.assertEqual(len(self.customer.certcapture_certificate_ids), 1)
