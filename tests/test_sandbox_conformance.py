"""The local sandbox against the API reference in docs/api-reference.md, over real HTTP.

Raw JSON is checked here (exact camelCase key sets, types, enums as strings,
FetchResult and error envelopes), independently of the project's client, so
that a client passing against the sandbox is talking the contract's language.
The expected shapes are written out by hand on purpose: they must not follow
the sandbox's own serializers if those drift.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from certcapture_sandbox import ApiError, SandboxConfig, SandboxServer
from certcapture_sandbox.faults import parse_rule

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_ID, LICENSE_KEY = "1100000001", "sandbox-license-key"
AUTH = (ACCOUNT_ID, LICENSE_KEY)
CLIENT_HEADER = "certcapture-tests; 1.0; python-requests; 2.31; test-machine"
TIMEOUT = 5

PING_KEYS = {"version", "authenticated", "authenticationType", "authenticatedAccountId"}
COMPANY_KEYS = {"id", "companyCode", "name"}
SETUP_KEYS = {"status", "accountId", "companyId"}
CUSTOMER_KEYS = {
    "id",
    "companyId",
    "customerCode",
    "alternateId",
    "name",
    "attnName",
    "line1",
    "line2",
    "city",
    "postalCode",
    "region",
    "country",
    "phoneNumber",
    "faxNumber",
    "emailAddress",
    "contactName",
    "taxpayerIdNumber",
    "isBill",
    "isShip",
    "createdDate",
    "modifiedDate",
}
CERTIFICATE_KEYS = {
    "id",
    "companyId",
    "signedDate",
    "expirationDate",
    "filename",
    "documentExists",
    "valid",
    "verified",
    "exemptPercentage",
    "isSingleCertificate",
    "exemptionNumber",
    "exemptionReason",
    "status",
    "ecmStatus",
    "exposureZone",
    "createdDate",
    "modifiedDate",
    "pageCount",
}
ZONE_KEYS = {"id", "name", "tag", "description", "region", "country"}
REASON_KEYS = {"id", "name"}
INVITATION_KEYS = {
    "id",
    "companyId",
    "recipient",
    "customerCode",
    "emailStatus",
    "exposureZones",
    "exemptReasons",
    "deliveryMethod",
    "message",
    "date",
    "requestLink",
}
ERROR_KEYS = {"code", "message", "target", "details"}
ERROR_DETAIL_KEYS = {
    "code",
    "number",
    "message",
    "description",
    "faultCode",
    "helpLink",
    "refersTo",
    "severity",
}
#: ErrorTargetCode.cs
ERROR_TARGETS = {
    "Unknown",
    "HttpRequest",
    "HttpRequestHeaders",
    "IncorrectData",
    "AvaTaxApiServer",
    "AvalaraIdentityServer",
    "CustomerAccountSetup",
}
#: The ErrorCodeId numbers of the .NET SDK (src/enums/ErrorCodeId.cs), written out here
#: on purpose rather than read from the sandbox.
ERROR_NUMBERS = {
    "EntityNotFoundError": 4,
    "ValueRequiredError": 5,
    "AuthenticationException": 30,
    "ValidationException": 32,
    "DuplicateEntry": 193,
    "InternalServerError": 209,
    "CertificatesError": 1203,
    "CertificatesNotSetup": 1205,
    "InvalidExemptionOperation": 1212,
    "AccountNotProvisioned": 1216,
    "ExemptionPaginationLimits": 1218,
    "CustomerCantBeBothShipToAndBillTo": 1220,
    "BillToCustomerExpected": 1221,
    "ShipToCustomerExpected": 1222,
    "RequestLimitExceeded": 1715,
    "NotFound": 4001,
    "RateLimitExceeded": 4011,
    "NoHealthySite": 4012,
    "ServiceDisconnected": 4014,
    "ServiceTimeout": 4015,
}
CERTIFICATE_STATUSES = {
    "COMPLETE",
    "PENDING",
    "PENDING-FUTURE",
    "PENDING-MULTI",
    "PENDING-SINGLE",
    "REVOKED",
}
ECM_STATUSES = {"None", "Expired", "Invalid", "Valid", "PendingFuture"}
#: What the sandbox writes: a .NET DateTime in UTC, to the 100 ns tick.
DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z")
DATE = re.compile(r"\d{4}-\d\d-\d\d")
STATES_AND_DC = set(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY".split()
)
SMALL_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# --- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox():
    config = SandboxConfig(
        company_codes=("DEFAULT", "OTHER"),
        not_provisioned=("NOECM",),
        provisioning_failed=("FAILED",),
    )
    with SandboxServer(config, host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(sandbox):
    sandbox.reset()


@pytest.fixture(scope="module")
def http():
    with requests.Session() as session:
        session.auth = AUTH
        session.headers["X-Avalara-Client"] = CLIENT_HEADER
        yield session


@pytest.fixture
def api(sandbox, http):
    """Call the sandbox: ``api("GET", "/customers/X")`` (company-relative) or an /api path."""

    def call(method, path, company="DEFAULT", **kwargs):
        if not path.startswith("/api/"):
            path = f"/api/v2/companies/{sandbox.company_id(company)}{path}"
        kwargs.setdefault("timeout", TIMEOUT)
        return http.request(method, sandbox.url + path, **kwargs)

    return call


def customer_body(code="ACME-1", **changes):
    """A CustomerModel as the project's client sends it (companyId of DEFAULT)."""
    body = {
        "companyId": 1001,
        "customerCode": code,
        "name": "Acme Wholesale",
        "line1": "1 Main St",
        "city": "Seattle",
        "postalCode": "98101",
        "region": "WA",
        "country": "US",
        "emailAddress": "ap@acme.test",
        "isBill": True,
    }
    body.update(changes)
    return body


def create_customer(api, code="ACME-1", **changes):
    response = api("POST", "/customers", json=[customer_body(code, **changes)])
    assert response.status_code == 201, response.text
    return response.json()[0]


def segment(code):
    """A customer code as a path segment: everything reserved percent-encoded."""
    return quote(code, safe="")


def zone_ids(api):
    zones = api("GET", "/api/v2/definitions/certificateexposurezones").json()["value"]
    return {zone["region"]: zone["id"] for zone in zones}


def reason_ids(api):
    reasons = api("GET", "/api/v2/definitions/certificateexemptreasons").json()["value"]
    return {reason["name"]: reason["id"] for reason in reasons}


def assert_error(response, status, code):
    """The AvaTax error envelope with the expected status and code."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert error["target"] in ERROR_TARGETS
    assert error["details"], "details must not be empty"
    for detail in error["details"]:
        assert set(detail) == ERROR_DETAIL_KEYS
        assert detail["code"] == code and detail["number"] == ERROR_NUMBERS[code]
        assert detail["severity"] == "Error"
        assert detail["faultCode"] == ("Server" if status >= 500 else "Client")
        assert detail["helpLink"].endswith(f"/avatax/errors/{code}")
        assert detail["refersTo"] is None or isinstance(detail["refersTo"], str)
        assert isinstance(detail["message"], str) and isinstance(detail["description"], str)
    return error


def assert_fetch_result(body, total, page_size, more):
    assert set(body) == (
        {"@recordsetCount", "value", "@nextLink"} if more else {"@recordsetCount", "value"}
    )
    assert body["@recordsetCount"] == total and len(body["value"]) == page_size


def assert_customer(body):
    assert set(body) == CUSTOMER_KEYS
    assert isinstance(body["id"], int) and isinstance(body["companyId"], int)
    for key in CUSTOMER_KEYS - {"id", "companyId", "isBill", "isShip"}:
        assert body[key] is None or isinstance(body[key], str), key
    assert body["isBill"] in (True, False, None) and body["isShip"] in (True, False, None)
    assert DATETIME.fullmatch(body["createdDate"]) and DATETIME.fullmatch(body["modifiedDate"])


def assert_zone(zone):
    assert set(zone) == ZONE_KEYS
    assert isinstance(zone["id"], int)
    assert zone["country"] == "US" and zone["region"] in STATES_AND_DC
    assert zone["tag"] == f"EZ_US_{zone['region']}" and zone["name"]


def assert_certificate(body):
    assert set(body) - {"customers"} == CERTIFICATE_KEYS
    assert isinstance(body["id"], int) and isinstance(body["companyId"], int)
    assert DATE.fullmatch(body["signedDate"]) and DATE.fullmatch(body["expirationDate"])
    assert DATETIME.fullmatch(body["createdDate"]) and DATETIME.fullmatch(body["modifiedDate"])
    assert body["status"] in CERTIFICATE_STATUSES and body["ecmStatus"] in ECM_STATUSES
    for key in ("documentExists", "valid", "verified", "isSingleCertificate"):
        assert isinstance(body[key], bool), key
    assert isinstance(body["exemptPercentage"], float)
    assert isinstance(body["pageCount"], int) and isinstance(body["exemptionNumber"], str)
    assert body["filename"] is None or isinstance(body["filename"], str)
    assert set(body["exemptionReason"]) == REASON_KEYS
    assert_zone(body["exposureZone"])


def assert_invitation(body):
    assert set(body) == INVITATION_KEYS
    assert isinstance(body["id"], int) and isinstance(body["companyId"], int)
    assert body["deliveryMethod"] in ("Email", "Fax", "Download")
    assert all(isinstance(i, int) for i in body["exposureZones"] + body["exemptReasons"])
    assert DATETIME.fullmatch(body["date"])
    assert body["requestLink"] is None or isinstance(body["requestLink"], str)


def certificate_body(code="ACME-1", **changes):
    """A CertificateModel as the project's client sends it (zone WA = 48, RESALE = 1)."""
    body = {
        "signedDate": "2024-01-15",
        "expirationDate": "2099-01-15",
        "exemptionNumber": "WA-555",
        "isSingleCertificate": False,
        "exemptionReason": {"id": 1},
        "exposureZone": {"id": 48},
        "customers": [{"companyId": 1001, "customerCode": code}],
        "pdf": base64.b64encode(SMALL_PDF).decode("ascii"),
    }
    body.update(changes)
    return body


def invite(api, code="ACME-1", zones=("WA",), **changes):
    ids = zone_ids(api)
    body = {
        "recipient": "ap@acme.test",
        "coverLetterTitle": "STANDARD_REQUEST",
        "exposureZones": [ids[region] for region in zones],
        "exemptReasons": [],
        "deliveryMethod": "Email",
        **changes,
    }
    return api("POST", f"/customers/{segment(code)}/certexpressinvites", json=[body])


# --- auth, ping, companies, setup -------------------------------------------------------


