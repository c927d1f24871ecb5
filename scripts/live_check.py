"""Live check: what a real AvaTax account answers, against what the project assumes.

The project's client (certcapture_exemption/ecm) and sandbox follow
docs/api-reference.md, written from Avalara's SDKs; a few points there are
marked **assumed** because nothing public settles them. Before going live, run
this against an AvaTax *sandbox* account: it makes the read-only and
reversible calls the add-on makes, and prints, point by point, what the API
answered and whether that matches the project's assumption.

    AVATAX_ACCOUNT_ID=... AVATAX_LICENSE_KEY=... AVATAX_COMPANY_CODE=... \\
        python scripts/live_check.py [--send-request [--email ADDRESS]] [--request-setup]

AVATAX_BASE_URL defaults to https://sandbox-rest.avatax.com; production
(rest.avatax.com) is refused unless --production is given.

What it changes in the account, and nothing else:
- one customer with the fixed code CCLIVECHECK, created the first time and
  updated (put back as it was) each time; it is not deleted (the add-on has no
  delete call);
- with --send-request, one certificate request for that customer: a Download
  request (no email leaves Avalara), or an Email request to --email ADDRESS;
- with --request-setup, a request to set up certificate storage for the
  company, if it is not set up.

Without credentials it prints "skipped: ..." and exits 0; it also skips when
the CI variable is set: it must never run in CI. Exit status: 0 when every
point checked matches, 1 when one differs or failed, 2 for a refused setting.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from certcapture_exemption import ecm  # noqa: E402
from certcapture_exemption.ecm.models import format_datetime, parse_datetime  # noqa: E402

DEFAULT_BASE_URL = "https://sandbox-rest.avatax.com"
PRODUCTION_HOSTS = ("rest.avatax.com",)
REQUIRED_VARIABLES = ("AVATAX_ACCOUNT_ID", "AVATAX_LICENSE_KEY", "AVATAX_COMPANY_CODE")
TEST_CODE = "CCLIVECHECK"
TEST_REGION, TEST_COUNTRY = "WA", "US"
#: Reading every certificate to compare with @recordsetCount stops being worth it here.
MAX_RECORDS_TO_COUNT = 2000

MATCHES, DIFFERS, NOT_CHECKED, FAILED = "matches", "DIFFERS", "not checked", "FAILED"


@dataclass
class Finding:
    point: str
    outcome: str
    answered: str
    assumed: str = ""


class Stop(Exception):
    """The checks after this one cannot run (no connection, no company...)."""


def _error_text(error):
    """What an EcmError says: code, status, details' numbers and descriptions."""
    numbers = sorted({d.get("number") for d in error.details if d.get("number") is not None})
    text = f"{type(error).__name__} {error.code} (HTTP {error.status or 'none'}"
    text += f", number {', '.join(map(str, numbers))})" if numbers else ")"
    descriptions = [d.get("description") for d in error.details if d.get("description")]
    return f"{text}: {descriptions[0] if descriptions else error.message}"


def _form_of(text):
    """The shape of a date-time as sent: fraction digits and zone."""
    if not isinstance(text, str) or "T" not in text:
        return "date only" if isinstance(text, str) else repr(text)
    time_part = text.split("T", 1)[1]
    zone = "Z" if time_part.endswith(("Z", "z")) else "none"
    for sign in "+-":
        if sign in time_part:
            zone, time_part = "offset", time_part.split(sign, 1)[0]
    time_part = time_part.rstrip("Zz")
    digits = len(time_part.split(".", 1)[1]) if "." in time_part else 0
    return f"{digits} fraction digits, zone {zone}"


