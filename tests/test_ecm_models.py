"""Parsing and serialising of the ECM client's models, against the API contract's JSON."""

import dataclasses
from datetime import date, datetime, timedelta, timezone

import pytest

from certcapture_exemption.ecm import (
    Certificate,
    CertificateRequest,
    Company,
    Customer,
    ExemptionReason,
    ExemptionStatus,
    ExposureZone,
    Invitation,
    InvitationRequest,
    InvitationResult,
    PingResult,
    ProtocolError,
    SetupStatus,
)
from certcapture_exemption.ecm.models import format_datetime, parse_date, parse_datetime

ALL_MODELS = (
    PingResult,
    Company,
    SetupStatus,
    Customer,
    ExposureZone,
    ExemptionReason,
    Certificate,
    ExemptionStatus,
    Invitation,
    InvitationRequest,
    InvitationResult,
)

FULL_CUSTOMER = {
    "id": 12,
    "companyId": 1001,
    "customerCode": "C/001 é",
    "alternateId": "ALT-1",
    "name": "Acme Wholesale",
    "attnName": "Accounts payable",
    "line1": "1 Main St",
    "line2": "Suite 2",
    "city": "Seattle",
    "postalCode": "98101",
    "region": "WA",
    "country": "US",
    "phoneNumber": "555-0100",
    "faxNumber": "555-0101",
    "emailAddress": "ap@acme.test",
    "contactName": "Jo Buyer",
    "taxpayerIdNumber": "91-123",
    "isBill": True,
    "isShip": False,
    "createdDate": "2024-05-01T10:11:12Z",
    "modifiedDate": "2024-05-02T10:11:12.1234567+02:00",
}

FULL_CERTIFICATE = {
    "id": 7,
    "companyId": 1001,
    "signedDate": "2024-01-15",
    "expirationDate": "2027-01-15T00:00:00",
    "filename": "cert-7.pdf",
    "documentExists": True,
    "valid": True,
    "verified": False,
    "exemptPercentage": 100,
    "isSingleCertificate": False,
    "exemptionNumber": "WA-123",
    "exemptionReason": {"id": 70, "name": "RESALE"},
    "status": "COMPLETE",
    "ecmStatus": "Valid",
    "exposureZone": {
        "id": 89,
        "name": "Washington",
        "tag": "EZ_US_WA",
        "region": "WA",
        "country": "US",
    },
    "createdDate": "2024-01-16T08:00:00Z",
    "modifiedDate": "2024-01-17T08:00:00Z",
    "pageCount": 1,
    "customers": [{"id": 12, "customerCode": "C/001 é"}],
}


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda model: model.__name__)
def test_models_are_frozen_and_required_fields_are_exactly_those_without_default(model):
    assert model.__dataclass_params__.frozen
    for model_field in dataclasses.fields(model):
        has_default = model_field.default is not dataclasses.MISSING
        assert has_default != model_field.metadata["required"], model_field.name


def test_customer_reads_every_field_in_snake_case():
    customer = Customer.from_api(FULL_CUSTOMER)
    assert (customer.customer_code, customer.name, customer.postal_code) == (
        "C/001 é",
        "Acme Wholesale",
        "98101",
    )
    assert customer.is_bill is True and customer.is_ship is False
    assert (customer.id, customer.company_id) == (12, 1001)
    assert customer.created_date == datetime(2024, 5, 1, 10, 11, 12, tzinfo=timezone.utc)
    assert customer.modified_date.utcoffset() == timedelta(hours=2)
    assert customer.active_certificates is None and customer.active_certificate_count is None


def test_customer_to_api_sends_the_full_writable_record_and_no_read_only_field():
    """companyId is sent: CustomerModel.ts requires it, and the .NET SDK always sends it."""
    body = Customer.from_api(FULL_CUSTOMER).to_api()
    read_only = {"id", "createdDate", "modifiedDate", "activeCertificates"}
    assert body == {key: value for key, value in FULL_CUSTOMER.items() if key not in read_only}


