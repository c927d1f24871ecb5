"""Unit tests of the ECM client over a scripted session: URLs and headers, error
mapping, the retry and idempotency rules, paging, redaction and logging."""

import base64
import dataclasses
import logging
import socket
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from ecm_fakes import (
    ACCOUNT_ID,
    BASE_URL,
    LICENSE_KEY,
    FakeSession,
    Reply,
    body_read_timeout,
    connection_dropped,
    connection_refused,
    error_reply,
    fetch_reply,
)

from certcapture_exemption.ecm import (
    AuthenticationError,
    CertCaptureError,
    ConfigurationError,
    Customer,
    EcmClient,
    NotFoundError,
    NotProvisionedError,
    ProtocolError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    ValidationError,
)
from certcapture_exemption.ecm.transport import Transport, parse_retry_after

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPANY = "/api/v2/companies/1001"
CUSTOMER_JSON = {"id": 12, "companyId": 1001, "customerCode": "C1", "name": "Acme"}
INVITATION_JSON = [{"status": "InProgress", "invitation": {"id": 5, "customerCode": "C1"}}]
CERTIFICATE_JSON = {
    "id": 500001,
    "companyId": 1001,
    "signedDate": "2024-01-15",
    "expirationDate": "2027-12-31",
    "exemptionNumber": "WA-123",
    "exposureZone": {"id": 48, "name": "Washington", "region": "WA", "country": "US"},
    "exemptionReason": {"id": 1, "name": "RESALE"},
    "documentExists": True,
    "modifiedDate": "2024-01-15T10:00:00Z",
}
PDF = b"%PDF-1.4 a signed certificate"
#: A customer with every field the API requires (AvaTax wants an address).
CUSTOMER = Customer(
    "C1", "Acme", line1="1 Main St", city="Seattle", postal_code="98101", region="WA", country="US"
)


def make_client(*outcomes, **options):
    """A client for company 1001 answering from ``outcomes``; returns it, the session and
    the list of waits it asked for."""
    session = FakeSession(*outcomes)
    sleeps = []
    options.setdefault("company_id", 1001)
    client = EcmClient(
        BASE_URL, ACCOUNT_ID, LICENSE_KEY, session=session, sleep=sleeps.append, **options
    )
    return client, session, sleeps


# --- configuration ------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        "http://rest.avatax.com",
        "http://10.0.0.5:8080",
        "ftp://rest.avatax.com",
        "rest.avatax.com",
        "https://user:pass@rest.avatax.com",
        "https://rest.avatax.com?x=1",
        "",
        None,
        "https://host:notaport",
    ],
)
def test_bad_base_urls_are_refused(base_url):
    with pytest.raises(ConfigurationError):
        EcmClient(base_url, ACCOUNT_ID, LICENSE_KEY)


@pytest.mark.parametrize(
    "base_url, expected",
    [
        ("https://rest.avatax.com/", "https://rest.avatax.com"),
        ("http://127.0.0.1:8069", "http://127.0.0.1:8069"),
        ("http://127.9.9.9", "http://127.9.9.9"),
        ("http://localhost:5000/", "http://localhost:5000"),
        ("http://[::1]:5000", "http://[::1]:5000"),
    ],
)
def test_https_or_loopback_http_is_accepted(base_url, expected):
    assert EcmClient(base_url, ACCOUNT_ID, LICENSE_KEY)._transport.base_url == expected


@pytest.mark.parametrize(
    "account_id, license_key", [("", "k"), (None, "k"), ("1", ""), ("1", None)]
)
def test_missing_credentials_are_refused(account_id, license_key):
    with pytest.raises(ConfigurationError):
        EcmClient(BASE_URL, account_id, license_key)


@pytest.mark.parametrize(
    "setting",
    [
        {"connect_timeout": 0},
        {"read_timeout": -1},
        {"read_timeout": "30"},
        {"backoff_base": -0.1},
        {"max_retries": -1},
        {"max_retries": 1.5},
        {"max_pdf_bytes": 0},
    ],
)
def test_bad_settings_are_configuration_errors(setting):
    with pytest.raises(ConfigurationError):
        EcmClient(BASE_URL, ACCOUNT_ID, LICENSE_KEY, **setting)


def test_company_calls_need_a_company_id_and_send_nothing_without_it():
    client, session, _ = make_client(company_id=None)
    with pytest.raises(ConfigurationError):
        client.get_customer("C1")
    with pytest.raises(ConfigurationError):
        client.iter_customer_certificates("C1")
    assert session.calls == []


def test_a_session_is_closed_only_by_its_owner(monkeypatch):
    client, session, _ = make_client()
    client.close()
    assert not session.closed
    closed = []
    monkeypatch.setattr(requests.Session, "close", lambda session: closed.append(session))
    with EcmClient(BASE_URL, ACCOUNT_ID, LICENSE_KEY) as own:
        pass
    assert closed == [own._transport.session]


# --- what goes on the wire ----------------------------------------------------------


def test_every_request_carries_auth_headers_and_timeouts():
    client, session, _ = make_client(
        Reply(200, {"version": "1", "authenticated": True}), connect_timeout=2, read_timeout=9
    )
    assert client.ping().authenticated
    call = session.calls[0]
    assert (call.method, call.path) == ("GET", "/api/v2/utilities/ping")
    assert call.kwargs["auth"] == (ACCOUNT_ID, LICENSE_KEY)
    assert call.kwargs["timeout"] == (2.0, 9.0)
    assert call.kwargs["allow_redirects"] is False
    headers = call.kwargs["headers"]
    assert headers["Accept"] == "application/json"
    assert headers["X-Avalara-Client"] == (
        f"certcapture_exemption; 18.0.2.1.0; requests; {requests.__version__}; "
        f"{socket.gethostname()}"
    )


@pytest.mark.parametrize(
    "code, encoded",
    [
        ("A B", "A%20B"),
        ("A/B", "A%2FB"),
        ("Café", "Caf%C3%A9"),
        ("50%", "50%25"),
        ("a?b#c", "a%3Fb%23c"),
    ],
)
def test_customer_codes_are_percent_encoded_as_one_segment(code, encoded):
    client, session, _ = make_client(Reply(200, {**CUSTOMER_JSON, "customerCode": code}))
    client.get_customer(code)
    assert session.calls[0].url == f"{BASE_URL}{COMPANY}/customers/{encoded}"


def test_create_customer_posts_a_one_element_array_without_nulls_and_with_the_company_id():
    """The .NET SDK leaves nulls out and always sends companyId (CustomerModel.cs)."""
    client, session, _ = make_client(Reply(200, [CUSTOMER_JSON]))
    assert client.create_customer(CUSTOMER).id == 12
    call = session.calls[0]
    assert (call.method, call.path) == ("POST", f"{COMPANY}/customers")
    assert call.kwargs["json"] == [
        {
            "customerCode": "C1",
            "name": "Acme",
            "line1": "1 Main St",
            "city": "Seattle",
            "postalCode": "98101",
            "region": "WA",
            "country": "US",
            "isBill": True,
            "companyId": 1001,
        }
    ]


