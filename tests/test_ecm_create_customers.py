"""``EcmClient.create_customers``: customers created in bulk, at most 100 per POST,
over a scripted session (the rules) and against the sandbox (the same rules over
real HTTP): chunks, codes already taken, ambiguous failures looked up rather than
posted blindly again."""

import re
import time

import pytest
import requests
from ecm_fakes import (
    ACCOUNT_ID,
    BASE_URL,
    LICENSE_KEY,
    FakeSession,
    Reply,
    connection_dropped,
    error_reply,
)

from certcapture_exemption.ecm import (
    Customer,
    DuplicateCustomersError,
    EcmClient,
    ServerError,
    TransportError,
    ValidationError,
)
from certcapture_exemption.ecm.const import MAX_CUSTOMERS_PER_CREATE

COMPANY = "/api/v2/companies/1001"
CUSTOMERS = f"{COMPANY}/customers"


def customer(code):
    """A customer with every field the API requires."""
    return Customer(
        code, f"Customer {code}", line1="1 Main St", city="Seattle", postal_code="98101",
        region="WA", country="US",
    )  # fmt: skip


def stored(code, customer_id=None):
    """The API's record of a created customer."""
    number = int(re.sub(r"\D", "", code) or 0)
    return {"id": customer_id or 1000 + number, "companyId": 1001, "customerCode": code}


def created_reply(codes):
    return Reply(201, [stored(code) for code in codes])


def not_found():
    return error_reply(404, "EntityNotFoundError", "no such customer")


def duplicate(message="A customer with this code already exists.", details=()):
    return error_reply(400, "DuplicateEntry", message, details)


def make_client(*outcomes):
    session = FakeSession(*outcomes)
    client = EcmClient(
        BASE_URL, ACCOUNT_ID, LICENSE_KEY, company_id=1001, session=session, sleep=lambda _: None
    )
    return client, session


def posted_codes(call):
    return [body["customerCode"] for body in call.kwargs["json"]]


def calls(session):
    return [(call.method, call.path) for call in session.calls]


# --- scripted ------------------------------------------------------------------------


def test_250_customers_go_in_3_posts_of_at_most_100_and_come_back_in_order():
    codes = [f"C{n}" for n in range(250)]
    client, session = make_client(
        created_reply(codes[:100]), created_reply(codes[100:200]), created_reply(codes[200:])
    )
    created = client.create_customers([customer(code) for code in codes])
    assert MAX_CUSTOMERS_PER_CREATE == 100
    assert [c.customer_code for c in created] == codes
    assert calls(session) == [("POST", CUSTOMERS)] * 3
    assert [len(call.kwargs["json"]) for call in session.calls] == [100, 100, 50]
    first = session.calls[0].kwargs["json"][0]
    assert first["companyId"] == 1001 and "line2" not in first  # a create leaves None out


def test_an_answer_in_another_order_is_matched_by_code():
    client, _ = make_client(Reply(201, [stored("B"), stored("A", 7)]))
    created = client.create_customers([customer("A"), customer("B")])
    assert [(c.customer_code, c.id) for c in created] == [("A", 7), ("B", 1000)]


def test_no_customer_sends_nothing():
    client, session = make_client()
    assert client.create_customers([]) == []
    assert session.calls == []


def test_customers_are_checked_before_anything_is_sent():
    client, session = make_client()
    incomplete = Customer("C2", "No address")
    with pytest.raises(ValueError, match="'C2'.*line1"):
        client.create_customers([customer("C1"), incomplete])
    with pytest.raises(ValueError, match="'C1' are given more than once"):
        client.create_customers([customer("C1"), customer("C3"), customer("C1")])
    assert session.calls == []


def test_codes_named_as_taken_are_left_out_and_the_rest_is_created():
    client, session = make_client(
        duplicate(
            "A customer with customerCode 'C2' already exists.",
            [{"code": "DuplicateEntry", "description": 'customerCode "C4" already exists'}],
        ),
        created_reply(["C1", "C3"]),
    )
    with pytest.raises(DuplicateCustomersError) as caught:
        client.create_customers([customer(code) for code in ("C1", "C2", "C3", "C4")])
    error = caught.value
    assert isinstance(error, ValidationError) and error.code == "DuplicateEntry"
    assert error.codes == ("C2", "C4")
    assert [c.customer_code for c in error.created] == ["C1", "C3"]
    assert "'C2', 'C4'" in str(error)
    assert posted_codes(session.calls[1]) == ["C1", "C3"]
    assert calls(session) == [("POST", CUSTOMERS)] * 2