def test_ping_answers_ping_result(api):
    response = api("GET", "/api/v2/utilities/ping")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PING_KEYS
    assert body["authenticated"] is True and body["authenticationType"] == "AccountIdLicenseKey"
    assert body["authenticatedAccountId"] == int(ACCOUNT_ID) and isinstance(body["version"], str)


@pytest.mark.parametrize(
    "auth",
    [None, (ACCOUNT_ID, "wrong-key"), ("999", LICENSE_KEY)],
    ids=["missing", "wrong-key", "wrong-account"],
)
@pytest.mark.parametrize("path", ["/api/v2/utilities/ping", "/api/v2/companies/1001/customers/X"])
def test_missing_or_wrong_credentials_answer_401(sandbox, auth, path):
    response = requests.get(sandbox.url + path, auth=auth, timeout=TIMEOUT)
    error = assert_error(response, 401, "AuthenticationException")
    assert LICENSE_KEY not in json.dumps(error)


def test_company_found_by_code_filter(sandbox, api):
    found = api("GET", "/api/v2/companies", params={"$filter": "companyCode eq 'OTHER'"}).json()
    assert_fetch_result(found, total=1, page_size=1, more=False)
    assert found["value"] == [{"id": 1002, "companyCode": "OTHER", "name": "OTHER (sandbox)"}]
    assert sandbox.company_id("DEFAULT") == 1001 and sandbox.company_id("NOECM") == 1003
    assert sandbox.company_id("FAILED") == 1004
    missing = api("GET", "/api/v2/companies", params={"$filter": "companyCode eq 'NOPE'"}).json()
    assert missing == {"@recordsetCount": 0, "value": []}
    everything = api("GET", "/api/v2/companies").json()
    assert [c["companyCode"] for c in everything["value"]] == [
        "DEFAULT",
        "OTHER",
        "NOECM",
        "FAILED",
    ]
    assert all(set(c) == COMPANY_KEYS for c in everything["value"])


def test_certificate_setup_tells_provisioned_from_not(api):
    provisioned = api("GET", "/certificates/setup").json()
    assert set(provisioned) == SETUP_KEYS
    assert provisioned == {"status": "Provisioned", "accountId": int(ACCOUNT_ID), "companyId": 1001}
    assert api("GET", "/certificates/setup", company="NOECM").json()["status"] == "NotProvisioned"
    assert api("GET", "/certificates/setup", company="FAILED").json()["status"] == "NotProvisioned"


@pytest.mark.parametrize(
    "company, code", [("NOECM", "CertificatesNotSetup"), ("FAILED", "AccountNotProvisioned")]
)
def test_a_setup_request_provisions_the_company(api, company, code):
    """RequestCertificateSetup (POST, no body) answers the status and sets the storage up."""
    assert_error(api("GET", "/customers/ACME-1", company=company), 400, code)
    response = api("POST", "/certificates/setup", company=company)
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == SETUP_KEYS and answer["status"] == "Provisioned"
    assert api("GET", "/certificates/setup", company=company).json()["status"] == "Provisioned"
    assert_error(api("GET", "/customers/ACME-1", company=company), 404, "CertificatesError")
    # Asking again changes nothing; the provisioned company says so too.
    assert api("POST", "/certificates/setup", company=company).json()["status"] == "Provisioned"
    assert api("POST", "/certificates/setup").json()["status"] == "Provisioned"


def test_a_setup_request_stays_in_progress_for_the_setup_delay():
    config = SandboxConfig(not_provisioned=("NOECM",), setup_delay=0.3)
    with SandboxServer(config) as server:
        url = f"{server.url}/api/v2/companies/{server.company_id('NOECM')}/certificates/setup"
        assert requests.post(url, auth=AUTH, timeout=TIMEOUT).json()["status"] == "InProgress"
        assert requests.get(url, auth=AUTH, timeout=TIMEOUT).json()["status"] == "InProgress"
        time.sleep(0.35)
        assert requests.get(url, auth=AUTH, timeout=TIMEOUT).json()["status"] == "Provisioned"


def test_reset_undoes_a_setup_request(sandbox, api):
    api("POST", "/certificates/setup", company="NOECM")
    sandbox.reset()
    assert api("GET", "/certificates/setup", company="NOECM").json()["status"] == "NotProvisioned"


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/customers/ACME-1"),
        ("POST", "/customers"),
        ("PUT", "/customers/ACME-1"),
        ("GET", "/customers/ACME-1/certificates"),
        ("GET", "/customers/ACME-1/certificates/US/WA"),
        ("GET", "/certificates"),
        ("GET", "/certificates/1"),
        ("GET", "/certificates/1/attachment"),
        ("POST", "/certificates"),
        ("POST", "/customers/ACME-1/certexpressinvites"),
        ("GET", "/customers/ACME-1/certexpressinvites/1"),
        ("GET", "/certexpressinvites"),
    ],
)
@pytest.mark.parametrize(
    "company, code", [("NOECM", "CertificatesNotSetup"), ("FAILED", "AccountNotProvisioned")]
)
def test_not_provisioned_company_refuses_every_exemption_call(api, method, path, company, code):
    """CertificatesNotSetup (1205; CertCaptureNotConfiguredError before SDK 18.4), or
    AccountNotProvisioned (1216) when Avalara's own provisioning failed."""
    response = api(method, path, company=company, json=[customer_body()])
    error = assert_error(response, 400, code)
    assert error["target"] == "CustomerAccountSetup"
    assert error["details"][0]["refersTo"] == "companyId"


def test_unknown_company_route_and_method(sandbox, http):
    assert_error(
        http.get(sandbox.url + "/api/v2/companies/4242/customers/X"), 404, "EntityNotFoundError"
    )
    # The gateway's NotFound (4001): ErrorCodeId has no RouteNotFound nor MethodNotAllowed.
    assert_error(http.get(sandbox.url + "/api/v2/nothing/here"), 404, "NotFound")
    response = http.delete(sandbox.url + "/api/v2/utilities/ping")
    assert_error(response, 405, "NotFound")
    assert response.headers["Allow"] == "GET"


# --- definitions and paging -------------------------------------------------------------


def test_exposure_zones_page_with_top_and_skip(sandbox, api):
    path = "/api/v2/definitions/certificateexposurezones"
    first = api("GET", path, params={"$top": 20}).json()
    assert_fetch_result(first, total=51, page_size=20, more=True)
    seen = list(first["value"])
    link = first["@nextLink"]
    pages = 1
    while link:
        assert link.startswith(path + "?") and "$top=20" in link
        page = api("GET", link).json()
        pages += 1
        seen += page["value"]
        link = page.get("@nextLink")
    assert pages == 3 and len(page["value"]) == 11
    for zone in seen:
        assert_zone(zone)
    assert {zone["region"] for zone in seen} == STATES_AND_DC
    assert len({zone["id"] for zone in seen}) == 51
    everything = api("GET", path).json()
    assert_fetch_result(everything, total=51, page_size=51, more=False)
    assert everything["value"] == seen
    assert api("GET", path, params={"$top": 5000}).json()["value"] == seen  # capped at 1000
    assert api("GET", path, params={"$skip": 50}).json()["value"] == seen[50:]
    assert_error(api("GET", path, params={"$top": "ten"}), 400, "ValidationException")
    assert_error(api("GET", path, params={"$skip": -1}), 400, "ValidationException")


def test_exemption_reasons_are_seeded(api):
    body = api("GET", "/api/v2/definitions/certificateexemptreasons", params={"$top": 3}).json()
    assert_fetch_result(body, total=body["@recordsetCount"], page_size=3, more=True)
    reasons = api("GET", "/api/v2/definitions/certificateexemptreasons").json()["value"]
    assert all(set(r) == REASON_KEYS and isinstance(r["id"], int) for r in reasons)
    assert {
        "RESALE",
        "CHARITABLE/EXEMPT ORG",
        "GOVERNMENT",
        "AGRICULTURE",
        "INDUSTRIAL PROD/MANUFACTURERS",
        "DIRECT PAY",
        "MEDICAL",
        "EDUCATIONAL ORG",
        "RELIGIOUS ORG",
        "FEDERAL GOV",
        "STATE GOV",
        "LOCAL GOV",
    } <= {reason["name"] for reason in reasons}


# --- customers --------------------------------------------------------------------------


def test_create_and_get_customer(api):
    response = api("POST", "/customers", json=[customer_body("A-1"), customer_body("A-2")])
    assert response.status_code == 201
    created = response.json()
    assert [c["customerCode"] for c in created] == ["A-1", "A-2"]
    for customer in created:
        assert_customer(customer)
        assert customer["companyId"] == 1001 and customer["createdDate"] == customer["modifiedDate"]
    assert created[0]["id"] != created[1]["id"]
    assert created[0]["isBill"] is True and created[0]["phoneNumber"] is None
    fetched = api("GET", "/customers/A-1").json()
    assert fetched == created[0]
    assert "activeCertificates" not in fetched


def test_customer_codes_are_per_company_and_case_sensitive(api):
    lower, upper = create_customer(api, "Acme"), create_customer(api, "ACME")
    assert lower["id"] != upper["id"]
    assert api("GET", "/customers/ACME").json() == upper
    assert_error(api("GET", "/customers/Acme", company="OTHER"), 404, "CertificatesError")
    other = api("POST", "/customers", company="OTHER", json=[customer_body("Acme", companyId=1002)])
    assert other.status_code == 201 and other.json()[0]["companyId"] == 1002


def test_unknown_customer_is_404_certificates_error_with_certcaptures_text(api):
    """As Avalara answers it (Magento's connector reads CertificatesError, 1203, as "no
    such customer"): CertCapture's own text is in details[].description."""
    error = assert_error(api("GET", "/customers/NOPE"), 404, "CertificatesError")
    assert error["message"] == "Certificates API returned error"
    [detail] = error["details"]
    assert detail["number"] == 1203 and detail["refersTo"] == "customerCode"
    assert "NOPE" in detail["description"] and "not found" in detail["description"]
    for path in ("/customers/NOPE/certificates", "/customers/NOPE/certificates/US/WA"):
        assert_error(api("GET", path), 404, "CertificatesError")
    assert_error(
        api("PUT", "/customers/NOPE", json=customer_body("NOPE")), 404, "CertificatesError"
    )
    assert_error(invite(api, "NOPE"), 404, "CertificatesError")
    assert_error(api("GET", "/customers/NOPE/certexpressinvites/900001"), 404, "CertificatesError")


