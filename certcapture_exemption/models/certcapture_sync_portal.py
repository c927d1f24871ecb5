"""The customer portal's engine: certificate requests a customer starts
itself, by a CertExpress link Odoo hands it (Download delivery) instead of an
email CertCapture sends.

Its callers (controllers/portal.py) pass the portal user's own commercial
partner and company, never values read from the request: the calls made here
concern that customer only.
"""

import logging

from odoo import _, api, fields, models

from .. import ecm
from ..tools import normalize_email
from .certcapture_service import CertCaptureUserError

_logger = logging.getLogger(__name__)


class CertCaptureSync(models.AbstractModel):
    _inherit = "certcapture.sync"

    @api.model
    def _portal_request_zones(self, partner, company):
        """The states a customer's own request asks for: those of its
        certificates of ``company`` (to renew them), else its address's. The
        CertExpress page lets it choose others."""
        partner = partner.commercial_partner_id.sudo()
        states = (
            partner.certcapture_certificate_ids.filtered(lambda c: c.company_id == company).state_id
            or partner.state_id
        )
        return self.env["certcapture.exposure.zone"].sudo().search([("state_id", "in", states.ids)])

    @api.model
    def _send_download_request(self, partner, company, zones, user=None):
        """Start a certificate request whose CertExpress link goes to the
        customer's own user (the customer portal) rather than by email.

        Returns the request (as superuser); its ``request_link`` is the page
        to send the user to, or empty while CertCapture prepares it (the
        request is then ``in_progress``: ``_refresh_download_request`` or the
        scheduled follow-up fills it in). A CertCapture failure is noted on
        the customer and raises CertCaptureUserError; no request is recorded:
        a Download request emails nobody, so one whose answer was lost is
        simply never used (and recording it as unconfirmed would make the
        next emailed request look for it instead of being sent)."""
        partner = partner.commercial_partner_id
        user = user or self.env.user
        recipient = normalize_email(user.email)
        zone_ids = sorted(set(zones.mapped("certcapture_id")))
        reasons = partner.sudo().certcapture_exemption_reason_id
        try:
            missing = partner.sudo()._certcapture_missing_address_fields()
            if missing:
                # CertCapture refuses such a customer; the client would not
                # even send it.
                raise CertCaptureUserError(
                    _(
                        "CertCapture needs the full address of a customer: add %s.",
                        ", ".join(missing),
                    )
                )
            with self._service()._session(company) as client:
                result = self._for_customer(
                    client,
                    partner,
                    company,
                    lambda code: client.create_invitation(
                        code,
                        recipient or None,
                        zone_ids,
                        reasons.mapped("certcapture_id"),
                        delivery_method=ecm.DELIVERY_DOWNLOAD,
                    ),
                )
        except CertCaptureUserError as error:
            # The portal user is told only that it failed: the seller's
            # people learn why (an incomplete address, the settings...).
            self._note(
                partner,
                _(
                    "%(user)s could not start a certificate upload on the customer portal: "
                    "%(error)s",
                    user=user.name,
                    error=error.args[0],
                ),
            )
            raise
        link = result.invitation.request_link if result.is_ready else None
        request = (
            self.env["certcapture.certificate.request"]
            .sudo()
            .create(
                {
                    "partner_id": partner.id,
                    "company_id": company.id,
                    "delivery_method": "download",
                    # Who asked for it: the record needs an address, and the
                    # user's login is theirs when the email is not usable.
                    "recipient": recipient or user.login,
                    "exposure_zone_ids": [fields.Command.set(zones.ids)],
                    "exemption_reason_ids": [fields.Command.set(reasons.ids)],
                    "certcapture_id": result.invitation.id,
                    "request_link": link or False,
                    "state": "sent" if link else "in_progress",
                }
            )
        )
        self.env["certcapture.status.cache"].sudo()._invalidate(partner)
        self._note(
            partner,
            _(
                "%(user)s started a certificate upload on the customer portal for %(states)s "
                "(CertCapture request %(id)s).",
                user=user.name,
                states=", ".join(zones.mapped("name")) or "-",
                id=request.certcapture_id,
            ),
        )
        return request

    @api.model
    def _refresh_download_request(self, request):
        """Ask CertCapture again for a request still being prepared; returns
        it, with its link once CertCapture has it."""
        request = request.sudo()
        if request.state == "in_progress" and request.certcapture_id:
            with self._service()._session(request.company_id) as client:
                self._refresh_requests(client, request)
        return request
