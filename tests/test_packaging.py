"""Packaging: the add-on installs the OCA way and its pure-Python parts do not
need Odoo."""

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ast.literal_eval((ROOT / "certcapture_exemption" / "__manifest__.py").read_text())


def test_manifest_is_what_apps_needs():
    assert MANIFEST["version"] == "18.0.2.0.0"
    assert MANIFEST["license"] == "LGPL-3"
    assert MANIFEST["category"] == "Sales"
    assert set(MANIFEST["depends"]) == {"sale_management", "contacts", "mail"}
    assert (ROOT / "certcapture_exemption" / "static" / "description" / "icon.png").exists()
    assert (ROOT / "certcapture_exemption" / "static" / "description" / "index.html").exists()


def test_every_manifest_file_exists():
    addon = ROOT / "certcapture_exemption"
    for path in MANIFEST["data"] + MANIFEST["demo"]:
        assert (addon / path).is_file(), path


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
    )
    (built,) = out.glob("*.whl")
    return built


def test_wheel_carries_the_addon_under_odoo_addons_and_the_sandbox(wheel):
    assert wheel.name.startswith("odoo_addon_certcapture_exemption-18.0.2.0.0")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "odoo/addons/certcapture_exemption/__manifest__.py",
        "odoo/addons/certcapture_exemption/ecm/client.py",
        "odoo/addons/certcapture_exemption/models/sale_order.py",
        "odoo/addons/certcapture_exemption/views/res_partner_views.xml",
        "odoo/addons/certcapture_exemption/security/ir.model.access.csv",
        "odoo/addons/certcapture_exemption/static/description/icon.png",
        "odoo/addons/certcapture_exemption/static/src/js/sale_order_form.js",
        "certcapture_sandbox/__main__.py",
    ):
        assert expected in names, expected


def test_pure_python_parts_import_without_odoo():
    code = (
        "import sys, certcapture_exemption.ecm, certcapture_sandbox;"
        "leaked = [m for m in sys.modules if m == 'odoo' or m.startswith('odoo.')];"
        "assert not leaked, leaked"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