def test_update_customer_puts_the_full_record_at_its_code_nulls_and_company_id_included():
    customer = dataclasses.replace(CUSTOMER, customer_code="C 1")
    client, session, _ = make_client(Reply(200, {**CUSTOMER_JSON, "customerCode": "C 1"}))
    client.update_customer(customer)
    call = session.calls[0]
    assert (call.method, call.path) == ("PUT", f"{COMPANY}/customers/C%201")
    body = call.kwargs["json"]
    assert body == dataclasses.replace(customer, company_id=1001).to_api()
    assert body["companyId"] == 1001 and body["isBill"] is True
    assert body["line2"] is None and body["isShip"] is None  # PUT replaces: null clears


def test_a_company_id_given_by_the_caller_is_kept_and_must_be_the_clients():
    client, session, _ = make_client(Reply(200, [CUSTOMER_JSON]))
    client.create_customer(dataclasses.replace(CUSTOMER, company_id=1001))
    assert session.calls[0].kwargs["json"][0]["companyId"] == 1001
    with pytest.raises(ValueError, match="companyId 7"):
        client.create_customer(dataclasses.replace(CUSTOMER, company_id=7))
    assert len(session.calls) == 1


@pytest.mark.parametrize("method", ["create_customer", "update_customer", "upsert_customer"])
def test_a_customer_without_required_fields_is_refused_before_sending(method):
    client, session, _ = make_client()
    customer = dataclasses.replace(CUSTOMER, line1=None, postal_code=" ", region=None)
    with pytest.raises(ValueError) as caught:
        getattr(client, method)(customer)
    assert "'C1'" in str(caught.value) and "line1, postalCode, region" in str(caught.value)
    assert session.calls == []


@pytest.mark.parametrize("method", ["create_customer", "update_customer", "upsert_customer"])
def test_a_customer_both_bill_to_and_ship_to_is_refused_before_sending(method):
    client, session, _ = make_client()
    with pytest.raises(ValueError, match="isBill and isShip"):
        getattr(client, method)(dataclasses.replace(CUSTOMER, is_ship=True))
    assert session.calls == []


def test_a_ship_to_customer_is_sent_with_is_bill_false():
    client, session, _ = make_client(Reply(200, [CUSTOMER_JSON]))
    client.create_customer(dataclasses.replace(CUSTOMER, is_bill=False, is_ship=True))
    body = session.calls[0].kwargs["json"][0]
    assert (body["isBill"], body["isShip"]) == (False, True)


def test_upsert_updates_an_existing_customer_and_creates_a_missing_one():
    client, session, _ = make_client(Reply(200, CUSTOMER_JSON), Reply(200, CUSTOMER_JSON))
    client.upsert_customer(CUSTOMER)
    assert [call.method for call in session.calls] == ["GET", "PUT"]
    client, session, _ = make_client(
        error_reply(404, "EntityNotFoundError"), Reply(200, [CUSTOMER_JSON])
    )
    client.upsert_customer(CUSTOMER)
    assert [call.method for call in session.calls] == ["GET", "POST"]


def test_link_ship_to_customers_posts_the_codes_to_the_bill_to():
    answer = {**CUSTOMER_JSON, "isBill": True, "shipTos": [{"id": 13, "customerCode": "S/1"}]}
    client, session, _ = make_client(Reply(200, answer))
    bill_to = client.link_ship_to_customers("C 1", ["S/1", "S2"])
    assert bill_to.id == 12 and bill_to.ship_tos[0].customer_code == "S/1"
    call = session.calls[0]
    assert (call.method, call.path) == ("POST", f"{COMPANY}/customers/billto/C%201/shipto/link")
    assert call.kwargs["json"] == {"customers": ["S/1", "S2"]}


def test_link_ship_to_customers_takes_one_code_and_refuses_none():
    client, session, _ = make_client(Reply(200, CUSTOMER_JSON))
    client.link_ship_to_customers("C1", "S1")
    assert session.calls[0].kwargs["json"] == {"customers": ["S1"]}
    for bad in ([], [""], [None]):
        with pytest.raises(ValueError):
            client.link_ship_to_customers("C1", bad)
    assert len(session.calls) == 1


def test_list_ship_to_customers_reads_the_bill_to_with_its_ship_tos():
    answer = {**CUSTOMER_JSON, "shipTos": [{"id": 13, "customerCode": "S1", "isShip": True}]}
    client, session, _ = make_client(Reply(200, answer), Reply(200, CUSTOMER_JSON))
    assert [c.customer_code for c in client.list_ship_to_customers("C1")] == ["S1"]
    assert session.calls[0].path == f"{COMPANY}/customers/C1"
    assert session.calls[0].params == {"$include": "shipTos"}
    assert client.list_ship_to_customers("C1") == ()


def test_get_customer_joins_its_includes():
    client, session, _ = make_client(Reply(200, CUSTOMER_JSON))
    client.get_customer("C1", include_active_certificates=True, include_ship_tos=True)
    assert session.calls[0].params == {"$include": "active_certificates,shipTos"}


def test_query_parameters_of_each_read():
    client, session, _ = make_client(
        Reply(200, CUSTOMER_JSON),
        Reply(200, {"id": 7}),
        Reply(200, {"status": "NotExempt"}),
        fetch_reply([{"id": 1001, "companyCode": "O'NEIL"}]),
    )
    client.get_customer("C1", include_active_certificates=True)
    client.get_certificate(7)
    client.get_exemption_status("C1", "WA")
    assert client.find_company("O'NEIL").id == 1001
    assert session.calls[0].params == {"$include": "active_certificates"}
    assert session.calls[1].params == {"$include": "customers,po_numbers"}
    assert session.calls[2].path == f"{COMPANY}/customers/C1/certificates/US/WA"
    assert session.calls[3].path == "/api/v2/companies"
    assert session.calls[3].params == {"$filter": "companyCode eq 'O''NEIL'"}


def test_an_unknown_exemption_status_is_logged_and_not_exempt(caplog):
    client, _, _ = make_client(Reply(200, {"status": "Partial"}), Reply(200, {"status": "EXEMPT"}))
    with caplog.at_level(logging.WARNING, logger="certcapture_exemption.ecm"):
        assert not client.get_exemption_status("C1", "WA").is_exempt
        assert client.get_exemption_status("C1", "WA").is_exempt
    assert [r.getMessage() for r in caplog.records] == [
        "Avalara answered the unknown exemption status 'Partial' for US/WA: taken as not exempt"
    ]


def test_find_company_returns_none_when_no_company_has_the_code():
    client, _, _ = make_client(fetch_reply([]))
    assert client.find_company("NOPE") is None


