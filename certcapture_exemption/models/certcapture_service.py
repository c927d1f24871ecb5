"""The one seam between Odoo and CertCapture.

Every model that needs CertCapture asks this service: it builds the client
for a company from its settings, turns Odoo records into API objects and back,
and maps the client's typed errors to one message a user can act on. Nothing
else in the add-on imports the client.
"""

import hashlib
import json
import logging
from contextlib import contextmanager

from odoo import _, api, models
from odoo.exceptions import UserError
from odoo.modules.module import get_manifest

from .. import ecm

_logger = logging.getLogger(__name__)

# Named in every request's X-Avalara-Client header.
ADDON_VERSION = get_manifest("certcapture_exemption")["version"]


class CertCaptureUserError(UserError):
    """A CertCapture failure, worded for the user. Callers that must not block
    (order creation, scheduled jobs) catch it and keep its text."""


class CertCaptureService(models.AbstractModel):
    _name = "certcapture.service"
    _description = "CertCapture Service"

    # ------------------------------------------------------------ the client

    @api.model
    def _client(self, company):
        """A client for ``company``, with its AvaTax company id resolved."""
        company = company.sudo()
        if not company.certcapture_enabled:
            raise CertCaptureUserError(
                _(
                    "CertCapture is not enabled for %s (Settings > Sales > CertCapture).",
                    company.name,
                )
            )
        if not (company.certcapture_account_id and company.certcapture_license_key):
            raise CertCaptureUserError(
                _(
                    "CertCapture of %s: set the account ID and license key in Settings.",
                    company.name,
                )
            )
        if not company.certcapture_company_code:
            raise CertCaptureUserError(
                _("CertCapture of %s: set the AvaTax company code in Settings.", company.name)
            )
        try:
            client = ecm.EcmClient(
                company._certcapture_base_url(),
                company.certcapture_account_id,
                company.certcapture_license_key,
                company_id=company.certcapture_company_id or None,
                connect_timeout=company.certcapture_connect_timeout or 5.0,
                read_timeout=company.certcapture_read_timeout or 30.0,
                app_version=ADDON_VERSION,
            )
        except ecm.EcmError as error:
            raise CertCaptureUserError(self._user_message(error, company)) from error
        if client.company_id is None:
            with self._mapped_errors(company):
                found = client.find_company(company.certcapture_company_code)
            if not found:
                raise CertCaptureUserError(
                    _(
                        "AvaTax has no company with the code %(code)s for this account "
                        "(company %(company)s): check the company code in Settings.",
                        code=company.certcapture_company_code,
                        company=company.name,
                    )
                )
            company.certcapture_company_id = found.id
            client.company_id = found.id
        return client

    @contextmanager
    def _session(self, company):
        """``with service._session(company) as client:`` any EcmError raised
        inside becomes a CertCaptureUserError with a message for people."""
        client = self._client(company)
        with self._mapped_errors(company):
            yield client

    @contextmanager
    def _mapped_errors(self, company):
        try:
            yield
        except ecm.EcmError as error:
            _logger.warning(
                "CertCapture call failed for company %s: %s %s -> %s %s",
                company.id,
                error.method,
                error.path,
                error.status,
                error.code,
            )
            raise CertCaptureUserError(self._user_message(error, company)) from error

    @api.model
    def _user_message(self, error, company):
        """One sentence that says what failed and what to do about it."""
        detail = error.message or error.code or ""
        if isinstance(error, ecm.AuthenticationError):
            return _(
                "CertCapture refused the credentials of %s: check the account ID and license "
                "key in Settings > Sales > CertCapture.",
                company.name,
            )
        if isinstance(error, ecm.NotProvisionedError):
            return _(
                "Exemption certificates (CertCapture) are not set up for AvaTax company %s: "
                "ask Avalara to provision it, or check the company code.",
                company.certcapture_company_code,
            )
        if isinstance(error, ecm.RateLimitedError):
            return _("CertCapture is receiving too many requests; it will be asked again later.")
        if isinstance(error, ecm.RequestTimeoutError):
            return _("CertCapture did not answer in time; it will be asked again later.")
        if isinstance(error, ecm.TransportError):
            return _("CertCapture could not be reached (%s); it will be asked again later.", detail)
        if isinstance(error, ecm.ServerError):
            return _(
                "CertCapture had an internal error (HTTP %s); it will be asked again later.",
                error.status,
            )
        if isinstance(error, ecm.ProtocolError):
            return _("CertCapture sent an answer that cannot be read: %s", detail)
        if isinstance(error, ecm.ConfigurationError):
            return _(
                "CertCapture settings of %(company)s are not usable: %(detail)s",
                company=company.name,
                detail=detail,
            )
        if isinstance(error, ecm.NotFoundError):
            return _("CertCapture does not know this record: %s", detail)
        return _("CertCapture refused the request: %s", detail)

    @api.model
    def _notification(self, title, message, kind="success", next_action=None):
        """A toast for a button's answer; failures stay until closed."""
        params = {"title": title, "message": message, "type": kind, "sticky": kind != "success"}
        if next_action:
            params["next"] = next_action
        return {"type": "ir.actions.client", "tag": "display_notification", "params": params}

    # ------------------------------------------------------- settings actions

    @api.model
    def _test_connection(self, company):
        """(ok, message) for the Settings' Test connection button."""
        try:
            client = self._client(company)
            with self._mapped_errors(company):
                ping = client.ping()
                if not ping.authenticated:
                    return False, _(
                        "CertCapture answered but did not accept the credentials: check the "
                        "account ID and license key."
                    )
                setup = client.certificate_setup()
        except CertCaptureUserError as error:
            return False, str(error.args[0])
        if not setup.is_provisioned:
            return False, _(
                "Authenticated as account %(account)s and company %(code)s (id %(id)s) was "
                "found, but exemption certificates are not provisioned for it (status "
                "%(status)s): ask Avalara to set up CertCapture.",
                account=ping.authenticated_account_id,
                code=company.certcapture_company_code,
                id=client.company_id,
                status=setup.status,
            )
        return True, _(
            "Authenticated as account %(account)s; company %(code)s found (AvaTax id %(id)s); "
            "exemption certificates are provisioned.",
            account=ping.authenticated_account_id,
            code=company.certcapture_company_code,
            id=client.company_id,
        )

    @api.model
    def _refresh_lists(self, company):
        """Load exposure zones and exemption reasons; returns their counts."""
        with self._session(company) as client:
            zones = list(client.iter_exposure_zones())
            reasons = list(client.iter_exemption_reasons())
        self.env["certcapture.exposure.zone"].sudo()._sync_from_api(zones)
        self.env["certcapture.exempt.reason"].sudo()._sync_from_api(reasons)
        return len(zones), len(reasons)

    # ------------------------------------------------------------- customers

    @api.model
    def _customer_payload(self, partner):
        """The CertCapture customer for a commercial partner."""
        return ecm.Customer(
            customer_code=partner.certcapture_customer_code,
            name=partner.name,
            line1=partner.street or None,
            line2=partner.street2 or None,
            city=partner.city or None,
            postal_code=partner.zip or None,
            region=partner.state_id.code or None,
            country=partner.country_id.code or None,
            email_address=partner.certcapture_ap_email or partner.email or None,
            phone_number=partner.phone or None,
            contact_name=partner.child_ids[:1].name or None,
            is_bill=True,
            is_ship=True,
        )

    @staticmethod
    def _payload_hash(customer):
        return hashlib.sha256(json.dumps(customer.to_api(), sort_keys=True).encode()).hexdigest()

    @api.model
    def _sync_customer(self, partner, company, client):
        """Create the customer in CertCapture the first time, update it when
        its fields changed since the last sync; send nothing otherwise."""
        partner = partner.commercial_partner_id.with_company(company)
        partner._certcapture_ensure_customer_code()
        payload = self._customer_payload(partner)
        payload_hash = self._payload_hash(payload)
        if partner.certcapture_id and partner.certcapture_sync_hash == payload_hash:
            return partner.certcapture_customer_code
        if partner.certcapture_id:
            try:
                remote = client.update_customer(payload)
            except ecm.NotFoundError:
                # Deleted on the CertCapture side: create it again.
                remote = client.create_customer(payload)
        else:
            try:
                remote = client.create_customer(payload)
            except ecm.ValidationError as create_error:
                # Already there (created by another system, or by us before
                # this database forgot): take it over with a full update.
                try:
                    client.get_customer(payload.customer_code)
                except ecm.NotFoundError:
                    raise create_error from None
                remote = client.update_customer(payload)
        partner.sudo().write(
            {
                "certcapture_id": remote.id or 0,
                "certcapture_sync_hash": payload_hash,
                "certcapture_last_sync": self.env.cr.now(),
            }
        )
        partner.message_post(
            body=_("Customer %s sent to CertCapture.", payload.customer_code),
            subtype_xmlid="mail.mt_note",
        )
        return payload.customer_code

    @api.model
    def _exemption_status(self, partner, company, state):
        """(status, certificate record) of ``partner`` for ``state``, asking
        CertCapture (after syncing the customer) unless the cache is fresh."""
        cache = self.env["certcapture.status.cache"].sudo()
        cached = cache._lookup(partner, company, state)
        if cached:
            return cached.status, cached.certificate_id
        with self._session(company) as client:
            code = self._sync_customer(partner, company, client)
            answer = client.get_exemption_status(code, state.code, state.country_id.code)
        certificate = self.env["certcapture.certificate"]
        if answer.certificate:
            certificate = certificate.sudo()._upsert_from_api(
                answer.certificate, partner.commercial_partner_id, company
            )
        status = "exempt" if answer.is_exempt else "missing"
        cache._store(partner, company, state, status, certificate)
        return status, certificate

    @api.model
    def _send_invitation(self, partner, company, recipient, zones, reasons):
        """Create a CertExpress request; returns the invitation record."""
        with self._session(company) as client:
            code = self._sync_customer(partner, company, client)
            result = client.create_invitation(
                code,
                recipient,
                [zone.certcapture_id for zone in zones],
                [reason.certcapture_id for reason in reasons],
            )
        return (
            self.env["certcapture.invitation"]
            .sudo()
            ._create_from_api(result, partner.commercial_partner_id, company, zones, reasons)
        )
