import io

import polib
from odoo.tests import TransactionCase, tagged
from odoo.tools.misc import file_path
from odoo.tools.translate import trans_export


@tagged("post_install", "-at_install")
class TestTranslations(TransactionCase):
    def test_pot_template_is_up_to_date(self):
        """i18n/certcapture_exemption.pot holds every translatable string of
        the add-on (regenerate it with --i18n-export when this fails)."""
        buffer = io.BytesIO()
        trans_export(False, ["certcapture_exemption"], buffer, "po", self.env.cr)
        exported = {entry.msgid for entry in polib.pofile(buffer.getvalue().decode())}
        with open(file_path("certcapture_exemption/i18n/certcapture_exemption.pot")) as pot:
            committed = {entry.msgid for entry in polib.pofile(pot.read())}
        self.assertGreater(len(exported), 100)
        self.assertEqual(sorted(exported - committed), [], "strings missing from the .pot")
        self.assertEqual(sorted(committed - exported), [], "stale strings in the .pot")