def test_a_code_is_named_only_quoted_whole():
    """'C1' is not named by a message about 'C10'."""
    client, session = make_client(
        duplicate("customerCode 'C10' already exists"), created_reply(["C1"])
    )
    with pytest.raises(DuplicateCustomersError) as caught:
        client.create_customers([customer("C1"), customer("C10")])
    assert caught.value.codes == ("C10",)
    assert posted_codes(session.calls[1]) == ["C1"]


def test_when_the_answer_names_no_code_the_chunk_is_looked_up():
    client, session = make_client(
        duplicate("Duplicate entry."),
        not_found(),
        Reply(200, stored("C2")),
        not_found(),
        created_reply(["C1", "C3"]),
    )
    with pytest.raises(DuplicateCustomersError) as caught:
        client.create_customers([customer(code) for code in ("C1", "C2", "C3")])
    assert caught.value.codes == ("C2",)
    assert calls(session) == [
        ("POST", CUSTOMERS),
        ("GET", f"{CUSTOMERS}/C1"),
        ("GET", f"{CUSTOMERS}/C2"),
        ("GET", f"{CUSTOMERS}/C3"),
        ("POST", CUSTOMERS),
    ]


def test_a_duplicate_nobody_can_find_is_raised_as_the_api_said_it():
    client, session = make_client(duplicate("Duplicate entry."), not_found(), not_found())
    with pytest.raises(ValidationError) as caught:
        client.create_customers([customer("C1"), customer("C2")])
    assert type(caught.value) is ValidationError and caught.value.code == "DuplicateEntry"
    assert len(session.calls) == 3


def test_every_code_taken_creates_nothing_and_says_so():
    client, session = make_client(duplicate("'C1' and 'C2' exist"))
    with pytest.raises(DuplicateCustomersError) as caught:
        client.create_customers([customer("C1"), customer("C2")])
    assert caught.value.codes == ("C1", "C2") and caught.value.created == ()
    assert len(session.calls) == 1


def test_duplicates_of_every_chunk_are_reported_together():
    codes = [f"C{n}" for n in range(150)]
    client, _ = make_client(
        duplicate("'C5' exists"),
        created_reply([code for code in codes[:100] if code != "C5"]),
        duplicate("'C120' exists"),
        created_reply([code for code in codes[100:] if code != "C120"]),
    )
    with pytest.raises(DuplicateCustomersError) as caught:
        client.create_customers([customer(code) for code in codes])
    assert caught.value.codes == ("C5", "C120")
    assert len(caught.value.created) == 148


@pytest.mark.parametrize(
    "failure",
    [
        requests.ReadTimeout(),
        connection_dropped(),
        Reply(502, body=b""),
        Reply(504, body=b""),
        Reply(201, body=b'[{"id": 1, "custo'),
        Reply(201, [stored("C1")]),  # one record for two customers
        Reply(201, [stored("C1"), stored("X9")]),  # another customer than those sent
    ],
)
def test_after_an_ambiguous_failure_the_chunk_is_looked_up_not_posted_blindly(failure):
    client, session = make_client(
        failure, Reply(200, stored("C1")), not_found(), created_reply(["C2"])
    )
    created = client.create_customers([customer("C1"), customer("C2")])
    assert [c.customer_code for c in created] == ["C1", "C2"]
    assert calls(session) == [
        ("POST", CUSTOMERS),
        ("GET", f"{CUSTOMERS}/C1"),
        ("GET", f"{CUSTOMERS}/C2"),
        ("POST", CUSTOMERS),
    ]
    assert posted_codes(session.calls[3]) == ["C2"], "only what is not there is sent again"


def test_an_ambiguous_failure_that_did_create_everything_posts_nothing_more():
    client, session = make_client(
        requests.ReadTimeout(), Reply(200, stored("C1")), Reply(200, stored("C2"))
    )
    assert [c.id for c in client.create_customers([customer("C1"), customer("C2")])] == [
        1001,
        1002,
    ]
    assert [call.method for call in session.calls] == ["POST", "GET", "GET"]


def test_a_duplicate_after_the_lookup_is_the_first_post_landing_late():
    client, session = make_client(
        requests.ReadTimeout(),
        not_found(),
        not_found(),
        duplicate("'C2' exists"),
        Reply(200, stored("C2")),
        created_reply(["C1"]),
    )
    created = client.create_customers([customer("C1"), customer("C2")])
    assert [c.customer_code for c in created] == ["C1", "C2"]  # no DuplicateCustomersError
    assert [call.method for call in session.calls] == ["POST", "GET", "GET", "POST", "GET", "POST"]


