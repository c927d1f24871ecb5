# The CertCapture client (ecm/) is plain Python, importable without Odoo (its
# tests and the benchmarks use it so); the Odoo parts load only inside Odoo.
if __name__.startswith("odoo.addons."):
    from . import models, wizard
