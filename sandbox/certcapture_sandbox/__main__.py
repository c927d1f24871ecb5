"""Command line: ``python -m certcapture_sandbox --port 8099``.

Prints the URL it listens on (first line of stdout), logs one line per
request to stderr, and stops cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .config import SandboxConfig
from .faults import parse_rule
from .server import SandboxServer

DEFAULTS = SandboxConfig()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m certcapture_sandbox",
        description="Local stand-in for the Avalara AvaTax v2 exemption-certificate API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--port", type=int, default=8099, help="port (default %(default)s; 0 = any free port)"
    )
    parser.add_argument("--account-id", default=DEFAULTS.account_id)
    parser.add_argument("--license-key", default=DEFAULTS.license_key)
    parser.add_argument(
        "--company-code",
        action="append",
        dest="company_codes",
        metavar="CODE",
        help="a company (repeatable; ids from 1001 in this order; default "
        f"{', '.join(DEFAULTS.company_codes)})",
    )
    parser.add_argument(
        "--not-provisioned",
        action="append",
        default=[],
        metavar="CODE",
        help="company whose certificate storage is not set up: CertificatesNotSetup until a "
        "setup request (repeatable)",
    )
    parser.add_argument(
        "--provisioning-failed",
        action="append",
        default=[],
        metavar="CODE",
        help="company whose automatic provisioning failed: AccountNotProvisioned until a "
        "setup request (repeatable)",
    )
    parser.add_argument(
        "--setup-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="how long a setup request stays InProgress (default 0)",
    )
    parser.add_argument("--state-file", metavar="PATH", help="keep the data in this JSON file")
    parser.add_argument(
        "--invite-ready-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="how long a new invitation stays InProgress (default 0)",
    )
    parser.add_argument(
        "--max-top",
        type=int,
        default=DEFAULTS.max_top,
        metavar="N",
        help="most records an exemption list answers per page, whatever $top asks "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--refuse-gt-filter",
        action="store_true",
        help="exemption lists refuse 'gt' in $filter (InvalidExemptionOperation)",
    )
    faults = parser.add_argument_group("faults (API paths only)")
    faults.add_argument("--latency-ms", type=int, default=0, help="delay added to every call")
    faults.add_argument(
        "--fail-rate", type=float, default=0.0, help="share 0..1 of calls answering 500"
    )
    faults.add_argument(
        "--fault",
        action="append",
        default=[],
        dest="rules",
        metavar="'METHOD PATH_REGEX STATUS[:RETRY_AFTER][xTIMES]'",
        help="forced answer, e.g. 'POST /customers$ 503x2' or '* /certificates 429:5' "
        "(repeatable)",
    )
    faults.add_argument("--malformed", metavar="PATH_REGEX", help="answer non-JSON bodies")
    faults.add_argument("--truncated", metavar="PATH_REGEX", help="answer half of the JSON body")
    faults.add_argument(
        "--non-pdf-attachment", action="store_true", help="attachments answer an HTML page"
    )
    faults.add_argument("--drop-connection", metavar="PATH_REGEX", help="close without answer")
    faults.add_argument("--delay-path", metavar="PATH_REGEX", help="answer these calls late")
    faults.add_argument("--delay-seconds", type=float, default=0.0, help="how late (seconds)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = SandboxConfig(
            account_id=args.account_id,
            license_key=args.license_key,
            company_codes=tuple(args.company_codes or DEFAULTS.company_codes),
            not_provisioned=tuple(args.not_provisioned),
            provisioning_failed=tuple(args.provisioning_failed),
            setup_delay=args.setup_delay,
            max_top=args.max_top,
            refuse_gt_filter=args.refuse_gt_filter,
            invite_ready_delay=args.invite_ready_delay,
            state_file=args.state_file,
        )
        sandbox = SandboxServer(config, host=args.host, port=args.port, log_requests=True)
        sandbox.set_faults(
            latency_ms=args.latency_ms,
            fail_rate=args.fail_rate,
            rules=[parse_rule(rule) for rule in args.rules],
            malformed=args.malformed,
            truncated=args.truncated,
            non_pdf_attachment=args.non_pdf_attachment,
            drop_connection=args.drop_connection,
            delay_path=args.delay_path,
            delay_seconds=args.delay_seconds,
        )
    except ValueError as error:
        parser.error(str(error))
    # SIGTERM (docker stop, systemd, a test's terminate()) stops like Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        sandbox.start()
    except OSError as error:
        parser.exit(1, f"cannot listen on {args.host}:{args.port}: {error}\n")
    companies = ", ".join(f"{c.code}={c.id}" for c in sandbox.app.store.companies)
    print(f"CertCapture sandbox listening on {sandbox.url}", flush=True)
    print(f"  account {config.account_id}, companies {companies}", file=sys.stderr, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr, flush=True)
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