def test_customer_to_api_sends_unset_fields_as_null_because_put_replaces():
    body = Customer("C1", "Acme").to_api()
    assert body["customerCode"] == "C1" and body["name"] == "Acme"
    assert body["line2"] is None and body["isShip"] is None and body["companyId"] is None
    assert len(body) == 18


def test_customer_to_api_without_nulls_is_what_a_create_sends():
    body = Customer("C1", "Acme", city="Seattle", company_id=1001).to_api(omit_none=True)
    assert body == {
        "customerCode": "C1",
        "name": "Acme",
        "city": "Seattle",
        "isBill": True,
        "companyId": 1001,
    }


def test_a_customer_built_here_is_a_bill_to_and_never_says_ship_to():
    """isBill and isShip both true is refused by the API (CustomerCantBeBothShipToAndBillTo):
    a customer is a bill-to by default, with isShip left out."""
    customer = Customer("C1", "Acme")
    assert customer.is_bill is True and customer.is_ship is None
    assert "isShip" not in customer.to_api(omit_none=True)


def test_a_customer_read_without_flags_has_none_not_the_default():
    customer = Customer.from_api({"id": 3, "customerCode": "X"})
    assert customer.is_bill is None and customer.is_ship is None


def test_partial_customer_with_only_id_and_code():
    customer = Customer.from_api({"id": 3, "customerCode": "X"})
    assert customer == Customer("X", id=3, is_bill=None)


@pytest.mark.parametrize(
    "changes, missing",
    [
        ({}, ()),
        ({"name": None, "line1": " "}, ("name", "line1")),
        ({"city": None, "postal_code": ""}, ("city", "postalCode")),
        ({"country": None}, ("country",)),
        ({"region": None}, ("region",)),
        ({"region": None, "country": "CA"}, ("region",)),
        ({"region": None, "country": "usa"}, ("region",)),
        ({"region": None, "country": "FR"}, ()),
        ({"customer_code": ""}, ("customerCode",)),
    ],
)
def test_missing_fields_names_what_the_api_requires(changes, missing):
    fields = {
        "customer_code": "C1",
        "name": "Acme",
        "line1": "1 Main St",
        "city": "Seattle",
        "postal_code": "98101",
        "region": "WA",
        "country": "US",
        **changes,
    }
    assert Customer(**fields).missing_fields() == missing


def test_ship_tos_and_bill_tos_are_read_as_customers():
    customer = Customer.from_api(
        {
            **FULL_CUSTOMER,
            "shipTos": [{"id": 13, "customerCode": "C1-SHIP", "isShip": True}],
            "billTos": [],
        }
    )
    assert customer.ship_tos == (Customer("C1-SHIP", id=13, is_bill=None, is_ship=True),)
    assert customer.bill_tos == ()
    assert Customer.from_api(FULL_CUSTOMER).ship_tos is None
    assert "shipTos" not in customer.to_api()


def test_active_certificates_count_is_the_list_length():
    customer = Customer.from_api({**FULL_CUSTOMER, "activeCertificates": [{"id": 1}, {}]})
    assert customer.active_certificate_count == 2
    assert (
        Customer.from_api({"customerCode": "X", "activeCertificates": []}).active_certificate_count
        == 0
    )


def test_certificate_reads_nested_models_and_both_date_forms():
    certificate = Certificate.from_api(FULL_CERTIFICATE)
    assert certificate.signed_date == date(2024, 1, 15)
    assert certificate.expiration_date == date(2027, 1, 15)
    assert certificate.exemption_reason == ExemptionReason(70, "RESALE")
    assert certificate.exposure_zone == ExposureZone(89, "Washington", "EZ_US_WA", None, "WA", "US")
    assert certificate.exempt_percentage == 100.0
    assert isinstance(certificate.exempt_percentage, float)
    assert certificate.customers == (Customer("C/001 é", id=12, is_bill=None),)


def test_certificate_tolerates_missing_optional_keys_and_nulls():
    certificate = Certificate.from_api(
        {"id": 9, "exemptionReason": None, "signedDate": None, "someFutureField": {"x": 1}}
    )
    assert certificate.id == 9
    assert certificate.exemption_reason is None and certificate.signed_date is None
    assert certificate.customers == ()