def test_changed_since_filters_in_utc_orders_and_includes_customers_and_po_numbers():
    since = datetime(2024, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    client, session, _ = make_client(fetch_reply([{"id": 1}]), fetch_reply([]))
    assert [c.id for c in client.iter_certificates_changed_since(since)] == [1]
    assert list(client.iter_certificates_changed_since(None)) == []
    assert session.calls[0].params == {
        "$filter": "modifiedDate gt '2024-01-01T00:00:00Z'",
        "$include": "customers,po_numbers",
        "$orderBy": "modifiedDate",
        "$top": 100,
        "$skip": 0,
    }
    assert "$filter" not in session.calls[1].params


def test_a_download_request_sends_no_recipient_and_gives_its_link_once_ready():
    answer = [
        {
            "status": "Ready",
            "invitation": {"id": 6, "deliveryMethod": "Download", "requestLink": "https://x/up"},
        }
    ]
    client, session, _ = make_client(Reply(201, answer))
    result = client.create_invitation("C1", None, [89], delivery_method="Download")
    assert result.upload_link == "https://x/up" and not result.is_sent
    assert session.calls[0].kwargs["json"] == [
        {
            "exposureZones": [89],
            "exemptReasons": [],
            "deliveryMethod": "Download",
            "coverLetterTitle": "STANDARD_REQUEST",
        }
    ]


@pytest.mark.parametrize(
    "recipient, method, problem",
    [
        (None, "Email", "recipient"),
        ("  ", "Email", "recipient"),
        ("ap@acme.test", "Carrier pigeon", "delivery_method"),
        ("ap@acme.test", "email", "delivery_method"),
        (42, "Download", "recipient"),
    ],
)
def test_create_invitation_refuses_bad_arguments_before_sending(recipient, method, problem):
    client, session, _ = make_client()
    with pytest.raises(ValueError, match=problem):
        client.create_invitation("C1", recipient, [89], delivery_method=method)
    assert session.calls == []


def invalid_operation():
    details = [{"code": "InvalidExemptionOperation", "number": 1212, "description": "gt"}]
    return error_reply(400, "InvalidExemptionOperation", "Operation not supported", details)


def test_a_refused_gt_filter_falls_back_to_ge_and_drops_what_is_at_the_watermark():
    watermark = datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    at_watermark = {"id": 1, "modifiedDate": "2024-01-01T12:00:00.1234567Z"}  # the 7th digit
    later = {"id": 2, "modifiedDate": "2024-01-01T12:00:00.1234580Z"}
    client, session, _ = make_client(
        invalid_operation(),
        fetch_reply([at_watermark, later]),
        fetch_reply([at_watermark, later]),
    )
    assert [c.id for c in client.iter_certificates_changed_since(watermark)] == [2]
    filters = [call.params["$filter"] for call in session.calls]
    assert filters == [
        "modifiedDate gt '2024-01-01T12:00:00.123456Z'",
        "modifiedDate ge '2024-01-01T12:00:00.123456Z'",
    ]
    # The client remembers: the next listing asks with ge at once.
    naive = watermark.replace(tzinfo=None)
    assert [c.id for c in client.iter_certificates_changed_since(naive)] == [2]
    assert session.calls[2].params["$filter"].startswith("modifiedDate ge ")
    assert len(session.calls) == 3


def test_other_refusals_of_the_filter_are_raised():
    client, session, _ = make_client(error_reply(400, "MalformedFilterException", "bad"))
    with pytest.raises(ValidationError) as caught:
        list(client.iter_certificates_changed_since(datetime(2024, 1, 1)))
    assert caught.value.code == "MalformedFilterException" and len(session.calls) == 1


def test_changed_since_needs_a_datetime():
    client, session, _ = make_client()
    with pytest.raises(ValueError):
        client.iter_certificates_changed_since(date(2024, 1, 1))
    assert session.calls == []


def test_iter_invitations_falls_back_to_ge_too():
    since = datetime(2024, 6, 1, 9, 0, tzinfo=timezone.utc)
    client, session, _ = make_client(
        invalid_operation(),
        fetch_reply(
            [
                {"id": 1, "customerCode": "C1", "date": "2024-06-01T09:00:00Z"},
                {"id": 2, "customerCode": "C1", "date": "2024-06-01T09:00:01Z"},
            ]
        ),
    )
    found = client.iter_invitations(customer_code="C1", created_since=since)
    assert [i.id for i in found] == [2]
    assert session.calls[1].params["$filter"] == (
        "customerCode eq 'C1' and date ge '2024-06-01T09:00:00Z'"
    )


def test_invitation_body_and_answer():
    client, session, _ = make_client(
        Reply(200, INVITATION_JSON), Reply(200, {"id": 5, "requestLink": "https://x/up"})
    )
    result = client.create_invitation("C1", "ap@acme.test", [89], [70])
    assert result.invitation.id == 5 and not result.is_ready
    assert session.calls[0].path == f"{COMPANY}/customers/C1/certexpressinvites"
    assert session.calls[0].kwargs["json"] == [
        {
            "recipient": "ap@acme.test",
            "exposureZones": [89],
            "exemptReasons": [70],
            "deliveryMethod": "Email",
            "coverLetterTitle": "STANDARD_REQUEST",
        }
    ]
    assert client.get_invitation("C1", 5).request_link == "https://x/up"
    assert session.calls[1].path == f"{COMPANY}/customers/C1/certexpressinvites/5"


# --- creating a certificate -------------------------------------------------------------


def create_certificate(client, **changes):
    """``client.create_certificate`` with a valid set of arguments, changed by ``changes``."""
    arguments = {
        "exposure_zone_id": 48,
        "signed_date": date(2024, 1, 15),
        "expiration_date": date(2027, 12, 31),
        "exemption_number": "WA-123",
        "exemption_reason_id": 1,
        "pdf": PDF,
        **changes,
    }
    return client.create_certificate(arguments.pop("customer_code", "C 1"), **arguments)


def test_create_certificate_posts_a_one_element_array_of_a_certificate_model():
    client, session, _ = make_client(Reply(201, [CERTIFICATE_JSON]))
    certificate = create_certificate(client, single_use=True)
    assert certificate.id == 500001 and certificate.exposure_zone.region == "WA"
    call = session.calls[0]
    assert (call.method, call.path) == ("POST", f"{COMPANY}/certificates")
    assert call.kwargs["json"] == [
        {
            "signedDate": "2024-01-15",
            "expirationDate": "2027-12-31",
            "exemptionNumber": "WA-123",
            "isSingleCertificate": True,
            "exemptionReason": {"id": 1},
            "exposureZone": {"id": 48},
            "customers": [{"companyId": 1001, "customerCode": "C 1"}],
            "pdf": base64.b64encode(PDF).decode("ascii"),
        }
    ]
    assert base64.b64decode(call.kwargs["json"][0]["pdf"], validate=True) == PDF


def test_create_certificate_leaves_unset_fields_out():
    client, session, _ = make_client(Reply(201, [CERTIFICATE_JSON]))
    client.create_certificate(
        "C1", exposure_zone_id=48, signed_date=date(2024, 1, 15), filename="scan-77.pdf"
    )
    assert session.calls[0].kwargs["json"] == [
        {
            "signedDate": "2024-01-15",
            "isSingleCertificate": False,
            "exposureZone": {"id": 48},
            "customers": [{"companyId": 1001, "customerCode": "C1"}],
            "filename": "scan-77.pdf",
        }
    ]


def test_create_certificate_sends_the_calendar_date_of_a_datetime():
    client, session, _ = make_client(Reply(201, [CERTIFICATE_JSON]))
    signed = datetime(2024, 1, 15, 23, 30, tzinfo=timezone(timedelta(hours=-8)))
    create_certificate(client, signed_date=signed, expiration_date=None)
    body = session.calls[0].kwargs["json"][0]
    assert body["signedDate"] == "2024-01-15" and "expirationDate" not in body


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"pdf": b"%PDF-" + b"x" * 96}, "more than the 100 allowed"),
        ({"pdf": b"GIF89a"}, "not a PDF"),
        ({"pdf": b""}, "not a PDF"),
        ({"filename": "scan.pdf"}, "not both"),
        ({"pdf": "JVBERi0="}, "pdf must be bytes"),
        ({"exposure_zone_id": "48"}, "exposure_zone_id must be an integer id"),
        ({"exposure_zone_id": True}, "exposure_zone_id must be an integer id"),
        ({"exemption_reason_id": 1.0}, "exemption_reason_id must be an id"),
        ({"signed_date": "2024-01-15"}, "signed_date must be a date"),
        ({"expiration_date": "never"}, "expiration_date must be a date"),
        ({"exemption_number": 123}, "exemption_number must be a string"),
        ({"single_use": "yes"}, "single_use must be True or False"),
        ({"customer_code": None}, "customer_code must be a string"),
    ],
)
def test_create_certificate_refuses_bad_arguments_before_sending(changes, problem):
    client, session, _ = make_client(max_pdf_bytes=100)
    with pytest.raises(ValueError, match=problem):
        create_certificate(client, **changes)
    assert session.calls == []


