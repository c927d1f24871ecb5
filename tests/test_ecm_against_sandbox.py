"""The ECM client against the local sandbox over real loopback HTTP.

Every client method is exercised end to end, then every fault the sandbox can
inject, showing the documented behaviour: the error type, how many requests
were sent (the sandbox's own log and ``client.request_count``), and that
nothing is created twice. Waits between retries are recorded, not slept.
"""

import math
import re
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from certcapture_exemption.ecm import (
    AuthenticationError,
    CertCaptureError,
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

sandbox_module = pytest.importorskip("certcapture_sandbox")
SandboxConfig, SandboxServer = sandbox_module.SandboxConfig, sandbox_module.SandboxServer

ACCOUNT_ID, LICENSE_KEY = "1100000001", "sandbox-license-key"
CODE = "ACME / Ünï 1"  # a space, a slash and non-ASCII: must survive percent-encoding
CUSTOMERS_POST = r"/customers$"
INVITES_POST = r"/customers/[^/]+/certexpressinvites$"
CERTIFICATES_POST = r"/companies/\d+/certificates$"
PDF = b"%PDF-1.4\n% a certificate typed in by hand\n%%EOF\n"
#: The sandbox answers delayed calls after this long; the client gives up sooner.
DELAY_SECONDS, READ_TIMEOUT = 1.0, 0.3


@pytest.fixture(scope="module")
def sandbox():
    config = SandboxConfig(not_provisioned=("NOECM",), provisioning_failed=("FAILED",))
    with SandboxServer(config, host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(sandbox):
    sandbox.clear_faults()
    sandbox.reset()
    sandbox.clear_requests()
    yield
    sandbox.clear_faults()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def make_client(sandbox, sleeps):
    """Clients of the sandbox's DEFAULT company that record their waits instead of sleeping."""
    clients = []

    def make(**options):
        options.setdefault("company_id", sandbox.company_id("DEFAULT"))
        client = EcmClient(
            sandbox.url,
            options.pop("account_id", ACCOUNT_ID),
            options.pop("license_key", LICENSE_KEY),
            sleep=sleeps.append,
            **options,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client):
    return make_client()


def customer(code=CODE, **changes):
    """A customer the sandbox accepts (it wants an address, like AvaTax)."""
    fields = {
        "name": "Acme Wholesale",
        "line1": "1 Main St",
        "city": "Seattle",
        "postal_code": "98101",
        "region": "WA",
        "country": "US",
        "email_address": "ap@acme.test",
        "is_bill": True,
        **changes,
    }
    return Customer(code, **fields)


def served(sandbox, method, path_pattern):
    """Statuses of the API calls the sandbox served for ``method`` on matching paths."""
    return [
        status
        for m, path, status in sandbox.requests
        if m == method and re.search(path_pattern, path)
    ]


def served_eventually(sandbox, method, path_pattern, count, timeout=5.0):
    """Like ``served``, once ``count`` such calls were logged: a delayed call is logged only
    when the sandbox finally answers it, after the client stopped waiting."""
    deadline = time.monotonic() + timeout
    while len(served(sandbox, method, path_pattern)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return served(sandbox, method, path_pattern)


def fault(sandbox, **settings):
    sandbox.set_faults(**settings)


def rule(method, path, status, times=None, retry_after=None):
    return {
        "method": method,
        "path": path,
        "status": status,
        "times": times,
        "retry_after": retry_after,
    }


# --- every method, no faults ---------------------------------------------------------


def test_ping_and_company_resolution(sandbox, make_client):
    client = make_client(company_id=None)
    ping = client.ping()
    assert ping.authenticated and ping.authenticated_account_id == int(ACCOUNT_ID)
    company = client.find_company("DEFAULT")
    assert company.id == sandbox.company_id("DEFAULT") == 1001
    assert client.find_company("NO-SUCH-COMPANY") is None
    client.company_id = company.id
    assert client.certificate_setup().is_provisioned


@pytest.mark.parametrize(
    "company, code", [("NOECM", "CertificatesNotSetup"), ("FAILED", "AccountNotProvisioned")]
)
def test_a_company_without_certificate_storage_until_an_administrator_asks_for_it(
    sandbox, make_client, company, code
):
    client = make_client(company_id=sandbox.company_id(company))
    assert client.certificate_setup().status == "NotProvisioned"
    with pytest.raises(NotProvisionedError) as caught:
        client.get_customer(CODE)
    assert caught.value.code == code and caught.value.details[0]["number"] in (1205, 1216)
    assert client.request_certificate_setup().is_provisioned
    assert client.certificate_setup().is_provisioned
    assert client.create_customer(customer()).customer_code == CODE


def test_an_unknown_customer_is_a_not_found_error_in_certcaptures_words(client):
    """The sandbox answers as Avalara does (404 CertificatesError, 1203): the add-on's
    recoveries catch NotFoundError, with CertCapture's text as the message."""
    with pytest.raises(NotFoundError) as caught:
        client.update_customer(customer("GONE"))
    error = caught.value
    assert (error.code, error.status) == ("CertificatesError", 404)
    assert "GONE" in error.message and "not found" in error.message
    for call in (
        lambda: client.get_customer("GONE"),
        lambda: list(client.iter_customer_certificates("GONE")),
        lambda: client.get_exemption_status("GONE", "WA"),
        lambda: client.create_invitation("GONE", "ap@acme.test", [48]),
    ):
        with pytest.raises(NotFoundError):
            call()


def test_customer_lifecycle_with_an_awkward_code(client):
    with pytest.raises(NotFoundError):
        client.get_customer(CODE)
    created = client.create_customer(customer())
    assert created.customer_code == CODE and created.id and created.created_date.tzinfo
    assert client.get_customer(CODE) == created
    updated = client.update_customer(customer(name="Acme Retail", email_address=None))
    assert (updated.name, updated.email_address, updated.id) == ("Acme Retail", None, created.id)
    assert client.upsert_customer(customer(name="Acme Again")).name == "Acme Again"
    assert client.upsert_customer(customer("NEW-1")).customer_code == "NEW-1"
    assert client.get_customer("NEW-1").name == "Acme Wholesale"


def test_ship_tos_linked_to_a_bill_to(client):
    bill_to = client.create_customer(customer())
    assert (bill_to.is_bill, bill_to.is_ship, bill_to.company_id) == (True, None, 1001)
    ship_to = client.create_customer(customer("SHIP 1", is_bill=False, is_ship=True))
    assert client.list_ship_to_customers(CODE) == ()
    linked = client.link_ship_to_customers(CODE, [ship_to.customer_code])
    assert linked.customer_code == CODE
    assert [c.customer_code for c in client.list_ship_to_customers(CODE)] == ["SHIP 1"]
    with pytest.raises(ValidationError) as caught:
        client.link_ship_to_customers("SHIP 1", [CODE])
    assert caught.value.code == "BillToCustomerExpected"
    with pytest.raises(NotFoundError):
        client.link_ship_to_customers(CODE, ["NOBODY"])


def test_a_refused_create_is_a_validation_error(sandbox, client):
    with pytest.raises(ValueError, match="missing required fields"):
        client.create_customer(Customer("BARE"))  # refused by the client, nothing sent
    assert sandbox.requests == []
    client.create_customer(customer())
    with pytest.raises(ValidationError) as caught:
        client.create_customer(customer())
    assert caught.value.code == "DuplicateEntry"


def test_certificates_status_and_pdf(sandbox, client):
    client.create_customer(customer())
    pdf = b"%PDF-1.4 sandbox certificate"
    added = sandbox.add_certificate(
        CODE,
        region="WA",
        exemption_number="WA-123",
        signed_date=date(2024, 1, 15),
        expiration_date=date(2099, 1, 15),
        pdf=pdf,
    )
    assert client.get_customer(CODE, include_active_certificates=True).active_certificate_count == 1
    status = client.get_exemption_status(CODE, "WA")
    assert status.is_exempt and status.certificate.id == added["id"]
    assert status.certificate.signed_date == date(2024, 1, 15)
    assert not client.get_exemption_status(CODE, "OR").is_exempt
    certificate = client.get_certificate(added["id"])
    assert certificate.exemption_number == "WA-123"
    assert certificate.exposure_zone.region == "WA"
    assert certificate.exemption_reason.name == "RESALE"
    assert [c.customer_code for c in certificate.customers] == [CODE]
    assert client.get_certificate(added["id"], include_customers=False).customers == ()
    assert client.download_certificate_pdf(added["id"]) == pdf
    with pytest.raises(NotFoundError):
        client.get_certificate(999999)


def test_certificate_pages(sandbox, client):
    client.create_customer(customer())
    ids = [
        sandbox.add_certificate(CODE, region=region)["id"]
        for region in ("WA", "OR", "CA", "TX", "NY")
    ]
    sandbox.clear_requests()
    listed = list(client.iter_customer_certificates(CODE, page_size=2, include_customers=True))
    assert sorted(c.id for c in listed) == sorted(ids)
    assert all(c.customers[0].customer_code == CODE for c in listed)
    assert len(served(sandbox, "GET", r"/certificates$")) == 3

    changed = list(client.iter_certificates_changed_since(None, page_size=5))
    assert sorted(c.id for c in changed) == sorted(ids)
    assert [c.modified_date for c in changed] == sorted(c.modified_date for c in changed)
    assert len(served(sandbox, "GET", r"/companies/1001/certificates$")) == 1
    later = max(c.modified_date for c in changed) + timedelta(seconds=1)
    assert list(client.iter_certificates_changed_since(later)) == []
    earlier = datetime(2000, 1, 1, tzinfo=timezone.utc)
    assert len(list(client.iter_certificates_changed_since(earlier))) == 5


@pytest.mark.parametrize("page_size", [1000, 7, 3])
def test_a_capped_page_size_does_not_cut_the_listing_short(sandbox, client, page_size):
    """The sandbox answers at most 3 records a page, whatever $top asks: the client
    follows @nextLink and reads all 8, in pages of equal size (1218 otherwise)."""
    client.create_customer(customer())
    regions = ("WA", "OR", "CA", "TX", "NY", "NV", "ID", "UT")
    ids = [sandbox.add_certificate(CODE, region=region)["id"] for region in regions]
    for _ in regions:
        client.create_invitation(CODE, "ap@acme.test", [48])
    sandbox.configure(max_top=3)
    sandbox.clear_requests()
    changed = list(client.iter_certificates_changed_since(None, page_size=page_size))
    assert [c.id for c in changed] == ids
    assert served(sandbox, "GET", r"/companies/1001/certificates$") == [200, 200, 200]
    mine = list(client.iter_customer_certificates(CODE, page_size=page_size))
    assert sorted(c.id for c in mine) == ids
    assert len(list(client.iter_invitations(page_size=page_size))) == 8
    since = datetime(2000, 1, 1, tzinfo=timezone.utc)
    assert len(list(client.iter_certificates_changed_since(since, page_size=page_size))) == 8


def test_a_refused_gt_filter_falls_back_to_ge_without_repeating_the_watermark(sandbox, client):
    """The pull's watermark is the modified date of the last certificate taken in: with
    'ge', that certificate comes back from the server and the client drops it."""
    client.create_customer(customer())
    for region in ("WA", "OR", "CA"):
        sandbox.add_certificate(CODE, region=region)
    sandbox.configure(refuse_gt_filter=True)
    sandbox.clear_requests()
    first = list(client.iter_certificates_changed_since(datetime(2000, 1, 1), page_size=2))
    assert len(first) == 3
    watermark = first[1].modified_date
    rest = list(client.iter_certificates_changed_since(watermark, page_size=2))
    assert [c.id for c in rest] == [first[2].id]
    assert served(sandbox, "GET", r"/companies/1001/certificates$") == [400, 200, 200, 200]
    # An invitation lookup falls back the same way.
    client.create_invitation(CODE, "ap@acme.test", [48])
    assert len(list(client.iter_invitations(created_since=datetime(2000, 1, 1)))) == 1


def test_definitions(sandbox, client):
    zones = list(client.iter_exposure_zones(page_size=10))
    assert len({zone.id for zone in zones}) == len(zones) > 10
    assert any(zone.region == "WA" and zone.country == "US" for zone in zones)
    assert len(served(sandbox, "GET", r"certificateexposurezones$")) == math.ceil(len(zones) / 10)
    reasons = list(client.iter_exemption_reasons())
    assert "RESALE" in {reason.name for reason in reasons}


def test_invitation_lifecycle(sandbox, client):
    client.create_customer(customer())
    washington = next(z for z in client.iter_exposure_zones() if z.region == "WA")
    resale = next(r for r in client.iter_exemption_reasons() if r.name == "RESALE")
    result = client.create_invitation(CODE, "ap@acme.test", [washington.id], [resale.id])
    invitation = result.invitation
    assert invitation.customer_code == CODE and invitation.exposure_zones == (washington.id,)
    sandbox.make_invitations_ready()
    followed = client.get_invitation(CODE, invitation.id)
    # An Email request is sent, its link is in the email, none to hand out.
    assert followed.is_sent and followed.upload_link is None
    [email] = sandbox.sent_emails()
    assert email["to"] == "ap@acme.test" and email["link"].startswith(sandbox.url)
    download = client.create_invitation(CODE, None, [washington.id], delivery_method="Download")
    assert download.is_ready and not download.is_sent
    assert download.upload_link.startswith(sandbox.url + "/certexpress/")
    assert client.get_invitation(CODE, download.invitation.id).upload_link == download.upload_link
    with pytest.raises(NotFoundError):
        client.get_invitation(CODE, 999999)


def test_an_email_request_is_in_progress_until_sent():
    with SandboxServer(SandboxConfig(invite_ready_delay=60)) as slow:
        client = EcmClient(slow.url, ACCOUNT_ID, LICENSE_KEY, company_id=1001)
        client.create_customer(customer())
        result = client.create_invitation(CODE, "ap@acme.test", [48])
        assert not result.is_ready and not result.is_sent and result.upload_link is None
        assert not client.get_invitation(CODE, result.invitation.id).is_sent
        slow.make_invitations_ready()
        assert client.get_invitation(CODE, result.invitation.id).is_sent
        client.close()


def _reason_id(client, name="RESALE"):
    return next(reason.id for reason in client.iter_exemption_reasons() if reason.name == name)


def create_certificate(client, code=CODE, **changes):
    """``client.create_certificate`` for a WA resale certificate, changed by ``changes``."""
    arguments = {
        "signed_date": date(2024, 1, 15),
        "expiration_date": date(2099, 1, 15),
        "exemption_number": "WA-777",
        "pdf": PDF,
        **changes,
    }
    if "exposure_zone_id" not in arguments:
        arguments["exposure_zone_id"] = _zone_id(client)
    if "exemption_reason_id" not in arguments:
        arguments["exemption_reason_id"] = _reason_id(client)
    return client.create_certificate(code, **arguments)


def test_create_certificate_stores_it_for_the_customer_with_its_pdf(client):
    client.create_customer(customer())
    assert not client.get_exemption_status(CODE, "WA").is_exempt
    created = create_certificate(client, single_use=True)
    assert created.id and created.modified_date.tzinfo
    assert (created.signed_date, created.expiration_date) == (date(2024, 1, 15), date(2099, 1, 15))
    assert (created.exemption_number, created.is_single_certificate) == ("WA-777", True)
    assert created.exposure_zone.region == "WA" and created.exemption_reason.name == "RESALE"
    assert created.document_exists and [c.customer_code for c in created.customers] == [CODE]
    status = client.get_exemption_status(CODE, "WA")
    assert status.is_exempt and status.certificate.id == created.id
    assert client.download_certificate_pdf(created.id) == PDF
    assert client.get_certificate(created.id) == created
    assert [c.id for c in client.iter_customer_certificates(CODE)] == [created.id]
    assert [c.id for c in client.iter_certificates_changed_since(None)] == [created.id]


def test_create_certificate_naming_a_file_kept_elsewhere(client):
    client.create_customer(customer())
    created = create_certificate(client, pdf=None, filename="binder-3/page-12.pdf")
    assert created.filename == "binder-3/page-12.pdf" and not created.document_exists
    with pytest.raises(NotFoundError):
        client.download_certificate_pdf(created.id)


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"exposure_zone_id": 99999}, "exposureZone id 99999 is unknown"),
        ({"exemption_reason_id": None}, "exemptionReason is required"),
        ({"pdf": None}, "one of filename, pdf or pages is required"),
    ],
)
def test_create_certificate_refused_by_the_sandbox(sandbox, client, changes, problem):
    client.create_customer(customer())
    with pytest.raises(ValidationError) as caught:
        create_certificate(client, **changes)
    assert any(problem in d["description"] for d in caught.value.details)
    assert not caught.value.may_have_taken_effect
    assert served(sandbox, "POST", CERTIFICATES_POST) == [400]


