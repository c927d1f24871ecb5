"""The project's test runner, behind `make test`.

Tiers, in order:
  lint          ruff, and pylint-odoo with the OCA mandatory checks
  plain         the Odoo-free tests in tests/ (client, sandbox, packaging)
  odoo          the add-on's tests in real Odoo 18.0, through pytest-odoo,
                with Odoo's HTTP server for the HTTP-level tests (the
                portal's); each test runs once, here, except the browser tour
  odoo-browser  the browser tours (TestTour) through Odoo's own runner, which
                starts the Chromium that pytest-odoo does not
  upgrade       scripts/check_upgrade.py: the previous release, installed from
                git history with data, upgraded to this tree and checked

Each tier reports passed/failed/skipped; a tier that cannot run says why.
Any failure makes the exit status non-zero. Run it through scripts/with-env.sh
(as `make test` does), which provides VENV, ODOO_SRC and the PG* variables;
the sandbox the add-on's tests start comes installed in that venv.
CERTCAPTURE_TEST_DB_PREFIX names the test databases (default certcapture_test:
certcapture_test_odoo, certcapture_test_browser), which each run drops and
copies again from a shared template database.
"""

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from odoo_options import addons_path, odoo_options

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".work"
ADDON = "certcapture_exemption"
# What the add-on's test databases start from; copied from a template database
# so each run skips the minute that installing these takes. The template also
# carries Odoo's asset bundles: Odoo's runner generates every bundle before it
# runs an HTTP test (a minute more), and with them there only regenerates the
# few that the add-on's assets change.
BASE_MODULES = ("sale_management", "contacts", "mail")
PREGENERATE_ASSETS = "env['ir.qweb']._pregenerate_assets_bundles()\nenv.cr.commit()\n"
# The only tests that need Odoo's HTTP server; pytest-odoo skips them (marker
# `browser`), Odoo's runner runs only them.
BROWSER_TESTS = f"/{ADDON}:TestTour"
TIERS = ("lint", "plain", "odoo", "odoo-browser", "upgrade")
# The release the upgrade tier installs first and upgrades from.
PREVIOUS_RELEASE = "5ae2e0e"
UPGRADE_RESULT_RE = re.compile(r"^(\d+) passed, (\d+) failed$", re.MULTILINE)
DB_PREFIX = os.environ.get("CERTCAPTURE_TEST_DB_PREFIX", "certcapture_test")
ODOO_RESULT_RE = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests")


@dataclass
class Tier:
    name: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    skip_reason: str = ""
    notes: list = field(default_factory=list)

    @property
    def ok(self):
        return self.failed == 0


def say(message):
    print(f"[make test] {message}", flush=True)


def run(cmd, *, env=None, log_path=None, stdin=None):
    """Run a command, streaming its output (and teeing it to log_path)."""
    say("$ " + " ".join(str(c) for c in cmd))
    full_env = {**os.environ, **(env or {})}
    if log_path is None:
        return subprocess.run(cmd, env=full_env, input=stdin, text=True, check=False).returncode
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            cmd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for line in proc.stdout:
            sys.stdout.write(line)
            log.write(line)
        return proc.wait()


def junit_counts(path, tier):
    """Add the counts of a pytest JUnit XML report to a tier."""
    if not path.exists():
        tier.failed += 1
        tier.notes.append("no test report was written")
        return
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    for suite in suites:
        total = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        tier.failed += failed
        tier.skipped += skipped
        tier.passed += total - failed - skipped


# ---------------------------------------------------------------- tiers


def tier_lint():
    tier = Tier("lint")
    checks = {
        "ruff": ["ruff", "check", "."],
        "ruff-format": ["ruff", "format", "--check", "."],
        "pylint-odoo": ["pylint", "--rcfile", str(ROOT / ".pylintrc"), ADDON],
    }
    for name, cmd in checks.items():
        if run(cmd) == 0:
            tier.passed += 1
        else:
            tier.failed += 1
            tier.notes.append(f"{name} reported problems")
    return tier


def tier_plain():
    tier = Tier("plain")
    report = WORK / "plain-junit.xml"
    report.unlink(missing_ok=True)
    # pytest-odoo is installed in the venv; the Odoo-free tier must not load it.
    code = run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:odoo",
            "-p",
            "no:cacheprovider",
            "tests",
            f"--junitxml={report}",
            "-q",
        ],
    )
    junit_counts(report, tier)
    if code not in (0, 5) and tier.failed == 0:
        tier.failed += 1
        tier.notes.append(f"pytest exited {code}")
    if tier.passed == 0:
        tier.failed += 1
        tier.notes.append("no Odoo-free test ran")
    return tier


