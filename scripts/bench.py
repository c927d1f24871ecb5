"""Benchmark: what the add-on costs an order, a certificate pull and a bulk sync.

`make bench` (or `bash scripts/with-env.sh python scripts/bench.py [options]`).
A script that prints figures side by side, not a test; docs/performance.md
says how to read them and keeps the figures of each release.

- Databases: certcapture_bench_plain (the test tiers' template as is: plain
  Odoo) and certcapture_bench_addon (the template + the add-on), made again on
  each run from the template run_tests.py builds (its OdooTiers).
- CertCapture: the project's sandbox in a process of its own (the PDFs it keeps
  in memory do not count in Odoo's), latency set at run time
  (PUT /_sandbox/faults), calls counted from GET /_sandbox/requests.
- orders: both registries in this process; orders created through the ORM
  (create + flush_all), plain and add-on interleaved after a warm-up, each
  committed (outside the timing) with an empty record cache before it, as a
  request has. Median ms plain vs add-on, ratio, the budget "1.10 x plain +
  one round trip", CertCapture calls and SQL queries per order.
- pull: N certificates with ~100 KB PDFs seeded over N/4 customers, pulled by
  Odoo's own cron runner (ir.cron._process_jobs, every other cron off) in a
  child process whose peak RSS is measured (VmHWM reset just before the pull);
  certificates/s, SQL queries and calls per certificate, and the add-on's HTTP
  client alone over the same listing and PDFs for comparison; then the
  certificates and their PDFs are counted in the database.
- bulk: N new exempt customers through the bulk sync engine; calls vs the
  goal N/100 + 2.
"""

import argparse
import base64
import cProfile
import io
import json
import os
import platform
import pstats
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import psycopg2
import requests

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
sys.path.insert(0, str(SCRIPTS))

from odoo_options import odoo_options  # noqa: E402
from run_tests import ADDON, OdooTiers  # noqa: E402

from certcapture_sandbox.pdf import sample_pdf  # noqa: E402

PLAIN_DB = "certcapture_bench_plain"
ADDON_DB = "certcapture_bench_addon"
# The sandbox's defaults (python -m certcapture_sandbox --help).
ACCOUNT_ID = "1100000001"
LICENSE_KEY = "sandbox-license-key"
COMPANY_CODE = "DEFAULT"
# The scheduled actions of the pull: the listing, and the files beside it.
PULL_CRONS = ("ir_cron_certcapture_pull", "ir_cron_certcapture_download_files")
# Orders each side creates before the first scenario (caches, first-use
# costs), and before each scenario (the status cache filled or not).
FIRST_WARMUP_ORDERS = 10
WARMUP_ORDERS = 3
RTT_SAMPLES = 20
PDF_SIZE = 100 * 1024
# A pulled customer's certificates, one state each.
PULL_REGIONS = ("WA", "TX", "CA", "NY")
PULL_CODE_PREFIX = "BENCHPULL"
BULK_CODE_PREFIX = "BENCHBULK"
# In a call's path: AvaTax ids and customer codes.
HIDDEN_PATH_PARTS = re.compile(r"/\d+(?=/|$)|/[A-Z0-9-]{6,}")
SEATTLE = {"street": "1201 Pike Street", "city": "Seattle", "zip": "98101"}


def say(message=""):
    print(message, flush=True)


def median(values):
    return statistics.median(values) if values else float("nan")


# ---------------------------------------------------------------- the machine


