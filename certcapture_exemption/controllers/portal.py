"""The customer portal: a customer's users see their company's exemption
certificates, download their PDFs and upload a new one through CertExpress.

Whose certificates: always the portal user's own commercial partner, in the
current company (the user's); nothing a request carries chooses another
customer. Certificates are read through the portal record rule
(security/certcapture_security.xml), never sudo; certificate requests, the
seller's records, which portal users cannot read, through the one check of
``_certcapture_request_of_customer``.
"""

import logging

from odoo import http
from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager
from odoo.http import request
from werkzeug.exceptions import NotFound

from ..models.certcapture_service import CertCaptureUserError

_logger = logging.getLogger(__name__)

PORTAL_URL = "/my/exemption-certificates"


class CertCapturePortal(CustomerPortal):
    # ------------------------------------------------------------ helpers

    def _certcapture_portal_customer(self):
        """The customer whose certificates the user sees: their commercial
        partner, when CertCapture is on for the company and the customer is
        tax exempt or holds certificates of it; else an empty recordset (no
        entry, no page)."""
        company = request.env.company
        customer = request.env.user.commercial_partner_id
        # The settings are the administrator's: read as superuser, only to
        # know whether the portal offers the page.
        if not company.sudo().certcapture_enabled:
            return customer.browse()
        if customer.certcapture_is_exempt or request.env["certcapture.certificate"].search_count(
            self._certcapture_certificate_domain(customer), limit=1
        ):
            return customer
        return customer.browse()

    def _certcapture_certificate_domain(self, customer):
        return [
            ("partner_id", "=", customer.id),
            ("company_id", "=", request.env.company.id),
        ]

    def _certcapture_request_of_customer(self, request_id):
        """The customer's own Download request ``request_id`` of this
        company, as superuser, or NotFound. Portal users have no access to
        requests (they are the seller's records): this check is the rule."""
        customer = self._certcapture_portal_customer()
        certificate_request = (
            request.env["certcapture.certificate.request"].sudo().browse(request_id).exists()
        )
        if not (
            customer
            and certificate_request
            and certificate_request.partner_id == customer
            and certificate_request.company_id == request.env.company
            and certificate_request.delivery_method == "download"
        ):
            raise NotFound()
        return certificate_request

    def _certcapture_go_to_upload(self, certificate_request):
        """Off to CertExpress when the link is there, else to the page that
        says it is being prepared."""
        link = certificate_request.request_link or ""
        if link.startswith(("https://", "http://")):
            return request.redirect(link, local=False)
        return request.redirect(f"{PORTAL_URL}/requests/{certificate_request.id}")

    def _certcapture_failed(self, error):
        """Back to the list, which says it could not start. The customer gets
        no detail of the seller's CertCapture setup: the log and the
        customer's chatter keep it."""
        _logger.warning(
            "Customer portal: certificate request of partner %s failed: %s",
            request.env.user.commercial_partner_id.id,
            error,
        )
        return request.redirect(f"{PORTAL_URL}?error=request")

    # ------------------------------------------------------------ home

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "certcapture_certificate_count" in counters:
            customer = self._certcapture_portal_customer()
            values["certcapture_certificate_count"] = (
                request.env["certcapture.certificate"].search_count(
                    self._certcapture_certificate_domain(customer)
                )
                if customer
                else 0
            )
        if not counters:
            # The home page itself: an exempt customer without any
            # certificate (count 0) needs the entry most, to send one, so the
            # entry's visibility does not wait for the count.
            values["certcapture_portal_customer"] = self._certcapture_portal_customer()
        return values

    # ------------------------------------------------------------ pages

    @http.route(
        [PORTAL_URL, f"{PORTAL_URL}/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_certcapture_certificates(self, page=1, error=None, **kw):
        customer = self._certcapture_portal_customer()
        if not customer:
            raise NotFound()
        Certificate = request.env["certcapture.certificate"]
        domain = self._certcapture_certificate_domain(customer)
        pager = portal_pager(
            url=PORTAL_URL,
            total=Certificate.search_count(domain),
            page=page,
            step=self._items_per_page,
        )
        certificates = Certificate.search(
            domain, limit=self._items_per_page, offset=pager["offset"]
        )
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "certcapture_certificates",
                "customer": customer,
                "certificates": certificates,
                # Which have a PDF, without loading the files.
                "with_pdf": certificates.with_context(bin_size=True).filtered("pdf"),
                "pager": pager,
                "default_url": PORTAL_URL,
                "certcapture_request_failed": error == "request",
            }
        )
        return request.render("certcapture_exemption.portal_my_certcapture_certificates", values)

    @http.route(f"{PORTAL_URL}/<int:certificate_id>/pdf", type="http", auth="user", website=True)
    def portal_certcapture_certificate_pdf(self, certificate_id, **kw):
        customer = self._certcapture_portal_customer()
        certificate = request.env["certcapture.certificate"].search(
            [("id", "=", certificate_id), *self._certcapture_certificate_domain(customer)]
        )
        if not (customer and certificate and certificate.with_context(bin_size=True).pdf):
            raise NotFound()
        stream = request.env["ir.binary"]._get_stream_from(
            certificate,
            "pdf",
            filename=certificate.pdf_filename or f"certificate-{certificate.id}.pdf",
            mimetype="application/pdf",
        )
        return stream.get_response(as_attachment=True)

    @http.route(f"{PORTAL_URL}/request", type="http", auth="user", methods=["POST"], website=True)
    def portal_certcapture_send_request(self, **kw):
        """Send a new certificate: a Download request for the user's own
        company, then off to its CertExpress page."""
        customer = self._certcapture_portal_customer()
        if not customer:
            raise NotFound()
        company = request.env.company
        sync = request.env["certcapture.sync"]
        try:
            certificate_request = sync._send_download_request(
                customer, company, sync._portal_request_zones(customer, company)
            )
        except CertCaptureUserError as error:
            return self._certcapture_failed(error)
        return self._certcapture_go_to_upload(certificate_request)

    @http.route(f"{PORTAL_URL}/requests/<int:request_id>", type="http", auth="user", website=True)
    def portal_certcapture_request(self, request_id, **kw):
        """A request whose page CertCapture is still preparing."""
        certificate_request = self._certcapture_request_of_customer(request_id)
        if certificate_request.request_link:
            return self._certcapture_go_to_upload(certificate_request)
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "certcapture_request",
                "certificate_request": certificate_request,
            }
        )
        return request.render("certcapture_exemption.portal_my_certcapture_request_pending", values)

    @http.route(
        f"{PORTAL_URL}/requests/<int:request_id>/check",
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def portal_certcapture_request_check(self, request_id, **kw):
        """Try again: ask CertCapture whether the page is ready now."""
        certificate_request = self._certcapture_request_of_customer(request_id)
        try:
            request.env["certcapture.sync"]._refresh_download_request(certificate_request)
        except CertCaptureUserError as error:
            return self._certcapture_failed(error)
        return self._certcapture_go_to_upload(certificate_request)