@pytest.mark.parametrize(
    "data, field_name",
    [
        ({"id": "7"}, "Certificate.id"),
        ({"id": True}, "Certificate.id"),
        ({"id": 7, "valid": "yes"}, "Certificate.valid"),
        ({"id": 7, "signedDate": 20240115}, "Certificate.signedDate"),
        ({"id": 7, "signedDate": "15/01/2024"}, "Certificate.signedDate"),
        ({"id": 7, "exemptPercentage": "100"}, "Certificate.exemptPercentage"),
        ({"id": 7, "exemptionReason": "RESALE"}, "Certificate.exemptionReason"),
        ({"id": 7, "customers": {"id": 1}}, "Certificate.customers"),
        ({"id": 7, "customers": [{"id": 1}]}, "Certificate.customers[0].customerCode"),
        ({"signedDate": "2024-01-15"}, "Certificate.id"),
    ],
)
def test_certificate_is_strict_on_types_and_required_keys(data, field_name):
    with pytest.raises(ProtocolError) as caught:
        Certificate.from_api(data)
    assert field_name in caught.value.message


@pytest.mark.parametrize("data", [None, [], "x", 3])
def test_a_non_object_is_a_protocol_error(data):
    with pytest.raises(ProtocolError):
        Customer.from_api(data)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-02-29", date(2024, 2, 29)),
        ("2024-02-29T00:00:00", date(2024, 2, 29)),
        ("2024-02-29T00:00:00Z", date(2024, 2, 29)),
        ("2024-02-29T00:00:00.000-05:00", date(2024, 2, 29)),
    ],
)
def test_parse_date_accepts_both_forms(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-03-01T12:30:00Z", datetime(2024, 3, 1, 12, 30, tzinfo=timezone.utc)),
        ("2024-03-01T12:30:00", datetime(2024, 3, 1, 12, 30, tzinfo=timezone.utc)),
        ("2024-03-01T14:30:00+02:00", datetime(2024, 3, 1, 12, 30, tzinfo=timezone.utc)),
        (
            "2024-03-01T12:30:00.1234567Z",
            datetime(2024, 3, 1, 12, 30, 0, 123456, tzinfo=timezone.utc),
        ),
    ],
)
def test_parse_datetime_is_always_timezone_aware(text, expected):
    parsed = parse_datetime(text)
    assert parsed.tzinfo is not None and parsed == expected


UTC = timezone.utc
#: The fraction digits a .NET server may write (Json.NET drops trailing zeros; 7 is
#: its 100 ns tick), each with and without a zone: (text, microseconds read).
FRACTIONS = [
    ("", 0),
    (".1", 100000),
    (".123", 123000),
    (".123456", 123456),
    (".1234567", 123456),  # the 7th digit is cut: a datetime holds microseconds
]


@pytest.mark.parametrize("zone", ["Z", "", "+00:00", "-05:00"], ids=["Z", "none", "utc", "est"])
@pytest.mark.parametrize("fraction, microseconds", FRACTIONS, ids=[f or "0" for f, _ in FRACTIONS])
def test_parse_datetime_reads_every_fraction_length_with_or_without_a_zone(
    zone, fraction, microseconds
):
    parsed = parse_datetime(f"2024-05-01T12:30:05{fraction}{zone}")
    offset = timedelta(hours=-5) if zone == "-05:00" else timedelta(0)
    assert parsed == datetime(2024, 5, 1, 12, 30, 5, microseconds, tzinfo=timezone(offset))
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T00:00:00", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T12:30Z", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01T12:30:00.1234567", datetime(2024, 5, 1, 12, 30, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T12:30:00+0200", datetime(2024, 5, 1, 10, 30, tzinfo=UTC)),
        ("2024-05-01T12:30:00.5z", datetime(2024, 5, 1, 12, 30, 0, 500000, tzinfo=UTC)),
    ],
)
def test_parse_datetime_reads_the_forms_of_the_api_reference(text, expected):
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    "text",
    ["2024-13-01T00:00:00Z", "2024-05-01T25:00:00Z", "2024-05-01T12:30:00.Z", "20240501", "x"],
)
def test_parse_datetime_refuses_what_is_not_a_date_time(text):
    with pytest.raises(ProtocolError):
        parse_datetime(text)