def test_create_certificate_accepts_a_pdf_of_exactly_max_pdf_bytes():
    client, session, _ = make_client(Reply(201, [CERTIFICATE_JSON]), max_pdf_bytes=100)
    create_certificate(client, pdf=bytearray(b"%PDF-" + b"x" * 95))
    assert len(base64.b64decode(session.calls[0].kwargs["json"][0]["pdf"])) == 100


def test_create_certificate_leaves_missing_required_fields_to_the_api():
    refused = error_reply(400, "MissingExemptReason", "An exemption reason is required")
    client, session, _ = make_client(refused)
    with pytest.raises(ValidationError) as caught:
        create_certificate(client, exemption_reason_id=None, pdf=None)
    assert "exemptionReason" not in session.calls[0].kwargs["json"][0]
    assert "pdf" not in session.calls[0].kwargs["json"][0]
    assert not caught.value.may_have_taken_effect


def test_create_certificate_needs_a_company_id():
    client, session, _ = make_client(company_id=None)
    with pytest.raises(ConfigurationError):
        create_certificate(client)
    assert session.calls == []


@pytest.mark.parametrize(
    "failure",
    [Reply(503, body=b""), error_reply(429, "RateLimitExceeded"), connection_refused()],
)
def test_create_certificate_is_retried_when_it_surely_did_not_take_effect(failure):
    client, session, _ = make_client(failure, Reply(201, [CERTIFICATE_JSON]))
    assert create_certificate(client).id == 500001
    assert [call.method for call in session.calls] == ["POST", "POST"]


@pytest.mark.parametrize(
    "failure, error_class",
    [
        (requests.ReadTimeout(), RequestTimeoutError),
        (connection_dropped(), TransportError),
        (Reply(502, body=b""), ServerError),
        (Reply(504, body=b""), ServerError),
        (Reply(201, body=b'[{"id": 500001, "sig'), ProtocolError),
        (Reply(201, [{"signedDate": "2024-01-15"}]), ProtocolError),  # no id
        (Reply(201, []), ProtocolError),
        (
            error_reply(
                400,
                "CertificatesError",
                "Certificates API returned error",
                [{"code": "CertificatesError", "description": "The uploaded file must be a PDF."}],
            ),
            CertCaptureError,
        ),
    ],
)
def test_a_certificate_is_never_sent_twice_after_a_failure_that_may_have_taken_effect(
    failure, error_class
):
    client, session, sleeps = make_client(failure)
    with pytest.raises(error_class) as caught:
        create_certificate(client)
    assert caught.value.may_have_taken_effect
    assert (caught.value.method, caught.value.path) == ("POST", f"{COMPANY}/certificates")
    assert len(session.calls) == 1 and sleeps == []


def test_a_certificates_error_saying_not_found_on_create_may_have_taken_effect_too():
    client, session, _ = make_client(certificates_error(400, "Exposure zone not found"))
    with pytest.raises(NotFoundError) as caught:
        create_certificate(client)
    assert caught.value.may_have_taken_effect and len(session.calls) == 1


def test_a_refused_certificate_did_not_take_effect():
    client, _, _ = make_client(error_reply(400, "InvalidExemptReason", "Unknown reason"))
    with pytest.raises(ValidationError) as caught:
        create_certificate(client, exemption_reason_id=999)
    assert caught.value.code == "InvalidExemptReason" and not caught.value.may_have_taken_effect


def test_the_pdf_never_reaches_the_logs(caplog):
    client, _, _ = make_client(Reply(502, body=b""))
    encoded = base64.b64encode(PDF).decode("ascii")
    with (
        caplog.at_level(logging.DEBUG, logger="certcapture_exemption.ecm"),
        pytest.raises(ServerError) as caught,
    ):
        create_certificate(client)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert encoded not in logged and encoded not in repr(caught.value)


# --- listing certificate requests --------------------------------------------------------


def test_iter_invitations_lists_the_company_requests_page_by_page():
    client, session, _ = make_client(
        fetch_reply([{"id": 1, "customerCode": "A"}, {"id": 2, "customerCode": "B"}], count=3),
        fetch_reply([{"id": 3, "customerCode": "A", "recipient": "ap@a.test"}], count=3),
    )
    invitations = client.iter_invitations(page_size=2)
    assert session.calls == []
    assert [(i.id, i.customer_code) for i in invitations] == [(1, "A"), (2, "B"), (3, "A")]
    assert [c.path for c in session.calls] == [f"{COMPANY}/certexpressinvites"] * 2
    assert [c.params for c in session.calls] == [
        {"$top": 2, "$skip": 0},
        {"$top": 2, "$skip": 2},
    ]


def test_iter_invitations_filters_on_the_customer_code_and_the_date_in_utc():
    since = datetime(2024, 6, 1, 11, 30, 0, 250000, tzinfo=timezone(timedelta(hours=2)))
    client, session, _ = make_client(fetch_reply([]), fetch_reply([]), fetch_reply([]))
    assert list(client.iter_invitations(customer_code="O'NEIL / 1", created_since=since)) == []
    list(client.iter_invitations(customer_code="C1"))
    list(client.iter_invitations(created_since=datetime(2024, 6, 1)))  # naive: UTC
    assert [c.params.get("$filter") for c in session.calls] == [
        "customerCode eq 'O''NEIL / 1' and date gt '2024-06-01T09:30:00.250000Z'",
        "customerCode eq 'C1'",
        "date gt '2024-06-01T00:00:00Z'",
    ]


def test_iter_invitations_keeps_only_the_exact_customer_code():
    client, _, _ = make_client(
        fetch_reply(
            [
                {"id": 1, "customerCode": "Acme"},
                {"id": 2, "customerCode": "ACME"},  # a filter that ignores case
                {"id": 3, "customerCode": "Acme"},
            ]
        )
    )
    assert [i.id for i in client.iter_invitations(customer_code="Acme")] == [1, 3]


def test_an_invitation_carries_what_tells_two_requests_apart():
    record = {
        "id": 900001,
        "companyId": 1001,
        "recipient": "ap@acme.test",
        "customerCode": "C1",
        "emailStatus": "Sent",
        "exposureZones": [48, 38],
        "exemptReasons": [1],
        "deliveryMethod": "Email",
        "date": "2024-06-01T09:30:00.123Z",
        "requestLink": "https://app.certexpress.test/x",
    }
    client, _, _ = make_client(fetch_reply([record]))
    [invitation] = client.iter_invitations(customer_code="C1")
    assert (
        invitation.id,
        invitation.customer_code,
        invitation.recipient,
        invitation.exposure_zones,
        invitation.delivery_method,
        invitation.email_status,
        invitation.request_link,
        invitation.date,
    ) == (
        900001,
        "C1",
        "ap@acme.test",
        (48, 38),
        "Email",
        "Sent",
        "https://app.certexpress.test/x",
        datetime(2024, 6, 1, 9, 30, 0, 123000, tzinfo=timezone.utc),
    )