def test_a_second_ambiguous_failure_is_raised():
    client, session = make_client(requests.ReadTimeout(), not_found(), connection_dropped())
    with pytest.raises(TransportError) as caught:
        client.create_customers([customer("C1")])
    assert caught.value.may_have_taken_effect
    assert [call.method for call in session.calls] == ["POST", "GET", "POST"]


def test_a_clear_refusal_is_raised_without_looking_up():
    client, session = make_client(error_reply(400, "ValueRequiredError", "name required"))
    with pytest.raises(ValidationError) as caught:
        client.create_customers([customer("C1")])
    assert caught.value.code == "ValueRequiredError"
    assert len(session.calls) == 1


def test_a_failure_of_a_later_chunk_is_raised_and_the_earlier_chunks_are_created():
    codes = [f"C{n}" for n in range(150)]
    client, session = make_client(created_reply(codes[:100]), Reply(500, body=b""))
    with pytest.raises(ServerError):
        client.create_customers([customer(code) for code in codes])
    assert len(session.calls) == 2


# --- against the sandbox ---------------------------------------------------------------

sandbox_module = pytest.importorskip("certcapture_sandbox")


@pytest.fixture(scope="module")
def sandbox():
    with sandbox_module.SandboxServer(
        sandbox_module.SandboxConfig(), host="127.0.0.1", port=0
    ) as server:
        yield server


@pytest.fixture
def sandbox_client(sandbox):
    sandbox.clear_faults()
    sandbox.reset()
    sandbox.clear_requests()
    clients = []

    def make(**options):
        client = EcmClient(
            sandbox.url,
            "1100000001",
            "sandbox-license-key",
            company_id=sandbox.company_id("DEFAULT"),
            sleep=lambda _: None,
            **options,
        )
        clients.append(client)
        return client

    yield make
    sandbox.clear_faults()
    for client in clients:
        client.close()


def served(sandbox, method, pattern=r"/customers"):
    return [s for m, path, s in sandbox.requests if m == method and re.search(pattern, path)]


def test_sandbox_creates_250_customers_in_3_posts(sandbox, sandbox_client):
    client = sandbox_client()
    codes = [f"BULK-{n:03d}" for n in range(250)]
    created = client.create_customers([customer(code) for code in codes])
    assert [c.customer_code for c in created] == codes
    assert len({c.id for c in created}) == 250
    assert served(sandbox, "POST", r"/customers$") == [201, 201, 201]
    assert client.request_count == 3
    assert client.get_customer("BULK-249").id == created[-1].id


def test_sandbox_names_the_codes_it_already_has(sandbox, sandbox_client):
    client = sandbox_client()
    client.create_customers([customer("OLD-1"), customer("OLD 2/x")])
    sandbox.clear_requests()
    codes = ["NEW-1", "OLD-1", "NEW-2", "OLD 2/x", "NEW-3"]
    with pytest.raises(DuplicateCustomersError) as caught:
        client.create_customers([customer(code) for code in codes])
    assert caught.value.codes == ("OLD-1", "OLD 2/x")
    assert [c.customer_code for c in caught.value.created] == ["NEW-1", "NEW-2", "NEW-3"]
    # The sandbox names one taken code per answer: one POST each, then the rest.
    assert served(sandbox, "POST", r"/customers$") == [400, 400, 201]
    assert served(sandbox, "GET") == []


def test_sandbox_late_answer_is_looked_up_and_nothing_is_created_twice(sandbox, sandbox_client):
    client = sandbox_client(read_timeout=0.3)
    sandbox.set_faults(delay_path=r"/customers$", delay_seconds=1.0)
    codes = ["LATE-1", "LATE-2", "LATE-3"]
    created = client.create_customers([customer(code) for code in codes])
    assert [c.customer_code for c in created] == codes and all(c.id for c in created)
    assert client.request_count == 4  # the POST that timed out, one GET per customer
    time.sleep(1.0)  # the delayed POST is logged once answered
    assert served(sandbox, "POST", r"/customers$") == [201]


def test_sandbox_gateway_error_is_looked_up_then_posted_once_more(sandbox, sandbox_client):
    client = sandbox_client()
    sandbox.set_faults(
        rules=[{"method": "POST", "path": r"/customers$", "status": 502, "times": 1}]
    )
    created = client.create_customers([customer("GW-1"), customer("GW-2")])
    assert [c.customer_code for c in created] == ["GW-1", "GW-2"]
    assert served(sandbox, "POST", r"/customers$") == [502, 201]
    assert served(sandbox, "GET") == [404, 404]