@pytest.mark.parametrize(
    "body, problem",
    [
        (customer_body(), "JSON array"),  # an object, not an array
        ([], "at least one"),
        ([customer_body(isBill="yes")], "isBill must be a boolean"),
        ([customer_body(name=7)], "name must be a string"),
        ([customer_body(companyId="1001")], "companyId must be an integer"),
        ([customer_body(companyId=1002)], "companyId 1002 is not the company 1001"),
    ],
)
def test_customer_bodies_are_validated(api, body, problem):
    error = assert_error(api("POST", "/customers", json=body), 400, "ValidationException")
    assert any(problem in d["description"] for d in error["details"]), error
    assert api("GET", "/customers/ACME-1").status_code == 404


@pytest.mark.parametrize(
    "changes, problems",
    [
        ({"name": None}, ["[0].name is required"]),
        ({"line1": " ", "city": None}, ["[0].line1 is required", "[0].city is required"]),
        (
            {"postalCode": None, "country": None},
            ["[0].postalCode is required", "[0].country is required"],
        ),
        ({"region": None}, ["[0].region is required when country is US"]),
        ({"region": None, "country": "CA"}, ["[0].region is required when country is CA"]),
        ({"customerCode": None}, ["[0].customerCode is required"]),
        ({"companyId": None}, ["[0].companyId is required"]),
    ],
)
def test_a_customer_without_a_required_field_is_value_required_error(api, changes, problems):
    """CustomerModel.ts requires customerCode, companyId, name, line1, city, postalCode and
    country; CustomerModel.cs the region in the US and Canada. Answered as AvaTax names it:
    ValueRequiredError (5), one detail per missing value."""
    error = assert_error(
        api("POST", "/customers", json=[customer_body(**changes)]), 400, "ValueRequiredError"
    )
    assert [d["description"] for d in error["details"]] == problems
    assert error["target"] == "IncorrectData"
    created = create_customer(api)
    replacement = {key: value for key, value in customer_body(**changes).items() if value}
    put = api("PUT", "/customers/ACME-1", json=replacement)
    if changes != {"customerCode": None}:  # the path names the code of a PUT
        assert_error(put, 400, "ValueRequiredError")
        assert api("GET", "/customers/ACME-1").json() == created
    else:
        assert put.status_code == 200


def test_a_region_is_optional_outside_the_us_and_canada(api):
    assert create_customer(api, country="FR", region=None, postalCode="75001")["region"] is None


def test_every_validation_problem_is_listed(api):
    error = assert_error(
        api("POST", "/customers", json=[{"customerCode": "X", "isShip": 1}]),
        400,
        "ValidationException",
    )
    descriptions = [d["description"] for d in error["details"]]
    # isShip type + name, line1, city, postalCode, country, companyId
    assert len(descriptions) == 7


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_customer_both_bill_to_and_ship_to_is_refused(api, method):
    """CustomerCantBeBothShipToAndBillTo (1220): a record is a bill-to or a ship-to."""
    if method == "PUT":
        create_customer(api)
    both = customer_body(isBill=True, isShip=True)
    response = (
        api("POST", "/customers", json=[both])
        if method == "POST"
        else api("PUT", "/customers/ACME-1", json=both)
    )
    error = assert_error(response, 400, "CustomerCantBeBothShipToAndBillTo")
    assert error["details"][0]["number"] == 1220
    assert create_customer(api, "SHIP-1", isBill=False, isShip=True)["isShip"] is True
    assert_error(
        api("POST", "/customers", data=b"{not json", headers={"Content-Type": "application/json"}),
        400,
        "ValidationException",
    )


def test_duplicate_customer_code_is_400_duplicate_entry(api):
    create_customer(api, "DUP")
    error = assert_error(
        api("POST", "/customers", json=[customer_body("DUP")]), 400, "DuplicateEntry"
    )
    assert error["target"] == "IncorrectData"
    assert error["details"][0]["refersTo"] == "customerCode"
    batch = [customer_body("NEW"), customer_body("NEW")]
    assert_error(api("POST", "/customers", json=batch), 400, "DuplicateEntry")
    assert_error(api("GET", "/customers/NEW"), 404, "CertificatesError")  # all or nothing


def test_put_replaces_the_whole_record(api):
    created = create_customer(api, "PUT-1", phoneNumber="+1 206 555 0100", alternateId="ALT")
    replacement = {
        "name": "Acme Retail",
        "line1": "2 Pine St",
        "city": "Tacoma",
        "postalCode": "98402",
        "region": "WA",
        "country": "US",
        "id": 1,
        "companyId": 1001,
        "createdDate": "2000-01-01T00:00:00Z",
    }
    response = api("PUT", "/customers/PUT-1", json=replacement)
    assert response.status_code == 200
    updated = response.json()
    assert_customer(updated)
    assert (
        updated["id"],
        updated["companyId"],
        updated["customerCode"],
        updated["createdDate"],
    ) == (created["id"], 1001, "PUT-1", created["createdDate"])
    assert updated["name"] == "Acme Retail" and updated["city"] == "Tacoma"
    assert updated["phoneNumber"] is None and updated["alternateId"] is None  # not sent: null
    assert updated["emailAddress"] is None and updated["isBill"] is None
    assert updated["modifiedDate"] > created["modifiedDate"]
    assert api("GET", "/customers/PUT-1").json() == updated
    mismatch = dict(replacement, customerCode="OTHER")
    assert_error(api("PUT", "/customers/PUT-1", json=mismatch), 400, "ValidationException")
    assert_error(api("PUT", "/customers/PUT-1", json=[replacement]), 400, "ValidationException")


def link(api, bill_to, ship_tos):
    return api(
        "POST", f"/customers/billto/{segment(bill_to)}/shipto/link", json={"customers": ship_tos}
    )


def test_ship_to_customers_are_linked_to_a_bill_to_and_read_back(api):
    """LinkShipToCustomersToBillCustomer; GetCustomer $include=shipTos / billTos."""
    create_customer(api, "BILL/1")
    create_customer(api, "SHIP-1", isBill=False, isShip=True)
    create_customer(api, "SHIP-2", isBill=None, isShip=True)
    response = link(api, "BILL/1", ["SHIP-1", "SHIP-2", "SHIP-1"])
    assert response.status_code == 200
    assert_customer(response.json())
    assert response.json()["customerCode"] == "BILL/1"
    assert link(api, "BILL/1", ["SHIP-1"]).status_code == 200  # linking again changes nothing
    bill_to = api("GET", f"/customers/{segment('BILL/1')}", params={"$include": "shipTos"}).json()
    assert set(bill_to) == CUSTOMER_KEYS | {"shipTos"}
    assert [c["customerCode"] for c in bill_to["shipTos"]] == ["SHIP-1", "SHIP-2"]
    for linked in bill_to["shipTos"]:
        assert_customer(linked)
    ship_to = api("GET", "/customers/SHIP-1", params={"$include": "billTos"}).json()
    assert [c["customerCode"] for c in ship_to["billTos"]] == ["BILL/1"]
    plain = api("GET", f"/customers/{segment('BILL/1')}").json()
    assert set(plain) == CUSTOMER_KEYS
    # A PUT replaces the fields, not the links.
    api("PUT", "/customers/SHIP-1", json=customer_body("SHIP-1", isBill=False, isShip=True))
    again = api("GET", f"/customers/{segment('BILL/1')}", params={"$include": "shipTos"}).json()
    assert len(again["shipTos"]) == 2


def test_links_need_a_bill_to_and_ship_tos_that_exist(api):
    create_customer(api, "BILL")
    create_customer(api, "SHIP", isBill=False, isShip=True)
    assert_error(link(api, "SHIP", ["SHIP"]), 400, "BillToCustomerExpected")
    error = assert_error(link(api, "BILL", ["SHIP", "BILL"]), 400, "ShipToCustomerExpected")
    assert [d["number"] for d in error["details"]] == [1222]
    assert_error(link(api, "NOPE", ["SHIP"]), 404, "CertificatesError")
    assert_error(link(api, "BILL", ["SHIP", "NOPE"]), 404, "CertificatesError")
    for bad in ({"customers": []}, {"customers": [""]}, ["SHIP"], {"customers": "SHIP"}):
        body = api("POST", "/customers/billto/BILL/shipto/link", json=bad)
        assert_error(body, 400, "ValidationException")
    # Nothing was linked by the refused calls.
    bill_to = api("GET", "/customers/BILL", params={"$include": "shipTos"}).json()
    assert bill_to["shipTos"] == []


@pytest.mark.parametrize("code", ["ACME 01", "A/B", "Ünïcødé 客户", "50%+1 & co?#"])
def test_customer_codes_are_percent_decoded_from_paths(sandbox, api, code):
    create_customer(api, code)
    path = f"/customers/{segment(code)}"
    assert api("GET", path).json()["customerCode"] == code
    assert api("PUT", path, json=customer_body(code, name="Renamed")).json()["name"] == "Renamed"
    sandbox.add_certificate(code, region="WA")
    assert api("GET", path + "/certificates").json()["@recordsetCount"] == 1
    assert api("GET", path + "/certificates/US/WA").json()["status"] == "Exempt"
    assert invite(api, code).json()[0]["invitation"]["customerCode"] == code


# --- certificates -----------------------------------------------------------------------


def test_certificate_model(sandbox, api):
    create_customer(api)
    added = sandbox.add_certificate(
        "ACME-1",
        region="WA",
        exemption_number="WA-77",
        reason="GOVERNMENT",
        signed_date=date(2024, 1, 15),
        expiration_date=date(2099, 1, 15),
        single_use=True,
        pdf=SMALL_PDF,
    )
    fetched = api("GET", f"/certificates/{added['id']}").json()
    assert fetched == added
    assert_certificate(fetched)
    assert "customers" not in fetched
    assert (fetched["signedDate"], fetched["expirationDate"]) == ("2024-01-15", "2099-01-15")
    assert (fetched["status"], fetched["ecmStatus"], fetched["valid"]) == (
        "COMPLETE",
        "Valid",
        True,
    )
    assert fetched["exemptionReason"]["name"] == "GOVERNMENT"
    assert fetched["exposureZone"]["region"] == "WA"
    assert fetched["exposureZone"]["name"] == "Washington"
    assert fetched["documentExists"] is True and fetched["pageCount"] == 1
    assert fetched["filename"].endswith(".pdf") and fetched["isSingleCertificate"] is True
    with_customers = api(
        "GET", f"/certificates/{added['id']}", params={"$include": "customers"}
    ).json()
    assert [c["customerCode"] for c in with_customers["customers"]] == ["ACME-1"]
    assert_customer(with_customers["customers"][0])
    assert_error(api("GET", "/certificates/999999"), 404, "EntityNotFoundError")
    assert_error(
        api("GET", f"/certificates/{added['id']}", company="OTHER"), 404, "EntityNotFoundError"
    )