@pytest.mark.parametrize(
    "options, error_class",
    [
        ({"page_size": 0}, ValueError),
        ({"customer_code": 12}, ValueError),
        ({"created_since": date(2024, 6, 1)}, ValueError),
        ({"created_since": "2024-06-01"}, ValueError),
    ],
)
def test_iter_invitations_refuses_bad_arguments_at_call_time(options, error_class):
    client, session, _ = make_client()
    with pytest.raises(error_class):
        client.iter_invitations(**options)
    assert session.calls == []


def test_iter_invitations_needs_a_company_id():
    client, session, _ = make_client(company_id=None)
    with pytest.raises(ConfigurationError):
        client.iter_invitations()
    assert session.calls == []


# --- paging -----------------------------------------------------------------------------


def test_pages_are_fetched_lazily_with_a_constant_page_size():
    client, session, _ = make_client(
        fetch_reply([{"id": 1}, {"id": 2}], count=5),
        fetch_reply([{"id": 3}, {"id": 4}], 5),
        fetch_reply([{"id": 5}], count=5),
    )
    certificates = client.iter_customer_certificates("C1", page_size=2)
    assert session.calls == []
    assert next(certificates).id == 1
    assert len(session.calls) == 1
    assert [c.id for c in certificates] == [2, 3, 4, 5]
    assert [(c.params["$top"], c.params["$skip"]) for c in session.calls] == [
        (2, 0),
        (2, 2),
        (2, 4),
    ]


def test_paging_stops_when_the_recordset_count_is_reached():
    client, session, _ = make_client(fetch_reply([{"id": 1}, {"id": 2}], count=2))
    assert len(list(client.iter_exposure_zones(page_size=2))) == 2
    assert len(session.calls) == 1


def test_paging_without_a_count_stops_at_the_first_short_page():
    client, session, _ = make_client(
        Reply(200, {"value": [{"id": 1}, {"id": 2}]}), Reply(200, {"value": []})
    )
    assert [r.id for r in client.iter_exemption_reasons(page_size=2)] == [1, 2]
    assert len(session.calls) == 2


def records(first, last):
    return [{"id": n} for n in range(first, last + 1)]


def test_a_server_cap_on_top_does_not_end_the_listing():
    """Asked for 10, the server answers 4 of 10: the first page's length is its page size."""
    client, session, _ = make_client(
        fetch_reply(records(1, 4), count=10),
        fetch_reply(records(5, 8), count=10),
        fetch_reply(records(9, 10), count=10),
    )
    assert [c.id for c in client.iter_customer_certificates("C1", page_size=10)] == list(
        range(1, 11)
    )
    assert [(c.params["$top"], c.params["$skip"]) for c in session.calls] == [
        (10, 0),
        (4, 4),
        (4, 8),
    ]


def test_a_short_page_in_the_middle_does_not_end_the_listing_either():
    client, session, _ = make_client(
        fetch_reply(records(1, 3), count=7),
        fetch_reply(records(4, 5), count=7),
        fetch_reply(records(6, 7), count=7),
    )
    assert len(list(client.iter_customer_certificates("C1", page_size=3))) == 7
    assert [c.params["$skip"] for c in session.calls] == [0, 3, 5]


def test_an_empty_page_ends_the_listing_whatever_the_count():
    client, session, _ = make_client(fetch_reply(records(1, 2), count=9), fetch_reply([], count=9))
    assert len(list(client.iter_customer_certificates("C1", page_size=2))) == 2
    assert len(session.calls) == 2


def next_link_reply(records_, count, link):
    reply = fetch_reply(records_, count)
    reply.json["@nextLink"] = link
    return reply


@pytest.mark.parametrize(
    "link",
    [
        f"{COMPANY}/certificates?$top=2&$skip=2&$orderBy=modifiedDate&$include=customers",
        f"{BASE_URL}{COMPANY}/certificates?$top=2&$skip=2&$orderBy=modifiedDate&$include=customers",
    ],
    ids=["relative", "absolute"],
)
def test_next_link_is_followed_on_the_clients_own_host(link):
    client, session, _ = make_client(
        next_link_reply(records(1, 2), 3, link), fetch_reply(records(3, 3), count=3)
    )
    assert [c.id for c in client.iter_certificates_changed_since(None, page_size=50)] == [1, 2, 3]
    second = session.calls[1]
    assert second.url.startswith(f"{BASE_URL}{COMPANY}/certificates?")
    assert second.params == {
        "$top": "2",
        "$skip": "2",
        "$orderBy": "modifiedDate",
        "$include": "customers",
    }


@pytest.mark.parametrize(
    "link",
    [
        f"https://elsewhere.test{COMPANY}/certificates?$top=2&$skip=2",
        f"http://ecm.example.test{COMPANY}/certificates?$top=2&$skip=2",
        "/api/v2/companies/1001/customers?$top=2&$skip=2",
        f"{COMPANY}/certificates",
    ],
    ids=["other-host", "other-scheme", "other-path", "no-query"],
)
def test_a_next_link_elsewhere_is_ignored_and_paging_goes_on_by_skip(link):
    client, session, _ = make_client(
        next_link_reply(records(1, 2), 3, link), fetch_reply(records(3, 3), count=3)
    )
    assert len(list(client.iter_certificates_changed_since(None, page_size=2))) == 3
    assert session.calls[1].url.startswith(BASE_URL + COMPANY + "/certificates?")
    assert (session.calls[1].params["$top"], session.calls[1].params["$skip"]) == (2, 2)


def test_a_next_link_that_repeats_itself_is_followed_once():
    link = f"{COMPANY}/customers/C1/certificates?$top=2&$skip=2"
    page = {"value": records(1, 2), "@nextLink": link}  # no @recordsetCount
    client, session, _ = make_client(
        Reply(200, page), Reply(200, {**page, "value": records(3, 4)}), Reply(200, {"value": []})
    )
    assert len(list(client.iter_customer_certificates("C1", page_size=2))) == 4
    assert session.calls[2].params["$skip"] == 4


@pytest.mark.parametrize("page_size", [0, 1001, "10"])
def test_bad_page_sizes_are_refused_at_call_time(page_size):
    client, _, _ = make_client()
    with pytest.raises(ValueError):
        client.iter_exposure_zones(page_size=page_size)


