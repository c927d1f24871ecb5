"""The CertExpress page behind an invitation's ``requestLink``.

A person plays the customer here: picks the states, enters the exemption
details and uploads the signed PDF. Success creates one COMPLETE certificate
per chosen state, linked to the invitation's customer and visible to the API
at once. Every value put into the HTML is escaped.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from string import Template

from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response

from . import clock
from .responses import html_response
from .routing import Call
from .seed import EXEMPTION_REASONS, EXPOSURE_ZONES, REASONS_BY_ID, ZONES_BY_ID
from .serializers import invitation_is_ready

TEMPLATES = Path(__file__).with_name("templates")


def show_form(call: Call, token: str) -> Response:
    found = _open_invitation(call, token)
    if found is None:
        return _link_not_valid()
    invitation, customer, company = found
    initial = {
        "zones": invitation["exposureZones"],
        "reason": (invitation["exemptReasons"] or [None])[0],
        "exemption_number": "",
        "signed_date": clock.today().isoformat(),
        "expiration_date": "",
        "single_use": False,
        "po_number": "",
    }
    return _form_page(customer, company, initial, problems=[])


def submit_form(call: Call, token: str) -> Response:
    found = _open_invitation(call, token)
    if found is None:
        return _link_not_valid()
    invitation, customer, company = found
    values, problems = _read_form(call)
    if problems:
        return _form_page(customer, company, values, problems, status=400)
    upload = call.request.files["document"]
    certificates = [
        call.store.add_certificate(
            company.id,
            invitation["customerCode"],
            zone_id=zone_id,
            reason_id=values["reason"],
            exemption_number=values["exemption_number"],
            signed_date=values["signed"],
            expiration_date=values["expires"],
            single_use=values["single_use"],
            po_numbers=[values["po_number"]] if values["po_number"] else [],
            status="COMPLETE",
            pdf=values["pdf"],
            filename=secure_filename(upload.filename or "") or None,
        )
        for zone_id in values["zones"]
    ]
    rows = "\n".join(
        f"  <tr><td>{escape(ZONES_BY_ID[c['exposureZoneId']].name)}</td>"
        f"<td>{escape(c['exemptionNumber'])}</td><td>{c['id']}</td></tr>"
        for c in certificates
    )
    content = _render(
        "thank_you.html",
        customer_name=escape(customer["name"] or customer["customerCode"]),
        company_name=escape(company.name),
        rows=rows,
    )
    return _page("Certificate received", content)


def _open_invitation(call: Call, token: str):
    """(invitation, customer, company) behind a Ready link, or None."""
    invitation = call.store.invitation_by_token(token)
    if invitation is None or not invitation_is_ready(invitation):
        return None
    company = call.store.company(invitation["companyId"])
    customer = call.store.customer(company.id, invitation["customerCode"])
    return invitation, customer, company


def _read_form(call: Call) -> tuple[dict, list[str]]:
    """The submitted values (to show again) and what is wrong with them."""
    form = call.request.form
    values = {
        "zones": [z for z in map(_number, form.getlist("zones")) if z in ZONES_BY_ID],
        "reason": _number(form.get("reason", "")),
        "exemption_number": form.get("exemption_number", "").strip(),
        "signed_date": form.get("signed_date", "").strip(),
        "expiration_date": form.get("expiration_date", "").strip(),
        "single_use": bool(form.get("single_use")),
        "po_number": form.get("po_number", "").strip(),
    }
    problems = []
    if not values["zones"]:
        problems.append("Choose at least one state.")
    if not values["exemption_number"]:
        problems.append("Enter your tax ID (exemption number).")
    if values["reason"] not in REASONS_BY_ID:
        problems.append("Choose an exemption reason.")
    try:
        values["signed"] = clock.parse_date(values["signed_date"])
    except ValueError:
        problems.append("Enter the effective date as YYYY-MM-DD.")
    try:
        values["expires"] = (
            clock.parse_date(values["expiration_date"])
            if values["expiration_date"]
            else clock.NEVER_EXPIRES
        )
    except ValueError:
        problems.append("Enter the expiration date as YYYY-MM-DD, or leave it empty.")
    if "signed" in values and "expires" in values and values["expires"] < values["signed"]:
        problems.append("The expiration date cannot be before the effective date.")
    upload = call.request.files.get("document")
    values["pdf"] = upload.read() if upload else b""
    if not values["pdf"]:
        problems.append("Attach the signed certificate as a PDF file.")
    elif not values["pdf"].startswith(b"%PDF"):
        problems.append("The attached file is not a PDF; please upload the certificate as PDF.")
    return values, problems


def _number(text: str) -> int | None:
    """A form field holding an id, or None when it holds anything else."""
    return int(text) if text.isascii() and text.isdigit() else None


def _form_page(
    customer: dict, company, values: dict, problems: list[str], status: int = 200
) -> Response:
    zones = "\n".join(
        f'      <label><input type="checkbox" name="zones" value="{zone.id}"'
        f'{" checked" if zone.id in values["zones"] else ""}> {escape(zone.name)}</label>'
        for zone in EXPOSURE_ZONES
    )
    reasons = "\n".join(
        ['      <option value="">Choose a reason</option>']
        + [
            f'      <option value="{reason.id}"'
            f'{" selected" if reason.id == values["reason"] else ""}>{escape(reason.name)}</option>'
            for reason in EXEMPTION_REASONS
        ]
    )
    errors = (
        '<div class="errors">Please correct the following:<ul>'
        + "".join(f"<li>{escape(problem)}</li>" for problem in problems)
        + "</ul></div>"
        if problems
        else ""
    )
    content = _render(
        "upload_form.html",
        customer_name=escape(customer["name"] or customer["customerCode"]),
        company_name=escape(company.name),
        errors=errors,
        zones=zones,
        reasons=reasons,
        exemption_number=escape(values["exemption_number"]),
        signed_date=escape(values["signed_date"]),
        expiration_date=escape(values["expiration_date"]),
        single_use=" checked" if values["single_use"] else "",
        po_number=escape(values.get("po_number", "")),
    )
    return _page("Upload your exemption certificate", content, status)


def _link_not_valid() -> Response:
    content = _render(
        "message.html",
        heading="This link is not valid",
        text="The certificate request was not found or is not ready yet. "
        "Please use the latest link you received, or try again in a few minutes.",
    )
    return _page("Link not valid", content, status=404)


def _render(name: str, **fragments: str) -> str:
    """Fill a template with HTML fragments the caller has already escaped."""
    return Template((TEMPLATES / name).read_text(encoding="utf-8")).substitute(fragments)


def _page(title: str, content: str, status: int = 200) -> Response:
    return html_response(_render("layout.html", title=escape(title), content=content), status)