def machine():
    cpu = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as info:
        kib = int(re.search(r"MemTotal:\s+(\d+)", info.read())[1])
    postgres = subprocess.run(
        ["psql", "-X", "-At", "-d", "postgres", "-c", "SHOW server_version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpus": f"{len(os.sched_getaffinity(0))} (nproc)",
        "cpu": cpu,
        "ram": f"{kib / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "postgresql": postgres or "?",
        "odoo": odoo_revision(os.environ["ODOO_SRC"]),
        "add-on": f"{git_revision(ROOT, ADDON)} (last commit of {ADDON}/)",
        "load": "load average {:.2f} {:.2f} {:.2f} at start".format(*os.getloadavg()),
    }


def git_revision(path, *paths):
    """The last commit (of ``paths`` if given) and whether they are modified."""
    head = subprocess.run(
        ["git", "-C", str(path), "log", "-1", "--format=%h %cs", "--", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    if head.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no", "--", *paths],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return head.stdout.strip() + (" (modified)" if dirty else "")


def odoo_revision(odoo_src):
    revision = git_revision(odoo_src)
    if revision:
        return f"18.0 {revision}"
    release = Path(odoo_src) / "odoo" / "release.py"
    stamp = date.fromtimestamp(release.stat().st_mtime)
    return f"18.0, no git metadata in {odoo_src} (release.py of {stamp})"


# ---------------------------------------------------------------- databases


def prepare_databases(tiers, want_plain, want_addon):
    """Fresh copies of the tiers' template; the add-on installed in one."""
    names = [PLAIN_DB] * want_plain + [ADDON_DB] * want_addon
    for name in names:
        start = time.monotonic()
        tiers.fresh_database(name)
        if name == ADDON_DB:
            command = tiers.odoo(
                name, "-i", ADDON, "--stop-after-init", "--no-http", "--log-level=warn"
            )
            if subprocess.run(command, check=False).returncode != 0:
                raise SystemExit(f"installing {ADDON} in {name} failed")
        say(f"database {name} ready in {time.monotonic() - start:.0f} s")


def drop_databases(tiers):
    for name in (PLAIN_DB, ADDON_DB):
        tiers.drop_database(name)


# ---------------------------------------------------------------- the sandbox


class Sandbox:
    """The sandbox in its own process, driven over its /_sandbox/ interface."""

    def __init__(self, log_path):
        self.log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "certcapture_sandbox", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        line = self.process.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if not match:
            self.stop()
            raise SystemExit(f"the sandbox did not start: {line!r} (see {log_path})")
        self.url = match[1]
        self.http = requests.Session()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.log.close()

    def _call(self, method, path, **kwargs):
        response = self.http.request(method, self.url + path, timeout=60, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"sandbox {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def set_latency(self, ms):
        self._call("PUT", "/_sandbox/faults", json={"latency_ms": ms})

    def reset(self):
        self._call("POST", "/_sandbox/reset")

    def requests(self):
        return self._call("GET", "/_sandbox/requests")

    def clear_requests(self):
        self._call("DELETE", "/_sandbox/requests")

    def add_certificate(self, **body):
        if isinstance(body.get("pdf"), bytes):
            body["pdf"] = base64.b64encode(body["pdf"]).decode()
        return self._call("POST", "/_sandbox/certificates", json=body)

    def rss_mib(self):
        with open(f"/proc/{self.process.pid}/status", encoding="utf-8") as status:
            return int(re.search(r"VmRSS:\s+(\d+)", status.read())[1]) / 1024


def padded_pdf(title, size):
    """The sandbox's one-page PDF, made ~``size`` bytes by comment lines of
    random text after the header (offsets fixed: it stays a valid PDF, and
    each one is different, as the filestore stores a content once)."""
    pdf = sample_pdf(title, "CertCapture benchmark")
    lines = max(0, (size - len(pdf)) // 78)
    padding = b"".join(b"%" + base64.b64encode(os.urandom(57)) + b"\n" for _ in range(lines))
    head = pdf.index(b"\n") + 1
    body = pdf[:head] + padding + pdf[head:]
    shift = len(padding)
    body = re.sub(rb"(\d{10}) 00000 n", lambda m: b"%010d 00000 n" % (int(m[1]) + shift), body)
    return re.sub(rb"startxref\n(\d+)", lambda m: b"startxref\n%d" % (int(m[1]) + shift), body)


# ---------------------------------------------------------------- Odoo


def load_odoo(log_level="warn"):
    import odoo

    odoo.tools.config.parse_config(
        [*odoo_options(os.environ["ODOO_SRC"]), f"--log-level={log_level}"]
    )
    return odoo


def ecm_module():
    from odoo.addons.certcapture_exemption import ecm

    return ecm


def configure_company(env, sandbox_url, cache_minutes=60):
    company = env.company
    company.write(
        {
            "certcapture_enabled": True,
            "certcapture_environment": "custom",
            "certcapture_custom_url": sandbox_url,
            "certcapture_account_id": ACCOUNT_ID,
            "certcapture_license_key": LICENSE_KEY,
            "certcapture_company_code": COMPANY_CODE,
            "certcapture_missing_policy": "none",
            "certcapture_status_cache_minutes": cache_minutes,
        }
    )
    env["certcapture.sync"]._refresh_lists(company)
    return company


def address(env):
    return {
        **SEATTLE,
        "state_id": env.ref("base.state_us_48").id,
        "country_id": env.ref("base.us").id,
    }


def sql_counter():
    import odoo

    return odoo.sql_db.sql_counter


# ---------------------------------------------------------------- orders


class OrderSide:
    """One database of the order benchmark: its registry, a cursor kept for
    the run, a customer and three products."""

    def __init__(self, odoo, db, label):
        from odoo import SUPERUSER_ID, api

        self.label = label
        self.registry = odoo.modules.registry.Registry(db)
        self.cr = self.registry.cursor()
        root = api.Environment(self.cr, SUPERUSER_ID, {})
        self.env = root(user=root.ref("base.user_admin").id)
        self.root = root
        tax = root.company.account_sale_tax_id
        self.tax = tax.name or "none"
        self.products = root["product.product"].create(
            [{"name": f"Bench product {n}", "list_price": 10 * n} for n in (1, 2, 3)]
        )
        self.customer = None

    def order_values(self):
        from odoo import Command

        return {
            "partner_id": self.customer.id,
            "order_line": [
                Command.create({"product_id": product.id, "product_uom_qty": 2})
                for product in self.products
            ],
        }

    def order(self, profile=None):
        """(ms, SQL queries) of one order: a cold record cache, create,
        flush; the commit after it is not timed."""
        self.env.invalidate_all()
        values = self.order_values()
        queries = sql_counter()
        start = time.perf_counter()
        if profile:
            profile.enable()
        self.env["sale.order"].create(values)
        self.env.flush_all()
        if profile:
            profile.disable()
        elapsed = (time.perf_counter() - start) * 1000
        queries = sql_counter() - queries
        self.cr.commit()
        return elapsed, queries

    def close(self):
        self.cr.close()


def setup_plain(side):
    env = side.root
    side.customer = env["res.partner"].create(
        {
            "name": "Bench Customer",
            "is_company": True,
            "email": "orders@bench.example.com",
            **address(env),
        }
    )
    side.cr.commit()


def setup_addon(side, sandbox):
    """The exempt customer, synced, with a certificate for WA pulled into Odoo
    (PDF included): the steady state of an exempt customer."""
    env = side.root
    company = configure_company(env, sandbox.url)
    side.company = company
    side.customer = env["res.partner"].create(
        {
            "name": "Bench Customer",
            "is_company": True,
            "email": "orders@bench.example.com",
            "ref": "BENCH-EXEMPT",
            "certcapture_exemption_number": "WA-BENCH-1",
            "certcapture_ap_email": "ap@bench.example.com",
            **address(env),
        }
    )
    sync = env["certcapture.sync"]
    with env["certcapture.service"]._session(company) as client:
        sync._sync_customer(client, side.customer, company)
    code = side.customer.certcapture_customer_code
    sandbox.add_certificate(
        customer_code=code,
        region="WA",
        exemption_number="WA-BENCH-1",
        reason="RESALE",
        signed_date=(date.today() - timedelta(days=10)).isoformat(),
        expiration_date=(date.today() + timedelta(days=365)).isoformat(),
        pdf=sample_pdf("Bench certificate", "Washington"),
    )
    sync._pull_customer(side.customer, company)
    assert side.customer.certcapture_certificate_ids.pdf, "the WA certificate was not pulled"
    side.cr.commit()
    side.code = code


@contextmanager
def tallied_queries():
    """``with tallied_queries() as kinds:`` the SQL sent inside, counted by
    kind ("SELECT res_partner"): Cursor.execute wrapped for that time only."""
    from odoo import sql_db

    kinds = Counter()
    lock = threading.Lock()
    original = sql_db.Cursor.execute

    def execute(cursor, query, params=None, log_exceptions=True):
        text = query.code if isinstance(query, sql_db.SQL) else str(query)
        with lock:
            kinds[classify(text)] += 1
        return original(cursor, query, params, log_exceptions)

    sql_db.Cursor.execute = execute
    try:
        yield kinds
    finally:
        sql_db.Cursor.execute = original


def query_kinds(side, runs=3):
    """The SQL of ``runs`` orders, by kind."""
    with tallied_queries() as kinds:
        for _ in range(runs):
            side.order()
    return kinds


def top_addon_functions(profiler, per, unit, limit=30):
    """The add-on's functions by cumulative time, per ``unit`` (``per`` of them)."""
    stats = pstats.Stats(profiler, stream=io.StringIO())
    entries = [
        (value[3], value[0], key)
        for key, value in stats.stats.items()
        if f"/{ADDON}/" in key[0] and "/tests/" not in key[0]
    ]
    lines = [f"add-on functions by cumulative time (profiled: {stats.total_tt:.1f} s in all):"]
    for cumulative, calls, (filename, line, name) in sorted(entries, reverse=True)[:limit]:
        short = filename.split(f"/{ADDON}/", 1)[1]
        lines.append(
            f"  {cumulative / per * 1000:7.2f} ms/{unit} {cumulative / stats.total_tt:5.1%} "
            f"{calls / per:6.1f} calls/{unit}  {short}:{line} {name}"
        )
    return lines


def count_pulled(db):
    import odoo

    with odoo.sql_db.db_connect(db).cursor() as cr:
        cr.execute(
            """SELECT count(*) FROM certcapture_certificate c
                 JOIN res_partner p ON p.id = c.partner_id
                WHERE p.certcapture_customer_code LIKE %s""",
            [f"{PULL_CODE_PREFIX}%"],
        )
        return cr.fetchone()[0] or 1


def classify(sql):
    words = sql.split()
    verb = (words[0] if words else "?").upper()
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
        return verb
    pattern = {
        "INSERT": r'INSERT\s+INTO\s+"?(\w+)',
        "UPDATE": r'UPDATE\s+"?(\w+)',
        "DELETE": r'DELETE\s+FROM\s+"?(\w+)',
    }.get(verb, r'FROM\s+"?(\w+)')
    match = re.search(pattern, sql, re.IGNORECASE)
    return f"{verb} {match[1] if match else '?'}"


def call_kind(call):
    """'GET /api/v2/companies/…/customers/…/certificates/US/WA': ids and codes hidden."""
    return call["method"] + " " + HIDDEN_PATH_PARTS.sub("/…", call["path"])


def bench_orders(odoo, sandbox, args):
    ecm = ecm_module()
    plain = OrderSide(odoo, PLAIN_DB, "plain")
    addon = OrderSide(odoo, ADDON_DB, "add-on")
    try:
        setup_plain(plain)
        setup_addon(addon, sandbox)
        client = ecm.EcmClient(
            sandbox.url,
            ACCOUNT_ID,
            LICENSE_KEY,
            company_id=addon.company.certcapture_company_id,
        )
        say(
            f"orders: {args.orders} per scenario and side, interleaved after {WARMUP_ORDERS} "
            f"warm-up orders each ({FIRST_WARMUP_ORDERS} before the first); 3 lines, sales tax "
            f"{plain.tax} (plain) / {addon.tax} (add-on, before the exemption); the add-on's "
            "customer exempt in WA with a valid certificate"
        )
        for side in (plain, addon):
            for _ in range(FIRST_WARMUP_ORDERS):
                side.order()
        scenarios = [("exempt, status cached", 60, args.latencies[0])]
        scenarios += [(f"exempt, not cached, {ms} ms", 0, ms) for ms in args.latencies]
        rows = []
        for label, cache_minutes, latency in scenarios:
            addon.company.certcapture_status_cache_minutes = cache_minutes
            addon.cr.commit()
            sandbox.set_latency(latency)
            for side in (plain, addon):
                for _ in range(WARMUP_ORDERS):
                    side.order()
            status_round_trip(client, addon.code)
            status_kind = call_kind(sandbox.requests()[-1])
            sandbox.clear_requests()
            addon.cr.execute("SELECT COALESCE(MAX(id), 0) FROM certcapture_api_log")
            last_log_id = addon.cr.fetchone()[0]
            figures = {plain.label: [], addon.label: []}
            rtt = []
            for _ in range(args.orders):
                for side in (plain, addon):
                    figures[side.label].append(side.order())
                # The round trip in the orders' own rhythm: the sandbox has
                # been idle for about an order since its last answer, as it
                # is when an order's own call reaches it.
                rtt.append(status_round_trip(client, addon.code))
            # The orders' calls: the sandbox's log, less the round trips.
            call_kinds = Counter(call_kind(call) for call in sandbox.requests())
            call_kinds[status_kind] -= len(rtt)
            call_kinds = +call_kinds
            calls = call_kinds.total()
            back_to_back = [status_round_trip(client, addon.code) for _ in range(RTT_SAMPLES)]
            sandbox.set_latency(0)
            # What the orders' own calls took (the request log; HTTP only):
            # the check of the round trip above.
            addon.cr.execute(
                """SELECT duration_ms FROM certcapture_api_log
                    WHERE id > %s AND res_model = 'sale.order'""",
                [last_log_id],
            )
            own_calls = [row[0] for row in addon.cr.fetchall()]
            row = {
                "scenario": label,
                "plain_ms": median([ms for ms, _q in figures["plain"]]),
                "addon_ms": median([ms for ms, _q in figures["add-on"]]),
                "plain_sql": median([q for _ms, q in figures["plain"]]),
                "addon_sql": median([q for _ms, q in figures["add-on"]]),
                "calls": calls / args.orders,
                "call_kinds": call_kinds,
                "rtt_ms": median(rtt),
                "rtt_back_to_back_ms": median(back_to_back),
                "own_call_ms": median(own_calls) if own_calls else None,
            }
            row["ratio"] = row["addon_ms"] / row["plain_ms"]
            # 1.10x plain Odoo, plus a round trip for each call the order makes.
            row["budget_ms"] = 1.10 * row["plain_ms"] + round(row["calls"]) * row["rtt_ms"]
            rows.append(row)
            own = f", the orders' own {row['own_call_ms']:.1f} ms" if own_calls else ""
            say(
                f"  {label:<28} plain {row['plain_ms']:7.1f} ms  add-on {row['addon_ms']:7.1f} ms"
                f"  x{row['ratio']:.2f}  budget {row['budget_ms']:7.1f} ms "
                f"({'met' if row['addon_ms'] <= row['budget_ms'] else 'NOT met'})"
                f"  calls/order {row['calls']:.2f}  round trip {row['rtt_ms']:.1f} ms "
                f"(back to back {row['rtt_back_to_back_ms']:.1f} ms{own})"
                f"  SQL/order {row['plain_sql']:.0f} vs {row['addon_sql']:.0f}"
            )
            for kind, count in sorted(row["call_kinds"].items()):
                say(f"      {count / args.orders:5.2f}/order  {kind}")
        if args.profile:
            for label, cache_minutes in (("cached", 60), ("not cached, 0 ms", 0)):
                profile_orders(plain, addon, args, label, cache_minutes)
        return rows
    finally:
        plain.close()
        addon.close()


def status_round_trip(client, customer_code):
    """ms of one exemption status call made with the add-on's client alone."""
    start = time.perf_counter()
    client.get_exemption_status(customer_code, "WA")
    return (time.perf_counter() - start) * 1000


def profile_orders(plain, addon, args, label, cache_minutes):
    """cProfile of exempt orders (status cached or not, the sandbox at 0 ms),
    and the SQL the add-on adds to one."""
    addon.company.certcapture_status_cache_minutes = cache_minutes
    addon.cr.commit()
    addon.order()  # cache filled, when it is kept
    profiler = cProfile.Profile()
    for _ in range(args.orders):
        addon.order(profiler)
    say(f"\nprofile of {args.orders} exempt orders, status {label} (slower: not a figure)")
    for line in top_addon_functions(profiler, args.orders, "order"):
        say(line)
    runs = 5
    kinds_plain = query_kinds(plain, runs)
    kinds_addon = query_kinds(addon, runs)
    say(f"\nSQL per order, status {label}, by kind (mean of {runs}): plain, add-on, added")
    for kind in sorted(
        set(kinds_plain) | set(kinds_addon),
        key=lambda k: kinds_plain[k] - kinds_addon[k],
    ):
        added = (kinds_addon[kind] - kinds_plain[kind]) / runs
        if added:
            say(
                f"  {kinds_plain[kind] / runs:6.1f} {kinds_addon[kind] / runs:6.1f} "
                f"{added:+6.1f}  {kind}"
            )
    say(f"  total {sum(kinds_plain.values()) / runs:.1f} vs {sum(kinds_addon.values()) / runs:.1f}")


# ---------------------------------------------------------------- pull


def pull_partners(env, count):
    """``count`` customers for the pull, codes BENCHPULL00001...; made once."""
    Partner = env["res.partner"].with_context(active_test=False)
    existing = Partner.search([("certcapture_customer_code", "=like", f"{PULL_CODE_PREFIX}%")])
    missing = count - len(existing)
    if missing > 0:
        start = len(existing) + 1
        existing |= Partner.create(
            [
                {
                    "name": f"Bench pull customer {n:05d}",
                    "is_company": True,
                    "email": f"pull{n}@bench.example.com",
                    "certcapture_customer_code": f"{PULL_CODE_PREFIX}{n:05d}",
                    **address(env),
                }
                for n in range(start, start + missing)
            ]
        )
    return existing.sorted("certcapture_customer_code")[:count]


def reset_pull_state(env, company, partners):
    """No pulled certificate, watermark or pull failure left in Odoo."""
    env["certcapture.certificate"].with_context(active_test=False).search(
        [("partner_id", "in", partners.ids)]
    ).unlink()
    env["certcapture.pull.failure"].search([]).unlink()
    company.write({"certcapture_pull_watermark": False, "certcapture_pull_watermark_ids": False})
    partners.write(
        {"certcapture_exemption_number": False, "certcapture_exemption_reason_id": False}
    )


def seed_pull(sandbox, ecm, company_id, codes, count, pdf_size=PDF_SIZE, one_pdf=False):
    """An empty sandbox, the customers, then ``count`` certificates spread
    over them (one state each per customer), each with its own PDF (or all
    with the same one: ``one_pdf``, when the machinery is measured, not the
    bytes)."""
    sandbox.reset()
    with ecm.EcmClient(sandbox.url, ACCOUNT_ID, LICENSE_KEY, company_id=company_id) as client:
        client.create_customers(
            [
                ecm.Customer(
                    code,
                    f"Bench pull customer {code}",
                    line1=SEATTLE["street"],
                    city=SEATTLE["city"],
                    postal_code=SEATTLE["zip"],
                    region="WA",
                    country="US",
                )
                for code in codes
            ]
        )
    today = date.today()
    shared = base64.b64encode(padded_pdf("Certificate", pdf_size)).decode() if one_pdf else None
    for n in range(count):
        code = codes[n % len(codes)]
        region = PULL_REGIONS[(n // len(codes)) % len(PULL_REGIONS)]
        sandbox.add_certificate(
            customer_code=code,
            region=region,
            exemption_number=f"{region}-BENCH-{n:06d}",
            reason="RESALE",
            signed_date=(today - timedelta(days=10)).isoformat(),
            expiration_date=(today + timedelta(days=365)).isoformat(),
            pdf=shared or padded_pdf(f"Certificate {n} of {code}", pdf_size),
        )


def raw_http_rate(ecm, sandbox, company_id, page_size):
    """The add-on's client alone: the pull's listing and PDF downloads."""
    count = size = 0
    start = time.perf_counter()
    with ecm.EcmClient(sandbox.url, ACCOUNT_ID, LICENSE_KEY, company_id=company_id) as client:
        for certificate in client.iter_certificates_changed_since(None, page_size=page_size):
            if certificate.document_exists:
                size += len(client.download_certificate_pdf(certificate.id))
            count += 1
    return count, time.perf_counter() - start, size


def verify_pull(registry, count):
    """The pulled certificates and their PDFs, as the database has them."""
    with registry.cursor() as cr:
        cr.execute(
            """SELECT count(*), count(DISTINCT c.certcapture_id), count(a.id),
                      coalesce(min(a.file_size), 0), coalesce(sum(a.file_size), 0)
                 FROM certcapture_certificate c
                 JOIN res_partner p ON p.id = c.partner_id
            LEFT JOIN ir_attachment a ON a.res_model = 'certcapture.certificate'
                                     AND a.res_field = 'pdf' AND a.res_id = c.id
                WHERE p.certcapture_customer_code LIKE %s""",
            [f"{PULL_CODE_PREFIX}%"],
        )
        certificates, distinct, pdfs, smallest, total = cr.fetchone()
    say(
        f"    in the database: {certificates} certificates ({distinct} distinct), {pdfs} PDFs, "
        f"{total / 1024 / 1024:.1f} MiB, smallest {smallest / 1024:.0f} KiB"
    )
    assert certificates == distinct == pdfs == count, f"expected {count} certificates with PDFs"
    assert smallest >= 0.9 * PDF_SIZE, "a PDF came in truncated"


def bench_pull(odoo, sandbox, args):
    from odoo import SUPERUSER_ID, api
    from odoo.addons.certcapture_exemption import const

    ecm = ecm_module()
    page_size = getattr(const, "PULL_BATCH_SIZE", 100)
    registry = odoo.modules.registry.Registry(ADDON_DB)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        company = configure_company(env, sandbox.url)
        with env["certcapture.service"]._session(company):
            pass  # resolves and stores the AvaTax company id
        company_id = company.certcapture_company_id
        partners = pull_partners(env, max(max(args.pull_sizes) // 4, 1))
        cr.commit()
    say(
        f"pull: ~{PDF_SIZE // 1024} KB PDFs, 4 certificates per customer, Odoo's cron runner "
        f"with {args.cron_workers} worker(s) in a child process; raw client pages of {page_size}"
    )
    rows = []

    def pull(count, latency, profile=False):
        """Seed ``count`` certificates, time the raw client, then Odoo's pull."""
        customers = max(count // 4, 1)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            reset_pull_state(env, env.company, env["res.partner"].browse(partners.ids))
            codes = partners[:customers].with_env(env).mapped("certcapture_customer_code")
            cr.commit()
        sandbox.set_latency(0)
        start = time.monotonic()
        seed_pull(sandbox, ecm, company_id, codes, count)
        seeded = time.monotonic() - start
        sandbox.set_latency(latency)
        raw_count, raw_seconds, raw_bytes = raw_http_rate(ecm, sandbox, company_id, page_size)
        assert raw_count == count, f"the raw client listed {raw_count} of {count}"
        sandbox.clear_requests()
        command = [sys.executable, __file__, "--pull-child", ADDON_DB]
        command += ["--cron-workers", str(args.cron_workers)] + ["--profile"] * profile
        child = subprocess.run(command, capture_output=True, text=True, check=False)
        sys.stderr.write(child.stderr)
        result = next(
            (
                json.loads(line.split(" ", 1)[1])
                for line in reversed(child.stdout.splitlines())
                if line.startswith("PULL-RESULT ")
            ),
            None,
        )
        if child.returncode or result is None:
            raise SystemExit(f"the pull's child process failed:\n{child.stdout}")
        requests = sandbox.requests()
        calls = len(requests)
        # Each certificate's file is downloaded once, whatever the workers.
        downloads = Counter(
            call["path"].rsplit("/", 2)[-2]
            for call in requests
            if call["method"] == "GET" and call["path"].endswith("/attachment")
        )
        sandbox.set_latency(0)
        row = {
            "count": count,
            "latency": latency,
            "rate": count / result["seconds"],
            "seconds": result["seconds"],
            "sql": result["queries"] / count,
            "calls": calls / count,
            "rss_before": result["rss_before_mib"],
            "rss_peak": result["rss_peak_mib"],
            "rss_growth": result["rss_peak_mib"] - result["rss_before_mib"],
            "raw_rate": raw_count / raw_seconds,
            "runs": result["runs"],
            "sandbox_rss": sandbox.rss_mib(),
            "downloads": sum(downloads.values()),
            "most_downloads": max(downloads.values(), default=0),
        }
        say(
            f"  N={count:<5} {latency:>3} ms: {row['rate']:7.1f} certificates/s "
            f"({result['seconds']:.1f} s, {result['runs']} runner calls)  raw client "
            f"{row['raw_rate']:7.1f}/s ({raw_bytes / 1024 / 1024:.0f} MiB)  "
            f"SQL/certificate {row['sql']:.1f}  calls/certificate {row['calls']:.2f}  "
            f"peak RSS {row['rss_peak']:.0f} MiB (+{row['rss_growth']:.0f} MiB)  "
            f"[seeded in {seeded:.0f} s; sandbox RSS {row['sandbox_rss']:.0f} MiB]"
        )
        say(
            f"    files: {row['downloads']} downloads for {count} certificates, at most "
            f"{row['most_downloads']} per certificate"
        )
        for note in result["notes"]:
            say(f"    note: {note}")
        verify_pull(registry, count)
        assert row["most_downloads"] == 1, "a certificate's file was downloaded twice"
        for line in result.get("profile", ()):
            say(line)
        return row

    for count in args.pull_sizes:
        for latency in args.latencies:
            rows.append(pull(count, latency))
    if args.profile:
        count = min(args.pull_sizes)
        say(f"\nprofiled pull of {count} certificates at 0 ms (slower: not a figure)")
        pull(count, 0, profile=True)
    return rows


# ---------------------------------------------------------------- scale out

SCALE_PDF_SIZE = 2 * 1024  # the machinery, not the bytes
SCALE_WORKERS = 2


def count_files(db):
    """Certificates of the bench customers whose file is in the database."""
    with (
        psycopg2.connect(
            dbname=db,
            host=os.environ.get("PGHOST", "127.0.0.1"),
            port=os.environ.get("PGPORT", "5432"),
            user=os.environ.get("PGUSER", "odoo"),
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute(
            """SELECT count(*) FROM ir_attachment a
                 JOIN certcapture_certificate c ON c.id = a.res_id
                 JOIN res_partner p ON p.id = c.partner_id
                WHERE a.res_model = 'certcapture.certificate' AND a.res_field = 'pdf'
                  AND p.certcapture_customer_code LIKE %s""",
            [f"{PULL_CODE_PREFIX}%"],
        )
        return cursor.fetchone()[0]


def bench_scale(odoo, sandbox, args):
    """A large pull (``--scale-size`` certificates) through Odoo's cron runner
    with two workers, killed (SIGKILL) once about 40% of the files are in and
    started again, as a server restart would: the second run resumes, the
    workers never take a certificate twice, nothing is lost."""
    from odoo import SUPERUSER_ID, api

    ecm = ecm_module()
    count = args.scale_size
    registry = odoo.modules.registry.Registry(ADDON_DB)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        company = configure_company(env, sandbox.url)
        with env["certcapture.service"]._session(company):
            pass
        company_id = company.certcapture_company_id
        partners = pull_partners(env, max(count // 4, 1))
        reset_pull_state(env, company, partners)
        codes = partners.mapped("certcapture_customer_code")
        cr.commit()
    where = "processes" if args.scale_processes else "threads of one process"
    say(
        f"scale out: {count} certificates ({SCALE_PDF_SIZE // 1024} KB files), {len(codes)} "
        f"customers, {SCALE_WORKERS} cron workers ({where}); the first run is killed at ~40% "
        "and a second run resumes"
    )
    sandbox.set_latency(0)
    start = time.monotonic()
    seed_pull(sandbox, ecm, company_id, codes, count, SCALE_PDF_SIZE, one_pdf=True)
    say(f"  seeded in {time.monotonic() - start:.0f} s")
    sandbox.clear_requests()

    def start_workers():
        """The cron workers: SCALE_WORKERS threads of one child process, or
        (--scale-processes) SCALE_WORKERS child processes of one thread."""
        command = [sys.executable, __file__, "--pull-child", ADDON_DB]
        if not args.scale_processes:
            command += ["--cron-workers", str(SCALE_WORKERS)]
            return [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)]
        pull_crons(registry, arm=True)  # once, not by each child at the same time
        command += ["--cron-workers", "1", "--armed"]
        return [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _worker in range(SCALE_WORKERS)
        ]

    started = time.monotonic()
    first = start_workers()
    done = 0
    while any(child.poll() is None for child in first) and done < 0.4 * count:
        time.sleep(0.5)
        done = count_files(ADDON_DB)
    for child in first:
        child.kill()
        child.communicate()
    first_seconds = time.monotonic() - started
    after_kill = count_files(ADDON_DB)
    say(f"  run 1: killed after {first_seconds:.1f} s with {after_kill} files committed")
    started = time.monotonic()
    second = start_workers()
    outputs = [child.communicate() for child in second]
    second_seconds = time.monotonic() - started
    shares = []
    for child, (stdout, stderr) in zip(second, outputs, strict=True):
        if child.returncode:
            raise SystemExit(f"the resumed pull failed:\n{stdout.decode()}\n{stderr.decode()}")
        result = [line for line in stdout.decode().splitlines() if line.startswith("PULL-RESULT ")]
        shares.append(json.loads(result[-1].split(" ", 1)[1])["queries"] if result else 0)
    if len(shares) > 1:
        # Each process's share of the work, by the SQL it sent.
        say("  run 2, SQL queries per process: " + ", ".join(str(n) for n in shares))
    requests_made = sandbox.requests()
    listings = sum(
        1
        for call in requests_made
        if call["method"] == "GET" and re.search(r"/companies/\d+/certificates$", call["path"])
    )
    downloads = Counter(
        call["path"].rsplit("/", 2)[-2]
        for call in requests_made
        if call["method"] == "GET" and call["path"].endswith("/attachment")
    )
    twice = sum(1 for n in downloads.values() if n > 1)
    with registry.cursor() as cr:
        cr.execute(
            """SELECT count(*), count(DISTINCT c.certcapture_id),
                      count(*) FILTER (WHERE c.pdf_waiting)
                 FROM certcapture_certificate c
                 JOIN res_partner p ON p.id = c.partner_id
                WHERE p.certcapture_customer_code LIKE %s""",
            [f"{PULL_CODE_PREFIX}%"],
        )
        records, distinct, waiting = cr.fetchone()
    files = count_files(ADDON_DB)
    row = {
        "count": count,
        "where": where,
        "first_seconds": first_seconds,
        "after_kill": after_kill,
        "second_seconds": second_seconds,
        "rate": (count - after_kill) / second_seconds,
        "listings": listings,
        "pages": -(-count // 100),
        "downloads": sum(downloads.values()),
        "twice": twice,
        "records": records,
        "files": files,
    }
    say(
        f"  run 2: resumed and finished in {second_seconds:.1f} s "
        f"({row['rate']:.0f} certificates/s for the rest)"
    )
    say(
        f"  listing calls {listings} for {row['pages']} pages of 100; downloads "
        f"{row['downloads']} for {count} files, {twice} certificates downloaded twice "
        "(a file downloaded by the killed run but not committed is downloaded again)"
    )
    say(
        f"  in the database: {records} records ({distinct} distinct), {files} files, "
        f"{waiting} waiting"
    )
    assert records == distinct == files == count, "a certificate is missing or doubled"
    assert waiting == 0, "files still wait"
    return row


def rss_kib(field):
    with open("/proc/self/status", encoding="utf-8") as status:
        return int(re.search(rf"{field}:\s+(\d+)", status.read())[1])


def pull_crons(registry, arm):
    """The ids of the add-on's pull crons; ``arm``: every other cron off and
    the pull's due now."""
    from odoo import SUPERUSER_ID, api, fields

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        pull_ids = (
            env["ir.model.data"]
            .search(
                [
                    ("module", "=", ADDON),
                    ("model", "=", "ir.cron"),
                    ("name", "in", PULL_CRONS),
                ]
            )
            .mapped("res_id")
        )
        assert pull_ids, f"no cron {ADDON}.{PULL_CRONS}"
        if arm:
            env["ir.cron"].search([("id", "not in", pull_ids)]).write({"active": False})
            env["ir.cron"].browse(pull_ids).write(
                {"active": True, "nextcall": fields.Datetime.now() - timedelta(seconds=1)}
            )
    return pull_ids


def pull_child(db, workers, profile=False, armed=False):
    """In a process of its own: every cron off but the pull's, the pull's due
    now (unless ``armed``: done by the parent for several children), then
    Odoo's cron runner until it is done. Prints PULL-RESULT {json}.
    ``profile``: one worker, in this thread, under cProfile, the SQL it sends
    tallied by kind (in the result's "profile" lines)."""
    odoo = load_odoo()
    from odoo.addons.base.models.ir_cron import ir_cron

    registry = odoo.modules.registry.Registry(db)
    pull_ids = pull_crons(registry, arm=not armed)
    # The runner's own loop, as a server's cron thread polls: not counted.
    watch = psycopg2.connect(
        dbname=db,
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "odoo"),
    )
    watch.autocommit = True

    def due():
        with watch.cursor() as cursor:
            cursor.execute(
                """SELECT EXISTS (SELECT 1 FROM ir_cron WHERE id = ANY(%(ids)s) AND active
                                     AND nextcall <= now() AT TIME ZONE 'UTC')
                       OR EXISTS (SELECT 1 FROM ir_cron_trigger WHERE cron_id = ANY(%(ids)s)
                                     AND call_at <= now() AT TIME ZONE 'UTC' + interval '5 s')""",
                {"ids": pull_ids},
            )
            return cursor.fetchone()[0]

    runs = Counter()
    deadline = time.monotonic() + 3600

    def worker():
        while due() and time.monotonic() < deadline:
            start = time.monotonic()
            ir_cron._process_jobs(db)
            runs["calls"] += 1
            if time.monotonic() - start < 0.05:
                time.sleep(0.1)  # nothing for this worker: the other one holds the job

    rss_before = rss_kib("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")  # resets VmHWM, the peak resident set size
        peak_field = "VmHWM"
    except OSError:
        peak_field = None
    queries = sql_counter()
    start = time.monotonic()
    if profile:
        profiler = cProfile.Profile()
        with tallied_queries() as kinds:
            profiler.runcall(worker)
    else:
        threads = [threading.Thread(target=worker) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    seconds = time.monotonic() - start
    queries = sql_counter() - queries
    import resource

    peak = rss_kib(peak_field) if peak_field else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    notes = []
    if not peak_field:
        notes.append("VmHWM could not be reset: the peak is the process's ru_maxrss")
    with watch.cursor() as cursor:
        cursor.execute(
            """SELECT cron_name, failure_count, nextcall FROM ir_cron
                WHERE id = ANY(%(ids)s) AND failure_count > 0""",
            {"ids": pull_ids},
        )
        notes += [f"cron {name!r} failed {count} time(s)" for name, count, _n in cursor]
        cursor.execute(
            "SELECT count(*) FROM ir_cron_trigger WHERE cron_id = ANY(%(ids)s)", {"ids": pull_ids}
        )
        (triggers,) = cursor.fetchone()
        if triggers:
            notes.append(f"{triggers} trigger(s) of the pull left for later")
    if time.monotonic() >= deadline:
        notes.append("stopped after an hour")
    watch.close()
    result = {
        "seconds": seconds,
        "queries": queries,
        "runs": runs["calls"],
        "rss_before_mib": rss_before / 1024,
        "rss_peak_mib": peak / 1024,
        "notes": notes,
    }
    if profile:
        pulled = count_pulled(db)
        result["profile"] = top_addon_functions(profiler, pulled, "certificate")
        result["profile"].append(f"SQL per certificate by kind ({pulled} certificates):")
        result["profile"] += [
            f"  {number / pulled:6.2f}  {kind}"
            for kind, number in kinds.most_common()
            if number / pulled >= 0.05
        ]
    print("PULL-RESULT " + json.dumps(result), flush=True)
    return 0


# ---------------------------------------------------------------- bulk


def bench_bulk(odoo, sandbox, args):
    from odoo import SUPERUSER_ID, api

    count = args.bulk_size
    registry = odoo.modules.registry.Registry(ADDON_DB)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        company = configure_company(env, sandbox.url)
        stamp = int(time.time())
        partners = env["res.partner"].create(
            [
                {
                    "name": f"Bench bulk customer {stamp}-{n:04d}",
                    "is_company": True,
                    "ref": f"{BULK_CODE_PREFIX}{stamp}-{n:04d}",
                    "email": f"bulk{n}@bench.example.com",
                    "certcapture_ap_email": f"ap{n}@bench.example.com",
                    "certcapture_exemption_number": f"WA-BULK-{n:04d}",
                    **address(env),
                }
                for n in range(count)
            ]
        )
        cr.commit()
        sandbox.clear_requests()
        queries = sql_counter()
        start = time.perf_counter()
        sync = env["certcapture.sync"].with_context(certcapture_job=True)
        outcome = sync._sync_customers_bulk(partners, company)
        env.flush_all()
        seconds = time.perf_counter() - start
        queries = sql_counter() - queries
        cr.commit()
    calls = sandbox.requests()
    goal = count / 100 + 2
    kinds = Counter(call_kind(call) for call in calls)
    done = {result: len(ids) for result, ids in outcome.done.items()}
    say(
        f"bulk sync: {count} new exempt customers in {seconds:.1f} s: {len(calls)} calls "
        f"(goal N/100 + 2 = {goal:g}: {'met' if len(calls) <= goal else 'NOT met'}), "
        f"{queries / count:.1f} SQL queries per customer; done {done}, "
        f"skipped {sum(map(len, outcome.skipped.values()))}, failed {len(outcome.failed)}"
        + (f", stopped: {outcome.stopped}" if outcome.stopped else "")
    )
    for kind, number in sorted(kinds.items()):
        say(f"    {number:4d}  {kind}")
    return {
        "count": count,
        "calls": len(calls),
        "goal": goal,
        "seconds": seconds,
        "sql": queries / count,
    }


# ---------------------------------------------------------------- summary


def summary(info, args, orders, pulls, bulk, scale=None):
    say("\n## Summary (markdown)\n")
    say("| machine | |\n|---|---|")
    for key, value in info.items():
        say(f"| {key} | {value} |")
    if orders:
        say(
            f"\n| order ({args.orders} per side, median) | plain ms | add-on ms | ratio "
            "| budget: 1.10x + a round trip per call | round trip ms (back to back) "
            "| the orders' own call ms | calls/order | SQL plain | SQL add-on |"
        )
        say("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in orders:
            own = "-" if row["own_call_ms"] is None else f"{row['own_call_ms']:.1f}"
            say(
                f"| {row['scenario']} | {row['plain_ms']:.1f} | {row['addon_ms']:.1f} "
                f"| {row['ratio']:.2f} | {row['budget_ms']:.1f} "
                f"({'met' if row['addon_ms'] <= row['budget_ms'] else 'not met'}) "
                f"| {row['rtt_ms']:.1f} ({row['rtt_back_to_back_ms']:.1f}) "
                f"| {own} | {row['calls']:.2f} "
                f"| {row['plain_sql']:.0f} "
                f"| {row['addon_sql']:.0f} |"
            )
    if pulls:
        say(
            f"\n| pull ({args.cron_workers} cron worker(s)) | certificates/s | raw client/s "
            "| SQL/certificate | calls/certificate | downloads/certificate (max) "
            "| peak RSS MiB (growth) |"
        )
        say("|---|---:|---:|---:|---:|---:|---:|")
        for row in pulls:
            say(
                f"| N={row['count']}, {row['latency']} ms | {row['rate']:.1f} "
                f"| {row['raw_rate']:.1f} | {row['sql']:.1f} | {row['calls']:.2f} "
                f"| {row['downloads'] / row['count']:.2f} ({row['most_downloads']}) "
                f"| {row['rss_peak']:.0f} (+{row['rss_growth']:.0f}) |"
            )
    if bulk:
        say("\n| bulk sync | calls | goal N/100 + 2 | seconds | SQL/customer |")
        say("|---|---:|---:|---:|---:|")
        say(
            f"| {bulk['count']} new customers | {bulk['calls']} | {bulk['goal']:g} "
            f"| {bulk['seconds']:.1f} | {bulk['sql']:.1f} |"
        )
    if scale:
        say(
            f"\n| scale out ({SCALE_WORKERS} cron workers, {scale['where']}) | run 1 (killed) "
            "| files then "
            "| run 2 (resumed) | rest/s | listing calls (pages) | downloads | twice | in the "
            "database |"
        )
        say("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        say(
            f"| {scale['count']} certificates | {scale['first_seconds']:.1f} s "
            f"| {scale['after_kill']} | {scale['second_seconds']:.1f} s | {scale['rate']:.0f} "
            f"| {scale['listings']} ({scale['pages']}) | {scale['downloads']} "
            f"| {scale['twice']} | {scale['records']} records, {scale['files']} files |"
        )


# ---------------------------------------------------------------- main


def int_list(text):
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}")
    return values


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=40, help="orders per scenario and side")
    parser.add_argument("--pull-sizes", type=int_list, default=[200, 2000], metavar="N,N")
    parser.add_argument(
        "--latency-ms",
        dest="latencies",
        type=int_list,
        default=[0, 50],
        metavar="MS,MS",
        help="sandbox latencies: of the uncached orders and the pulls (default 0,50)",
    )
    parser.add_argument("--only", choices=("orders", "pull", "bulk", "scale"), action="append")
    parser.add_argument(
        "--scale-size", type=int, default=20000, help="certificates of the scale-out run"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench databases")
    parser.add_argument(
        "--cron-workers", type=int, default=1, help="threads running the cron (default 1)"
    )
    parser.add_argument("--bulk-size", type=int, default=250)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile cached exempt orders and list the SQL the add-on adds",
    )
    parser.add_argument(
        "--scale-processes",
        action="store_true",
        help="scale-out run: the cron workers in processes of their own (as Odoo's "
        "multi-worker server) instead of threads of one process (as its threaded server)",
    )
    parser.add_argument("--pull-child", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--armed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not os.environ.get("ODOO_SRC"):
        parser.error("ODOO_SRC is not set: run through scripts/with-env.sh (make bench)")
    if args.pull_child:
        return pull_child(args.pull_child, args.cron_workers, args.profile, args.armed)
    wanted = args.only or ["orders", "pull", "bulk", "scale"]
    work = ROOT / ".work"
    work.mkdir(exist_ok=True)
    info = machine()
    say("certcapture_exemption benchmark")
    for key, value in info.items():
        say(f"  {key:<11} {value}")
    tiers = OdooTiers(os.environ["ODOO_SRC"])
    prepare_databases(tiers, "orders" in wanted, True)
    sandbox = Sandbox(work / "bench-sandbox.log")
    say(f"sandbox {sandbox.url} (pid {sandbox.process.pid}, log .work/bench-sandbox.log)")
    orders = pulls = bulk = scale = None
    try:
        odoo = load_odoo()
        if "orders" in wanted:
            orders = bench_orders(odoo, sandbox, args)
        if "pull" in wanted:
            pulls = bench_pull(odoo, sandbox, args)
        if "bulk" in wanted:
            bulk = bench_bulk(odoo, sandbox, args)
        if "scale" in wanted:
            scale = bench_scale(odoo, sandbox, args)
    finally:
        sandbox.stop()
    info["load"] += ", {:.2f} {:.2f} {:.2f} at the end".format(*os.getloadavg())
    summary(info, args, orders, pulls, bulk, scale)
    if not args.keep:
        import odoo

        odoo.sql_db.close_all()
        drop_databases(tiers)
        say("\n(bench databases dropped; --keep keeps them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