# --- error mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, error_class, code",
    [
        (
            error_reply(401, "AuthenticationException", "Bad key"),
            AuthenticationError,
            "AuthenticationException",
        ),
        (Reply(403, body=b"Forbidden"), AuthenticationError, "AuthenticationException"),
        (
            error_reply(404, "EntityNotFoundError", "No customer"),
            NotFoundError,
            "EntityNotFoundError",
        ),
        (
            error_reply(400, "CertCaptureNotConfiguredError", "Not set up"),
            NotProvisionedError,
            "CertCaptureNotConfiguredError",
        ),
        (
            error_reply(400, "CertificatesNotSetup", "Not set up"),
            NotProvisionedError,
            "CertificatesNotSetup",
        ),
        (
            error_reply(400, "ValueRequiredError", "name is required"),
            ValidationError,
            "ValueRequiredError",
        ),
        (Reply(409, body=b""), ValidationError, "ValidationError"),
        (error_reply(429, "RateLimitExceeded", "Slow down"), RateLimitedError, "RateLimitExceeded"),
        (error_reply(500, "ServerError", "Oops"), ServerError, "ServerError"),
        (Reply(502, body=b"<html>Bad gateway</html>"), ServerError, "ServerError"),
        # The code decides before the status does.
        (
            error_reply(500, "EntityNotFoundError", "No such thing"),
            NotFoundError,
            "EntityNotFoundError",
        ),
        (
            Reply(302, body=b"", headers={"Location": "https://elsewhere.test"}),
            ProtocolError,
            "ProtocolError",
        ),
    ],
)
def test_errors_are_typed_by_code_then_status(reply, error_class, code):
    client, _, _ = make_client(reply, max_retries=0)
    with pytest.raises(error_class) as caught:
        client.get_customer("C1")
    error = caught.value
    assert type(error) is error_class
    assert (error.code, error.status) == (code, reply.status)
    assert (error.method, error.path) == ("GET", f"{COMPANY}/customers/C1")
    assert error.message


def test_certcapture_errors_read_their_text_from_the_details():
    details = [
        {
            "code": "CertificatesError",
            "number": 1,
            "message": "CertCapture error",
            "description": "Customer has no ship-to state",
            "severity": "Error",
        }
    ]
    client, _, _ = make_client(error_reply(400, "CertificatesError", "CertCapture error", details))
    with pytest.raises(CertCaptureError) as caught:
        client.get_customer("C1")
    assert caught.value.message == "Customer has no ship-to state"
    assert caught.value.details == details


@pytest.mark.parametrize(
    "status, code, number",
    [
        (400, "CertificatesNotSetup", 1205),
        (400, "CertCaptureNotConfiguredError", 1205),  # the name before SDK 18.4
        (400, "AccountNotProvisioned", 1216),
        (500, "AccountNotProvisioned", 1216),
    ],
)
def test_not_set_up_and_not_provisioned_are_not_provisioned_errors(status, code, number):
    details = [{"code": code, "number": number, "description": "Not set up"}]
    client, _, _ = make_client(error_reply(status, code, "Not set up", details), max_retries=0)
    with pytest.raises(NotProvisionedError) as caught:
        client.get_customer("C1")
    assert caught.value.code == code and caught.value.status == status


def test_not_provisioned_error_defaults_to_the_current_code_name():
    assert NotProvisionedError().code == "CertificatesNotSetup"


def certificates_error(status, description):
    details = [
        {
            "code": "CertificatesError",
            "number": 1203,
            "message": "Certificates API returned error",
            "description": description,
            "severity": "Error",
        }
    ]
    return error_reply(status, "CertificatesError", "Certificates API returned error", details)


@pytest.mark.parametrize(
    "status, description",
    [
        (404, "The customer could not be processed."),
        (400, "Customer 'C1' was not found."),
        (400, '{"success":false,"error":"Customer does not exist"}'),
        (400, "No such customer: C1"),
        (400, "Unknown entity"),
    ],
)
def test_a_certificates_error_saying_not_found_is_a_not_found_error(status, description):
    client, session, _ = make_client(certificates_error(status, description))
    with pytest.raises(NotFoundError) as caught:
        client.get_customer("C1")
    error = caught.value
    assert (error.code, error.status, error.message) == ("CertificatesError", status, description)
    assert not error.transient and len(session.calls) == 1


def test_a_certificates_error_about_something_else_stays_a_certcapture_error():
    client, _, _ = make_client(certificates_error(400, "The uploaded file must be a PDF."))
    with pytest.raises(CertCaptureError) as caught:
        client.get_customer("C1")
    assert type(caught.value) is CertCaptureError


def test_update_of_a_customer_certcapture_does_not_know_is_a_not_found_error():
    """The add-on re-creates a customer deleted in CertCapture when its update is a
    NotFoundError: it must be one in the form Avalara answers it too."""
    client, _, _ = make_client(certificates_error(404, "Customer 'C1' not found"))
    with pytest.raises(NotFoundError):
        client.update_customer(CUSTOMER)


@pytest.mark.parametrize(
    "code", ["RequestLimitExceeded", "ConcurrentRequestLimitExceeded", "RateLimitExceededError"]
)
@pytest.mark.parametrize("status", [429, 400, 503, 500, 502])
def test_rate_limit_codes_are_rate_limited_whatever_the_status(code, status):
    client, session, sleeps = make_client(
        error_reply(status, code, "Too many requests"), Reply(200, CUSTOMER_JSON)
    )
    assert client.get_customer("C1").id == 12  # transient: retried
    assert len(session.calls) == 2 and len(sleeps) == 1
    client, _, _ = make_client(error_reply(status, code, "Too many requests"), max_retries=0)
    with pytest.raises(RateLimitedError) as caught:
        client.get_customer("C1")
    assert caught.value.transient and not caught.value.may_have_taken_effect
    assert caught.value.code == code


@pytest.mark.parametrize("status", [400, 502, 504])
def test_a_rate_limited_post_was_turned_away_and_is_retried(status):
    client, session, _ = make_client(
        error_reply(status, "ConcurrentRequestLimitExceeded", "Busy"), Reply(201, INVITATION_JSON)
    )
    assert client.create_invitation("C1", "ap@acme.test", [89]).invitation.id == 5
    assert [c.method for c in session.calls] == ["POST", "POST"]


def test_request_certificate_setup_posts_without_body_and_returns_the_status():
    answer = {"status": "InProgress", "accountId": 1100000001, "companyId": 1001}
    client, session, _ = make_client(Reply(200, answer))
    status = client.request_certificate_setup()
    assert status.status == "InProgress" and not status.is_provisioned
    call = session.calls[0]
    assert (call.method, call.path) == ("POST", f"{COMPANY}/certificates/setup")
    assert call.kwargs["json"] is None


def test_a_non_json_error_body_still_gives_the_status():
    client, _, _ = make_client(Reply(400, body=b"<html>nope</html>"))
    with pytest.raises(ValidationError) as caught:
        client.get_customer("C1")
    assert caught.value.status == 400 and "400" in caught.value.message


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, body=b'{"customerCode": "C1", "na'),
        Reply(200, body=b"not json"),
        Reply(200, body=b""),
        Reply(200, ["a", "list"]),
        Reply(200, {"customerCode": 12}),
    ],
)
def test_unusable_answers_are_protocol_errors(reply):
    client, _, _ = make_client(reply)
    with pytest.raises(ProtocolError):
        client.get_customer("C1")


@pytest.mark.parametrize(
    "answer", [{"count": 1}, {"value": {}}, [], {"value": [], "@recordsetCount": "3"}]
)
def test_fetch_results_without_a_value_list_are_protocol_errors(answer):
    client, _, _ = make_client(Reply(200, answer))
    with pytest.raises(ProtocolError):
        list(client.iter_exposure_zones())