def test_create_certificate_for_an_unknown_customer_is_refused(sandbox, client):
    with pytest.raises(ValidationError, match="NOBODY"):
        create_certificate(client, "NOBODY")
    assert list(client.iter_certificates_changed_since(None)) == []


def test_create_certificate_checks_the_pdf_before_sending(sandbox, make_client):
    client = make_client(max_pdf_bytes=len(PDF) - 1)
    client.create_customer(customer())
    zone_id, reason_id = _zone_id(client), _reason_id(client)
    sandbox.clear_requests()
    for pdf in (PDF, b"<html>not a pdf</html>"):
        with pytest.raises(ValueError):
            create_certificate(
                client, pdf=pdf, exposure_zone_id=zone_id, exemption_reason_id=reason_id
            )
    assert sandbox.requests == []


def test_503_on_create_certificate_is_retried_and_creates_one(sandbox, client, sleeps):
    client.create_customer(customer())
    fault(sandbox, rules=[rule("POST", CERTIFICATES_POST, 503, times=1, retry_after=1)])
    create_certificate(client)
    assert served(sandbox, "POST", CERTIFICATES_POST) == [503, 201]
    assert len(list(client.iter_customer_certificates(CODE))) == 1


@pytest.mark.parametrize("status", [502, 504])
def test_ambiguous_gateway_error_on_create_certificate_is_raised_not_resent(
    sandbox, client, status
):
    client.create_customer(customer())
    fault(sandbox, rules=[rule("POST", CERTIFICATES_POST, status)])
    with pytest.raises(ServerError) as caught:
        create_certificate(client)
    assert caught.value.may_have_taken_effect and caught.value.status == status
    assert served(sandbox, "POST", CERTIFICATES_POST) == [status]