class LiveCheck:
    def __init__(self, client, *, company_code, account_id, options, out):
        self.client = client
        self.company_code = company_code
        self.account_id = account_id
        self.options = options
        self.out = out
        self.findings = []
        self.zone_id = None

    # --- reporting -----------------------------------------------------------------

    def report(self, point, outcome, answered, assumed=""):
        finding = Finding(point, outcome, answered, assumed)
        self.findings.append(finding)
        line = f"[{outcome:^11}] {point}: {answered}"
        if assumed and outcome != MATCHES:
            line += f"\n{'':14}assumed: {assumed}"
        print(line, file=self.out, flush=True)
        return finding

    def raw(self, method, path, *, params=None, body=None):
        """An API call as the client sends it, with a body the client would not send
        (the answer is the point). ``path`` is company-relative when it is a tuple."""
        # The client's own path building and transport: a project script may use them.
        if isinstance(path, tuple):
            path = self.client._company_path(*path)
        return self.client._transport.request_json(method, path, params=params, body=body)

    # --- the checks ----------------------------------------------------------------

    def run(self):
        try:
            self.check_connection()
            self.check_setup()
            self.check_definitions()
            self.check_unknown_customers()
            self.check_customers()
            self.check_exemption_status()
            self.check_certificate_listing()
            self.check_invitations()
            if self.options.send_request:
                self.check_sending_a_request()
        except Stop:
            pass
        self.report_not_checkable()
        return self.summary()

    def check_connection(self):
        try:
            ping = self.client.ping()
        except ecm.EcmError as error:
            self.report("connection (ping)", FAILED, _error_text(error))
            raise Stop from None
        if not ping.authenticated:
            self.report(
                "connection (ping)",
                FAILED,
                "answered but did not accept the credentials (authenticated: false)",
                "ping answers 200 and authenticated true for a valid account id and key",
            )
            raise Stop
        same = str(ping.authenticated_account_id) == str(self.account_id)
        self.report(
            "connection (ping)",
            MATCHES if same else DIFFERS,
            f"authenticated as account {ping.authenticated_account_id} "
            f"({ping.authentication_type}), API version {ping.version}",
            "authenticatedAccountId is the account id used",
        )
        try:
            company = self.client.find_company(self.company_code)
        except ecm.EcmError as error:
            self.report("company code -> id", FAILED, _error_text(error))
            raise Stop from None
        if company is None:
            self.report(
                "company code -> id",
                FAILED,
                f"no company has the code {self.company_code!r}",
                "$filter=companyCode eq '<code>' finds the company",
            )
            raise Stop
        self.client.company_id = company.id
        self.report("company code -> id", MATCHES, f"{company.company_code} is id {company.id}")

    def check_setup(self):
        point = "certificate setup (status values Provisioned/InProgress/NotProvisioned)"
        setup = self.client.certificate_setup()
        known = setup.status in (
            ecm.SETUP_PROVISIONED,
            ecm.SETUP_IN_PROGRESS,
            ecm.SETUP_NOT_PROVISIONED,
        )
        self.report(point, MATCHES if known else DIFFERS, f"status {setup.status!r}")
        if setup.is_provisioned:
            return
        point = "error of an exemption call before setup (1205/1216 -> NotProvisionedError)"
        try:
            self.client.get_customer(TEST_CODE)
        except ecm.NotProvisionedError as error:
            self.report(point, MATCHES, _error_text(error))
        except ecm.EcmError as error:
            self.report(
                point,
                DIFFERS,
                _error_text(error),
                "CertificatesNotSetup (1205) or AccountNotProvisioned (1216)",
            )
        else:
            self.report(point, DIFFERS, "the call succeeded", "refused until set up")
        if self.options.request_setup:
            status = self.client.request_certificate_setup()
            self.report(
                "request certificate setup (POST certificates/setup)",
                MATCHES,
                f"answered status {status.status!r}; provisioning is asynchronous: "
                "run the check again once certificate_setup says Provisioned",
            )
            if status.is_provisioned:
                return
        self.report(
            "certificate storage",
            FAILED,
            f"not provisioned for {self.company_code}: the other points cannot be checked "
            "(run with --request-setup, or ask Avalara)",
        )
        raise Stop

    def check_definitions(self):
        zones = list(self.client.iter_exposure_zones())
        zone = next(
            (z for z in zones if z.region == TEST_REGION and z.country == TEST_COUNTRY), None
        )
        self.zone_id = zone.id if zone else None
        self.report(
            "exposure zones",
            MATCHES if zone else DIFFERS,
            f"{len(zones)} zones; {TEST_REGION} is "
            + (f"id {zone.id} ({zone.name})" if zone else "missing"),
            f"a zone with region {TEST_REGION} and country {TEST_COUNTRY}",
        )
        reasons = list(self.client.iter_exemption_reasons())
        names = [r.name for r in reasons if r.name]
        has_resale = any(name.upper() == "RESALE" for name in names)
        self.report(
            "exemption reasons (names like RESALE)",
            MATCHES if has_resale else DIFFERS,
            f"{len(reasons)} reasons, e.g. {', '.join(names[:5])}",
            "names look like RESALE or GOVERNMENT",
        )

    def check_unknown_customers(self):
        suffix = secrets.token_hex(3).upper()
        for point, code in (
            ("unknown customer (error code, -> NotFoundError)", f"{TEST_CODE}-NOSUCH-{suffix}"),
            (
                "unknown customer whose code holds '/' and a space (path encoding)",
                f"{TEST_CODE}/NO SUCH {suffix}",
            ),
        ):
            try:
                self.client.get_customer(code)
            except ecm.NotFoundError as error:
                gateway = error.code == "NotFound"
                self.report(
                    point,
                    DIFFERS if gateway else MATCHES,
                    _error_text(error),
                    "404 EntityNotFoundError, or CertificatesError (1203) saying so; "
                    "the gateway's NotFound would mean the path was not routed",
                )
            except ecm.EcmError as error:
                self.report(
                    point,
                    DIFFERS,
                    _error_text(error),
                    "404 EntityNotFoundError, or CertificatesError (1203) saying so",
                )
            else:
                self.report(point, DIFFERS, f"a customer {code!r} exists", "no such customer")

    def _test_customer(self, **changes):
        fields = {
            "name": "CertCapture add-on live check (test customer)",
            "line1": "100 Test St",
            "city": "Seattle",
            "postal_code": "98104",
            "region": TEST_REGION,
            "country": TEST_COUNTRY,
            "is_bill": True,
            "company_id": self.client.company_id,
            **changes,
        }
        return ecm.Customer(TEST_CODE, **fields)

    def _restore_customer(self):
        self.client.update_customer(self._test_customer())

    def check_customers(self):
        point = "customer create/update: companyId sent, isBill only, nulls left out"
        try:
            existed = True
            try:
                self.client.get_customer(TEST_CODE)
            except ecm.NotFoundError:
                existed = False
            stored = self.client.upsert_customer(self._test_customer())
        except ecm.EcmError as error:
            self.report(point, FAILED, _error_text(error))
            raise Stop from None
        flags_ok = stored.is_bill is True and stored.is_ship is not True
        self.report(
            point,
            MATCHES if flags_ok else DIFFERS,
            f"{'updated' if existed else 'created'} {TEST_CODE} (id {stored.id}, companyId "
            f"{stored.company_id}, isBill {stored.is_bill}, isShip {stored.is_ship})",
            "the customer is stored as a bill-to",
        )
        path = ("customers", TEST_CODE)
        body = self._test_customer().to_api()

        point = "duplicate customer code (DuplicateEntry, 193)"
        try:
            self.raw("POST", ("customers",), body=[self._test_customer().to_api(omit_none=True)])
        except ecm.ValidationError as error:
            duplicate = error.code == "DuplicateEntry"
            self.report(point, MATCHES if duplicate else DIFFERS, _error_text(error), point)
        except ecm.EcmError as error:
            self.report(point, DIFFERS, _error_text(error), point)
        else:
            self.report(point, DIFFERS, "the second create was accepted", point)

        point = "a field left out of a PUT body is cleared"
        self.client.update_customer(self._test_customer(line2="Suite 1"))
        self.raw("PUT", path, body={k: v for k, v in body.items() if k != "line2"})
        line2 = self.client.get_customer(TEST_CODE).line2
        self.report(
            point,
            MATCHES if line2 is None else DIFFERS,
            "line2 cleared" if line2 is None else f"line2 kept ({line2!r})",
            "a field left out is cleared, as a null one (the client sends nulls anyway)",
        )
        self._restore_customer()

        point = "isBill and isShip both true (CustomerCantBeBothShipToAndBillTo, 1220)"
        try:
            self.raw("PUT", path, body={**body, "isBill": True, "isShip": True})
        except ecm.ValidationError as error:
            refused = error.code == "CustomerCantBeBothShipToAndBillTo"
            self.report(point, MATCHES if refused else DIFFERS, _error_text(error), point)
        except ecm.EcmError as error:
            self.report(point, DIFFERS, _error_text(error), point)
        else:
            self.report(point, DIFFERS, "accepted", "refused with 1220")
            self._restore_customer()

        point = "customer without a required field (line1)"
        try:
            self.raw("PUT", path, body={**body, "line1": None})
        except ecm.ValidationError as error:
            self.report(point, MATCHES, _error_text(error))
        except ecm.EcmError as error:
            self.report(point, DIFFERS, _error_text(error), "a 400 naming the field")
        else:
            self.report(point, DIFFERS, "accepted", "refused: line1 is required")
            self._restore_customer()

    def check_exemption_status(self):
        status = self.client.get_exemption_status(TEST_CODE, TEST_REGION, TEST_COUNTRY)
        self.report(
            "exemption status values (Exempt/NotExempt)",
            MATCHES if status.is_known_status else DIFFERS,
            f"{TEST_CODE} in {TEST_COUNTRY}/{TEST_REGION}: status {status.status!r}"
            + (f", certificate {status.certificate.id}" if status.certificate else ""),
            "Exempt when a valid certificate covers the region, else NotExempt",
        )

    def _date_filter(self, point, path, field):
        since = datetime.now(timezone.utc) - timedelta(days=3650)
        literal = f"'{format_datetime(since)}'"
        params = {"$filter": f"{field} gt {literal}", "$top": 1}
        try:
            self.raw("GET", path, params=params)
        except ecm.ValidationError as error:
            fallback = error.code == "InvalidExemptionOperation"
            self.report(
                point,
                DIFFERS,
                _error_text(error)
                + ("; the client falls back to 'ge'" if fallback else "; the pull cannot run"),
                f"{field} gt '<UTC date-time>' is accepted",
            )
        except ecm.EcmError as error:
            self.report(point, FAILED, _error_text(error))
        else:
            self.report(point, MATCHES, f"{field} gt {literal} accepted")

    def check_certificate_listing(self):
        self._date_filter("date filter with gt (certificates)", ("certificates",), "modifiedDate")
        page = self.raw("GET", ("certificates",), params={"$top": 1000, "$orderBy": "modifiedDate"})
        records = page.get("value") or []
        total = page.get("@recordsetCount")
        link = page.get("@nextLink")
        if not records:
            for point in ("date formats", "page cap on $top", "modifiedDate order"):
                self.report(point, NOT_CHECKED, "the company has no certificate")
            return
        forms = Counter()
        unreadable = []
        for record in records:
            for key in ("createdDate", "modifiedDate"):
                if record.get(key) is None:
                    continue
                forms[_form_of(record[key])] += 1
                try:
                    parse_datetime(record[key])
                except ecm.ProtocolError:
                    unreadable.append(record[key])
        self.report(
            "date formats (0-7 fraction digits, Z, offset or none)",
            DIFFERS if unreadable else MATCHES,
            "; ".join(f"{form} x{count}" for form, count in forms.most_common())
            + (f"; unreadable: {unreadable[:3]}" if unreadable else ""),
            "ISO 8601 with 0 to 7 fraction digits, then Z, an offset or nothing",
        )
        stamps = [parse_datetime(r["modifiedDate"]) for r in records if r.get("modifiedDate")]
        self.report(
            "$orderBy=modifiedDate is honoured",
            MATCHES if stamps == sorted(stamps) else DIFFERS,
            f"{len(stamps)} certificates " + ("in order" if stamps == sorted(stamps) else "not"),
            "ascending modifiedDate order (the pull's watermark depends on it)",
        )
        self._page_cap("certificates", len(records), total, link)
        point = "pages of equal size ($skip off the page boundary, 1218)"
        if (total or 0) < 3:
            self.report(point, NOT_CHECKED, "fewer than 3 certificates")
        else:
            try:
                self.raw("GET", ("certificates",), params={"$top": 2, "$skip": 1})
            except ecm.ValidationError as error:
                same = error.code == "ExemptionPaginationLimits"
                self.report(point, MATCHES if same else DIFFERS, _error_text(error))
            else:
                self.report(
                    point,
                    DIFFERS,
                    "accepted (the sandbox is stricter; harmless)",
                    "refused with ExemptionPaginationLimits",
                )
        if total is not None and total <= MAX_RECORDS_TO_COUNT:
            read = sum(1 for _ in self.client.iter_certificates_changed_since(None))
            self.report(
                "the client reads every certificate",
                MATCHES if read == total else DIFFERS,
                f"read {read} of @recordsetCount {total}",
            )

    def _page_cap(self, what, served, total, link):
        point = f"page cap on $top ({what})"
        if total is None:
            self.report(point, DIFFERS, "no @recordsetCount", "@recordsetCount is sent")
            return
        if served >= total:
            self.report(
                point,
                NOT_CHECKED,
                f"asked 1000, got all {total}: too few records to see a cap",
            )
        else:
            self.report(
                point,
                MATCHES,
                f"asked 1000, got {served} of {total}: a cap of {served}; the client pages on",
                "the API may answer fewer records than $top",
            )
        point = f"@nextLink form ({what})"
        if link is None:
            outcome = NOT_CHECKED if served >= total else DIFFERS
            self.report(point, outcome, "none sent", "a host-relative path with its query")
        else:
            relative = link.startswith("/api/v2/") and "?" in link
            self.report(
                point,
                MATCHES if relative else DIFFERS,
                link[:120],
                "a path with its query string, relative to the host",
            )

    def check_invitations(self):
        self._date_filter("date filter with gt (invitations)", ("certexpressinvites",), "date")
        page = self.raw("GET", ("certexpressinvites",), params={"$top": 1000})
        records = page.get("value") or []
        self._page_cap(
            "invitations", len(records), page.get("@recordsetCount"), page.get("@nextLink")
        )
        point = "invitation states (Email: emailStatus Sent; Download: requestLink)"
        if not records:
            self.report(point, NOT_CHECKED, "the company has no certificate request yet")
            return
        seen = Counter(
            (
                record.get("deliveryMethod"),
                record.get("emailStatus"),
                "link" if record.get("requestLink") else "no link",
            )
            for record in records
        )
        unknown = {status for (_m, status, _l), _n in seen.items()} - {None, "Sent"}
        self.report(
            point,
            DIFFERS if unknown else MATCHES,
            "; ".join(f"{m}/{s}/{link} x{n}" for (m, s, link), n in seen.most_common()),
            "emailStatus is null or Sent; values before Sent are unknown: "
            + (f"new values {sorted(unknown)}" if unknown else "none seen"),
        )

    def check_sending_a_request(self):
        method = ecm.DELIVERY_EMAIL if self.options.email else ecm.DELIVERY_DOWNLOAD
        point = f"one {method} certificate request, followed until it reaches the customer"
        if self.zone_id is None:
            self.report(point, NOT_CHECKED, f"no exposure zone for {TEST_REGION}")
            return
        result = self.client.create_invitation(
            TEST_CODE, self.options.email, [self.zone_id], delivery_method=method
        )
        states = [
            f"POST: {result.status}, emailStatus {result.invitation.email_status}, "
            f"link {'yes' if result.invitation.request_link else 'no'}"
        ]
        deadline = time.monotonic() + self.options.wait
        done = result.is_sent if method == ecm.DELIVERY_EMAIL else bool(result.upload_link)
        while not done and time.monotonic() < deadline:
            time.sleep(self.options.poll)
            invitation = self.client.get_invitation(TEST_CODE, result.invitation.id)
            done = invitation.is_sent if method == ecm.DELIVERY_EMAIL else invitation.upload_link
            state = (
                f"GET: emailStatus {invitation.email_status}, "
                f"link {'yes' if invitation.request_link else 'no'}"
            )
            if state != states[-1]:
                states.append(state)
        self.report(
            point,
            MATCHES if done else DIFFERS,
            f"request {result.invitation.id}: " + " -> ".join(states),
            "Email: emailStatus becomes Sent; Download: requestLink once Ready"
            f" (waited {self.options.wait:g} s)",
        )

    def report_not_checkable(self):
        for point, why in (
            (
                "rate-limit codes (1715, 1716, 1723, 4011 -> RateLimitedError)",
                "cannot be triggered without flooding the API",
            ),
            (
                "linking ship-tos to a bill-to (1221/1222)",
                "needs a second customer; the check creates one only",
            ),
        ):
            self.report(point, NOT_CHECKED, why)

    def summary(self):
        counts = Counter(finding.outcome for finding in self.findings)
        print(
            f"\nSummary: {counts[MATCHES]} match, {counts[DIFFERS]} differ, "
            f"{counts[FAILED]} failed, {counts[NOT_CHECKED]} not checked.",
            file=self.out,
        )
        if counts[DIFFERS] or counts[FAILED]:
            print(
                "Where the API differs, update docs/api-reference.md (section 12) and the "
                "client or sandbox before going live.",
                file=self.out,
            )
            return 1
        return 0


