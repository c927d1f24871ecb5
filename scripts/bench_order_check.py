"""Benchmark: what the exemption check adds to creating a sale order.

Runs in a database that has the add-on installed (default: make run's
certcapture_demo), against an in-process sandbox, inside one transaction that
is rolled back at the end: nothing is left behind. Prints milliseconds per
order and CertCapture calls per order for each scenario.

    bash scripts/with-env.sh python scripts/bench_order_check.py [--db NAME] [--orders N]
"""

import argparse
import os
import statistics
import sys
import time

import odoo
from odoo import SUPERUSER_ID, Command, api
from odoo_options import odoo_options

from certcapture_sandbox import SandboxConfig, SandboxServer


def create_orders(env, partner, product, count):
    durations = []
    for _ in range(count):
        start = time.perf_counter()
        env["sale.order"].create(
            {
                "partner_id": partner.id,
                "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 1})],
            }
        )
        env.flush_all()
        durations.append((time.perf_counter() - start) * 1000)
    return durations


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("CERTCAPTURE_DEMO_DB", "certcapture_demo"))
    parser.add_argument("--orders", type=int, default=30)
    args = parser.parse_args()
    odoo_src = os.environ["ODOO_SRC"]
    odoo.tools.config.parse_config([*odoo_options(odoo_src), "--log-level", "warn"])
    registry = odoo.modules.registry.Registry(args.db)
    with SandboxServer(SandboxConfig()) as sandbox, registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        company = env.company
        company.write(
            {
                "certcapture_enabled": True,
                "certcapture_environment": "custom",
                "certcapture_custom_url": sandbox.url,
                "certcapture_account_id": "1100000001",
                "certcapture_license_key": "sandbox-license-key",
                "certcapture_company_code": "DEFAULT",
                "certcapture_company_id": 0,
                "certcapture_missing_policy": "none",
                "certcapture_status_cache_minutes": 60,
            }
        )
        env["certcapture.sync"]._refresh_lists(company)
        washington = env.ref("base.state_us_48")
        address = {
            "street": "1 Main St",
            "city": "Seattle",
            "zip": "98101",
            "state_id": washington.id,
            "country_id": env.ref("base.us").id,
        }
        plain = env["res.partner"].create({"name": "Bench plain", **address})
        exempt = env["res.partner"].create(
            {
                "name": "Bench exempt",
                "certcapture_exemption_number": "WA-1",
                "ref": "BENCH-EXEMPT",
                "certcapture_ap_email": "ap@bench.example.com",
                **address,
            }
        )
        product = env["product.product"].create({"name": "Bench product"})

        def scenario(label, partner, cache_minutes=60, latency_ms=0):
            company.certcapture_status_cache_minutes = cache_minutes
            sandbox.set_faults(latency_ms=latency_ms)
            create_orders(env, partner, product, 2)  # warm-up: customer synced, cache filled
            sandbox.clear_requests()
            durations = create_orders(env, partner, product, args.orders)
            calls = len(sandbox.requests) / args.orders
            print(
                f"{label:<46} {statistics.median(durations):8.1f} ms median "
                f"{max(durations):8.1f} ms max {calls:5.2f} calls/order"
            )

        print(f"{args.orders} orders per scenario, database {args.db} (rolled back)")
        scenario("customer not exempt (no check)", plain)
        scenario("exempt, steady state (status cached)", exempt)
        scenario("exempt, cache off (one status call)", exempt, cache_minutes=0)
        scenario("exempt, cache off, CertCapture 50 ms latency", exempt, 0, latency_ms=50)
        cr.rollback()
    return 0


if __name__ == "__main__":
    sys.exit(main())