class OdooTiers:
    """Databases and runs for the two real-Odoo tiers."""

    def __init__(self, odoo_src):
        self.odoo_src = Path(odoo_src)
        self.odoo_bin = [sys.executable, str(self.odoo_src / "odoo-bin")]
        self.addons_path = addons_path(self.odoo_src)
        self.options = odoo_options(self.odoo_src)

    def odoo(self, db, *args, command=()):
        """An odoo-bin command line on database ``db``."""
        return [*self.odoo_bin, *command, *self.options, "-d", db, *args]

    # -- databases

    def psql(self, sql, dbname="postgres"):
        return subprocess.run(
            ["psql", "-X", "-q", "-At", "-d", dbname, "-c", sql],
            capture_output=True,
            text=True,
            check=False,
        )

    def database_exists(self, name):
        result = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        return result.stdout.strip() == "1"

    def drop_database(self, name):
        subprocess.run(["dropdb", "--if-exists", "--force", name], check=False)
        shutil.rmtree(filestore(name), ignore_errors=True)

    def template_name(self):
        # Keyed by the Odoo release, what the template holds and the server:
        # Odoo's filestore folders are named after databases only, so two
        # servers (the machine's and a private cluster) must not share a name.
        release = (self.odoo_src / "odoo" / "release.py").read_bytes()
        server = f"{os.environ.get('PGHOST', '')}:{os.environ.get('PGPORT', '')}"
        recipe = ",".join(BASE_MODULES) + PREGENERATE_ASSETS
        key = hashlib.sha256(release + recipe.encode() + server.encode()).hexdigest()[:10]
        return f"certcapture_tmpl_{key}"

    def ensure_template(self):
        name = self.template_name()
        if self.database_exists(name):
            return name
        building = f"{name}_building"
        self.drop_database(building)
        say(
            f"building template database {name} ({', '.join(BASE_MODULES)}, asset bundles); "
            "once per machine"
        )
        code = run(
            self.odoo(
                building,
                "-i",
                ",".join(BASE_MODULES),
                "--without-demo=all",
                "--stop-after-init",
                "--no-http",
                "--log-level=warn",
            )
        ) or run(
            self.odoo(building, "--no-http", "--log-level=warn", command=["shell"]),
            stdin=PREGENERATE_ASSETS,
        )
        if code != 0:
            raise RuntimeError(f"building the template database failed (exit {code})")
        self.psql(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        shutil.rmtree(filestore(name), ignore_errors=True)  # left by a dropped template
        if filestore(building).exists():
            filestore(building).rename(filestore(name))
        return name

    def fresh_database(self, name):
        self.drop_database(name)
        template = self.ensure_template()
        subprocess.run(["createdb", "-T", template, name], check=True)
        # The attachments of the template (asset bundles among them) live in
        # its filestore, which PostgreSQL does not copy.
        shutil.rmtree(filestore(name), ignore_errors=True)
        if filestore(template).exists():
            shutil.copytree(filestore(template), filestore(name))
        return name

    # -- runs

    def run_odoo(self):
        """The add-on's tests, once each, through pytest-odoo."""
        tier = Tier("odoo")
        db = self.fresh_database(f"{DB_PREFIX}_odoo")
        code = run(self.odoo(db, "-i", ADDON, "--stop-after-init", "--no-http", "--log-level=warn"))
        if code != 0:
            tier.failed += 1
            tier.notes.append(f"installing {ADDON} failed (exit {code})")
            return tier
        config = WORK / "odoo-pytest.conf"
        config.write_text(
            "[options]\n"
            f"addons_path = {self.addons_path}\n"
            f"db_host = {os.environ.get('PGHOST', '127.0.0.1')}\n"
            f"db_port = {os.environ.get('PGPORT', '5432')}\n"
            f"db_user = {os.environ.get('PGUSER', 'odoo')}\n"
            f"db_name = {db}\n"
        )
        report = WORK / "odoo-junit.xml"
        report.unlink(missing_ok=True)
        code = run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                f"--odoo-config={config}",
                f"--odoo-database={db}",
                # HttpCase tests (url_open, no browser) need the server;
                # without it pytest-odoo skips them.
                "--odoo-http",
                str(ROOT / ADDON / "tests"),
                "-m",
                "not browser",
                f"--junitxml={report}",
                "-q",
            ],
            env={"ODOO_RC": str(config)},
        )
        junit_counts(report, tier)
        if code not in (0, 5) and tier.failed == 0:
            tier.failed += 1
            tier.notes.append(f"pytest exited {code}")
        if tier.passed == 0:
            tier.failed += 1
            tier.notes.append("pytest-odoo ran no test")
        return tier

    def run_odoo_browser(self):
        """Install the add-on and run the browser tour, through Odoo's runner."""
        tier = Tier("odoo-browser")
        db = self.fresh_database(f"{DB_PREFIX}_browser")
        log = WORK / "odoo-browser.log"
        ensure_chromium(tier)
        code = run(
            self.odoo(
                db,
                "-i",
                ADDON,
                "--test-enable",
                "--test-tags",
                BROWSER_TESTS,
                "--stop-after-init",
                "--http-port",
                str(free_port()),
                "--log-level=test",
            ),
            log_path=log,
        )
        text = log.read_text(encoding="utf-8", errors="replace")
        results = ODOO_RESULT_RE.findall(text)
        ran = sum(int(total) for _failed, _errors, total in results)
        failed = sum(int(f) + int(e) for f, e, _total in results)
        skip_lines = re.findall(r"INFO \S+ \S+: skipped (\S+ : .*)$", text, flags=re.MULTILINE)
        tier.notes.extend(f"skipped {line}" for line in skip_lines)
        tier.failed += failed
        tier.skipped += len(skip_lines)
        tier.passed += ran - failed - len(skip_lines)
        if code != 0 and failed == 0:
            tier.failed += 1
            tier.notes.append(f"odoo exited {code}")
        if ran == 0:
            tier.failed += 1
            tier.notes.append(f"Odoo's runner ran no test (--test-tags {BROWSER_TESTS})")
        logged_error = re.search(rf"(ERROR|CRITICAL) {re.escape(db)} .*(Traceback|failed)", text)
        if logged_error and not failed:
            tier.failed += 1
            tier.notes.append(f"Odoo logged errors outside tests: see {log.relative_to(ROOT)}")
        return tier