TODAY = datetime.now(timezone.utc).date()


@pytest.mark.parametrize(
    "signed, expires, status, ecm_status",
    [
        (TODAY - timedelta(days=30), TODAY + timedelta(days=30), "COMPLETE", "Valid"),
        (TODAY - timedelta(days=30), TODAY, "COMPLETE", "Valid"),  # valid through its last day
        (TODAY - timedelta(days=300), TODAY - timedelta(days=1), "COMPLETE", "Expired"),
        (TODAY + timedelta(days=5), TODAY + timedelta(days=400), "COMPLETE", "PendingFuture"),
        (TODAY - timedelta(days=30), TODAY + timedelta(days=30), "REVOKED", "Invalid"),
        (TODAY - timedelta(days=30), TODAY + timedelta(days=30), "PENDING", "None"),
    ],
)
def test_ecm_status_follows_dates_and_status(sandbox, api, signed, expires, status, ecm_status):
    create_customer(api)
    added = sandbox.add_certificate(
        "ACME-1", signed_date=signed, expiration_date=expires, status=status
    )
    assert (added["ecmStatus"], added["valid"]) == (ecm_status, ecm_status == "Valid")
    exempt = api("GET", "/customers/ACME-1/certificates/US/WA").json()
    assert exempt["status"] == ("Exempt" if ecm_status == "Valid" else "NotExempt")


def test_exemption_status_picks_the_best_valid_certificate(sandbox, api):
    create_customer(api)
    sandbox.add_certificate("ACME-1", region="WA", expiration_date=TODAY + timedelta(days=10))
    longest = sandbox.add_certificate(
        "ACME-1", region="WA", expiration_date=TODAY + timedelta(days=900)
    )
    sandbox.add_certificate("ACME-1", region="WA", expiration_date=TODAY - timedelta(days=1))
    sandbox.add_certificate("ACME-1", region="OR", status="REVOKED")
    exempt = api("GET", "/customers/ACME-1/certificates/US/WA").json()
    assert set(exempt) == {"status", "certificate"}
    assert exempt["status"] == "Exempt" and exempt["certificate"]["id"] == longest["id"]
    assert_certificate(exempt["certificate"])
    assert api("GET", "/customers/ACME-1/certificates/us/wa").json()["status"] == "Exempt"
    for region in ("OR", "TX"):
        assert api("GET", f"/customers/ACME-1/certificates/US/{region}").json() == {
            "status": "NotExempt",
            "certificate": None,
        }
    assert api("GET", "/customers/ACME-1/certificates/CA/WA").json()["status"] == "NotExempt"


def test_customer_certificates_page_and_include_customers(sandbox, api):
    create_customer(api)
    create_customer(api, "OTHER-1")
    ids = [sandbox.add_certificate("ACME-1", region=r)["id"] for r in ("WA", "OR", "CA")]
    sandbox.add_certificate("OTHER-1", region="TX")
    first = api(
        "GET", "/customers/ACME-1/certificates", params={"$top": 2, "$include": "customers"}
    ).json()
    assert_fetch_result(first, total=3, page_size=2, more=True)
    assert "$include=customers" in first["@nextLink"]
    second = api("GET", first["@nextLink"]).json()
    assert_fetch_result(second, total=3, page_size=1, more=False)
    listed = first["value"] + second["value"]
    assert [c["id"] for c in listed] == ids
    for certificate in listed:
        assert_certificate(certificate)
        assert [c["customerCode"] for c in certificate["customers"]] == ["ACME-1"]


@pytest.mark.parametrize(
    "path", ["/certificates", "/customers/ACME-1/certificates", "/certexpressinvites"]
)
def test_exemption_lists_cap_top_and_say_so_only_by_count_and_next_link(sandbox, api, path):
    """AvaTax may answer fewer records than $top asks for (docs/api-reference.md, section
    1): the sandbox caps exemption lists at max_top (100 by default)."""
    create_customer(api)
    sandbox.configure(max_top=2)
    for region in ("WA", "OR", "CA", "TX", "NY"):
        sandbox.add_certificate("ACME-1", region=region)
        invite(api)
    first = api("GET", path, params={"$top": 1000}).json()
    assert_fetch_result(first, total=5, page_size=2, more=True)
    assert "$top=2" in first["@nextLink"] and "$skip=2" in first["@nextLink"]
    seen, link = list(first["value"]), first["@nextLink"]
    while link:
        page = api("GET", link).json()
        seen += page["value"]
        link = page.get("@nextLink")
    assert len({record["id"] for record in seen}) == 5
    assert len(api("GET", path).json()["value"]) == 2  # no $top: the cap
    sandbox.reset()
    assert sandbox.app.config.max_top == 100


def test_exemption_lists_want_pages_of_one_size(sandbox, api):
    """ExemptionPaginationLimits (1218): $skip must land on a page boundary."""
    create_customer(api)
    for region in ("WA", "OR", "CA"):
        sandbox.add_certificate("ACME-1", region=region)
    error = assert_error(
        api("GET", "/certificates", params={"$top": 2, "$skip": 1}),
        400,
        "ExemptionPaginationLimits",
    )
    assert error["details"][0]["number"] == 1218
    assert len(api("GET", "/certificates", params={"$top": 1, "$skip": 2}).json()["value"]) == 1
    # Definitions are not exemption data: any $skip.
    zones = "/api/v2/definitions/certificateexposurezones"
    assert api("GET", zones, params={"$top": 2, "$skip": 1}).status_code == 200


@pytest.mark.parametrize(
    "path, field",
    [
        ("/certificates", "modifiedDate"),
        ("/customers/ACME-1/certificates", "modifiedDate"),
        ("/certexpressinvites", "date"),
    ],
)
def test_refuse_gt_filter_answers_invalid_exemption_operation(sandbox, api, path, field):
    create_customer(api)
    sandbox.configure(refuse_gt_filter=True)
    refused = api("GET", path, params={"$filter": f"{field} gt '2024-01-01T00:00:00Z'"})
    error = assert_error(refused, 400, "InvalidExemptionOperation")
    assert error["details"][0]["number"] == 1212 and error["target"] == "HttpRequest"
    accepted = api("GET", path, params={"$filter": f"{field} ge '2024-01-01T00:00:00Z'"})
    assert accepted.status_code == 200
    sandbox.configure(refuse_gt_filter=False)
    assert api("GET", path, params={"$filter": f"{field} gt '2024-01-01'"}).status_code == 200


def test_configure_refuses_what_cannot_change_while_running(sandbox):
    for changes in (
        {"max_top": 0},
        {"max_top": 1001},
        {"refuse_gt_filter": "yes"},
        {"company_codes": ("X",)},
    ):
        with pytest.raises(ValueError):
            sandbox.configure(**changes)
    assert sandbox.configure(max_top=7).max_top == 7


def test_certificates_changed_since(sandbox, api):
    create_customer(api)
    added = [sandbox.add_certificate("ACME-1", region=r) for r in ("WA", "OR", "CA")]
    dates = [c["modifiedDate"] for c in added]
    assert dates == sorted(set(dates))  # strictly increasing, even within one millisecond
    for literal in (f"'{dates[0]}'", dates[0]):
        body = api("GET", "/certificates", params={"$filter": f"modifiedDate gt {literal}"}).json()
        assert [c["id"] for c in body["value"]] == [c["id"] for c in added[1:]]
    everything = api(
        "GET",
        "/certificates",
        params={
            "$filter": "modifiedDate gt '2000-01-01T00:00:00Z'",
            "$orderBy": "modifiedDate",
            "$include": "customers",
        },
    ).json()
    assert_fetch_result(everything, total=3, page_size=3, more=False)
    assert all(c["customers"][0]["customerCode"] == "ACME-1" for c in everything["value"])
    newest_first = api("GET", "/certificates", params={"$orderBy": "modifiedDate desc"}).json()
    assert [c["id"] for c in newest_first["value"]] == [c["id"] for c in reversed(added)]
    later = api("GET", "/certificates", params={"$filter": f"modifiedDate gt '{dates[-1]}'"})
    assert later.json() == {"@recordsetCount": 0, "value": []}
    both = f"modifiedDate gt '{dates[0]}' and modifiedDate lt '{dates[2]}'"
    assert [
        c["id"] for c in api("GET", "/certificates", params={"$filter": both}).json()["value"]
    ] == [added[1]["id"]]
    for bad in ("modifiedDate gt 'yesterday'", "name eq 'x'", "modifiedDate gt", "nonsense"):
        assert_error(
            api("GET", "/certificates", params={"$filter": bad}), 400, "ValidationException"
        )
    assert_error(
        api("GET", "/certificates", params={"$orderBy": "name"}), 400, "ValidationException"
    )


def test_modification_times_have_seven_fraction_digits_and_compare_to_the_tick(sandbox, api):
    """AvaTax's dates are .NET DateTimes: 7 fraction digits (100 ns). A filter literal
    may have 0 to 7 digits, a Z, an offset or no zone (UTC)."""
    create_customer(api)
    added = [sandbox.add_certificate("ACME-1", region=r) for r in ("WA", "OR")]
    stamp = added[0]["modifiedDate"]
    assert DATETIME.fullmatch(stamp) and DATETIME.fullmatch(added[0]["createdDate"])
    assert added[0]["modifiedDate"] < added[1]["modifiedDate"]

    def after(literal):
        body = api("GET", "/certificates", params={"$filter": f"modifiedDate gt '{literal}'"})
        assert body.status_code == 200, body.text
        return [c["id"] for c in body.json()["value"]]

    first, second = (c["id"] for c in added)
    assert after(stamp) == [second]  # exactly the stamp: to the tick
    seconds, fraction = stamp[:19], stamp[20:27]
    # Cut to fewer digits, the literal is earlier (or equal when the cut digits are 0).
    for digits in (0, 1, 3, 6):
        literal = f"{seconds}.{fraction[:digits]}Z" if digits else f"{seconds}Z"
        expected = [second] if fraction[digits:].strip("0") == "" else [first, second]
        assert after(literal) == expected, literal
        assert after(literal[:-1]) == expected  # no zone: UTC
    hour = int(seconds[11:13])
    shifted = f"{seconds[:11]}{(hour + 2) % 24:02d}{seconds[13:]}.{fraction}+02:00"
    if hour < 22:  # same day: the offset is honoured
        assert after(shifted) == [second]