def test_dates_are_read_without_fromisoformat_as_python_3_10_would_refuse_them(monkeypatch):
    """Python 3.10's ``fromisoformat`` refuses ``Z`` and fractions of other than 3 or
    6 digits; the add-on supports 3.10, so the reader must not depend on it."""

    class Python310Datetime(datetime):
        @classmethod
        def fromisoformat(cls, text):
            raise ValueError(f"Invalid isoformat string: {text!r}")

    from certcapture_exemption.ecm import models

    monkeypatch.setattr(models, "datetime", Python310Datetime)
    assert parse_datetime("2024-05-01T12:30:00.1234567Z") == datetime(
        2024, 5, 1, 12, 30, 0, 123456, tzinfo=UTC
    )
    assert parse_datetime("2024-05-01T12:30:00.1Z").microsecond == 100000
    assert parse_date("2024-05-01T00:00:00Z") == date(2024, 5, 1)
    customer = Customer.from_api(FULL_CUSTOMER)
    assert customer.modified_date.microsecond == 123456


def test_format_datetime_writes_utc_with_z_and_takes_naive_as_utc():
    aware = datetime(2024, 3, 1, 14, 30, 5, 999, tzinfo=timezone(timedelta(hours=2)))
    assert format_datetime(aware) == "2024-03-01T12:30:05.000999Z"
    assert format_datetime(datetime(2024, 3, 1, 12, 30, 5)) == "2024-03-01T12:30:05Z"
    assert format_datetime(datetime(2024, 3, 1, 12, 30, 5, 250)) == "2024-03-01T12:30:05.000250Z"


def test_status_properties():
    assert SetupStatus.from_api(
        {"status": "Provisioned", "accountId": 1, "companyId": 2}
    ).is_provisioned
    assert not SetupStatus.from_api({"status": "InProgress"}).is_provisioned
    exempt = ExemptionStatus.from_api({"status": "Exempt", "certificate": FULL_CERTIFICATE})
    assert exempt.is_exempt and exempt.certificate.id == 7
    not_exempt = ExemptionStatus.from_api({"status": "NotExempt", "certificate": None})
    assert not not_exempt.is_exempt and not_exempt.certificate is None


@pytest.mark.parametrize(
    "status, exempt, known",
    [
        ("Exempt", True, True),
        ("EXEMPT", True, True),
        ("exempt", True, True),
        ("NotExempt", False, True),
        ("notexempt", False, True),
        ("Pending", False, False),
    ],
)
def test_exemption_status_is_compared_without_case(status, exempt, known):
    answer = ExemptionStatus.from_api({"status": status})
    assert answer.is_exempt is exempt and answer.is_known_status is known


def test_ping_and_company():
    ping = PingResult.from_api(
        {
            "version": "1.0",
            "authenticated": True,
            "authenticationType": "AccountIdLicenseKey",
            "authenticatedAccountId": 1100000001,
        }
    )
    assert ping == PingResult("1.0", True, "AccountIdLicenseKey", 1100000001)
    assert not PingResult.from_api({"version": "1.0"}).authenticated
    assert Company.from_api({"id": 1001, "companyCode": "DEFAULT", "name": "Default"}) == Company(
        1001, "DEFAULT", "Default"
    )