def test_read_timeout_on_create_certificate_then_the_caller_finds_it(sandbox, make_client):
    client = make_client(read_timeout=READ_TIMEOUT)
    client.create_customer(customer())
    zone_id, reason_id = _zone_id(client), _reason_id(client)
    fault(sandbox, delay_path=CERTIFICATES_POST, delay_seconds=DELAY_SECONDS)
    attempted = datetime.now(timezone.utc)
    with pytest.raises(RequestTimeoutError) as caught:
        create_certificate(client, exposure_zone_id=zone_id, exemption_reason_id=reason_id)
    assert caught.value.may_have_taken_effect
    assert served_eventually(sandbox, "POST", CERTIFICATES_POST, 1) == [201]  # it did land
    sandbox.clear_faults()
    # What docs/client.md tells the caller to do before sending it again:
    landed = [
        c
        for c in client.iter_customer_certificates(CODE)
        if c.exposure_zone.id == zone_id
        and c.signed_date == date(2024, 1, 15)
        and c.exemption_number == "WA-777"
        and c.created_date >= attempted - timedelta(seconds=5)
    ]
    assert len(landed) == 1
    assert served(sandbox, "POST", CERTIFICATES_POST) == [201]


def test_a_certificates_error_on_create_may_have_taken_effect(sandbox, client):
    client.create_customer(customer())
    fault(sandbox, rules=[rule("POST", CERTIFICATES_POST, 400, times=1)])
    with pytest.raises(CertCaptureError) as caught:
        create_certificate(client)
    assert caught.value.may_have_taken_effect
    assert served(sandbox, "POST", CERTIFICATES_POST) == [400]


