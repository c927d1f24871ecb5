"""The one seam: every CertCapture call goes through the service's client
factory and session, inside a time budget when a person waits."""

import datetime
import inspect
import ipaddress
import os
import ssl
import tempfile
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
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


def self_signed_certificate(directory):
    """(certificate file, key file) of a certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    certificate_file = os.path.join(directory, "certificate.pem")
    key_file = os.path.join(directory, "key.pem")
    with open(certificate_file, "wb") as file:
        file.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_file, "wb") as file:
        file.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return certificate_file, key_file


class PingHandler(BaseHTTPRequestHandler):
    """Answers any GET with an accepted ping, keeping the connection open
    (HTTP/1.1 with a length), as Avalara's servers do."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b'{"version": "test", "authenticated": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


class CountingHTTPSServer(ThreadingHTTPServer):
    """Counts the TLS connections it accepts (one handshake each)."""

    daemon_threads = True
    connections = 0

    def process_request(self, request, client_address):
        self.connections += 1
        return super().process_request(request, client_address)


@contextmanager
def keep_alive_https_server():
    """An HTTPS server on loopback that keeps connections alive, trusted by
    the HTTP client for the time of the ``with``."""
    with tempfile.TemporaryDirectory() as directory:
        certificate_file, key_file = self_signed_certificate(directory)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate_file, key_file)
        server = CountingHTTPSServer(("127.0.0.1", 0), PingHandler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        server.url = f"https://127.0.0.1:{server.server_address[1]}"
        try:
            with patch.dict(os.environ, {"REQUESTS_CA_BUNDLE": certificate_file}):
                yield server
        finally:
            server.shutdown()
            server.server_close()


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

    def test_the_calls_of_a_thread_share_one_https_connection(self):
        # What sharing the session is for: Avalara keeps connections alive,
        # and each new one costs a TCP and a TLS handshake.
        service = self.env["certcapture.service"]
        company = self.company.sudo()
        with keep_alive_https_server() as server:
            company.certcapture_custom_url = server.url
            key = (company._certcapture_base_url(), company.certcapture_account_id)
            self.addCleanup(lambda: service._thread_http_session(*key).close())
            for _order in range(3):  # each order check makes a client of its own
                client = service._make_client(company)
                self.assertTrue(client.ping().authenticated)
                client.close()
            self.assertEqual(server.connections, 1, "one handshake for the thread's calls")
            own = service.with_context(certcapture_own_session=True)._make_client(company)
            self.assertTrue(own.ping().authenticated)
            own.close()
            self.assertEqual(server.connections, 2, "a client of its own opens its own")
