"""Checks of request bodies against the contract's models.

Each checker returns the normalized record the store expects, or raises one
400 ``ValidationException`` that lists every problem found (one per
``details`` entry), so a client developer sees all mistakes at once.
"""

from __future__ import annotations

from .errors import invalid
from .seed import REASONS_BY_ID, ZONES_BY_ID
from .serializers import CUSTOMER_FIELDS

#: What AvaTax itself refuses to create a customer without.
REQUIRED_CUSTOMER_FIELDS = ("name", "line1", "city", "postalCode", "country")
#: Countries whose customers also need a region (state/province code).
COUNTRIES_NEEDING_REGION = ("US", "CA")
DELIVERY_METHODS = ("Email", "Fax", "Download")


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


def _customer_problems(body: dict, prefix: str = "") -> list[str]:
    problems = [
        f"{prefix}{field} must be {_type_name(kind)} or null"
        for field, kind in CUSTOMER_FIELDS.items()
        if body.get(field) is not None and not _is(body[field], kind)
    ]
    problems += [
        f"{prefix}{field} is required"
        for field in REQUIRED_CUSTOMER_FIELDS
        if body.get(field) is None or (isinstance(body[field], str) and not body[field].strip())
    ]
    country = body.get("country")
    has_region = isinstance(body.get("region"), str) and body["region"].strip()
    if isinstance(country, str) and country.upper() in COUNTRIES_NEEDING_REGION and not has_region:
        problems.append(f"{prefix}region is required when country is {country}")
    return problems


def _customer_fields(body: dict) -> dict:
    """Every writable field, null where not sent (PUT replaces the record)."""
    return {field: body.get(field) for field in CUSTOMER_FIELDS}


def new_customers(body) -> list[dict]:
    """The records of a POST /customers body (an array of CustomerModel)."""
    problems = []
    for index, item in enumerate(_json_list(body, "CustomerModel")):
        code = item.get("customerCode")
        if not (isinstance(code, str) and code):
            problems.append(f"[{index}].customerCode is required and must be a string")
        problems += _customer_problems(item, prefix=f"[{index}].")
    if problems:
        raise invalid(problems)
    return [{"customerCode": item["customerCode"], **_customer_fields(item)} for item in body]


def replacement_customer(body, customer_code: str) -> dict:
    """The fields of a PUT /customers/{code} body (one full CustomerModel)."""
    if not isinstance(body, dict):
        raise invalid(["the body must be one CustomerModel JSON object"], target="body")
    problems = _customer_problems(body)
    sent_code = body.get("customerCode")
    if sent_code is not None and sent_code != customer_code:
        problems.append(
            f"customerCode {sent_code!r} in the body differs from {customer_code!r} in the path"
        )
    if problems:
        raise invalid(problems)
    return _customer_fields(body)


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
        elif method in ("Email", "Fax") and not recipient:
            problems.append(f"{prefix}recipient is required for deliveryMethod {method}")
        elif method == "Email" and "@" not in recipient:
            problems.append(f"{prefix}recipient {recipient!r} is not an email address")
        title = item.get("coverLetterTitle")
        if title is not None and not isinstance(title, str):
            problems.append(f"{prefix}coverLetterTitle must be a string")
        problems += _id_list_problems(
            item.get("exposureZones"), f"{prefix}exposureZones", ZONES_BY_ID, required=True
        )
        problems += _id_list_problems(
            item.get("exemptReasons"), f"{prefix}exemptReasons", REASONS_BY_ID, required=False
        )
    if problems:
        raise invalid(problems)
    return [
        {
            "recipient": item.get("recipient"),
            "exposureZones": item["exposureZones"],
            "exemptReasons": item.get("exemptReasons") or [],
            "deliveryMethod": item["deliveryMethod"],
        }
        for item in body
    ]
