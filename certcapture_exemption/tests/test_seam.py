"""The one seam: every CertCapture call goes through the service's client
factory and session, inside a time budget when a person waits."""

import inspect
import threading
import time
from unittest.mock import patch

from odoo.tests import tagged

from .. import ecm
from ..models.certcapture_service import CertCaptureService, CertCaptureUserError
from .common import CertCaptureCase


def unreachable(self, company):
    """A client factory whose clients can reach nothing."""
    raise ecm.TransportError("Could not connect to Avalara (test).", transient=True)


@tagged("post_install", "-at_install")
class TestSeam(CertCaptureCase):
    def test_every_feature_goes_through_the_client_factory(self):
        self.sync_customer()
        with patch.object(CertCaptureService, "_make_client", unreachable):
            order = self.create_order()
            self.assertEqual(order.certcapture_status, "error")
            self.assertIn("could not be reached", order.certcapture_message)
            action = self.customer.action_certcapture_refresh()
            self.assertEqual(action["params"]["type"], "warning")
            ok, message = self.env["certcapture.sync"]._test_connection(self.company)
            self.assertFalse(ok)
            self.assertIn("could not be reached", message)
            with self.assertRaises(CertCaptureUserError):
                self.env["certcapture.sync"]._refresh_lists(self.company)
            self.assertEqual(self.env["certcapture.sync"]._cron_pull_certificates(), 0)
        self.assertTrue(order.exists(), "the order is kept")

    def test_a_save_waits_at_most_the_time_budget(self):
        self.sync_customer()
        self.company.certcapture_time_budget = 1.0
        self.sandbox.set_faults(delay_path="/certificates/US/WA", delay_seconds=5)
        started = time.monotonic()
        order = self.create_order()
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, 2.5, "a hanging CertCapture holds the save for the budget only")
        self.assertEqual(order.certcapture_status, "error")
        self.assertIn("did not answer in time", order.certcapture_message)

    def test_jobs_have_no_budget(self):
        service = self.env["certcapture.service"]
        self.assertEqual(service._time_budget(self.company), self.company.certcapture_time_budget)
        job = service.with_context(certcapture_job=True)
        self.assertIsNone(job._time_budget(self.company))


@tagged("post_install", "-at_install")
class TestNames(CertCaptureCase):
    """Everything the add-on adds to Odoo's own models is prefixed, so that
    it installs beside OCA's account_avatax_oca (which adds unprefixed
    exemption fields to the same models)."""

    CORE_MODELS = ("res.partner", "res.company", "sale.order", "res.config.settings")

    def test_fields_added_to_core_models_are_prefixed(self):
        fields = self.env["ir.model.fields"].search(
            [("model", "in", self.CORE_MODELS), ("modules", "ilike", "certcapture_exemption")]
        )
        self.assertGreater(len(fields), 20)
        for field in fields:
            if field.modules == "certcapture_exemption":
                self.assertTrue(field.name.startswith("certcapture_"), field.name)

    def test_methods_added_to_core_models_are_prefixed(self):
        for model in self.CORE_MODELS:
            mro = type(self.env[model]).__mro__
            ours = [cls for cls in mro if cls.__module__.startswith("odoo.addons.certcapture_")]
            theirs = [cls for cls in mro if cls not in ours]
            for cls in ours:
                for name, member in vars(cls).items():
                    if not inspect.isfunction(member) or any(name in vars(c) for c in theirs):
                        continue  # a field, or an override of Odoo's own method
                    self.assertIn("certcapture", name, f"{model}.{name}")


@tagged("post_install", "-at_install")
class TestConnections(CertCaptureCase):
    """A thread's calls reuse its HTTP connections; a client handed to another
    thread has its own."""

    def session_of(self, client):
        return client._transport.session

    def test_the_clients_of_a_thread_share_its_http_session(self):
        service = self.env["certcapture.service"]
        company = self.company.sudo()
        first, second = service._make_client(company), service._make_client(company)
        self.assertIs(self.session_of(first), self.session_of(second))
        first.close()  # a client does not close the thread's session
        self.assertEqual(second.ping().authenticated, True)
        own = service.with_context(certcapture_own_session=True)._make_client(company)
        self.assertIsNot(self.session_of(own), self.session_of(first))
        # Another thread (no ORM there: the key is read here) gets its own.
        key = (company._certcapture_base_url(), company.certcapture_account_id)
        self.assertIs(service._thread_http_session(*key), self.session_of(first))
        other_thread = []
        worker = threading.Thread(
            target=lambda: other_thread.append(service._thread_http_session(*key))
        )
        worker.start()
        worker.join()
        self.assertIsNot(other_thread[0], self.session_of(first))
