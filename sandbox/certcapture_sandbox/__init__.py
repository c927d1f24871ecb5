"""A local stand-in for the Avalara AvaTax v2 exemption-certificate API.

It follows docs/api-reference.md (paths, JSON shapes, auth, errors, paging)
so the CertCapture add-on can be run and tested without an Avalara account,
adds a CertExpress-like upload page, and can inject faults on demand.
Standard library and werkzeug only: it never imports Odoo or the add-on.
"""

__version__ = "1.0.0"

from .config import SandboxConfig
from .errors import ApiError
from .server import SandboxServer

__all__ = ["ApiError", "SandboxConfig", "SandboxServer", "__version__"]
