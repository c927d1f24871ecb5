"""One function per API model: stored record -> the JSON the contract names.

Computed fields (``ecmStatus``, ``valid``, ``requestLink``...) are derived
here at read time from the stored facts, so they follow the clock without any
background job.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timezone

from . import __version__
from .clock import format_datetime, parse_date
from .config import Company
from .seed import REASONS_BY_ID, ZONES_BY_ID, ExemptionReason, ExposureZone

#: Writable CustomerModel fields and their JSON type (all may also be null).
CUSTOMER_FIELDS: dict[str, type] = {
    "alternateId": str,
    "name": str,
    "attnName": str,
    "line1": str,
    "line2": str,
    "city": str,
    "postalCode": str,
    "region": str,
    "country": str,
    "phoneNumber": str,
    "faxNumber": str,
    "emailAddress": str,
    "contactName": str,
    "taxpayerIdNumber": str,
    "isBill": bool,
    "isShip": bool,
}

#: CertCapture stores a share; the sandbox only issues full exemptions.
EXEMPT_PERCENTAGE = 100.0


def ping_json(account_id: str) -> dict:
    return {
        "version": f"{__version__}-sandbox",
        "authenticated": True,
        "authenticationType": "AccountIdLicenseKey",
        "authenticatedAccountId": int(account_id),
    }


def company_json(company: Company) -> dict:
    return {"id": company.id, "companyCode": company.code, "name": company.name}


def setup_json(company: Company, account_id: str, status: str) -> dict:
    """ProvisionStatusModel: ``status`` is Provisioned, InProgress or NotProvisioned."""
    return {"status": status, "accountId": int(account_id), "companyId": company.id}


def zone_json(zone: ExposureZone) -> dict:
    return {
        "id": zone.id,
        "name": zone.name,
        "tag": zone.tag,
        "description": zone.description,
        "region": zone.region,
        "country": zone.country,
    }


def reason_json(reason: ExemptionReason) -> dict:
    return {"id": reason.id, "name": reason.name}


def customer_json(record: dict, active_certificates: list[dict] | None = None) -> dict:
    """CustomerModel; ``active_certificates`` (already serialized) when included."""
    body = {
        "id": record["id"],
        "companyId": record["companyId"],
        "customerCode": record["customerCode"],
        **{field: record.get(field) for field in CUSTOMER_FIELDS},
        "createdDate": record["createdDate"],
        "modifiedDate": record["modifiedDate"],
    }
    if active_certificates is not None:
        body["activeCertificates"] = active_certificates
    return body


def ecm_status(record: dict, on: date) -> str:
    """The certificate's usability on day ``on`` (CertCapture's ecmStatus)."""
    if record["status"] == "REVOKED":
        return "Invalid"
    if parse_date(record["expirationDate"]) < on:
        return "Expired"
    if parse_date(record["signedDate"]) > on:
        return "PendingFuture"
    return "Valid" if record["status"] == "COMPLETE" else "None"


def certificate_json(
    record: dict, on: date, customers: list[dict] | None = None, po_numbers: bool = False
) -> dict:
    """CertificateModel as seen on day ``on``; ``customers`` records when included,
    and ``poNumbers`` (PoNumberModel) when ``po_numbers`` is."""
    status = ecm_status(record, on)
    # Records saved before "hasDocument" existed had a filename only with a PDF.
    has_document = record.get("hasDocument", record["filename"] is not None)
    body = {
        "id": record["id"],
        "companyId": record["companyId"],
        "signedDate": record["signedDate"],
        "expirationDate": record["expirationDate"],
        "filename": record["filename"],
        "documentExists": has_document,
        "valid": status == "Valid",
        "verified": record["status"] == "COMPLETE",
        "exemptPercentage": EXEMPT_PERCENTAGE,
        "isSingleCertificate": record["isSingleCertificate"],
        "exemptionNumber": record["exemptionNumber"],
        "exemptionReason": reason_json(REASONS_BY_ID[record["exemptionReasonId"]]),
        "status": record["status"],
        "ecmStatus": status,
        "exposureZone": zone_json(ZONES_BY_ID[record["exposureZoneId"]]),
        "createdDate": record["createdDate"],
        "modifiedDate": record["modifiedDate"],
        "pageCount": 1 if has_document else 0,
    }
    if customers is not None:
        body["customers"] = [customer_json(customer) for customer in customers]
    if po_numbers:
        body["poNumbers"] = [
            {"id": index, "poNumber": number}
            for index, number in enumerate(record.get("poNumbers", []), start=1)
        ]
    return body


def exemption_status_json(certificate: dict | None) -> dict:
    """ExemptionStatus: ``certificate`` is the serialized best certificate or None."""
    return {"status": "Exempt" if certificate else "NotExempt", "certificate": certificate}


def invitation_is_ready(record: dict) -> bool:
    """Readiness is decided lazily, on read, from the stored ready time."""
    return record["readyAt"] <= time.time()


def upload_link(record: dict, base_url: str) -> str:
    """The CertExpress page of an invitation (the sandbox's upload form)."""
    return f"{base_url}/certexpress/{record['token']}"


def invitation_json(record: dict, base_url: str) -> dict:
    """CertExpressInvitationModel, following the request's delivery once it is Ready:

    - Email: ``emailStatus`` becomes ``Sent`` (the only value the SDK names; null
      before), and ``requestLink`` stays null: the email carries the link (see
      ``outbox_json``), which the SDK says is not usable for Email requests;
    - Download: ``requestLink`` is the page to hand the customer;
    - Fax: neither (the sandbox sends no fax).
    """
    ready = invitation_is_ready(record)
    method = record["deliveryMethod"]
    return {
        "id": record["id"],
        "companyId": record["companyId"],
        "recipient": record["recipient"],
        "customerCode": record["customerCode"],
        "emailStatus": "Sent" if ready and method == "Email" else None,
        "exposureZones": record["exposureZones"],
        "exemptReasons": record["exemptReasons"],
        "deliveryMethod": method,
        "message": None,
        "date": record["date"],
        "requestLink": upload_link(record, base_url) if ready and method == "Download" else None,
    }


def invitation_status_json(record: dict, base_url: str) -> dict:
    """One element of the answer to POST certexpressinvites."""
    return {
        "status": "Ready" if invitation_is_ready(record) else "InProgress",
        "invitation": invitation_json(record, base_url),
    }


def outbox_json(record: dict, company: Company, base_url: str) -> dict:
    """The email a Ready Email invitation sent: what the customer receives."""
    return {
        "invitationId": record["id"],
        "companyId": record["companyId"],
        "customerCode": record["customerCode"],
        "to": record["recipient"],
        "subject": f"{company.name} asks for your exemption certificate",
        "link": upload_link(record, base_url),
        "sentDate": format_datetime(
            datetime.fromtimestamp(max(record["readyAt"], 0), tz=timezone.utc)
        ),
    }