# --- listing certificate requests --------------------------------------------------------


def test_iter_invitations_lists_filters_and_pages(sandbox, client):
    client.create_customer(customer())
    client.create_customer(customer("acme / ünï 1"))  # the same code but for case
    zone_id = _zone_id(client)
    first = client.create_invitation(CODE, "ap@acme.test", [zone_id]).invitation
    other = client.create_invitation("acme / ünï 1", "ap@acme.test", [zone_id]).invitation
    second = client.create_invitation(CODE, None, [zone_id], delivery_method="Download")
    sandbox.clear_requests()
    everything = list(client.iter_invitations(page_size=2))
    assert [i.id for i in everything] == [first.id, other.id, second.invitation.id]
    assert len(served(sandbox, "GET", r"/companies/\d+/certexpressinvites$")) == 2
    mine = list(client.iter_invitations(customer_code=CODE))
    assert [i.id for i in mine] == [first.id, second.invitation.id]
    assert all(i.customer_code == CODE for i in mine)
    assert mine[1].delivery_method == "Download" and mine[1].recipient is None
    # The sandbox stamps to the 100 ns tick, as AvaTax does; a datetime keeps microseconds,
    # so "after first.date" may still hold the first request: ask after its microsecond.
    since = first.date + timedelta(microseconds=1)
    later = list(client.iter_invitations(customer_code=CODE, created_since=since))
    assert [i.id for i in later] == [second.invitation.id]
    assert list(client.iter_invitations(customer_code="NOBODY")) == []