def test_invitation_result_and_ready_state():
    data = {
        "status": "Ready",
        "invitation": {
            "id": 5,
            "companyId": 1001,
            "recipient": "ap@acme.test",
            "customerCode": "C1",
            "emailStatus": "Sent",
            "exposureZones": [89, 90],
            "exemptReasons": [],
            "deliveryMethod": "Email",
            "message": None,
            "date": "2024-06-01T09:00:00Z",
            "requestLink": "https://example.test/upload/abc",
        },
    }
    result = InvitationResult.from_api(data)
    assert result.is_ready
    assert result.invitation.exposure_zones == (89, 90)
    assert result.invitation.date == datetime(2024, 6, 1, 9, tzinfo=timezone.utc)
    in_progress = InvitationResult.from_api({"status": "InProgress", "invitation": {"id": 6}})
    assert not in_progress.is_ready and in_progress.invitation == Invitation(6)
    with pytest.raises(ProtocolError):
        InvitationResult.from_api({"status": "Ready"})


def invitation_result(status, delivery, email_status=None, link="https://x.test/up/1"):
    return InvitationResult.from_api(
        {
            "status": status,
            "invitation": {
                "id": 5,
                "deliveryMethod": delivery,
                "emailStatus": email_status,
                "requestLink": link,
            },
        }
    )


@pytest.mark.parametrize(
    "status, delivery, email_status, link, sent, upload_link",
    [
        # Email: the email carries the link; the state comes from emailStatus.
        ("InProgress", "Email", None, None, False, None),
        ("Ready", "Email", None, None, False, None),
        ("Ready", "Email", "Sent", None, True, None),
        ("Ready", "Email", "sent", "https://x.test/up/1", True, None),  # link not usable
        # Download: the link is usable once Ready, and no email is sent.
        ("InProgress", "Download", None, None, False, None),
        ("InProgress", "Download", None, "https://x.test/up/1", False, None),
        ("Ready", "Download", None, "https://x.test/up/1", False, "https://x.test/up/1"),
        ("Ready", "Fax", None, "https://x.test/up/1", False, None),
    ],
)
def test_an_invitation_is_sent_by_its_email_or_usable_by_its_download_link(
    status, delivery, email_status, link, sent, upload_link
):
    result = invitation_result(status, delivery, email_status, link)
    assert result.is_sent is sent and result.invitation.is_sent is sent
    assert result.upload_link == upload_link


def test_an_invitation_read_alone_has_no_status_its_download_link_counts():
    """GET answers no status: a Download request's link is there once it is Ready."""
    download = Invitation.from_api(
        {"id": 5, "deliveryMethod": "Download", "requestLink": "https://x.test/up/1"}
    )
    assert download.upload_link == "https://x.test/up/1" and not download.is_sent
    email = Invitation.from_api(
        {"id": 5, "deliveryMethod": "Email", "emailStatus": "Sent", "requestLink": "https://x"}
    )
    assert email.upload_link is None and email.is_sent
    assert Invitation(5).upload_link is None and not Invitation(5).is_sent


def test_a_download_request_body_leaves_the_recipient_out():
    request = InvitationRequest(None, (89,), (), "Download")
    assert request.to_api(omit_none=True) == {
        "exposureZones": [89],
        "exemptReasons": [],
        "deliveryMethod": "Download",
        "coverLetterTitle": "STANDARD_REQUEST",
    }


def test_invitation_request_body_uses_ids_and_enum_strings():
    body = InvitationRequest("ap@acme.test", (89,), ()).to_api()
    assert body == {
        "recipient": "ap@acme.test",
        "exposureZones": [89],
        "exemptReasons": [],
        "deliveryMethod": "Email",
        "coverLetterTitle": "STANDARD_REQUEST",
    }


def test_certificate_request_sends_only_what_is_set_and_hides_the_pdf_from_repr():
    pdf = b"%PDF-1.4 \xfb\xef\xff\xfe"
    request = CertificateRequest(
        customer_codes=("A", "B"), exposure_zone_id=48, signed_date=date(2024, 1, 15), pdf=pdf
    )
    assert request.to_api() == {
        "signedDate": "2024-01-15",
        "isSingleCertificate": False,
        "exposureZone": {"id": 48},
        "customers": [{"customerCode": "A"}, {"customerCode": "B"}],
        "pdf": "JVBERi0xLjQg++///g==",  # standard Base64: '+' and '/', padded
    }
    assert "JVBER" not in repr(request) and "PDF" not in repr(request)
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.pdf = None
