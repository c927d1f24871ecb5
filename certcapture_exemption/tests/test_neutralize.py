from odoo.modules.neutralize import neutralize_database
from odoo.tests import tagged

from .common import CertCaptureCase


@tagged("post_install", "-at_install")
class TestNeutralize(CertCaptureCase):
    def test_a_neutralized_copy_cannot_reach_certcapture(self):
        """What `odoo-bin neutralize` runs: every installed module's
        data/neutralize.sql."""
        self.company.certcapture_environment = "production"
        self.env.flush_all()
        neutralize_database(self.env.cr)
        self.env.invalidate_all()
        company = self.company.sudo()
        self.assertFalse(company.certcapture_enabled)
        self.assertFalse(company.certcapture_license_key)
        self.assertEqual(company.certcapture_environment, "sandbox")
        self.assertFalse(company.certcapture_custom_url)
        order = self.create_order()
        self.assertFalse(order.certcapture_status, "no check: CertCapture is off")
        self.assertEqual(self.api_calls(), [])