def test_an_invitation_sent_twice_is_found_among_the_customer_requests(sandbox, make_client):
    client = make_client(read_timeout=READ_TIMEOUT)
    client.create_customer(customer())
    zone_id = _zone_id(client)
    client.create_invitation(CODE, "old@acme.test", [zone_id])
    time.sleep(0.01)
    attempted = datetime.now(timezone.utc)
    fault(sandbox, delay_path=INVITES_POST, delay_seconds=DELAY_SECONDS)
    with pytest.raises(RequestTimeoutError) as caught:
        client.create_invitation(CODE, "ap@acme.test", [zone_id])
    assert caught.value.may_have_taken_effect
    assert served_eventually(sandbox, "POST", INVITES_POST, 2) == [201, 201]
    sandbox.clear_faults()
    # What the create_invitation docstring tells the caller to do:
    landed = [
        i
        for i in client.iter_invitations(
            customer_code=CODE, created_since=attempted - timedelta(seconds=5)
        )
        if i.recipient == "ap@acme.test"
        and i.exposure_zones == (zone_id,)
        and i.delivery_method == "Email"
    ]
    assert len(landed) == 1 and landed[0].is_sent


def test_request_count_matches_what_the_sandbox_served(sandbox, client):
    client.ping()
    client.find_company("DEFAULT")
    list(client.iter_exemption_reasons())
    assert client.request_count == len(sandbox.requests) == 3


