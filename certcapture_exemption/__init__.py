# The CertCapture client (ecm/) is plain Python, importable without Odoo (its
# tests and the benchmarks use it so); the Odoo parts load only inside Odoo.
if __name__.startswith("odoo.addons."):
    from . import controllers, models, wizard

    def _certcapture_post_init(env):
        """Each company with a chart of accounts gets its exempt fiscal position."""
        for company in env["res.company"].search([("chart_template", "!=", False)]):
            company._certcapture_exempt_fiscal_position()
