"""The Odoo command-line options every script of the project shares.

ODOO_SRC and the PG* variables come from scripts/with-env.sh."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def addons_path(odoo_src):
    """Odoo's own add-ons, then this repository (which holds the add-on)."""
    return ",".join([f"{odoo_src}/odoo/addons", f"{odoo_src}/addons", str(ROOT)])


def odoo_options(odoo_src):
    """--addons-path and the database connection, as odoo-bin takes them."""
    return [
        "--addons-path", addons_path(odoo_src),
        "--db_host", os.environ.get("PGHOST", "127.0.0.1"),
        "--db_port", os.environ.get("PGPORT", "5432"),
        "--db_user", os.environ.get("PGUSER", "odoo"),
    ]  # fmt: skip