# --- faults ----------------------------------------------------------------------------------


def test_wrong_credentials_are_an_authentication_error(sandbox, make_client):
    client = make_client(license_key="wrong-key")
    with pytest.raises(AuthenticationError) as caught:
        client.get_customer(CODE)
    assert caught.value.status == 401 and "wrong-key" not in caught.value.message
    assert client.request_count == 1


def test_forced_401_is_not_retried(sandbox, client):
    fault(sandbox, rules=[rule("GET", r"/utilities/ping$", 401)])
    with pytest.raises(AuthenticationError):
        client.ping()
    assert served(sandbox, "GET", r"/ping$") == [401]


def test_429_waits_as_told_by_retry_after_then_succeeds(sandbox, client, sleeps):
    client.create_customer(customer())
    fault(sandbox, rules=[rule("GET", r"/customers/", 429, times=2, retry_after=1)])
    assert client.get_customer(CODE).customer_code == CODE
    assert served(sandbox, "GET", r"/customers/") == [429, 429, 200]
    assert sleeps == [1.0, 1.0]


def test_429_that_persists_raises_rate_limited_after_the_retries(sandbox, client, sleeps):
    fault(sandbox, rules=[rule("*", r"/ping$", 429, retry_after=2)])
    with pytest.raises(RateLimitedError) as caught:
        client.ping()
    assert caught.value.retry_after == 2.0
    assert len(served(sandbox, "GET", r"/ping$")) == 4 and sleeps == [2.0] * 3