def test_the_clock_reads_every_form_without_fromisoformat(monkeypatch):
    from certcapture_sandbox import clock

    class Python310Datetime(datetime):
        @classmethod
        def fromisoformat(cls, text):
            raise ValueError(text)

    monkeypatch.setattr(clock, "datetime", Python310Datetime)
    base = clock.parse_ticks("2024-05-01T12:30:00Z")
    assert clock.parse_ticks("2024-05-01T12:30:00.1234567Z") == base + 1234567
    assert clock.parse_ticks("2024-05-01T12:30:00.1") == base + 1000000
    assert clock.parse_ticks("2024-05-01T14:30:00.123+02:00") == base + 1230000
    assert clock.parse_ticks("2024-05-01") == base - (12 * 3600 + 30 * 60) * 10**7
    assert clock.format_ticks(base + 1234567) == "2024-05-01T12:30:00.1234567Z"
    assert clock.parse_date("2024-05-01T23:00:00-08:00") == date(2024, 5, 1)
    for bad in ("2024-05-01T25:00:00Z", "01/05/2024", "2024-05-01T12:30:00.Z"):
        with pytest.raises(ValueError):
            clock.parse_ticks(bad)


def test_active_certificates_are_included_on_request(sandbox, api):
    create_customer(api)
    valid = sandbox.add_certificate("ACME-1", region="WA")
    sandbox.add_certificate("ACME-1", region="OR", expiration_date=TODAY - timedelta(days=1))
    sandbox.add_certificate("ACME-1", region="CA", status="REVOKED")
    body = api("GET", "/customers/ACME-1", params={"$include": "active_certificates"}).json()
    assert set(body) == CUSTOMER_KEYS | {"activeCertificates"}
    assert [c["id"] for c in body["activeCertificates"]] == [valid["id"]]
    assert_certificate(body["activeCertificates"][0])


def test_attachment_answers_the_pdf_bytes(sandbox, api):
    create_customer(api)
    with_pdf = sandbox.add_certificate("ACME-1", pdf=SMALL_PDF)
    response = api("GET", f"/certificates/{with_pdf['id']}/attachment", params={"$type": "Pdf"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.content == SMALL_PDF
    generated = sandbox.add_certificate("ACME-1")
    body = api("GET", f"/certificates/{generated['id']}/attachment").content
    assert body.startswith(b"%PDF-1.4") and body.rstrip().endswith(b"%%EOF")
    bare = sandbox.add_certificate("ACME-1", pdf=b"")
    assert (bare["documentExists"], bare["filename"], bare["pageCount"]) == (False, None, 0)
    assert_error(api("GET", f"/certificates/{bare['id']}/attachment"), 404, "EntityNotFoundError")
    assert_error(
        api("GET", f"/certificates/{with_pdf['id']}/attachment", params={"$type": "Jpeg"}),
        400,
        "ValidationException",
    )


def test_add_certificate_refuses_unknown_things(sandbox, api):
    with pytest.raises(ApiError) as caught:
        sandbox.add_certificate("NOBODY")
    assert caught.value.status == 404
    create_customer(api)
    with pytest.raises(ApiError) as caught:
        sandbox.add_certificate("ACME-1", region="ZZ", reason="BRIBERY", status="MAYBE")
    assert caught.value.code == "ValidationException" and len(caught.value.descriptions) == 3


# --- creating certificates (CreateCertificates) --------------------------------------------


def test_create_certificate_stores_it_with_its_pdf_for_its_customer(api):
    create_customer(api)
    response = api("POST", "/certificates", json=[certificate_body()])
    assert response.status_code == 201
    [created] = response.json()
    assert_certificate(created)
    assert [c["customerCode"] for c in created["customers"]] == ["ACME-1"]
    assert_customer(created["customers"][0])
    assert (created["signedDate"], created["expirationDate"]) == ("2024-01-15", "2099-01-15")
    assert (created["exemptionNumber"], created["isSingleCertificate"]) == ("WA-555", False)
    assert created["exposureZone"]["region"] == "WA"
    assert created["exemptionReason"] == {"id": 1, "name": "RESALE"}
    assert (created["status"], created["ecmStatus"], created["valid"]) == (
        "COMPLETE",
        "Valid",
        True,
    )
    assert created["documentExists"] is True and created["pageCount"] == 1
    assert created["createdDate"] == created["modifiedDate"]
    fetched = api("GET", f"/certificates/{created['id']}", params={"$include": "customers"})
    assert fetched.json() == created
    attachment = api("GET", f"/certificates/{created['id']}/attachment", params={"$type": "Pdf"})
    assert attachment.headers["Content-Type"] == "application/pdf"
    assert attachment.content == SMALL_PDF
    exempt = api("GET", "/customers/ACME-1/certificates/US/WA").json()
    assert exempt["status"] == "Exempt" and exempt["certificate"]["id"] == created["id"]
    active = api("GET", "/customers/ACME-1", params={"$include": "active_certificates"}).json()
    assert [c["id"] for c in active["activeCertificates"]] == [created["id"]]
    assert api("GET", "/customers/ACME-1/certificates").json()["@recordsetCount"] == 1
    since = api(
        "GET", "/certificates", params={"$filter": "modifiedDate gt '2000-01-01T00:00:00Z'"}
    )
    assert [c["id"] for c in since.json()["value"]] == [created["id"]]


def test_create_certificates_links_every_customer_and_takes_zones_and_reasons_by_name(api):
    create_customer(api)
    create_customer(api, "ACME 2/Ü")
    body = certificate_body(
        exposureZone={"name": "Oregon"},
        exemptionReason={"id": 3, "name": "government"},
        customers=[{"customerCode": "ACME-1"}, {"customerCode": "ACME 2/Ü"}],
    )
    second = certificate_body(exposureZone={"id": 48, "name": "Washington"}, expirationDate=None)
    del second["exemptionNumber"]
    response = api("POST", "/certificates", json=[body, second])
    assert response.status_code == 201
    first, other = response.json()
    assert first["exposureZone"]["region"] == "OR"
    assert first["exemptionReason"]["name"] == "GOVERNMENT"
    assert [c["customerCode"] for c in first["customers"]] == ["ACME-1", "ACME 2/Ü"]
    assert other["id"] == first["id"] + 1 and other["modifiedDate"] > first["modifiedDate"]
    assert other["expirationDate"] == "9999-12-31" and other["exemptionNumber"] is None
    assert (
        api("GET", f"/customers/{segment('ACME 2/Ü')}/certificates/US/OR").json()["status"]
        == "Exempt"
    )
    assert api("GET", "/customers/ACME-1/certificates").json()["@recordsetCount"] == 2


def test_a_certificate_with_a_filename_has_no_document(api):
    create_customer(api)
    body = certificate_body(filename="scan-0042.pdf")
    del body["pdf"]
    [created] = api("POST", "/certificates", json=[body]).json()
    assert_certificate(created)
    assert (created["filename"], created["documentExists"], created["pageCount"]) == (
        "scan-0042.pdf",
        False,
        0,
    )
    attachment = api("GET", f"/certificates/{created['id']}/attachment")
    assert_error(attachment, 404, "EntityNotFoundError")
    assert api("GET", "/customers/ACME-1/certificates/US/WA").json()["status"] == "Exempt"


def _without(*keys, **changes):
    body = certificate_body(**changes)
    for key in keys:
        del body[key]
    return body


@pytest.mark.parametrize(
    "body, problem",
    [
        (_without("signedDate"), "[0].signedDate is required"),
        (certificate_body(signedDate="15/01/2024"), "signedDate '15/01/2024' is not a date"),
        (certificate_body(expirationDate=20991231), "expirationDate must be a date string"),
        (_without("exposureZone"), "[0].exposureZone is required"),
        (certificate_body(exposureZone={"id": 99999}), "exposureZone id 99999 is unknown"),
        (certificate_body(exposureZone={"name": "Atlantis"}), "name 'Atlantis' is unknown"),
        (certificate_body(exposureZone={"id": "48"}), "exposureZone.id must be an integer"),
        (certificate_body(exposureZone=48), "exposureZone must be an object"),
        (certificate_body(exposureZone={}), "exposureZone needs an id or a name"),
        (
            certificate_body(exposureZone={"id": 48, "name": "Oregon"}),
            "exposureZone id 48 is 'Washington', not 'Oregon'",
        ),
        (_without("exemptionReason"), "[0].exemptionReason is required"),
        (certificate_body(exemptionReason={"id": 4242}), "exemptionReason id 4242 is unknown"),
        (_without("pdf"), "one of filename, pdf or pages is required"),
        (certificate_body(filename="a.pdf"), "not filename and pdf"),
        (_without("pdf", pages=["/9j/4AAQ"]), "pages (JPG images) are not supported"),
        (certificate_body(pdf=""), "pdf must be a non-empty string"),
        (certificate_body(pdf=12), "pdf must be a non-empty string"),
        (certificate_body(exemptionNumber=5), "exemptionNumber must be a string"),
        (certificate_body(isSingleCertificate="no"), "isSingleCertificate must be a boolean"),
        (_without("customers"), "customers must be a list of at least one"),
        (certificate_body(customers=[]), "customers must be a list of at least one"),
        (certificate_body(customers=[{"id": 1}]), "customers[0].customerCode is required"),
        (certificate_body("NOBODY"), "customers[0].customerCode 'NOBODY' is not a customer"),
    ],
)
def test_certificate_bodies_are_validated(api, body, problem):
    create_customer(api)
    error = assert_error(api("POST", "/certificates", json=[body]), 400, "ValidationException")
    assert any(problem in d["description"] for d in error["details"]), error
    assert api("GET", "/certificates").json()["@recordsetCount"] == 0


def test_every_certificate_problem_is_listed_and_nothing_is_created(api):
    create_customer(api)
    bare = {"customers": [{"customerCode": "ACME-1"}]}
    error = assert_error(
        api("POST", "/certificates", json=[certificate_body(), bare]), 400, "ValidationException"
    )
    assert [d["description"] for d in error["details"]] == [
        "[1].signedDate is required",
        "[1].exposureZone is required",
        "[1].exemptionReason is required",
        "[1].one of filename, pdf or pages is required",
    ]
    for body in (certificate_body(), [], "x"):
        assert_error(api("POST", "/certificates", json=body), 400, "ValidationException")
    other_company = api("POST", "/certificates", company="OTHER", json=[certificate_body()])
    assert_error(other_company, 400, "ValidationException")  # ACME-1 is not OTHER's customer
    assert api("GET", "/certificates").json()["@recordsetCount"] == 0


@pytest.mark.parametrize(
    "pdf",
    [
        base64.b64encode(b"GIF89a not a pdf").decode(),
        base64.urlsafe_b64encode(b"%PDF-1.4 \xfb\xef\xff\xfe").decode(),  # '-' and '_'
        "%PDF-1.4 sent raw",
        base64.b64encode(SMALL_PDF).decode().rstrip("="),
    ],
    ids=["not-a-pdf", "url-safe-alphabet", "not-base64", "unpadded"],
)
def test_a_pdf_that_is_not_a_base64_pdf_is_a_certificates_error(api, pdf):
    create_customer(api)
    response = api("POST", "/certificates", json=[certificate_body(pdf=pdf)])
    error = assert_error(response, 400, "CertificatesError")
    assert "must be a base64 encoded PDF" in error["details"][0]["description"]
    assert api("GET", "/certificates").json()["@recordsetCount"] == 0


def test_pre_validated_flag_is_accepted(api):
    create_customer(api)
    response = api(
        "POST",
        "/certificates",
        params={"$preValidatedExemptionReason": "true"},
        json=[certificate_body()],
    )
    assert response.status_code == 201 and response.json()[0]["status"] == "COMPLETE"


# --- CertExpress invitations ------------------------------------------------------------


def test_invitation_is_created_ready_and_can_be_followed(sandbox, api):
    create_customer(api)
    reasons = reason_ids(api)
    response = invite(api, zones=("WA", "OR"), exemptReasons=[reasons["RESALE"]])
    assert response.status_code == 201
    [result] = response.json()
    assert set(result) == {"status", "invitation"} and result["status"] == "Ready"
    invitation = result["invitation"]
    assert_invitation(invitation)
    ids = zone_ids(api)
    assert invitation["exposureZones"] == [ids["WA"], ids["OR"]]
    assert invitation["exemptReasons"] == [reasons["RESALE"]]
    # Email: sent, and the link travels in the email, not in the API (it is usable only
    # for Download requests, CertExpressInvitationModel.cs).
    assert invitation["customerCode"] == "ACME-1" and invitation["emailStatus"] == "Sent"
    assert invitation["requestLink"] is None and invitation["message"] is None
    followed = api("GET", f"/customers/ACME-1/certexpressinvites/{invitation['id']}").json()
    assert followed == invitation
    [email] = sandbox.sent_emails()
    assert (email["invitationId"], email["to"], email["customerCode"]) == (
        invitation["id"],
        "ap@acme.test",
        "ACME-1",
    )
    assert re.fullmatch(re.escape(sandbox.url) + r"/certexpress/[\w-]{20,}", email["link"])
    assert requests.get(email["link"], timeout=TIMEOUT).status_code == 200
    assert_error(
        api("GET", "/customers/ACME-1/certexpressinvites/999999"), 404, "EntityNotFoundError"
    )
    create_customer(api, "ACME-2")
    assert_error(
        api("GET", f"/customers/ACME-2/certexpressinvites/{invitation['id']}"),
        404,
        "EntityNotFoundError",
    )


def test_download_invitation_needs_no_recipient_and_gives_its_link(sandbox, api):
    create_customer(api)
    [result] = invite(api, recipient=None, deliveryMethod="Download").json()
    invitation = result["invitation"]
    assert result["status"] == "Ready" and invitation["recipient"] is None
    assert invitation["emailStatus"] is None
    assert re.fullmatch(
        re.escape(sandbox.url) + r"/certexpress/[\w-]{20,}", invitation["requestLink"]
    )
    assert requests.get(invitation["requestLink"], timeout=TIMEOUT).status_code == 200
    assert sandbox.sent_emails() == []  # no email for a Download request


def test_fax_and_zoneless_invitations_are_accepted(sandbox, api):
    """Fax uses the number on file (no recipient); without exposureZones the customer
    picks them (both optional in CreateCertExpressInvitationModel)."""
    create_customer(api)
    [fax] = invite(api, recipient=None, deliveryMethod="Fax").json()
    assert (fax["status"], fax["invitation"]["requestLink"]) == ("Ready", None)
    assert fax["invitation"]["emailStatus"] is None
    [zoneless] = invite(api, zones=(), exposureZones=None).json()
    assert zoneless["invitation"]["exposureZones"] == []
    assert [e["invitationId"] for e in sandbox.sent_emails()] == [zoneless["invitation"]["id"]]


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"exposureZones": [99999]}, "unknown ids [99999]"),
        ({"exposureZones": ["WA"]}, "list of integer ids"),
        ({"exemptReasons": [424242]}, "exemptReasons contains unknown ids"),
        ({"deliveryMethod": "Pigeon"}, "deliveryMethod must be one of"),
        ({"recipient": None}, "recipient is required"),
        ({"recipient": "not-an-address"}, "not an email address"),
    ],
)
def test_invitation_bodies_are_validated(api, changes, problem):
    create_customer(api)
    error = assert_error(invite(api, **changes), 400, "ValidationException")
    assert any(problem in d["description"] for d in error["details"]), error
    not_a_list = api("POST", "/customers/ACME-1/certexpressinvites", json={"recipient": "x"})
    assert_error(not_a_list, 400, "ValidationException")


