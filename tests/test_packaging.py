"""Packaging: two distributions from one repository. The add-on
(``odoo-addon-certcapture-exemption``, setup.py at the top) installs the OCA
way and carries the add-on only; the sandbox (``certcapture-sandbox``,
sandbox/pyproject.toml) carries the sandbox only. Neither imports the other at
run time, and the add-on's pure-Python part does not need Odoo."""

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "certcapture_exemption"
SANDBOX = ROOT / "sandbox" / "certcapture_sandbox"
MANIFEST = ast.literal_eval((ADDON / "__manifest__.py").read_text())


def test_manifest_is_what_apps_needs():
    assert MANIFEST["version"] == "18.0.2.1.0"
    assert MANIFEST["license"] == "LGPL-3"
    assert MANIFEST["category"] == "Sales"
    assert set(MANIFEST["depends"]) == {
        "sale_management",
        "account",
        "contacts",
        "mail",
        "portal",
    }
    assert (ADDON / "static" / "description" / "icon.png").exists()
    assert (ADDON / "static" / "description" / "index.html").exists()


def test_every_manifest_file_exists():
    for path in MANIFEST["data"] + MANIFEST["demo"]:
        assert (ADDON / path).is_file(), path


# ---------------------------------------------------------------- wheels

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "dist", "*.egg-info")


def build_wheel(project, out):
    """Build a wheel of ``project`` (a copy, so that neither a stale build/
    folder of the working tree ends up in it nor the build leaves one)."""
    wheels = out / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "-q",
            "-w",
            str(wheels),
            str(project),
        ],
        check=True,
    )
    (built,) = wheels.glob("*.whl")
    return built


def wheel_metadata(wheel, name):
    """The text of a file of the wheel's .dist-info folder ('' if absent)."""
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.split("/")[0].endswith(".dist-info") and member.endswith("/" + name):
                return archive.read(member).decode()
    return ""


@pytest.fixture(scope="module")
def addon_wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("addon")
    project = out / "project"
    project.mkdir()
    for name in ("setup.py", "README.md", "pyproject.toml"):
        shutil.copy2(ROOT / name, project / name)
    shutil.copytree(ADDON, project / ADDON.name, ignore=_IGNORE)
    return build_wheel(project, out)


@pytest.fixture(scope="module")
def sandbox_wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("sandbox")
    project = out / "project"
    shutil.copytree(ROOT / "sandbox", project, ignore=_IGNORE)
    return build_wheel(project, out)


def test_addon_wheel_carries_the_addon_under_odoo_addons(addon_wheel):
    assert addon_wheel.name.startswith("odoo_addon_certcapture_exemption-18.0.2.1.0")
    names = set(zipfile.ZipFile(addon_wheel).namelist())
    for expected in (
        "odoo/addons/certcapture_exemption/__manifest__.py",
        "odoo/addons/certcapture_exemption/ecm/client.py",
        "odoo/addons/certcapture_exemption/models/sale_order.py",
        "odoo/addons/certcapture_exemption/views/res_partner_views.xml",
        "odoo/addons/certcapture_exemption/security/ir.model.access.csv",
        "odoo/addons/certcapture_exemption/static/description/icon.png",
        "odoo/addons/certcapture_exemption/static/src/js/sale_order_form.js",
        "odoo/addons/certcapture_exemption/data/neutralize.sql",
        "odoo/addons/certcapture_exemption/migrations/18.0.2.0.0/pre-migrate.py",
        "odoo/addons/certcapture_exemption/migrations/18.0.2.0.0/post-migrate.py",
        "odoo/addons/certcapture_exemption/notifications.py",
        "odoo/addons/certcapture_exemption/controllers/portal.py",
        "odoo/addons/certcapture_exemption/views/certcapture_portal_templates.xml",
        "odoo/addons/certcapture_exemption/static/src/img/certificate.svg",
    ):
        assert expected in names, expected


def test_addon_wheel_carries_nothing_of_the_sandbox(addon_wheel):
    names = zipfile.ZipFile(addon_wheel).namelist()
    code = [n for n in names if not n.split("/")[0].endswith(".dist-info")]
    assert code and all(n.startswith("odoo/addons/certcapture_exemption/") for n in code), [
        n for n in code if not n.startswith("odoo/addons/certcapture_exemption/")
    ]
    assert "certcapture-sandbox" not in wheel_metadata(addon_wheel, "entry_points.txt")
    requires = [
        line.split(":", 1)[1].strip()
        for line in wheel_metadata(addon_wheel, "METADATA").splitlines()
        if line.startswith("Requires-Dist:")
    ]
    assert not [r for r in requires if "werkzeug" in r.lower() or "sandbox" in r.lower()], requires
    assert "requests" in requires


def test_sandbox_wheel_carries_the_sandbox_with_its_templates(sandbox_wheel):
    assert sandbox_wheel.name.startswith("certcapture_sandbox-1.0.0-")
    names = zipfile.ZipFile(sandbox_wheel).namelist()
    code = [n for n in names if not n.split("/")[0].endswith(".dist-info")]
    templates = sorted(p.name for p in (SANDBOX / "templates").iterdir())
    assert templates
    for expected in (
        "certcapture_sandbox/__init__.py",
        "certcapture_sandbox/__main__.py",
        "certcapture_sandbox/server.py",
        *(f"certcapture_sandbox/templates/{name}" for name in templates),
    ):
        assert expected in code, expected
    assert all(n.startswith("certcapture_sandbox/") for n in code), [
        n for n in code if not n.startswith("certcapture_sandbox/")
    ]
    entry_points = wheel_metadata(sandbox_wheel, "entry_points.txt")
    assert "certcapture-sandbox = certcapture_sandbox.__main__:main" in entry_points
    assert "Requires-Dist: werkzeug" in wheel_metadata(sandbox_wheel, "METADATA")


# ---------------------------------------------------------------- imports

# Imports every module of a package in a fresh interpreter whose import system
# refuses the packages named: a module that needs one of them fails loudly.
_IMPORT_ALL = """
import importlib, pkgutil, sys

blocked, package = sys.argv[1].split(","), sys.argv[2]

class Refuse:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} imported while importing {package}")

sys.meta_path.insert(0, Refuse)
root = importlib.import_module(package)
for module in pkgutil.walk_packages(root.__path__, package + "."):
    importlib.import_module(module.name)
leaked = sorted({m.split(".")[0] for m in sys.modules} & set(blocked))
assert not leaked, leaked
"""


def import_all(package, blocked, cwd):
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, ",".join(blocked), package],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_addon_client_imports_without_odoo_or_the_sandbox():
    # From the top, where the add-on is the package certcapture_exemption.
    import_all("certcapture_exemption.ecm", ["odoo", "certcapture_sandbox"], cwd=ROOT)


def test_sandbox_imports_without_the_addon_or_odoo(tmp_path):
    # From elsewhere: the sandbox as the venv has it, the add-on refused.
    import_all("certcapture_sandbox", ["odoo", "certcapture_exemption"], cwd=tmp_path)