def test_forced_404_is_not_found_and_not_retried(sandbox, client):
    client.create_customer(customer())
    fault(sandbox, rules=[rule("GET", r"/customers/", 404)])
    with pytest.raises(NotFoundError) as caught:
        client.get_customer(CODE)
    assert caught.value.code == "EntityNotFoundError"
    assert served(sandbox, "GET", r"/customers/") == [404]


def test_500_is_not_retried(sandbox, client):
    fault(sandbox, rules=[rule("GET", r"/ping$", 500)])
    with pytest.raises(ServerError) as caught:
        client.ping()
    assert caught.value.status == 500 and served(sandbox, "GET", r"/ping$") == [500]


def test_a_forced_400_is_a_certcapture_error_with_its_description(sandbox, client):
    fault(sandbox, rules=[rule("GET", r"/certificates/setup$", 400)])
    with pytest.raises(CertCaptureError) as caught:
        client.certificate_setup()
    assert "simulated failure" in caught.value.message


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_on_reads_are_retried(sandbox, client, sleeps, status):
    fault(sandbox, rules=[rule("GET", r"/ping$", status, times=2)])
    assert client.ping().authenticated
    assert served(sandbox, "GET", r"/ping$") == [status, status, 200]
    assert len(sleeps) == 2 and all(0 <= s <= 0.5 * 2**i for i, s in enumerate(sleeps))


def test_gateway_errors_that_persist_raise_after_three_retries(sandbox, client):
    fault(sandbox, rules=[rule("GET", r"/ping$", 503)])
    with pytest.raises(ServerError):
        client.ping()
    assert served(sandbox, "GET", r"/ping$") == [503] * 4 and client.request_count == 4


def test_503_on_create_customer_is_retried_and_creates_one(sandbox, client, sleeps):
    fault(sandbox, rules=[rule("POST", CUSTOMERS_POST, 503, times=2, retry_after=1)])
    assert client.create_customer(customer()).customer_code == CODE
    assert served(sandbox, "POST", CUSTOMERS_POST) == [503, 503, 201]
    assert sleeps == [1.0, 1.0]


@pytest.mark.parametrize("status", [502, 504])
def test_ambiguous_gateway_error_on_create_customer_looks_before_posting_again(
    sandbox, client, status
):
    fault(sandbox, rules=[rule("POST", CUSTOMERS_POST, status, times=1)])
    assert client.create_customer(customer()).customer_code == CODE
    assert served(sandbox, "POST", CUSTOMERS_POST) == [status, 201]
    assert served(sandbox, "GET", r"/customers/") == [404]


@pytest.mark.parametrize("status", [502, 504])
def test_ambiguous_gateway_error_on_an_invitation_is_raised_not_resent(sandbox, client, status):
    client.create_customer(customer())
    fault(sandbox, rules=[rule("POST", INVITES_POST, status)])
    with pytest.raises(ServerError) as caught:
        client.create_invitation(CODE, "ap@acme.test", [_zone_id(client)])
    assert caught.value.may_have_taken_effect and caught.value.status == status
    assert served(sandbox, "POST", INVITES_POST) == [status]


def test_read_timeout_on_create_customer_returns_the_one_customer_created(sandbox, make_client):
    client = make_client(read_timeout=READ_TIMEOUT)
    fault(sandbox, delay_path=CUSTOMERS_POST, delay_seconds=DELAY_SECONDS)
    created = client.create_customer(customer())
    assert created.customer_code == CODE and created.id
    assert client.request_count == 2  # the POST that timed out, the GET that found it
    assert served_eventually(sandbox, "POST", CUSTOMERS_POST, 1) == [201]
    time.sleep(DELAY_SECONDS / 2)  # a second POST, had there been one, would be logged now
    assert served(sandbox, "POST", CUSTOMERS_POST) == [201]
    sandbox.clear_faults()
    assert client.get_customer(CODE).id == created.id


