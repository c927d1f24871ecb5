"""The ``/_sandbox/`` control interface: faults, reset, request log, test data.

It needs no Avalara credentials (the sandbox listens on loopback by default)
and is never subject to faults, so a test can always repair what it broke.
The same operations back the Python API of :class:`~.server.SandboxServer`.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date

from werkzeug.wrappers import Response

from . import clock
from .errors import invalid, not_found
from .pdf import sample_pdf
from .responses import json_response
from .routing import Call
from .seed import REASONS_BY_NAME, ZONES_BY_REGION
from .serializers import certificate_json, outbox_json

CERTIFICATE_STATUSES = (
    "COMPLETE",
    "PENDING",
    "PENDING-FUTURE",
    "PENDING-MULTI",
    "PENDING-SINGLE",
    "REVOKED",
)


def add_certificate(
    app,
    customer_code: str,
    region: str = "WA",
    company_code: str = "DEFAULT",
    exemption_number: str | None = None,
    reason: str = "RESALE",
    signed_date: date | str | None = None,
    expiration_date: date | str | None = None,
    single_use: bool = False,
    pdf: bytes | None = None,
    status: str = "COMPLETE",
    filename: str | None = None,
    po_numbers: list[str] | tuple[str, ...] = (),
) -> dict:
    """Create a certificate as if the customer had uploaded it; its CertificateModel.

    Defaults: exemption number "<region>-123", signed today, never expires
    (9999-12-31), a generated one-page PDF. ``pdf=b""`` makes a certificate
    without a document. Raises ApiError 404 for an unknown company or
    customer, 400 for an unknown region, reason or status.
    """
    company = app.store.company_by_code(company_code)
    if company is None:
        raise not_found("Company", company_code)
    zone = ZONES_BY_REGION.get(str(region).upper())
    chosen_reason = REASONS_BY_NAME.get(str(reason).upper())
    problems = []
    if zone is None:
        problems.append(f"region {region!r} is not a seeded exposure zone")
    if chosen_reason is None:
        problems.append(f"reason {reason!r} is not one of {sorted(REASONS_BY_NAME)}")
    for name, value in (("exemption_number", exemption_number), ("filename", filename)):
        if value is not None and not isinstance(value, str):
            problems.append(f"{name} must be a string")
    if pdf is not None and not isinstance(pdf, bytes):
        problems.append("pdf must be bytes (base64 text over HTTP)")
    if status not in CERTIFICATE_STATUSES:
        problems.append(f"status {status!r} is not one of {list(CERTIFICATE_STATUSES)}")
    try:
        signed = clock.parse_date(signed_date) if signed_date else clock.today()
        expires = clock.parse_date(expiration_date) if expiration_date else clock.NEVER_EXPIRES
    except ValueError as error:
        problems.append(f"bad date: {error}")
    if problems:
        raise invalid(problems)
    record = app.store.add_certificate(
        company.id,
        customer_code,
        zone_id=zone.id,
        reason_id=chosen_reason.id,
        exemption_number=exemption_number or f"{zone.region}-123",
        signed_date=signed,
        expiration_date=expires,
        single_use=bool(single_use),
        status=status,
        pdf=sample_pdf(f"Exemption certificate for {customer_code}", zone.name)
        if pdf is None
        else pdf,
        filename=filename,
        po_numbers=[str(number) for number in po_numbers],
    )
    return certificate_json(record, clock.today(), po_numbers=bool(po_numbers))


def get_faults(call: Call) -> Response:
    return json_response(call.app.faults.to_dict())


def put_faults(call: Call) -> Response:
    try:
        call.app.faults.replace(call.json() or {})
    except ValueError as error:
        raise invalid([str(error)], target="faults") from None
    return get_faults(call)


def delete_faults(call: Call) -> Response:
    call.app.faults.clear()
    return get_faults(call)


def reset(call: Call) -> Response:
    call.app.reset()
    return json_response({"reset": True})


def get_requests(call: Call) -> Response:
    return json_response(
        [
            {"method": method, "path": path, "status": status}
            for method, path, status in call.app.requests
        ]
    )


def delete_requests(call: Call) -> Response:
    call.app.clear_requests()
    return json_response([])


def post_certificate(call: Call) -> Response:
    """``add_certificate`` over HTTP; ``pdf`` travels base64-encoded."""
    body = call.json()
    if not isinstance(body, dict) or not isinstance(body.get("customer_code"), str):
        raise invalid(["send a JSON object with at least customer_code"], target="body")
    if isinstance(body.get("pdf"), str):
        try:
            body["pdf"] = base64.b64decode(body["pdf"], validate=True)
        except binascii.Error:
            raise invalid(["pdf must be base64"], target="pdf") from None
    try:
        certificate = add_certificate(call.app, **body)
    except TypeError as error:
        raise invalid([str(error)], target="body") from None
    return json_response(certificate, status=201)


def post_invitations_ready(call: Call) -> Response:
    return json_response({"ready": call.store.make_invitations_ready()})


def sent_emails(app, base_url: str) -> list[dict]:
    """The emails the Ready Email invitations sent, each with the link it carries."""
    return [
        outbox_json(record, app.store.company(record["companyId"]), base_url)
        for record in app.store.sent_emails()
    ]


def get_outbox(call: Call) -> Response:
    """What Email invitations sent: the customer's side of an email request."""
    return json_response(sent_emails(call.app, call.base_url))
