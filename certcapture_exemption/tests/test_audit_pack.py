"""The audit pack: the exempt sales of a period in a CSV and the files of the
certificates they cite, in one ZIP, built without holding the files in memory."""

import base64
import csv
import hashlib
import io
import os
import tracemalloc
import zipfile
from datetime import date
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import CertCaptureCase

WA_PDF = b"%PDF-1.4\n% Washington resale certificate\n%%EOF\n"
TX_PDF = b"%PDF-1.4\n% Texas resale certificate\n%%EOF\n"


class AuditPackCase(CertCaptureCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accountant = new_test_user(
            cls.env, "cc_audit_accountant", groups="account.group_account_invoice"
        )
        cls.customer.certcapture_exemption_reason_id = cls.resale
        cls.oregon = cls.env["res.country.state"].search(
            [("country_id", "=", cls.us.id), ("code", "=", "OR")]
        )
        cls.texas_store = cls.delivery_address("Cascade Austin Store", cls.texas, "Austin")
        cls.oregon_store = cls.delivery_address("Cascade Portland Store", cls.oregon, "Portland")
        certificates = cls.env["certcapture.certificate"].sudo()
        # One pulled from CertCapture (named by its CertCapture id), one typed
        # in Odoo (named by its Odoo id).
        cls.wa_certificate = certificates.create(
            {
                "partner_id": cls.customer.id,
                "source": "pulled",
                "certcapture_id": 7001,
                "state_id": cls.washington.id,
                "exemption_reason_id": cls.resale.id,
                "exemption_number": "WA-RESALE-9",
                "signed_date": date(2024, 1, 10),
                "expiration_date": date(2030, 12, 31),
                "pdf": base64.b64encode(WA_PDF),
                "pdf_filename": "wa.pdf",
            }
        )
        cls.tx_certificate = certificates.create(
            {
                "partner_id": cls.customer.id,
                "state_id": cls.texas.id,
                "exemption_reason_id": cls.resale.id,
                "exemption_number": "TX 12/34",
                "signed_date": date(2024, 6, 1),
                "pdf": base64.b64encode(TX_PDF),
            }
        )

    @classmethod
    def delivery_address(cls, name, state, city):
        return cls.env["res.partner"].create(
            {
                "name": name,
                "type": "delivery",
                "parent_id": cls.customer.id,
                "street": "1 Main Street",
                "city": city,
                "zip": "97201",
                "state_id": state.id,
                "country_id": cls.us.id,
            }
        )

    @classmethod
    def invoice_values(cls, invoice_date, shipping=None, partner=None, price=100.0):
        partner = partner or cls.customer
        return {
            "move_type": "out_invoice",
            "partner_id": partner.id,
            "partner_shipping_id": (shipping or partner).id,
            "invoice_date": invoice_date,
            "invoice_line_ids": [
                Command.create(
                    {
                        "product_id": cls.product.id,
                        "price_unit": price,
                        "tax_ids": [Command.clear()],
                    }
                )
            ],
        }

    @classmethod
    def post_invoice(cls, invoice_date, post=True, **values):
        invoice = cls.env["account.move"].create(cls.invoice_values(invoice_date, **values))
        if post:
            invoice.action_post()
        return invoice

    def generate(self, user=None, **values):
        wizards = self.env["certcapture.audit.pack.wizard"].with_user(user or self.accountant)
        wizard = wizards.create(
            {"date_from": date(2025, 1, 1), "date_to": date(2025, 3, 31), **values}
        )
        wizard.action_generate()
        return wizard

    def read_pack(self, wizard):
        archive = zipfile.ZipFile(io.BytesIO(wizard.attachment_id.sudo().raw))
        rows = list(csv.DictReader(io.StringIO(archive.read("exempt_sales.csv").decode())))
        return archive, rows


@tagged("post_install", "-at_install")
class TestAuditPack(AuditPackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.january = cls.post_invoice(date(2025, 1, 15), price=100)
        cls.february = cls.post_invoice(date(2025, 2, 10), price=250)
        cls.texas_sale = cls.post_invoice(date(2025, 3, 1), shipping=cls.texas_store, price=80)
        # Untaxed for the exempt customer, but no certificate covers Oregon.
        cls.oregon_sale = cls.post_invoice(date(2025, 3, 5), shipping=cls.oregon_store, price=40)
        cls.credit_note = cls.january._reverse_moves(
            [{"invoice_date": date(2025, 3, 20), "date": date(2025, 3, 20)}]
        )
        cls.credit_note.action_post()
        # Left out: outside the period, not posted, or not exempt.
        cls.april = cls.post_invoice(date(2025, 4, 2))
        cls.december = cls.post_invoice(date(2024, 12, 31))
        cls.draft = cls.post_invoice(date(2025, 2, 1), post=False)
        cls.taxable_customer = cls.env["res.partner"].create(
            {"name": "Taxable Buyer", "state_id": cls.washington.id, "country_id": cls.us.id}
        )
        cls.taxable = cls.post_invoice(date(2025, 2, 2), partner=cls.taxable_customer)

    def test_the_evidence_is_frozen_as_the_pack_expects(self):
        self.assertEqual(self.january.certcapture_certificate_id, self.wa_certificate)
        self.assertEqual(self.texas_sale.certcapture_certificate_id, self.tx_certificate)
        self.assertTrue(self.oregon_sale.certcapture_missing_evidence)
        self.assertEqual(self.credit_note.certcapture_certificate_id, self.wa_certificate)

    def test_the_pack_of_a_period_lists_its_exempt_sales_and_holds_their_certificates(self):
        wizard = self.generate()
        archive, rows = self.read_pack(wizard)
        self.assertEqual(
            [row["invoice"] for row in rows],
            [
                self.january.name,
                self.february.name,
                self.texas_sale.name,
                self.oregon_sale.name,
                self.credit_note.name,
            ],
            "in date order, the outside, draft and taxable ones left out",
        )
        wa_file = "certificates/WA_WA-RESALE-9_7001.pdf"
        tx_file = f"certificates/TX_TX-12-34_odoo-{self.tx_certificate.id}.pdf"
        # The Washington certificate is cited three times and stored once.
        self.assertEqual(sorted(archive.namelist()), sorted(["exempt_sales.csv", wa_file, tx_file]))
        self.assertEqual(archive.read(wa_file), WA_PDF)
        self.assertEqual(archive.read(tx_file), TX_PDF)
        january, _february, texas, oregon, credit = rows
        self.assertEqual(
            january,
            {
                "invoice": self.january.name,
                "type": "invoice",
                "invoice_date": "2025-01-15",
                "customer": "Cascade Outfitters Test",
                "customer_code": self.customer.certcapture_customer_code or "",
                "ship_to_state": "WA",
                "untaxed_amount": "100.00",
                "currency": self.company.currency_id.name,
                "evidence": "certificate",
                "exempt_state": "WA",
                "exemption_number": "WA-RESALE-9",
                "certcapture_certificate_id": "7001",
                "odoo_certificate_id": str(self.wa_certificate.id),
                "exemption_reason": "RESALE",
                "signed_date": "2024-01-10",
                "expiration_date": "2030-12-31",
                "certificate_file": wa_file,
            },
        )
        self.assertEqual(texas["ship_to_state"], "TX")
        self.assertEqual(texas["certificate_file"], tx_file)
        self.assertEqual(texas["certcapture_certificate_id"], "", "typed in Odoo")
        self.assertEqual(texas["expiration_date"], "")
        self.assertEqual(credit["type"], "credit_note")
        self.assertEqual(credit["untaxed_amount"], "-100.00")
        self.assertEqual(credit["certificate_file"], wa_file)
        self.assertEqual(oregon["evidence"], "missing")
        self.assertEqual(oregon["certificate_file"], "")
        self.assertEqual(oregon["ship_to_state"], "OR")
        self.assertEqual(
            (wizard.invoice_count, wizard.certificate_count, wizard.missing_evidence_count),
            (5, 2, 1),
        )

    def test_a_state_filter_keeps_the_sales_delivered_there(self):
        wizard = self.generate(state_ids=[Command.set(self.washington.ids)])
        archive, rows = self.read_pack(wizard)
        self.assertEqual(
            [row["invoice"] for row in rows],
            [self.january.name, self.february.name, self.credit_note.name],
        )
        self.assertEqual(
            archive.namelist(), ["exempt_sales.csv", "certificates/WA_WA-RESALE-9_7001.pdf"]
        )
        texas = self.read_pack(self.generate(state_ids=[Command.set(self.texas.ids)]))[1]
        self.assertEqual([row["invoice"] for row in texas], [self.texas_sale.name])

    def test_the_period_bounds_are_included(self):
        wizard = self.generate(date_from=date(2025, 1, 15), date_to=date(2025, 2, 10))
        rows = self.read_pack(wizard)[1]
        self.assertEqual([row["invoice"] for row in rows], [self.january.name, self.february.name])

    def test_opened_on_selected_invoices_the_pack_holds_those(self):
        selection = self.february | self.texas_sale | self.taxable
        wizard = (
            self.env["certcapture.audit.pack.wizard"]
            .with_user(self.accountant)
            .with_context(active_model="account.move", active_ids=selection.ids)
            .create({})
        )
        self.assertEqual(wizard.move_ids, selection)
        self.assertEqual((wizard.date_from, wizard.date_to), (date(2025, 2, 2), date(2025, 3, 1)))
        wizard.action_generate()
        rows = self.read_pack(wizard)[1]
        self.assertEqual(
            [row["invoice"] for row in rows],
            [self.february.name, self.texas_sale.name],
            "the taxable one is not an exempt sale",
        )

    def test_the_zip_is_a_download_of_its_maker_only(self):
        self.company.name = "Cascade & Sons (WA)"
        wizard = self.generate()
        action = wizard.action_download()
        attachment = wizard.attachment_id
        self.assertEqual(action["url"], f"/web/content/{attachment.id}?download=true")
        self.assertEqual(action["target"], "download")
        self.assertEqual(attachment.mimetype, "application/zip")
        self.assertEqual(
            attachment.name, "exemption-audit-pack_Cascade-Sons-WA_2025-01-01_2025-03-31.zip"
        )
        content = attachment.with_user(self.accountant).raw
        self.assertTrue(zipfile.is_zipfile(io.BytesIO(content)))
        # Streamed into the filestore, where ir.attachment would have put it.
        self.assertEqual(attachment.checksum, hashlib.sha1(content).hexdigest())
        self.assertEqual(attachment.file_size, len(content))
        self.assertTrue(os.path.isfile(attachment._full_path(attachment.store_fname)))
        other = new_test_user(self.env, "cc_audit_other", groups="account.group_account_invoice")
        with self.assertRaises(AccessError):
            attachment.with_user(other).read(["raw"])

    def test_certcapture_managers_make_packs_and_salespeople_do_not(self):
        manager = new_test_user(
            self.env, "cc_audit_manager", groups="certcapture_exemption.group_certcapture_manager"
        )
        self.assertFalse(manager.has_group("account.group_account_invoice"))
        rows = self.read_pack(self.generate(user=manager))[1]
        self.assertEqual(len(rows), 5, "every exempt sale, not only the manager's own")
        salesman = new_test_user(
            self.env, "cc_audit_salesman", groups="sales_team.group_sale_salesman"
        )
        with self.assertRaises(AccessError):
            self.generate(user=salesman)

    def test_a_pack_of_another_company_is_refused(self):
        other_company = self.env["res.company"].create({"name": "Other Audit Co"})
        with self.assertRaises(AccessError):
            self.generate(company_id=other_company.id)

    def test_files_kept_in_the_database_are_packed_too(self):
        self.env["ir.config_parameter"].sudo().set_param("ir_attachment.location", "db")
        self.wa_certificate.sudo().pdf = base64.b64encode(b"%PDF-1.4\n% kept in the database\n")
        self.assertFalse(
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", "certcapture.certificate"),
                    ("res_field", "=", "pdf"),
                    ("res_id", "=", self.wa_certificate.id),
                ]
            )
            .store_fname
        )
        wizard = self.generate()
        archive = self.read_pack(wizard)[0]
        self.assertEqual(
            archive.read("certificates/WA_WA-RESALE-9_7001.pdf"),
            b"%PDF-1.4\n% kept in the database\n",
        )
        self.assertFalse(wizard.attachment_id.store_fname, "the ZIP in the database as well")