def test_read_timeout_on_an_invitation_raises_and_is_not_resent(sandbox, make_client):
    client = make_client(read_timeout=READ_TIMEOUT)
    client.create_customer(customer())
    zone_id = _zone_id(client)
    sent_before = client.request_count
    fault(sandbox, delay_path=INVITES_POST, delay_seconds=DELAY_SECONDS)
    with pytest.raises(RequestTimeoutError) as caught:
        client.create_invitation(CODE, "ap@acme.test", [zone_id])
    assert caught.value.may_have_taken_effect and caught.value.transient
    assert client.request_count == sent_before + 1
    assert served_eventually(sandbox, "POST", INVITES_POST, 1) == [201]  # it did take effect


def test_read_timeout_on_a_read_is_retried(sandbox, make_client):
    client = make_client(read_timeout=READ_TIMEOUT, max_retries=1)
    fault(sandbox, delay_path=r"/ping$", delay_seconds=DELAY_SECONDS)
    with pytest.raises(RequestTimeoutError):
        client.ping()
    assert client.request_count == 2
    assert served_eventually(sandbox, "GET", r"/ping$", 2) == [200, 200]  # both took effect


def test_dropped_connection_on_a_read_is_retried(sandbox, client):
    fault(sandbox, drop_connection=r"/ping$")
    with pytest.raises(TransportError) as caught:
        client.ping()
    assert type(caught.value) is TransportError and caught.value.transient
    assert client.request_count == 4


def test_dropped_connection_on_an_invitation_is_raised_not_resent(sandbox, client):
    client.create_customer(customer())
    zone_id = _zone_id(client)
    sent_before = client.request_count
    fault(sandbox, drop_connection=INVITES_POST)
    with pytest.raises(TransportError) as caught:
        client.create_invitation(CODE, "ap@acme.test", [zone_id])
    assert caught.value.may_have_taken_effect
    assert client.request_count == sent_before + 1


def test_dropped_connection_on_create_customer_looks_then_posts_once_more(sandbox, client):
    fault(sandbox, drop_connection=CUSTOMERS_POST)
    with pytest.raises(TransportError) as caught:
        client.create_customer(customer())
    assert caught.value.may_have_taken_effect
    assert client.request_count == 3  # POST dropped, GET 404, POST dropped: then it stops
    assert served(sandbox, "GET", r"/customers/") == [404]


@pytest.mark.parametrize("knob", ["malformed", "truncated"])
def test_malformed_or_truncated_answers_are_protocol_errors(sandbox, client, knob):
    fault(sandbox, **{knob: r"/ping$"})
    with pytest.raises(ProtocolError):
        client.ping()
    assert client.request_count == 1


def test_truncated_page_is_a_protocol_error(sandbox, client):
    fault(sandbox, truncated=r"certificateexemptreasons$")
    with pytest.raises(ProtocolError):
        list(client.iter_exemption_reasons())


def test_non_pdf_attachment_is_refused(sandbox, client):
    client.create_customer(customer())
    certificate_id = sandbox.add_certificate(CODE)["id"]
    fault(sandbox, non_pdf_attachment=True)
    with pytest.raises(ProtocolError, match="not a PDF"):
        client.download_certificate_pdf(certificate_id)


def test_oversized_attachment_is_refused(sandbox, make_client):
    client = make_client(max_pdf_bytes=64)
    client.create_customer(customer())
    certificate_id = sandbox.add_certificate(CODE, pdf=b"%PDF-1.4 " + b"x" * 1000)["id"]
    with pytest.raises(ProtocolError, match="larger than"):
        client.download_certificate_pdf(certificate_id)


def _zone_id(client):
    return next(zone.id for zone in client.iter_exposure_zones() if zone.region == "WA")
