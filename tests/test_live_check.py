"""scripts/live_check.py: offline it skips (exit 0); against the local sandbox, standing
in for a real AvaTax account, its checks run and report what the API answered."""

import importlib.util
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from certcapture_exemption.ecm import Customer, EcmClient
from certcapture_sandbox import SandboxConfig, SandboxServer

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "live_check.py"
ACCOUNT_ID, LICENSE_KEY = "1100000001", "sandbox-license-key"
LINE = re.compile(r"\[\s*(matches|DIFFERS|not checked|FAILED)\s*\] (.+?): (.*)")


def load_script():
    spec = importlib.util.spec_from_file_location("live_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["live_check"] = module
    spec.loader.exec_module(module)
    return module


live_check = load_script()


def clean_environment(**extra):
    """The test run's environment without AvaTax credentials nor CI, plus ``extra``."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AVATAX_") and key != "CI"
    }
    environ.update(extra)
    return environ


# --- offline ------------------------------------------------------------------------------


def test_without_credentials_it_says_skipped_and_exits_0():
    result = subprocess.run(
        [sys.executable, str(SCRIPT)],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("skipped: set AVATAX_ACCOUNT_ID, AVATAX_LICENSE_KEY")
    assert "AVATAX_COMPANY_CODE" in result.stdout and result.stderr == ""


@pytest.mark.parametrize("missing", ["AVATAX_ACCOUNT_ID", "AVATAX_LICENSE_KEY"])
def test_a_missing_variable_is_named_and_nothing_is_sent(missing):
    environ = {
        "AVATAX_ACCOUNT_ID": ACCOUNT_ID,
        "AVATAX_LICENSE_KEY": LICENSE_KEY,
        "AVATAX_COMPANY_CODE": "DEFAULT",
        "AVATAX_BASE_URL": "http://127.0.0.1:9",  # nothing listens: a request would fail
    }
    del environ[missing]
    out = io.StringIO()
    assert live_check.main([], environ=environ, out=out) == 0
    assert out.getvalue().startswith("skipped:") and f"Missing: {missing}." in out.getvalue()


def test_it_never_runs_in_ci():
    environ = {
        "AVATAX_ACCOUNT_ID": ACCOUNT_ID,
        "AVATAX_LICENSE_KEY": LICENSE_KEY,
        "AVATAX_COMPANY_CODE": "DEFAULT",
        "AVATAX_BASE_URL": "http://127.0.0.1:9",
        "CI": "true",
    }
    out = io.StringIO()
    assert live_check.main([], environ=environ, out=out) == 0
    assert out.getvalue().startswith("skipped: CI is set")


def test_production_is_refused_unless_asked_for():
    environ = {
        "AVATAX_ACCOUNT_ID": ACCOUNT_ID,
        "AVATAX_LICENSE_KEY": LICENSE_KEY,
        "AVATAX_COMPANY_CODE": "DEFAULT",
        "AVATAX_BASE_URL": "https://rest.avatax.com",
    }
    out = io.StringIO()
    assert live_check.main([], environ=environ, out=out) == 2
    assert out.getvalue().startswith("refused:") and "production" in out.getvalue()


def test_email_without_send_request_is_refused():
    assert live_check.main(["--email", "a@b.test"], environ={}, out=io.StringIO()) == 2


# --- against the local sandbox ------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox():
    config = SandboxConfig(not_provisioned=("NOECM",), provisioning_failed=("FAILED",))
    with SandboxServer(config) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(sandbox):
    sandbox.reset()


def seed(sandbox, certificates=5, invitations=4):
    """A company with history, as a real sandbox account has: the test customer (as left
    by an earlier run), certificates and requests; pages capped at 3 records."""
    with EcmClient(sandbox.url, ACCOUNT_ID, LICENSE_KEY, company_id=1001) as client:
        client.create_customer(
            Customer(
                "CCLIVECHECK",
                "An earlier run",
                line1="1 Old St",
                city="Seattle",
                postal_code="98101",
                region="WA",
                country="US",
            )
        )
        for region in ("OR", "CA", "TX", "NY", "NV")[:certificates]:
            sandbox.add_certificate("CCLIVECHECK", region=region)
        for _ in range(invitations):
            client.create_invitation("CCLIVECHECK", "ap@acme.test", [48])
    sandbox.configure(max_top=3)


def run(sandbox, *args, company="DEFAULT"):
    """(exit status, {point: (outcome, answer)}, output) of the script against the sandbox."""
    environ = {
        "AVATAX_ACCOUNT_ID": ACCOUNT_ID,
        "AVATAX_LICENSE_KEY": LICENSE_KEY,
        "AVATAX_COMPANY_CODE": company,
        "AVATAX_BASE_URL": sandbox.url,
    }
    out = io.StringIO()
    status = live_check.main(["--wait", "2", "--poll", "0.05", *args], environ=environ, out=out)
    findings = {}
    for line in out.getvalue().splitlines():
        match = LINE.fullmatch(line)
        if match:
            findings[match[2]] = (match[1], match[3])
    return status, findings, out.getvalue()


def outcome(findings, start):
    """The outcome of the one point whose name starts with ``start``."""
    [found] = [value for point, value in findings.items() if point.startswith(start)]
    return found


def test_every_point_matches_the_sandbox_which_plays_the_assumptions(sandbox):
    seed(sandbox)
    status, findings, output = run(sandbox)
    assert status == 0, output
    assert {result for result, _answer in findings.values()} == {"matches", "not checked"}
    assert LICENSE_KEY not in output
    for point, answer in (
        ("certificate setup", "'Provisioned'"),
        ("unknown customer (error code", "CertificatesError (HTTP 404, number 1203)"),
        ("unknown customer whose code", "NotFoundError"),
        ("customer create/update", "companyId 1001, isBill True, isShip None"),
        ("duplicate customer code", "DuplicateEntry"),
        ("a field left out of a PUT body", "line2 cleared"),
        ("isBill and isShip both true", "CustomerCantBeBothShipToAndBillTo"),
        ("customer without a required field", "ValueRequiredError"),
        ("exemption status values", "status 'NotExempt'"),
        ("date filter with gt (certificates)", "accepted"),
        ("date formats", "7 fraction digits, zone Z"),
        ("page cap on $top (certificates)", "got 3 of 5"),
        ("@nextLink form (certificates)", "/api/v2/companies/1001/certificates?"),
        ("pages of equal size", "ExemptionPaginationLimits"),
        ("the client reads every certificate", "read 5 of @recordsetCount 5"),
        ("date filter with gt (invitations)", "accepted"),
        ("page cap on $top (invitations)", "got 3 of 4"),
        ("invitation states", "Email/Sent/no link x3"),
    ):
        result, said = outcome(findings, point)
        assert result == "matches" and answer in said, (point, result, said)
    assert outcome(findings, "rate-limit codes")[0] == "not checked"
    # What it changed: the one test customer, put back as the check writes it; no request.
    customer = EcmClient(sandbox.url, ACCOUNT_ID, LICENSE_KEY, company_id=1001).get_customer(
        "CCLIVECHECK"
    )
    assert customer.name.startswith("CertCapture add-on live check") and customer.line2 is None
    assert (customer.is_bill, customer.is_ship) == (True, None)
    assert len(sandbox.app.store.invitations(1001)) == 4


def test_a_first_run_creates_the_one_test_customer(sandbox):
    status, findings, output = run(sandbox)
    assert status == 0, output
    assert "created CCLIVECHECK" in outcome(findings, "customer create/update")[1]
    assert outcome(findings, "date formats")[0] == "not checked"  # no certificate yet
    assert outcome(findings, "invitation states")[0] == "not checked"
    store = sandbox.app.store
    assert [code for (_company, code) in store._customer_ids] == ["CCLIVECHECK"]
    assert store.invitations(1001) == []


def test_a_refused_gt_filter_is_reported_as_a_difference(sandbox):
    seed(sandbox)
    sandbox.configure(refuse_gt_filter=True)
    status, findings, output = run(sandbox)
    assert status == 1
    result, said = outcome(findings, "date filter with gt (certificates)")
    assert result == "DIFFERS" and "InvalidExemptionOperation" in said and "'ge'" in said
    assert "assumed: modifiedDate gt '<UTC date-time>' is accepted" in output
    # The client itself copes: it still reads every certificate.
    assert outcome(findings, "the client reads every certificate")[0] == "matches"
    assert outcome(findings, "date filter with gt (invitations)")[0] == "DIFFERS"
    assert ", 2 differ, 0 failed, 2 not checked." in output


@pytest.mark.parametrize(
    "company, code", [("NOECM", "CertificatesNotSetup"), ("FAILED", "AccountNotProvisioned")]
)
def test_a_company_without_certificate_storage_stops_the_check(sandbox, company, code):
    status, findings, output = run(sandbox, company=company)
    assert status == 1
    assert outcome(findings, "certificate setup")[1] == "status 'NotProvisioned'"
    result, said = outcome(findings, "error of an exemption call before setup")
    assert result == "matches" and code in said
    assert outcome(findings, "certificate storage")[0] == "FAILED"
    assert "--request-setup" in output
    assert not any(point.startswith("customer create") for point in findings)
    status, findings, output = run(sandbox, "--request-setup", company=company)
    assert status == 0, output
    assert "'Provisioned'" in outcome(findings, "request certificate setup")[1]
    assert outcome(findings, "customer create/update")[0] == "matches"


@pytest.mark.parametrize(
    "args, method, states",
    [
        (["--send-request"], "Download", "POST: Ready, emailStatus None, link yes"),
        (
            ["--send-request", "--email", "buyer@acme.test"],
            "Email",
            "POST: Ready, emailStatus Sent, link no",
        ),
    ],
)
def test_send_request_sends_one_request_and_follows_it(sandbox, args, method, states):
    status, findings, output = run(sandbox, *args)
    assert status == 0, output
    result, said = outcome(findings, f"one {method} certificate request")
    assert result == "matches" and states in said
    [invitation] = sandbox.app.store.invitations(1001)
    assert invitation["deliveryMethod"] == method


def test_a_request_still_in_progress_when_the_wait_ends_differs(sandbox):
    sandbox.configure(invite_ready_delay=60)
    status, findings, _output = run(sandbox, "--send-request")
    assert status == 1
    result, said = outcome(findings, "one Download certificate request")
    assert result == "DIFFERS" and "POST: InProgress, emailStatus None, link no" in said


def test_wrong_credentials_fail_at_the_first_point(sandbox):
    environ = {
        "AVATAX_ACCOUNT_ID": ACCOUNT_ID,
        "AVATAX_LICENSE_KEY": "not-the-key",
        "AVATAX_COMPANY_CODE": "DEFAULT",
        "AVATAX_BASE_URL": sandbox.url,
    }
    out = io.StringIO()
    assert live_check.main([], environ=environ, out=out) == 1
    assert "[  FAILED   ] connection (ping)" in out.getvalue()
    assert "not-the-key" not in out.getvalue()