def test_invitation_becomes_ready_after_the_delay():
    config = SandboxConfig(invite_ready_delay=0.4)
    with SandboxServer(config) as slow, requests.Session() as http:
        http.auth = AUTH
        base = f"{slow.url}/api/v2/companies/1001/customers"
        http.post(base, json=[customer_body()], timeout=TIMEOUT).raise_for_status()
        body = {"recipient": "ap@acme.test", "exposureZones": [1], "deliveryMethod": "Email"}
        [result] = http.post(
            f"{base}/ACME-1/certexpressinvites", json=[body], timeout=TIMEOUT
        ).json()
        assert result["status"] == "InProgress"
        pending = result["invitation"]
        assert pending["requestLink"] is None and pending["emailStatus"] is None
        url = f"{base}/ACME-1/certexpressinvites/{pending['id']}"
        assert http.get(url, timeout=TIMEOUT).json()["emailStatus"] is None
        assert slow.sent_emails() == []
        time.sleep(0.45)
        ready = http.get(url, timeout=TIMEOUT).json()
        assert (ready["emailStatus"], ready["requestLink"]) == ("Sent", None)
        assert [e["invitationId"] for e in slow.sent_emails()] == [pending["id"]]
        download = {"exposureZones": [1], "deliveryMethod": "Download"}
        [second] = http.post(
            f"{base}/ACME-1/certexpressinvites", json=[download], timeout=TIMEOUT
        ).json()
        assert second["status"] == "InProgress" and second["invitation"]["requestLink"] is None
        assert slow.make_invitations_ready() == 1
        flipped = http.get(
            f"{base}/ACME-1/certexpressinvites/{second['invitation']['id']}", timeout=TIMEOUT
        ).json()
        assert flipped["requestLink"].startswith(slow.url + "/certexpress/")


def test_company_invitations_are_listed_with_filters_and_paging(sandbox, api):
    create_customer(api)
    create_customer(api, "ACME 2/Ü")
    first = invite(api).json()[0]["invitation"]
    second = invite(api, "ACME 2/Ü", zones=("OR", "WA")).json()[0]["invitation"]
    third = invite(api, recipient=None, deliveryMethod="Download").json()[0]["invitation"]
    created = api("POST", "/customers", company="OTHER", json=[customer_body(companyId=1002)])
    assert created.status_code == 201
    other = api(
        "POST",
        "/customers/ACME-1/certexpressinvites",
        company="OTHER",
        json=[{"recipient": "x@y.test", "exposureZones": [1], "deliveryMethod": "Email"}],
    )
    assert other.status_code == 201

    everything = api("GET", "/certexpressinvites").json()
    assert_fetch_result(everything, total=3, page_size=3, more=False)
    assert everything["value"] == [first, second, third]  # oldest first, OTHER's not here
    for invitation in everything["value"]:
        assert_invitation(invitation)

    def ids(filter_text, **params):
        body = api("GET", "/certexpressinvites", params={"$filter": filter_text, **params})
        assert body.status_code == 200, body.text
        return [invitation["id"] for invitation in body.json()["value"]]

    assert ids("customerCode eq 'ACME-1'") == [first["id"], third["id"]]
    assert ids("customerCode eq 'ACME 2/Ü'") == [second["id"]]
    assert ids("customerCode eq 'acme-1'") == []  # codes are case-sensitive
    assert ids("customerCode eq 'NOBODY'") == []
    assert ids(f"date gt '{first['date']}'") == [second["id"], third["id"]]
    assert ids(f"customerCode eq 'ACME-1' and date gt '{first['date']}'") == [third["id"]]
    assert ids(f"id eq {second['id']}") == [second["id"]]
    assert ids("deliveryMethod eq 'Download'") == [third["id"]]
    assert ids("emailStatus eq 'Sent'") == [first["id"], second["id"]]
    assert ids("recipient eq 'ap@acme.test'") == [first["id"], second["id"]]
    assert ids("customerCode ne 'x'", **{"$orderBy": "date desc"}) == [
        third["id"],
        second["id"],
        first["id"],
    ]

    page = api("GET", "/certexpressinvites", params={"$top": 2, "$filter": "id gt 0"}).json()
    assert_fetch_result(page, total=3, page_size=2, more=True)
    assert "$filter=id%20gt%200" in page["@nextLink"] and "$skip=2" in page["@nextLink"]
    rest = api("GET", page["@nextLink"]).json()
    assert_fetch_result(rest, total=3, page_size=1, more=False)
    assert [i["id"] for i in page["value"] + rest["value"]] == [
        first["id"],
        second["id"],
        third["id"],
    ]

    for bad in ("exposureZones eq 48", "requestLink eq 'x'", "companyId eq 1001", "id eq 'x'"):
        error = assert_error(
            api("GET", "/certexpressinvites", params={"$filter": bad}), 400, "ValidationException"
        )
        assert error["target"] == "HttpRequest" and error["details"][0]["refersTo"] == "$filter"
    orderless = api("GET", "/certexpressinvites", params={"$orderBy": "requestLink"})
    assert_error(orderless, 400, "ValidationException")