def tier_upgrade():
    """scripts/check_upgrade.py: the previous release installed from git
    history, seeded, upgraded to this tree, checked."""
    tier = Tier("upgrade")
    known = subprocess.run(
        ["git", "cat-file", "-e", f"{PREVIOUS_RELEASE}^{{commit}}"], cwd=ROOT, check=False
    )
    if known.returncode != 0:
        tier.skip_reason = f"release {PREVIOUS_RELEASE} is not in this clone's git history"
        return tier
    log = WORK / "upgrade.log"
    code = run(
        [sys.executable, str(ROOT / "scripts" / "check_upgrade.py"), "--from", PREVIOUS_RELEASE],
        log_path=log,
    )
    results = UPGRADE_RESULT_RE.findall(log.read_text(encoding="utf-8", errors="replace"))
    if results:
        tier.passed, tier.failed = (int(n) for n in results[-1])
    if code != 0 and tier.failed == 0:
        tier.failed += 1
        tier.notes.append(f"check_upgrade exited {code}: see {log.relative_to(ROOT)}")
    return tier


def filestore(dbname):
    """Odoo's default filestore folder of a database."""
    data_dir = Path(os.environ.get("ODOO_DATA_DIR", Path.home() / ".local/share/Odoo"))
    return data_dir / "filestore" / dbname


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def has_chromium():
    return any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome"))


def ensure_chromium(tier):
    """Browser tours need Chromium; install Debian's package when missing."""
    if has_chromium():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("Chromium is missing: installing Debian's chromium package for the browser tests")
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-qq", "chromium"], env=env)
    if not has_chromium():
        tier.notes.append("Chromium not available: Odoo skips the browser tour")


# ---------------------------------------------------------------- main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=TIERS, action="append", help="run only this tier")
    args = parser.parse_args(argv)
    wanted = args.only or TIERS
    WORK.mkdir(exist_ok=True)
    os.chdir(ROOT)

    tiers = []

    def timed(func):
        start = time.monotonic()
        tier = func()
        tier.seconds = time.monotonic() - start
        tiers.append(tier)

    if "lint" in wanted:
        timed(tier_lint)
    if "plain" in wanted:
        timed(tier_plain)
    odoo_wanted = [name for name in ("odoo", "odoo-browser", "upgrade") if name in wanted]
    odoo_src = os.environ.get("ODOO_SRC")
    if odoo_wanted and not odoo_src:
        reason = (
            "Odoo 18.0 not found: set ODOO_SRC to an Odoo 18.0 source tree "
            "or unpack one at /opt/odoo/18.0"
        )
        tiers.extend(Tier(name, skip_reason=reason) for name in odoo_wanted)
    elif odoo_wanted:
        odoo = OdooTiers(odoo_src)
        if "odoo" in wanted:
            timed(odoo.run_odoo)
        if "odoo-browser" in wanted:
            timed(odoo.run_odoo_browser)
        if "upgrade" in wanted:
            timed(tier_upgrade)

    print()
    say("summary")
    for tier in tiers:
        if tier.skip_reason:
            line = f"{tier.name:<12} SKIPPED: {tier.skip_reason}"
        else:
            status = "ok" if tier.ok else "FAILED"
            line = (
                f"{tier.name:<12} {status:<6} {tier.passed} passed, {tier.failed} failed, "
                f"{tier.skipped} skipped in {tier.seconds:.0f}s"
            )
        say(line)
        for note in tier.notes:
            say(f"{'':<12} - {note}")
    passed = sum(t.passed for t in tiers)
    failed = sum(t.failed for t in tiers)
    skipped = sum(t.skipped for t in tiers)
    skipped_tiers = [t.name for t in tiers if t.skip_reason]
    if skipped_tiers:
        say("WARNING: tiers skipped: " + ", ".join(skipped_tiers))
    print(f"summary: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
