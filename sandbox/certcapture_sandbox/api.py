"""Handlers of the AvaTax exemption calls listed in docs/api-reference.md.

Each takes the :class:`~.routing.Call` and its decoded path parameters
(``company`` already resolved by the app) and returns a response; failures
are raised as :class:`~.errors.ApiError`.
"""

from __future__ import annotations

from urllib.parse import quote

from werkzeug.wrappers import Response

from . import clock
from .config import Company
from .errors import invalid, not_found
from .query import (
    DATE_FIELD,
    INT_FIELD,
    TEXT_FIELD,
    apply_filter,
    fetch_result,
    includes,
    parse_filter,
    sort_records,
)
from .responses import json_response
from .routing import Call
from .seed import EXEMPTION_REASONS, EXPOSURE_ZONES, ZONES_BY_ID
from .serializers import (
    certificate_json,
    company_json,
    customer_json,
    ecm_status,
    exemption_status_json,
    invitation_json,
    invitation_status_json,
    ping_json,
    reason_json,
    setup_json,
    zone_json,
)
from .validation import (
    linked_customer_codes,
    new_certificates,
    new_customers,
    new_invitations,
    replacement_customer,
)

CERTIFICATE_FILTER_FIELDS = {"modifiedDate": DATE_FIELD, "createdDate": DATE_FIELD}
CERTIFICATE_ORDER_FIELDS = ("id", "createdDate", "modifiedDate", "signedDate", "expirationDate")
#: What ListCertExpressInvitations can filter on: every field but companyId, customer,
#: coverLetter, exposureZones, exemptReasons and requestLink (AvaTaxApi.cs).
INVITATION_FILTER_FIELDS = {
    "id": INT_FIELD,
    "customerCode": TEXT_FIELD,
    "recipient": TEXT_FIELD,
    "date": DATE_FIELD,
    "emailStatus": TEXT_FIELD,
    "deliveryMethod": TEXT_FIELD,
}
INVITATION_ORDER_FIELDS = ("id", "date", "customerCode")

#: What the attachment call answers when the non_pdf_attachment fault is on:
#: the kind of login page a misconfigured proxy sends instead of the file.
NON_PDF_ATTACHMENT = (
    b"<!DOCTYPE html><html><head><title>Sign in</title></head>"
    b"<body><h1>Session expired</h1><p>Please sign in again.</p></body></html>"
)


def ping(call: Call) -> Response:
    return json_response(ping_json(call.config.account_id))


def list_companies(call: Call) -> Response:
    args = call.request.args
    companies = [company_json(company) for company in call.store.companies]
    predicates = parse_filter(args.get("$filter"), {"companyCode": TEXT_FIELD})
    selected = apply_filter(companies, predicates)
    return json_response(fetch_result(selected, args, call.path))


def certificate_setup(call: Call, company: Company) -> Response:
    status = call.store.setup_status(company.id)
    return json_response(setup_json(company, call.config.account_id, status))


def request_certificate_setup(call: Call, company: Company) -> Response:
    """RequestCertificateSetup: no body; starts provisioning, answers the status."""
    status = call.store.request_setup(company.id, call.config.setup_delay)
    return json_response(setup_json(company, call.config.account_id, status))


def get_customer(call: Call, company: Company, customer_code: str) -> Response:
    """GetCustomer; ``$include`` may name ``active_certificates``, ``shipTos`` and
    ``billTos`` (the others are accepted and ignored)."""
    record = call.store.customer(company.id, customer_code)
    wanted = includes(call.request.args)
    active = None
    if "active_certificates" in wanted:
        today = clock.today()
        active = [
            certificate_json(certificate, today)
            for certificate in sort_records(
                call.store.certificates(company.id, customer_code), None, CERTIFICATE_ORDER_FIELDS
            )
            if ecm_status(certificate, today) == "Valid"
        ]
    body = customer_json(record, active)
    for name, key in (("shiptos", "shipTos"), ("billtos", "billTos")):
        if name in wanted:
            ids = record.get("shipToIds" if key == "shipTos" else "billToIds", [])
            body[key] = [customer_json(linked) for linked in call.store.customers_by_ids(ids)]
    return json_response(body)


def create_customers(call: Call, company: Company) -> Response:
    created = call.store.create_customers(company.id, new_customers(call.json(), company.id))
    return json_response([customer_json(record) for record in created], status=201)


def replace_customer(call: Call, company: Company, customer_code: str) -> Response:
    call.store.customer(company.id, customer_code)  # an unknown code is 404 before any 400
    fields = replacement_customer(call.json(), customer_code, company.id)
    record = call.store.replace_customer(company.id, customer_code, fields)
    return json_response(customer_json(record))


def link_ship_to_customers(call: Call, company: Company, code: str) -> Response:
    """LinkShipToCustomersToBillCustomer: body LinkCustomersModel; answers the bill-to."""
    call.store.customer(company.id, code)  # an unknown bill-to is 404 before any 400
    record = call.store.link_ship_tos(company.id, code, linked_customer_codes(call.json()))
    return json_response(customer_json(record))


def exemption_status(
    call: Call, company: Company, customer_code: str, country: str, region: str
) -> Response:
    """Exempt with the best valid certificate for the region, else NotExempt.

    "Best" is the one that stays valid longest, then the latest signed, then
    the newest.
    """
    today = clock.today()
    candidates = [
        certificate
        for certificate in call.store.certificates(company.id, customer_code)
        if ecm_status(certificate, today) == "Valid"
        and ZONES_BY_ID[certificate["exposureZoneId"]].region == region.upper()
        and ZONES_BY_ID[certificate["exposureZoneId"]].country == country.upper()
    ]
    best = max(
        candidates,
        key=lambda c: (c["expirationDate"], c["signedDate"], c["id"]),
        default=None,
    )
    return json_response(exemption_status_json(certificate_json(best, today) if best else None))