def test_listed_invitations_follow_readiness():
    config = SandboxConfig(invite_ready_delay=60)
    with SandboxServer(config) as slow, requests.Session() as http:
        http.auth = AUTH
        base = f"{slow.url}/api/v2/companies/1001"
        http.post(f"{base}/customers", json=[customer_body()], timeout=TIMEOUT).raise_for_status()
        body = {"recipient": "ap@acme.test", "exposureZones": [48], "deliveryMethod": "Email"}
        http.post(
            f"{base}/customers/ACME-1/certexpressinvites", json=[body], timeout=TIMEOUT
        ).raise_for_status()
        [pending] = http.get(f"{base}/certexpressinvites", timeout=TIMEOUT).json()["value"]
        assert (pending["emailStatus"], pending["requestLink"]) == (None, None)
        sent = {"$filter": "emailStatus eq 'Sent'"}
        assert http.get(f"{base}/certexpressinvites", params=sent, timeout=TIMEOUT).json() == {
            "@recordsetCount": 0,
            "value": [],
        }
        slow.make_invitations_ready()
        [ready] = http.get(f"{base}/certexpressinvites", params=sent, timeout=TIMEOUT).json()[
            "value"
        ]
        assert ready["id"] == pending["id"] and ready["emailStatus"] == "Sent"


# --- the upload page --------------------------------------------------------------------


def _upload_link(api, name="Acme <Wholesale> & Sons", zones=("WA",)):
    """The link of a Download request (an Email request's is in its email)."""
    create_customer(api, name=name)
    [result] = invite(api, zones=zones, recipient=None, deliveryMethod="Download").json()
    return result["invitation"]["requestLink"]


def test_upload_page_creates_certificates_visible_to_the_api(sandbox, api):
    link = _upload_link(api, zones=("WA",))
    ids = zone_ids(api)
    form = requests.get(link, timeout=TIMEOUT)
    assert form.status_code == 200 and form.headers["Content-Type"].startswith("text/html")
    assert "Acme &lt;Wholesale&gt; &amp; Sons" in form.text and "<Wholesale>" not in form.text
    assert f'value="{ids["WA"]}" checked' in form.text
    assert f'value="{ids["OR"]}">' in form.text  # offered, not pre-selected
    assert 'type="file"' in form.text and 'enctype="multipart/form-data"' in form.text
    data = {
        "zones": [ids["WA"], ids["OR"]],
        "exemption_number": "TX-ID-9",
        "reason": reason_ids(api)["RESALE"],
        "signed_date": "2024-03-01",
        "expiration_date": "2099-03-01",
        "single_use": "1",
    }
    done = requests.post(
        link,
        data=data,
        timeout=TIMEOUT,
        files={"document": ("signed cert.pdf", SMALL_PDF, "application/pdf")},
    )
    assert done.status_code == 200 and "Thank you" in done.text
    listed = api("GET", "/customers/ACME-1/certificates").json()["value"]
    assert sorted(c["exposureZone"]["region"] for c in listed) == ["OR", "WA"]
    for certificate in listed:
        assert_certificate(certificate)
        assert (
            certificate["exemptionNumber"],
            certificate["signedDate"],
            certificate["expirationDate"],
        ) == ("TX-ID-9", "2024-03-01", "2099-03-01")
        assert certificate["isSingleCertificate"] is True and certificate["valid"] is True
        assert certificate["filename"] == "signed_cert.pdf"
        pdf = api("GET", f"/certificates/{certificate['id']}/attachment").content
        assert pdf == SMALL_PDF
        assert str(certificate["id"]) in done.text
    assert api("GET", "/customers/ACME-1/certificates/US/OR").json()["status"] == "Exempt"


