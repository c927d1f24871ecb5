"""`make run`: Odoo with the add-on and demo data, next to the local sandbox.

Creates (or reuses) the database, starts the CertCapture sandbox, points the
main company at it, then serves Odoo on http://127.0.0.1:8069 until Ctrl-C,
which stops both. Run through scripts/with-env.sh (as `make run` does).
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from odoo_options import odoo_options

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".work"
DATABASE = os.environ.get("CERTCAPTURE_DEMO_DB", "certcapture_demo")
ODOO_PORT = int(os.environ.get("ODOO_PORT", "8069"))
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8099"))
SANDBOX_URL = f"http://127.0.0.1:{SANDBOX_PORT}"

CONFIGURE = f"""
company = env.ref("base.main_company")
company.write({{
    "certcapture_enabled": True,
    "certcapture_environment": "custom",
    "certcapture_custom_url": "{SANDBOX_URL}",
    "certcapture_account_id": "1100000001",
    "certcapture_license_key": "sandbox-license-key",
    "certcapture_company_code": "DEFAULT",
}})
env["certcapture.sync"]._refresh_lists(company)
env.cr.commit()
"""


def say(message):
    print(f"[make run] {message}", flush=True)


def wait_for(url, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


def main():
    # Ctrl-C and a plain kill both stop Odoo and the sandbox cleanly (a shell
    # running this in the background would otherwise ignore SIGINT).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    odoo_src = os.environ.get("ODOO_SRC")
    if not odoo_src:
        say("Odoo 18.0 not found: set ODOO_SRC or unpack Odoo 18.0 at /opt/odoo/18.0")
        return 2
    WORK.mkdir(exist_ok=True)
    odoo_bin = [sys.executable, str(Path(odoo_src) / "odoo-bin")]
    options = [*odoo_options(odoo_src), "-d", DATABASE]
    say(f"installing or updating certcapture_exemption (with demo data) in {DATABASE}")
    subprocess.run(
        [
            *odoo_bin,
            *options,
            "-i",
            "certcapture_exemption",
            "--stop-after-init",
            "--no-http",
            "--log-level=warn",
        ],
        check=True,
    )
    children = []
    try:
        # The sandbox comes installed in the venv (test-requirements.txt).
        sandbox = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "certcapture_sandbox",
                "--port",
                str(SANDBOX_PORT),
                "--state-file",
                WORK / "sandbox-state.json",
            ]
        )
        children.append(sandbox)
        if not wait_for(f"{SANDBOX_URL}/_sandbox/faults", 20):
            say("the sandbox did not start")
            return 1
        say("pointing the main company at the sandbox")
        subprocess.run(
            [*odoo_bin, "shell", *options, "--no-http", "--log-level=warn"],
            input=CONFIGURE,
            text=True,
            check=True,
        )
        server = subprocess.Popen(
            [
                *odoo_bin,
                *options,
                "--http-port",
                str(ODOO_PORT),
                "--http-interface",
                "127.0.0.1",
                "--db-filter",
                f"^{DATABASE}$",
            ]
        )
        children.append(server)
        if wait_for(f"http://127.0.0.1:{ODOO_PORT}/web/login", 120):
            say(f"""Odoo is ready: http://127.0.0.1:{ODOO_PORT}  (login admin / admin)
    CertCapture sandbox: {SANDBOX_URL}
  Try: Sales > New quotation for "Cascade Outfitters" (tax exempt, Washington);
  save, answer Yes to the prompt and send the request; open the request link
  (order > Other Info) to upload a PDF as the customer; then on the customer's
  Tax Exemption tab click "Refresh from CertCapture".  Ctrl-C stops both.""")
        server.wait()
    except KeyboardInterrupt:
        say("stopping")
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