# --- retries -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        Reply(503, body=b""),
        Reply(502, body=b""),
        Reply(504, body=b""),
        error_reply(429, "RateLimitExceeded"),
        connection_refused(),
        connection_dropped(),
        requests.ConnectTimeout(),
        requests.ReadTimeout(),
        body_read_timeout(),
    ],
)
def test_reads_are_retried_after_transient_failures(failure):
    client, session, sleeps = make_client(failure, failure, Reply(200, CUSTOMER_JSON))
    assert client.get_customer("C1").id == 12
    assert len(session.calls) == 3 and client.request_count == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    "failure",
    [
        error_reply(400, "ValueRequiredError"),
        error_reply(401, "AuthenticationException"),
        error_reply(404, "EntityNotFoundError"),
        error_reply(500, "ServerError"),
        requests.exceptions.SSLError("certificate verify failed"),
    ],
)
def test_other_failures_are_never_retried(failure):
    client, session, sleeps = make_client(failure)
    with pytest.raises(
        (ValidationError, AuthenticationError, NotFoundError, ServerError, TransportError)
    ):
        client.get_customer("C1")
    assert len(session.calls) == 1 and sleeps == []


def test_retries_stop_after_max_retries_and_raise_the_last_error():
    client, session, sleeps = make_client(*[Reply(503, body=b"")] * 3, max_retries=2)
    with pytest.raises(ServerError) as caught:
        client.get_customer("C1")
    assert caught.value.status == 503 and caught.value.transient
    assert len(session.calls) == 3 and len(sleeps) == 2


def test_backoff_is_capped_exponential_with_full_jitter():
    session = FakeSession(*[Reply(503, body=b"")] * 6)
    sleeps = []
    transport = Transport(
        BASE_URL,
        ACCOUNT_ID,
        LICENSE_KEY,
        max_retries=5,
        backoff_base=0.5,
        backoff_cap=3.0,
        session=session,
        sleep=sleeps.append,
        jitter=lambda: 1.0,
    )
    with pytest.raises(ServerError):
        transport.request_json("GET", "/api/v2/utilities/ping")
    assert sleeps == [0.5, 1.0, 2.0, 3.0, 3.0]
    transport._jitter = lambda: 0.25
    session.outcomes.extend([Reply(503, body=b"")] * 2)
    transport.max_retries = 1
    sleeps.clear()
    with pytest.raises(ServerError):
        transport.request_json("GET", "/api/v2/utilities/ping")
    assert sleeps == [0.125]


def test_default_backoff_stays_within_the_full_jitter_bounds():
    client, _, sleeps = make_client(*[Reply(504, body=b"")] * 4)
    with pytest.raises(ServerError):
        client.get_customer("C1")
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        assert 0 <= delay <= min(8.0, 0.5 * 2**attempt)


@pytest.mark.parametrize("retry_after, expected", [("2", 2.0), ("0.5", 0.5), ("600", 60.0)])
def test_retry_after_is_honoured_and_capped(retry_after, expected):
    limited = error_reply(429, "RateLimitExceeded", headers={"Retry-After": retry_after})
    client, _, sleeps = make_client(limited, Reply(200, CUSTOMER_JSON))
    client.get_customer("C1")
    assert sleeps == [expected]


def test_retry_after_is_exposed_on_the_error():
    limited = error_reply(429, "RateLimitExceeded", headers={"Retry-After": "7"})
    client, _, _ = make_client(limited, max_retries=0)
    with pytest.raises(RateLimitedError) as caught:
        client.get_customer("C1")
    assert caught.value.retry_after == 7.0


def test_retry_after_as_an_http_date():
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# --- POST: retried only where it surely did not take effect --------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        Reply(503, body=b""),
        error_reply(429, "RateLimitExceeded"),
        connection_refused(),
        requests.ConnectTimeout(),
    ],
)
def test_a_post_is_retried_when_it_surely_did_not_take_effect(failure):
    client, session, _ = make_client(failure, Reply(200, INVITATION_JSON))
    assert client.create_invitation("C1", "ap@acme.test", [89]).invitation.id == 5
    assert [call.method for call in session.calls] == ["POST", "POST"]


@pytest.mark.parametrize(
    "failure, error_class",
    [
        (requests.ReadTimeout(), RequestTimeoutError),
        (body_read_timeout(), RequestTimeoutError),
        (connection_dropped(), TransportError),
        (Reply(502, body=b""), ServerError),
        (Reply(504, body=b""), ServerError),
        (Reply(200, body=b'[{"status'), ProtocolError),
    ],
)
def test_an_invitation_is_never_sent_twice_after_an_ambiguous_failure(failure, error_class):
    client, session, sleeps = make_client(failure)
    with pytest.raises(error_class) as caught:
        client.create_invitation("C1", "ap@acme.test", [89])
    assert caught.value.may_have_taken_effect
    assert len(session.calls) == 1 and sleeps == []


@pytest.mark.parametrize(
    "failure",
    [
        requests.ReadTimeout(),
        connection_dropped(),
        Reply(502, body=b""),
        Reply(504, body=b""),
        Reply(200, body=b'[{"id": 12, "custo'),
        Reply(200, [{"id": "12", "customerCode": "C1"}]),  # read, but not a CustomerModel
    ],
)
def test_create_customer_after_an_ambiguous_failure_returns_the_customer_it_finds(failure):
    client, session, _ = make_client(failure, Reply(200, CUSTOMER_JSON))
    assert client.create_customer(CUSTOMER).id == 12
    assert [(c.method, c.path) for c in session.calls] == [
        ("POST", f"{COMPANY}/customers"),
        ("GET", f"{COMPANY}/customers/C1"),
    ]


def test_a_created_record_that_cannot_be_read_may_have_taken_effect():
    client, session, _ = make_client(Reply(201, [{"status": "Ready", "invitation": {}}]))
    with pytest.raises(ProtocolError) as caught:
        client.create_invitation("C1", "ap@acme.test", [89])
    error = caught.value
    assert error.may_have_taken_effect and len(session.calls) == 1
    assert (error.method, error.path) == ("POST", f"{COMPANY}/customers/C1/certexpressinvites")


def test_create_customer_posts_again_only_when_the_lookup_finds_nothing():
    client, session, _ = make_client(
        requests.ReadTimeout(), error_reply(404, "EntityNotFoundError"), Reply(200, [CUSTOMER_JSON])
    )
    assert client.create_customer(CUSTOMER).id == 12
    assert [c.method for c in session.calls] == ["POST", "GET", "POST"]


def test_create_customer_returns_the_late_first_create_when_the_retry_is_a_duplicate():
    client, session, _ = make_client(
        requests.ReadTimeout(),
        error_reply(404, "EntityNotFoundError"),
        error_reply(400, "DuplicateEntry", "customerCode 'C1' already exists"),
        Reply(200, CUSTOMER_JSON),
    )
    assert client.create_customer(CUSTOMER).id == 12
    assert [c.method for c in session.calls] == ["POST", "GET", "POST", "GET"]


def test_create_customer_does_not_look_up_after_a_clear_refusal():
    client, session, _ = make_client(error_reply(400, "ValueRequiredError", "name required"))
    with pytest.raises(ValidationError):
        client.create_customer(CUSTOMER)
    assert len(session.calls) == 1


# --- attachments --------------------------------------------------------------------------


def test_pdf_download():
    client, session, _ = make_client(
        Reply(200, body=b"%PDF-1.4 hello", headers={"Content-Type": "application/pdf"})
    )
    assert client.download_certificate_pdf(7) == b"%PDF-1.4 hello"
    call = session.calls[0]
    assert call.path == f"{COMPANY}/certificates/7/attachment"
    assert call.params == {"$type": "Pdf"}
    assert call.kwargs["headers"]["Accept"].startswith("application/pdf")