def test_the_customer_of_an_email_request_uploads_through_the_link_of_its_email(sandbox, api):
    create_customer(api)
    invite(api)
    [email] = sandbox.sent_emails()
    outbox = requests.get(sandbox.url + "/_sandbox/outbox", timeout=TIMEOUT).json()
    assert outbox == [email]
    assert set(email) == {
        "invitationId",
        "companyId",
        "customerCode",
        "to",
        "subject",
        "link",
        "sentDate",
    }
    assert DATETIME.fullmatch(email["sentDate"])
    answer = requests.post(
        email["link"],
        data={
            "zones": str(zone_ids(api)["WA"]),
            "exemption_number": "WA-777",
            "reason": str(reason_ids(api)["RESALE"]),
            "signed_date": "2024-01-01",
        },
        files={"document": ("certificate.pdf", SMALL_PDF, "application/pdf")},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200 and "WA-777" in answer.text
    status = api("GET", "/customers/ACME-1/certificates/US/WA").json()
    assert status["status"] == "Exempt"


def test_upload_page_refuses_a_file_that_is_not_a_pdf(api):
    link = _upload_link(api)
    data = {
        "zones": [zone_ids(api)["WA"]],
        "exemption_number": "<script>x</script>",
        "reason": reason_ids(api)["RESALE"],
        "signed_date": "2024-03-01",
    }
    refused = requests.post(
        link,
        data=data,
        timeout=TIMEOUT,
        files={"document": ("cert.pdf", b"GIF89a not a pdf", "image/gif")},
    )
    assert refused.status_code == 400 and "not a PDF" in refused.text
    assert "&lt;script&gt;x&lt;/script&gt;" in refused.text  # the entry is kept, escaped
    assert "<script>" not in refused.text
    assert api("GET", "/customers/ACME-1/certificates").json()["@recordsetCount"] == 0


def test_upload_page_lists_every_missing_entry(api):
    link = _upload_link(api)
    refused = requests.post(
        link, data={"signed_date": "soon", "expiration_date": "later"}, timeout=TIMEOUT
    )
    assert refused.status_code == 400
    for message in (
        "Choose at least one state",
        "tax ID",
        "exemption reason",
        "effective date",
        "expiration date",
        "Attach the signed certificate",
    ):
        assert message in refused.text
    assert api("GET", "/customers/ACME-1/certificates").json()["@recordsetCount"] == 0


def test_upload_page_for_an_unknown_link_is_404(sandbox):
    response = requests.get(f"{sandbox.url}/certexpress/no-such-token", timeout=TIMEOUT)
    assert response.status_code == 404 and "not valid" in response.text


# --- faults -----------------------------------------------------------------------------


def test_latency_is_added_to_api_calls_only(sandbox, api):
    sandbox.set_faults(latency_ms=250)
    started = time.monotonic()
    assert api("GET", "/api/v2/utilities/ping").status_code == 200
    assert time.monotonic() - started >= 0.25
    started = time.monotonic()
    requests.get(sandbox.url + "/_sandbox/faults", timeout=TIMEOUT)
    assert time.monotonic() - started < 0.25


def test_fail_rate_answers_500_internal_server_error(sandbox, api):
    sandbox.set_faults(fail_rate=1.0)
    for _ in range(3):
        assert_error(api("GET", "/api/v2/utilities/ping"), 500, "InternalServerError")
    sandbox.set_faults(fail_rate=0.0)
    assert api("GET", "/api/v2/utilities/ping").status_code == 200


@pytest.mark.parametrize(
    "status, code",
    [
        (400, "CertificatesError"),
        (401, "AuthenticationException"),
        (404, "EntityNotFoundError"),
        (429, "RateLimitExceeded"),
        (500, "InternalServerError"),
        # ErrorCodeId has no BadGateway, ServiceUnavailable nor GatewayTimeout: the
        # gateway's own codes stand for them.
        (502, "ServiceDisconnected"),
        (503, "NoHealthySite"),
        (504, "ServiceTimeout"),
    ],
)
def test_forced_status_rules_count_down(sandbox, api, status, code):
    sandbox.set_faults(
        rules=[{"method": "GET", "path": r"/ping$", "status": status, "retry_after": 3, "times": 2}]
    )
    for _ in range(2):
        response = api("GET", "/api/v2/utilities/ping")
        error = assert_error(response, status, code)
        assert response.headers["Retry-After"] == "3"
        assert "simulated failure" in error["details"][0]["description"]
    assert api("GET", "/api/v2/utilities/ping").status_code == 200
    assert [s for _, _, s in sandbox.requests] == [status, status, 200]


def test_rules_match_method_and_path(sandbox, api):
    sandbox.set_faults(
        rules=[
            {"method": "POST", "path": r"/customers$", "status": 503},
            {"method": "*", "path": r"/definitions/", "status": 429},
        ]
    )
    assert_error(api("POST", "/customers", json=[customer_body()]), 503, "NoHealthySite")
    assert api("GET", "/customers/ACME-1").status_code == 404  # GET untouched, nothing created
    response = api("GET", "/api/v2/definitions/certificateexemptreasons")
    assert_error(response, 429, "RateLimitExceeded")
    assert "Retry-After" not in response.headers
    sandbox.clear_faults()
    assert api("POST", "/customers", json=[customer_body()]).status_code == 201


def test_malformed_and_truncated_bodies(sandbox, api):
    sandbox.set_faults(malformed=r"/ping$", truncated=r"/definitions/")
    malformed = api("GET", "/api/v2/utilities/ping")
    assert malformed.status_code == 200
    assert malformed.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        json.loads(malformed.content)
    truncated = api("GET", "/api/v2/definitions/certificateexposurezones")
    sandbox.clear_faults()
    whole = api("GET", "/api/v2/definitions/certificateexposurezones").content
    assert truncated.status_code == 200 and truncated.content == whole[: len(whole) // 2]
    with pytest.raises(ValueError):
        json.loads(truncated.content)


def test_non_pdf_attachment(sandbox, api):
    create_customer(api)
    certificate = sandbox.add_certificate("ACME-1", pdf=SMALL_PDF)
    sandbox.set_faults(non_pdf_attachment=True)
    response = api("GET", f"/certificates/{certificate['id']}/attachment")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert not response.content.startswith(b"%PDF") and b"<html" in response.content


def test_dropped_connection_has_no_answer_and_no_effect(sandbox, api):
    sandbox.set_faults(drop_connection=r"/customers$")
    with pytest.raises(requests.ConnectionError):
        api("POST", "/customers", json=[customer_body()])
    assert sandbox.requests[-1] == ("POST", "/api/v2/companies/1001/customers", None)
    sandbox.clear_faults()
    assert api("GET", "/customers/ACME-1").status_code == 404


def test_delayed_answer_still_takes_effect(sandbox, api):
    sandbox.set_faults(delay_path=r"/customers$", delay_seconds=0.6)
    with pytest.raises(requests.ReadTimeout):
        api("POST", "/customers", json=[customer_body()], timeout=0.2)
    assert api("GET", "/customers/ACME-1").status_code == 200  # created before the answer
    deadline = time.monotonic() + 3
    while not any(m == "POST" for m, _, _ in sandbox.requests) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ("POST", "/api/v2/companies/1001/customers", 201) in sandbox.requests


def test_faults_never_touch_admin_or_upload_paths(sandbox, api):
    link = _upload_link(api)
    sandbox.set_faults(
        fail_rate=1.0,
        rules=[{"path": ".*", "status": 503}],
        malformed=".*",
        drop_connection="certexpress|_sandbox",
    )
    assert requests.get(link, timeout=TIMEOUT).status_code == 200
    admin = requests.get(sandbox.url + "/_sandbox/faults", timeout=TIMEOUT)
    assert admin.status_code == 200 and admin.json()["fail_rate"] == 1.0


def test_faults_over_the_admin_path(sandbox, api):
    url = sandbox.url + "/_sandbox/faults"
    settings = {
        "latency_ms": 0,
        "rules": [
            {"method": "GET", "path": r"/ping$", "status": 429, "retry_after": 7, "times": 1}
        ],
        "non_pdf_attachment": False,
    }
    put = requests.put(url, json=settings, timeout=TIMEOUT)
    assert put.status_code == 200 and put.json()["rules"][0]["times"] == 1
    response = api("GET", "/api/v2/utilities/ping")
    assert_error(response, 429, "RateLimitExceeded")
    assert response.headers["Retry-After"] == "7"
    current = requests.get(url, timeout=TIMEOUT).json()
    assert current["rules"][0]["times"] == 0  # used up
    assert set(current) == {
        "latency_ms",
        "fail_rate",
        "rules",
        "malformed",
        "truncated",
        "non_pdf_attachment",
        "drop_connection",
        "delay_path",
        "delay_seconds",
    }
    assert api("GET", "/api/v2/utilities/ping").status_code == 200
    requests.put(url, json={"fail_rate": 1}, timeout=TIMEOUT).raise_for_status()
    assert api("GET", "/api/v2/utilities/ping").status_code == 500
    cleared = requests.delete(url, timeout=TIMEOUT).json()
    assert cleared["fail_rate"] == 0 and cleared["rules"] == []
    assert api("GET", "/api/v2/utilities/ping").status_code == 200
    for bad in (
        {"fail_rate": 2},
        {"rules": [{"path": "(", "status": 503}]},
        {"rules": [{"path": "x", "status": 418}]},
        {"surprise": 1},
    ):
        assert_error(requests.put(url, json=bad, timeout=TIMEOUT), 400, "ValidationException")


def test_set_faults_refuses_invalid_settings(sandbox):
    with pytest.raises(ValueError):
        sandbox.set_faults(rules=[{"path": "x", "status": 200}])
    with pytest.raises(ValueError):
        sandbox.set_faults(malformed="[unclosed")


@pytest.mark.parametrize(
    "text, rule",
    [
        (
            "POST /customers$ 503x2",
            {"method": "POST", "path": "/customers$", "status": 503, "times": 2},
        ),
        (
            "* /certificates 429:5",
            {"method": "*", "path": "/certificates", "status": 429, "retry_after": 5},
        ),
        (
            "GET /customers/A B$ 502:1x3",
            {
                "method": "GET",
                "path": "/customers/A B$",
                "status": 502,
                "retry_after": 1,
                "times": 3,
            },
        ),
    ],
)
def test_cli_fault_rule_syntax(text, rule):
    assert parse_rule(text) == rule


@pytest.mark.parametrize(
    "text", ["POST /customers", "503", "GET /x 200", "GET /x 503y2", "GET ( 503"]
)
def test_cli_fault_rule_syntax_errors(text):
    with pytest.raises(ValueError):
        parse_rule(text)


# --- admin path -------------------------------------------------------------------------


def test_admin_reset_requests_certificates_and_ready(sandbox, api):
    create_customer(api)
    api("GET", "/api/v2/utilities/ping")
    requests.get(sandbox.url + "/_sandbox/faults", timeout=TIMEOUT)
    logged = requests.get(sandbox.url + "/_sandbox/requests", timeout=TIMEOUT).json()
    assert logged == [
        {"method": "POST", "path": "/api/v2/companies/1001/customers", "status": 201},
        {"method": "GET", "path": "/api/v2/utilities/ping", "status": 200},
    ]
    assert sandbox.requests == [(r["method"], r["path"], r["status"]) for r in logged]
    body = {
        "customer_code": "ACME-1",
        "region": "OR",
        "exemption_number": "OR-1",
        "signed_date": "2024-02-02",
        "pdf": base64.b64encode(SMALL_PDF).decode(),
    }
    created = requests.post(sandbox.url + "/_sandbox/certificates", json=body, timeout=TIMEOUT)
    assert created.status_code == 201
    assert_certificate(created.json())
    assert created.json()["signedDate"] == "2024-02-02"
    assert api("GET", f"/certificates/{created.json()['id']}/attachment").content == SMALL_PDF
    unknown = requests.post(
        sandbox.url + "/_sandbox/certificates", json={"customer_code": "NOBODY"}, timeout=TIMEOUT
    )
    assert_error(unknown, 404, "CertificatesError")
    ready = requests.post(sandbox.url + "/_sandbox/invitations/ready", timeout=TIMEOUT)
    assert ready.json() == {"ready": 0}
    sandbox.clear_requests()
    assert sandbox.requests == []
    reset = requests.post(sandbox.url + "/_sandbox/reset", timeout=TIMEOUT)
    assert reset.status_code == 200
    assert api("GET", "/customers/ACME-1").status_code == 404
    assert requests.get(sandbox.url + "/_sandbox/requests", timeout=TIMEOUT).json() == [
        {"method": "GET", "path": "/api/v2/companies/1001/customers/ACME-1", "status": 404}
    ]


def test_upload_pages_are_not_in_the_request_log(sandbox, api):
    link = _upload_link(api)
    sandbox.clear_requests()
    requests.get(link, timeout=TIMEOUT)
    assert sandbox.requests == []


# --- persistence, CLI, isolation --------------------------------------------------------


def test_state_file_survives_a_restart(tmp_path):
    state = tmp_path / "demo" / "state.json"
    config = SandboxConfig(state_file=state)
    with SandboxServer(config) as first, requests.Session() as http:
        http.auth = AUTH
        base = f"{first.url}/api/v2/companies/1001"
        http.post(
            f"{base}/customers", json=[customer_body("KEEP Ü")], timeout=TIMEOUT
        ).raise_for_status()
        certificate = first.add_certificate("KEEP Ü", pdf=SMALL_PDF)
        by_name = {key: value for key, value in certificate_body("KEEP Ü").items() if key != "pdf"}
        [named] = http.post(
            f"{base}/certificates", json=[{**by_name, "filename": "kept.pdf"}], timeout=TIMEOUT
        ).json()
        body = {"exposureZones": [1], "deliveryMethod": "Download"}
        [invited] = http.post(
            f"{base}/customers/{segment('KEEP Ü')}/certexpressinvites", json=[body], timeout=TIMEOUT
        ).json()
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert saved["format"] == "certcapture-sandbox-state"
    assert [p.name for p in state.parent.iterdir()] == ["state.json"]  # no temporary left
    with SandboxServer(config) as second, requests.Session() as http:
        http.auth = AUTH
        base = f"{second.url}/api/v2/companies/1001"
        kept = http.get(f"{base}/customers/{segment('KEEP Ü')}", timeout=TIMEOUT).json()
        assert kept["customerCode"] == "KEEP Ü"
        assert (
            http.get(f"{base}/certificates/{certificate['id']}", timeout=TIMEOUT).json()
            == certificate
        )
        pdf = http.get(f"{base}/certificates/{certificate['id']}/attachment", timeout=TIMEOUT)
        assert pdf.content == SMALL_PDF
        kept = http.get(f"{base}/certificates/{named['id']}", timeout=TIMEOUT).json()
        assert (kept["filename"], kept["documentExists"]) == ("kept.pdf", False)
        followed = http.get(
            f"{base}/customers/{segment('KEEP Ü')}/certexpressinvites/"
            f"{invited['invitation']['id']}",
            timeout=TIMEOUT,
        ).json()
        token = invited["invitation"]["requestLink"].rsplit("/", 1)[1]
        assert followed["requestLink"] == f"{second.url}/certexpress/{token}"
        assert requests.get(followed["requestLink"], timeout=TIMEOUT).status_code == 200
        newer = second.add_certificate("KEEP Ü")  # numbering and clock carry on
        assert newer["id"] == named["id"] + 1
        assert newer["modifiedDate"] > certificate["modifiedDate"]
        second.reset()
    assert json.loads(state.read_text(encoding="utf-8"))["customers"] == []


def test_cli_starts_answers_and_stops_on_sigterm():
    command = [
        sys.executable,
        "-m",
        "certcapture_sandbox",
        "--port",
        "0",
        "--company-code",
        "A",
        "--company-code",
        "B",
        "--not-provisioned",
        "C",
        "--license-key",
        "cli-key",
        "--fault",
        "GET /definitions/ 503x1",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        auth = (ACCOUNT_ID, "cli-key")
        ping = requests.get(url + "/api/v2/utilities/ping", auth=auth, timeout=TIMEOUT)
        assert ping.status_code == 200 and ping.json()["authenticated"] is True
        companies = requests.get(url + "/api/v2/companies", auth=auth, timeout=TIMEOUT).json()
        assert [(c["id"], c["companyCode"]) for c in companies["value"]] == [
            (1001, "A"),
            (1002, "B"),
            (1003, "C"),
        ]
        setup = requests.get(
            url + "/api/v2/companies/1003/certificates/setup", auth=auth, timeout=TIMEOUT
        ).json()
        assert setup["status"] == "NotProvisioned"
        zones = url + "/api/v2/definitions/certificateexposurezones"
        assert requests.get(zones, auth=auth, timeout=TIMEOUT).status_code == 503
        assert requests.get(zones, auth=auth, timeout=TIMEOUT).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=10)
    assert process.returncode == 0
    assert '"GET /api/v2/utilities/ping" 200' in errors  # one log line per request


def test_cli_refuses_a_bad_fault_rule():
    result = subprocess.run(
        [sys.executable, "-m", "certcapture_sandbox", "--port", "0", "--fault", "GET /x 200"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2 and "fault rule" in result.stderr


def test_po_numbers_of_a_single_use_certificate_come_with_their_include(sandbox, api):
    create_customer(api)
    added = sandbox.add_certificate("ACME-1", single_use=True, po_numbers=["PO-77"])
    path = f"/certificates/{added['id']}"
    assert "poNumbers" not in api("GET", path).json(), "only when asked for"
    included = api("GET", path, params={"$include": "customers,po_numbers"}).json()
    assert included["poNumbers"] == [{"id": 1, "poNumber": "PO-77"}]
    listed = api("GET", "/certificates", params={"$include": "po_numbers"}).json()["value"]
    assert listed[0]["poNumbers"][0]["poNumber"] == "PO-77"