def _parser():
    parser = argparse.ArgumentParser(
        prog="python scripts/live_check.py",
        description="Check the project's assumptions against a real AvaTax (sandbox) account.",
    )
    parser.add_argument(
        "--send-request",
        action="store_true",
        help="send one certificate request to the test customer (Download unless --email)",
    )
    parser.add_argument("--email", metavar="ADDRESS", help="make that request an Email one")
    parser.add_argument(
        "--request-setup",
        action="store_true",
        help="ask Avalara to set up certificate storage if the company has none",
    )
    parser.add_argument(
        "--wait", type=float, default=300.0, help="how long to follow the request (seconds)"
    )
    parser.add_argument("--poll", type=float, default=10.0, help="seconds between looks")
    parser.add_argument(
        "--production", action="store_true", help="allow a production base URL (not advised)"
    )
    parser.add_argument("--allow-ci", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv=None, environ=None, out=None):
    environ = os.environ if environ is None else environ
    out = sys.stdout if out is None else out
    options = _parser().parse_args(argv)
    if options.email and not options.send_request:
        print("--email goes with --send-request", file=out)
        return 2
    missing = [name for name in REQUIRED_VARIABLES if not environ.get(name)]
    if missing:
        print(
            "skipped: set AVATAX_ACCOUNT_ID, AVATAX_LICENSE_KEY and AVATAX_COMPANY_CODE (an "
            "AvaTax sandbox account; optional AVATAX_BASE_URL, default "
            f"{DEFAULT_BASE_URL}) to run the live check. Missing: {', '.join(missing)}.",
            file=out,
        )
        return 0
    if environ.get("CI") and not options.allow_ci:
        print("skipped: CI is set, and the live check never runs in CI.", file=out)
        return 0
    base_url = environ.get("AVATAX_BASE_URL") or DEFAULT_BASE_URL
    host = (urlsplit(base_url).hostname or "").lower()
    if host in PRODUCTION_HOSTS and not options.production:
        print(
            f"refused: {base_url} is Avalara's production; use a sandbox account "
            "(or --production, knowing the check creates a test customer there).",
            file=out,
        )
        return 2
    try:
        client = ecm.EcmClient(
            base_url,
            environ["AVATAX_ACCOUNT_ID"],
            environ["AVATAX_LICENSE_KEY"],
            app_name="certcapture_exemption live check",
        )
    except ecm.ConfigurationError as error:
        print(f"refused: {error}", file=out)
        return 2
    print(
        f"AvaTax live check: {base_url}, account {environ['AVATAX_ACCOUNT_ID']}, "
        f"company {environ['AVATAX_COMPANY_CODE']}\n",
        file=out,
    )
    with client:
        check = LiveCheck(
            client,
            company_code=environ["AVATAX_COMPANY_CODE"],
            account_id=environ["AVATAX_ACCOUNT_ID"],
            options=options,
            out=out,
        )
        try:
            return check.run()
        except ecm.EcmError as error:
            check.report("unexpected error", FAILED, _error_text(error))
            check.summary()
            return 1


if __name__ == "__main__":
    sys.exit(main())
