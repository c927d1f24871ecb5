"""Checks of request bodies against the contract's models.

Each checker returns the normalized record the store expects, or raises one
400 ``ValidationException`` that lists every problem found (one per
``details`` entry), so a client developer sees all mistakes at once.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from . import clock
from .errors import ApiError, invalid
from .seed import REASONS_BY_ID, REASONS_BY_NAME, ZONES_BY_ID, ZONES_BY_NAME
from .serializers import CUSTOMER_FIELDS

#: What CustomerModel requires (CustomerModel.ts; companyId too, below).
REQUIRED_CUSTOMER_FIELDS = ("customerCode", "name", "line1", "city", "postalCode", "country")
#: Countries whose customers also need a region (CustomerModel.cs); ``country`` may be
#: an ISO 3166 code of two or three letters or the country's name.
COUNTRIES_NEEDING_REGION = frozenset(
    {"US", "USA", "UNITED STATES", "UNITED STATES OF AMERICA", "CA", "CAN", "CANADA"}
)
DELIVERY_METHODS = ("Email", "Fax", "Download")
#: A certificate names its document in exactly one of these (CertificateModel.cs).
DOCUMENT_FIELDS = ("filename", "pdf", "pages")
#: What CertCapture answered (inside a CertificatesError) for a pdf that is not a
#: Base64 PDF, as reported in the .NET SDK's issue #214 and the Java SDK's #149.
NOT_A_BASE64_PDF = (
    '{"success":false,"code":"100110",'
    '"error":{"pdf":["The uploaded file must be a base64 encoded PDF."]}}.'
)


def _type_name(kind: type) -> str:
    return {str: "a string", bool: "a boolean", int: "an integer", list: "a list"}[kind]


def _is(value, kind: type) -> bool:
    """JSON type test; booleans are not integers here, unlike in Python."""
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _json_list(body, what: str) -> list:
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise invalid([f"the body must be a JSON array of {what} objects"], target="body")
    if not body:
        raise invalid([f"the array must hold at least one {what}"], target="body")
    return body


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _customer_problems(body: dict, company_id: int, prefix: str = "") -> tuple[list, list]:
    """(problems of shape or type, required fields missing) of one CustomerModel."""
    problems = [
        f"{prefix}{field} must be {_type_name(kind)} or null"
        for field, kind in {"customerCode": str, **CUSTOMER_FIELDS}.items()
        if body.get(field) is not None and not _is(body[field], kind)
    ]
    missing = [
        f"{prefix}{field} is required"
        for field in REQUIRED_CUSTOMER_FIELDS
        if _blank(body.get(field))
    ]
    country = body.get("country")
    if (
        isinstance(country, str)
        and country.strip().upper() in COUNTRIES_NEEDING_REGION
        and _blank(body.get("region"))
    ):
        missing.append(f"{prefix}region is required when country is {country}")
    sent_company = body.get("companyId")
    if sent_company is None:
        missing.append(f"{prefix}companyId is required")
    elif not _is(sent_company, int):
        problems.append(f"{prefix}companyId must be an integer")
    elif sent_company != company_id:
        problems.append(
            f"{prefix}companyId {sent_company} is not the company {company_id} of the path"
        )
    return problems, missing


def _refuse_customers(problems: list[str], missing: list[str], both: list[str]) -> None:
    """Answer the worst of what is wrong: the body's shape, then missing required
    values (ValueRequiredError), then isBill and isShip both true (1220)."""
    if problems:
        raise invalid(problems + missing + both)
    if missing:
        raise ApiError(
            400,
            "ValueRequiredError",
            f"A required value is missing: {missing[0]}",
            target="IncorrectData",
            descriptions=missing,
        )
    if both:
        raise ApiError(
            400,
            "CustomerCantBeBothShipToAndBillTo",
            "A customer cannot be both a ship-to and a bill-to customer.",
            target="IncorrectData",
            descriptions=both,
        )


def _both_flags(body: dict, prefix: str = "") -> list[str]:
    if body.get("isBill") is True and body.get("isShip") is True:
        return [f"{prefix}isBill and isShip are both true: a customer is one or the other"]
    return []


def _customer_fields(body: dict) -> dict:
    """Every writable field, null where not sent (PUT replaces the record)."""
    return {field: body.get(field) for field in CUSTOMER_FIELDS}


def new_customers(body, company_id: int) -> list[dict]:
    """The records of a POST /customers body (an array of CustomerModel)."""
    problems, missing, both = [], [], []
    for index, item in enumerate(_json_list(body, "CustomerModel")):
        found, absent = _customer_problems(item, company_id, prefix=f"[{index}].")
        problems += found
        missing += absent
        both += _both_flags(item, prefix=f"[{index}].")
    _refuse_customers(problems, missing, both)
    return [{"customerCode": item["customerCode"], **_customer_fields(item)} for item in body]


def replacement_customer(body, customer_code: str, company_id: int) -> dict:
    """The fields of a PUT /customers/{code} body (one full CustomerModel); the code
    may be left out of the body (the path names it)."""
    if not isinstance(body, dict):
        raise invalid(["the body must be one CustomerModel JSON object"], target="body")
    problems, missing = _customer_problems({"customerCode": customer_code, **body}, company_id)
    sent_code = body.get("customerCode")
    if sent_code is not None and sent_code != customer_code:
        problems.append(
            f"customerCode {sent_code!r} in the body differs from {customer_code!r} in the path"
        )
    _refuse_customers(problems, missing, _both_flags(body))
    return _customer_fields(body)


def linked_customer_codes(body) -> list[str]:
    """The codes of a LinkCustomersModel body: ``{"customers": [code, ...]}``."""
    codes = body.get("customers") if isinstance(body, dict) else None
    if (
        not isinstance(codes, list)
        or not codes
        or not all(isinstance(code, str) and code for code in codes)
    ):
        raise invalid(
            ['the body must be {"customers": [customer codes]} with at least one code'],
            target="customers",
        )
    return list(dict.fromkeys(codes))


def _id_list_problems(value, field: str, known: dict, required: bool) -> list[str]:
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(_is(item, int) for item in value):
        return [f"{field} must be a list of integer ids"]
    if required and not value:
        return [f"{field} must name at least one id"]
    unknown = [item for item in value if item not in known]
    return [f"{field} contains unknown ids {unknown}"] if unknown else []


def new_invitations(body) -> list[dict]:
    """The records of a POST certexpressinvites body (CreateCertExpressInvitation[])."""
    problems = []
    for index, item in enumerate(_json_list(body, "CreateCertExpressInvitation")):
        prefix = f"[{index}]."
        method = item.get("deliveryMethod")
        if method not in DELIVERY_METHODS:
            problems.append(f"{prefix}deliveryMethod must be one of {list(DELIVERY_METHODS)}")
        recipient = item.get("recipient")
        if recipient is not None and not isinstance(recipient, str):
            problems.append(f"{prefix}recipient must be a string")
        elif method == "Email" and not recipient:
            problems.append(f"{prefix}recipient is required for deliveryMethod {method}")
        elif method == "Email" and "@" not in recipient:
            problems.append(f"{prefix}recipient {recipient!r} is not an email address")
        title = item.get("coverLetterTitle")
        if title is not None and not isinstance(title, str):
            problems.append(f"{prefix}coverLetterTitle must be a string")
        problems += _id_list_problems(
            item.get("exposureZones"), f"{prefix}exposureZones", ZONES_BY_ID, required=False
        )
        problems += _id_list_problems(
            item.get("exemptReasons"), f"{prefix}exemptReasons", REASONS_BY_ID, required=False
        )
    if problems:
        raise invalid(problems)
    return [
        {
            "recipient": item.get("recipient"),
            "exposureZones": item.get("exposureZones") or [],
            "exemptReasons": item.get("exemptReasons") or [],
            "deliveryMethod": item["deliveryMethod"],
        }
        for item in body
    ]


def _reference_problems(value, field: str, by_id: dict, by_name: dict) -> tuple[list[str], int]:
    """An ``{id}``/``{name}`` object (exposureZone, exemptionReason): problems, known id."""
    if value is None:
        return [f"{field} is required"], 0
    if not isinstance(value, dict):
        return [f"{field} must be an object with an id or a name"], 0
    ref_id, name = value.get("id"), value.get("name")
    if ref_id is not None and not _is(ref_id, int):
        return [f"{field}.id must be an integer"], 0
    if name is not None and not isinstance(name, str):
        return [f"{field}.name must be a string"], 0
    if ref_id is None and name is None:
        return [f"{field} needs an id or a name"], 0
    by_upper_name = {key.upper(): item for key, item in by_name.items()}
    found = by_id.get(ref_id) if ref_id is not None else by_upper_name.get(name.upper())
    if found is None:
        wanted = f"id {ref_id}" if ref_id is not None else f"name {name!r}"
        return [f"{field} {wanted} is unknown"], 0
    if name is not None and found.name.upper() != name.upper():
        return [f"{field} id {ref_id} is {found.name!r}, not {name!r}"], 0
    return [], found.id


def _date_problems(value, field: str, required: bool) -> tuple[list[str], object]:
    if value is None:
        return ([f"{field} is required"] if required else []), None
    if not isinstance(value, str):
        return [f"{field} must be a date string (YYYY-MM-DD)"], None
    try:
        return [], clock.parse_date(value)
    except ValueError:
        return [f"{field} {value!r} is not a date"], None


def _document_problems(item: dict, prefix: str) -> list[str]:
    sent = [field for field in DOCUMENT_FIELDS if item.get(field) is not None]
    if not sent:
        return [f"{prefix}one of filename, pdf or pages is required"]
    if len(sent) > 1:
        return [f"{prefix}give only one of filename, pdf and pages, not {' and '.join(sent)}"]
    [field] = sent
    if field == "pages":
        return [f"{prefix}pages (JPG images) are not supported by the sandbox; send pdf"]
    if not isinstance(item[field], str) or not item[field].strip():
        return [f"{prefix}{field} must be a non-empty string"]
    return []


def _customer_code_problems(
    value, prefix: str, is_customer: Callable[[str], bool]
) -> tuple[list[str], list[str]]:
    if not isinstance(value, list) or not value:
        return [f"{prefix}customers must be a list of at least one {{customerCode}}"], []
    codes, problems = [], []
    for index, customer in enumerate(value):
        code = customer.get("customerCode") if isinstance(customer, dict) else None
        if not isinstance(code, str) or not code:
            problems.append(f"{prefix}customers[{index}].customerCode is required")
        elif not is_customer(code):
            problems.append(f"{prefix}customers[{index}].customerCode {code!r} is not a customer")
        else:
            codes.append(code)
    return problems, codes


def _certificate(item: dict, prefix: str, is_customer) -> tuple[list[str], dict]:
    problems, record = [], {}
    for field in ("signedDate", "expirationDate"):
        found, record[field] = _date_problems(
            item.get(field), prefix + field, field == "signedDate"
        )
        problems += found
    for field, by_id, by_name, key in (
        ("exposureZone", ZONES_BY_ID, ZONES_BY_NAME, "exposureZoneId"),
        ("exemptionReason", REASONS_BY_ID, REASONS_BY_NAME, "exemptionReasonId"),
    ):
        found, record[key] = _reference_problems(item.get(field), prefix + field, by_id, by_name)
        problems += found
    for field, kind in (("exemptionNumber", str), ("isSingleCertificate", bool)):
        if item.get(field) is not None and not _is(item[field], kind):
            problems.append(f"{prefix}{field} must be {_type_name(kind)} or null")
    problems += _document_problems(item, prefix)
    found, record["customerCodes"] = _customer_code_problems(
        item.get("customers"), prefix, is_customer
    )
    problems += found
    record.update(
        exemptionNumber=item.get("exemptionNumber"),
        isSingleCertificate=bool(item.get("isSingleCertificate")),
        filename=item.get("filename"),
        pdf=item.get("pdf"),
    )
    record["expirationDate"] = record["expirationDate"] or clock.NEVER_EXPIRES
    return problems, record


def _decoded_pdf(text: str) -> bytes | None:
    """The PDF sent in standard Base64 (padded, no line breaks), or None."""
    try:
        content = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return content if content.startswith(b"%PDF-") else None


def new_certificates(body, is_customer: Callable[[str], bool]) -> list[dict]:
    """The records of a POST /certificates body (an array of CertificateModel).

    ``is_customer(code)`` says whether the company has that customer. Every problem
    of shape, type or reference is listed in one 400 ValidationException; a ``pdf``
    that is not a Base64 PDF is then refused the way CertCapture refuses it, with a
    400 ``CertificatesError``.
    """
    problems, records = [], []
    for index, item in enumerate(_json_list(body, "CertificateModel")):
        found, record = _certificate(item, f"[{index}].", is_customer)
        problems += found
        records.append(record)
    if problems:
        raise invalid(problems)
    for record in records:
        if record["pdf"] is not None:
            record["pdf"] = _decoded_pdf(record["pdf"])
            if record["pdf"] is None:
                raise ApiError(
                    400,
                    "CertificatesError",
                    "Certificates API returned error",
                    target="IncorrectData",
                    descriptions=[NOT_A_BASE64_PDF],
                )
    return records