def list_customer_certificates(call: Call, company: Company, customer_code: str) -> Response:
    return _certificate_page(
        call, lambda: call.store.certificates(company.id, customer_code, copied=False)
    )


def list_certificates(call: Call, company: Company) -> Response:
    return _certificate_page(call, lambda: call.store.certificates(company.id, copied=False))


def create_certificates(call: Call, company: Company) -> Response:
    """CreateCertificates: each certificate COMPLETE at once, linked to its customers.

    ``$preValidatedExemptionReason`` is accepted and changes nothing: the sandbox
    has no verification step to skip.
    """
    records = new_certificates(call.json(), lambda code: call.store.has_customer(company.id, code))
    created = call.store.create_certificates(company.id, records)
    today = clock.today()
    return json_response(
        [
            certificate_json(record, today, call.store.customers_by_ids(record["customerIds"]))
            for record in created
        ],
        status=201,
    )


def get_certificate(call: Call, company: Company, certificate_id: int) -> Response:
    serialize = _certificate_serializer(call)
    return json_response(serialize(call.store.certificate(company.id, certificate_id)))


def get_attachment(call: Call, company: Company, certificate_id: int) -> Response:
    kind = call.request.args.get("$type", "Pdf")
    if kind.lower() != "pdf":
        raise invalid([f"$type {kind!r} is not supported; the sandbox stores Pdf"], "$type")
    certificate = call.store.certificate(company.id, certificate_id)
    if call.app.faults.current().non_pdf_attachment:
        return Response(NON_PDF_ATTACHMENT, content_type="text/html; charset=utf-8")
    pdf = call.store.attachment(company.id, certificate_id)
    if pdf is None:
        raise not_found("Attachment", certificate_id)
    disposition = f"attachment; filename*=UTF-8''{quote(certificate['filename'])}"
    return Response(
        pdf, content_type="application/pdf", headers={"Content-Disposition": disposition}
    )


def list_exposure_zones(call: Call) -> Response:
    return json_response(
        fetch_result(list(EXPOSURE_ZONES), call.request.args, call.path, zone_json)
    )


def list_exempt_reasons(call: Call) -> Response:
    return json_response(
        fetch_result(list(EXEMPTION_REASONS), call.request.args, call.path, reason_json)
    )


def create_invitations(call: Call, company: Company, customer_code: str) -> Response:
    call.store.customer(company.id, customer_code)  # an unknown code is 404 before any 400
    created = call.store.create_invitations(
        company.id, customer_code, new_invitations(call.json()), call.config.invite_ready_delay
    )
    return json_response(
        [invitation_status_json(record, call.base_url) for record in created], status=201
    )


def list_invitations(call: Call, company: Company) -> Response:
    """ListCertExpressInvitations: every customer's requests, oldest first by default."""
    args = call.request.args
    predicates = parse_filter(args.get("$filter"), INVITATION_FILTER_FIELDS, _refused(call))
    invitations = [
        invitation_json(record, call.base_url) for record in call.store.invitations(company.id)
    ]
    selected = apply_filter(invitations, predicates)
    ordered = sort_records(selected, args.get("$orderBy"), INVITATION_ORDER_FIELDS, default="id")
    return json_response(_exemption_page(call, ordered))


def get_invitation(
    call: Call, company: Company, customer_code: str, invitation_id: int
) -> Response:
    record = call.store.invitation(company.id, customer_code, invitation_id)
    return json_response(invitation_json(record, call.base_url))


def _certificate_serializer(call: Call):
    """CertificateModel JSON as of today, with customers if ``$include`` asks."""
    today = clock.today()
    wanted = includes(call.request.args)
    with_customers = "customers" in wanted

    def serialize(record: dict) -> dict:
        customers = call.store.customers_by_ids(record["customerIds"]) if with_customers else None
        return certificate_json(record, today, customers, po_numbers="po_numbers" in wanted)

    return serialize


def _certificate_page(call: Call, load) -> Response:
    """A page of the certificates ``load()`` returns (the store's own records):
    filtered, sorted and serialized while the store holds still, so that only
    the page is copied."""
    args = call.request.args
    predicates = parse_filter(args.get("$filter"), CERTIFICATE_FILTER_FIELDS, _refused(call))
    serialize = _certificate_serializer(call)
    with call.store.holding_still():
        selected = apply_filter(load(), predicates)
        ordered = sort_records(selected, args.get("$orderBy"), CERTIFICATE_ORDER_FIELDS)
        page = _exemption_page(call, ordered, serialize)
    return json_response(page)


def _refused(call: Call) -> frozenset[str]:
    """The $filter operations the exemption lists refuse (``refuse_gt_filter``)."""
    return frozenset({"gt"}) if call.config.refuse_gt_filter else frozenset()


def _exemption_page(call: Call, records: list, serialize=None) -> dict:
    """A FetchResult page of an exemption list: ``$top`` capped at ``max_top``, pages
    of equal size."""
    return fetch_result(
        records,
        call.request.args,
        call.path,
        serialize,
        cap=call.config.max_top,
        exemption=True,
    )