def test_an_attachment_that_is_not_a_pdf_is_refused():
    client, _, _ = make_client(Reply(200, body=b"<html>login</html>"))
    with pytest.raises(ProtocolError, match="not a PDF"):
        client.download_certificate_pdf(7)


def test_an_oversized_attachment_is_refused_from_its_declared_length():
    body = b"%PDF-" + b"x" * 100
    client, session, _ = make_client(
        Reply(200, body=body, headers={"Content-Length": str(len(body))}), max_pdf_bytes=50
    )
    with pytest.raises(ProtocolError, match="larger than"):
        client.download_certificate_pdf(7)
    assert session.responses[0].raw.bytes_read == 0


def test_an_oversized_attachment_is_not_read_past_the_cap():
    client, session, _ = make_client(
        Reply(200, body=b"%PDF-" + b"x" * 1_000_000), max_pdf_bytes=100_000
    )
    with pytest.raises(ProtocolError, match="larger than"):
        client.download_certificate_pdf(7)
    assert session.responses[0].raw.bytes_read < 200_000


# --- secrets and logs --------------------------------------------------------------------------


def test_reprs_do_not_contain_the_license_key():
    client, _, _ = make_client()
    assert LICENSE_KEY not in repr(client)
    assert LICENSE_KEY not in repr(client._transport)
    assert ACCOUNT_ID in repr(client)


def test_the_license_key_never_reaches_logs_or_error_messages(caplog):
    echo = error_reply(400, "InvalidKey", f"Key {LICENSE_KEY} is not valid for this account")
    client, _, _ = make_client(Reply(503, body=b""), echo)
    with (
        caplog.at_level(logging.DEBUG, logger="certcapture_exemption.ecm"),
        pytest.raises(ValidationError) as caught,
    ):
        client.get_customer("C1")
    assert LICENSE_KEY not in caught.value.message
    assert LICENSE_KEY not in repr(caught.value) and LICENSE_KEY not in str(caught.value)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert LICENSE_KEY not in logged and "Authorization" not in logged


def test_each_attempt_is_logged_at_debug_and_each_retry_warned(caplog):
    client, _, _ = make_client(Reply(503, body=b""), Reply(200, CUSTOMER_JSON))
    with caplog.at_level(logging.DEBUG, logger="certcapture_exemption.ecm"):
        client.get_customer("C1", include_active_certificates=True)
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert debug[0].startswith(f"Avalara GET {COMPANY}/customers/C1 -> 503 in ")
    assert debug[0].endswith("(attempt 1)") and debug[1].endswith("(attempt 2)")
    assert " -> 200 in " in debug[1]
    assert "$include" not in "\n".join(debug)
    assert len(warnings) == 1 and "retry 1 of 3" in warnings[0]


# --- packaging -------------------------------------------------------------------------------


def test_the_client_imports_without_odoo():
    code = (
        "import sys, certcapture_exemption.ecm as ecm; ecm.EcmClient; "
        "print(sorted(m for m in sys.modules if m == 'odoo' or m.startswith('odoo.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- the time budget of a person waiting ------------------------------------------------


def test_time_budget_shortens_timeouts_to_what_is_left():
    client, session, _ = make_client(Reply(200, CUSTOMER_JSON), read_timeout=30.0)
    with client.time_budget(3.0):
        client.get_customer("C1")
    connect, read = session.calls[0].kwargs["timeout"]
    assert 2.5 < read <= 3.0 and 2.5 < connect <= 3.0
    client2, session2, _ = make_client(Reply(200, CUSTOMER_JSON), read_timeout=30.0)
    client2.get_customer("C1")
    assert session2.calls[0].kwargs["timeout"] == (5.0, 30.0), "no budget: full timeouts"


def test_time_budget_gives_up_a_long_retry_after_instead_of_waiting():
    limited = error_reply(429, "RateLimitExceeded", headers={"Retry-After": "25"})
    client, session, sleeps = make_client(limited, Reply(200, CUSTOMER_JSON))
    with client.time_budget(10.0), pytest.raises(RateLimitedError):
        client.get_customer("C1")
    assert sleeps == [] and len(session.calls) == 1


def test_time_budget_allows_short_waits_that_fit():
    limited = error_reply(429, "RateLimitExceeded", headers={"Retry-After": "1"})
    client, session, sleeps = make_client(limited, Reply(200, CUSTOMER_JSON))
    with client.time_budget(10.0):
        assert client.get_customer("C1").id == 12
    assert sleeps == [1.0] and len(session.calls) == 2


def test_spent_time_budget_sends_nothing():
    client, session, _ = make_client(Reply(200, CUSTOMER_JSON))
    with client.time_budget(0.0), pytest.raises(RequestTimeoutError) as caught:
        client.get_customer("C1")
    assert session.calls == []
    assert caught.value.transient and not caught.value.may_have_taken_effect


def test_time_budgets_nest_and_end():
    client, _, _ = make_client()
    transport = client._transport
    with client.time_budget(10.0):
        outer = transport.deadline
        with client.time_budget(60.0):
            assert transport.deadline == outer, "an inner budget never extends the outer one"
        with client.time_budget(1.0):
            assert transport.deadline < outer
        assert transport.deadline == outer
    assert transport.deadline is None


def test_an_unreadable_record_is_handed_over_and_the_page_goes_on():
    good = {"id": 1, "modifiedDate": "2024-05-01T10:00:00Z"}
    bad = {"id": 2, "modifiedDate": "May 1st"}
    client, _, _ = make_client(fetch_reply([good, bad, {**good, "id": 3}], count=3))
    unreadable = []
    ids = [
        c.id
        for c in client.iter_certificates_changed_since(
            None, on_unreadable=lambda raw, error: unreadable.append((raw["id"], str(error)))
        )
    ]
    assert ids == [1, 3]
    assert unreadable[0][0] == 2 and "modifiedDate" in unreadable[0][1]


def test_an_unreadable_record_stops_the_iteration_by_default():
    client, _, _ = make_client(fetch_reply([{"id": 2, "modifiedDate": "May 1st"}], count=1))
    with pytest.raises(ProtocolError):
        list(client.iter_certificates_changed_since(None))


def test_a_single_use_certificate_reads_its_po_numbers():
    record = {"id": 9, "isSingleCertificate": True, "poNumbers": [{"id": 1, "poNumber": "PO-7"}]}
    client, session, _ = make_client(Reply(200, record))
    certificate = client.get_certificate(9)
    assert certificate.po_numbers == ("PO-7",)
    assert session.calls[0].params == {"$include": "customers,po_numbers"}


def test_every_request_sent_is_handed_to_the_request_log():
    limited = error_reply(429, "RateLimitExceeded", headers={"Retry-After": "0"})
    client, _, _ = make_client(
        limited,
        Reply(200, CUSTOMER_JSON),
        connection_refused(),
        connection_refused(),
        max_retries=1,
    )
    entries = []
    client.on_request = entries.append
    client.get_customer("C1")
    with pytest.raises(TransportError):
        client.get_customer("C2")
    assert [(e["method"], e["status"], e["error_code"], e["attempt"]) for e in entries[:2]] == [
        ("GET", 429, "RateLimitExceeded", 1),
        ("GET", 200, None, 2),
    ]
    assert entries[0]["path"] == f"{COMPANY}/customers/C1"
    assert entries[2]["status"] is None and entries[2]["error_code"] == "ConnectionError"
    assert all(e["duration_ms"] >= 0 for e in entries)
    assert LICENSE_KEY not in repr(entries)
