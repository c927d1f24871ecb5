"""Packaging for the CertCapture exemption project.

The add-on is packaged the way OCA packages add-ons (setuptools-odoo
conventions): it installs as ``odoo.addons.certcapture_exemption`` so that an
Odoo started from this environment finds it without an addons path, while its
pure-Python part (``ecm``, the CertCapture client) imports without Odoo. It
carries the add-on only: the local sandbox server is a distribution of its own,
``sandbox/pyproject.toml``.
"""

import ast
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).parent
ADDON = "certcapture_exemption"
MANIFEST = ast.literal_eval((HERE / ADDON / "__manifest__.py").read_text())
# setuptools-odoo's version scheme: Odoo series + add-on version.
VERSION = MANIFEST["version"]

setup(
    name=f"odoo-addon-{ADDON.replace('_', '-')}",
    version=VERSION,
    description=MANIFEST["summary"],
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license=MANIFEST["license"],
    author=MANIFEST["author"],
    url=MANIFEST.get("website", ""),
    python_requires=">=3.10",
    packages=[
        f"odoo.addons.{ADDON}",
        *(
            f"odoo.addons.{ADDON}.{sub}"
            for sub in ("controllers", "ecm", "models", "wizard", "tests")
        ),
    ],
    package_dir={f"odoo.addons.{ADDON}": ADDON},
    include_package_data=True,
    package_data={
        f"odoo.addons.{ADDON}": [
            "data/*.xml",
            "data/*.sql",
            "demo/*.xml",
            "migrations/*/*.py",
            "security/*.xml",
            "security/*.csv",
            "views/*.xml",
            "wizard/*.xml",
            "i18n/*.pot",
            "i18n/*.po",
            "static/description/*",
            "static/src/**/*",
            "static/tests/**/*",
            "README.rst",
        ],
    },
    install_requires=["requests"],
    extras_require={"odoo": ["odoo>=18.0,<18.1"]},
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "Framework :: Odoo",
        "Framework :: Odoo :: 18.0",
        "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)",
    ],
    zip_safe=False,
)