@tagged("post_install", "-at_install")
class TestAuditPackMemory(AuditPackCase):
    CERTIFICATES = 200
    PDF_SIZE = 256 * 1024

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pdfs = {}
        values = []
        for number in range(cls.CERTIFICATES):
            pdf = b"%PDF-1.4\n" + os.urandom(cls.PDF_SIZE)
            values.append(
                {
                    "partner_id": cls.customer.id,
                    "source": "pulled",
                    "certcapture_id": 9000 + number,
                    "state_id": cls.washington.id,
                    "exemption_number": f"WA-{number}",
                    "pdf": base64.b64encode(pdf),
                }
            )
            name = f"certificates/WA_WA-{number}_{9000 + number}.pdf"
            cls.pdfs[name] = hashlib.sha1(pdf).hexdigest()
        certificates = cls.env["certcapture.certificate"].sudo().create(values)
        invoices = cls.env["account.move"].create(
            [cls.invoice_values(date(2025, 2, 1)) for _certificate in certificates]
        )
        invoices.action_post()
        # One invoice per certificate: as if each had covered its own sale.
        for invoice, certificate in zip(invoices, certificates, strict=True):
            invoice.sudo().certcapture_certificate_id = certificate

    def test_the_certificate_files_are_never_all_in_memory(self):
        wizard = (
            self.env["certcapture.audit.pack.wizard"]
            .with_user(self.accountant)
            .create({"date_from": date(2025, 1, 1), "date_to": date(2025, 3, 31)})
        )
        wizard.flush_recordset()
        attachment_class = type(self.env["ir.attachment"])
        whole_reads = []
        original_read = attachment_class._file_read

        def counting_read(attachments, fname):
            whole_reads.append(fname)
            return original_read(attachments, fname)

        total = self.CERTIFICATES * self.PDF_SIZE
        with patch.object(attachment_class, "_file_read", counting_read):
            tracemalloc.start()
            try:
                wizard.action_generate()
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
        self.assertEqual(whole_reads, [], "copied from the filestore in chunks, never read whole")
        self.assertLess(peak, total / 5, f"peak {peak} bytes for {total} bytes of certificates")
        archive = zipfile.ZipFile(io.BytesIO(wizard.attachment_id.sudo().raw))
        packed = {
            name: hashlib.sha1(archive.read(name)).hexdigest()
            for name in archive.namelist()
            if name.startswith("certificates/")
        }
        self.assertEqual(packed, self.pdfs)
        self.assertEqual(wizard.certificate_count, self.CERTIFICATES)
