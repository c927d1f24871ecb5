"""A certificate that covers the delivery state makes the sale untaxed, and
the invoice keeps the evidence."""

import re
from contextlib import contextmanager
from datetime import date, timedelta
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import UserError
from odoo.sql_db import Cursor
from odoo.tests import Form, tagged
from odoo.tools import SQL

from .common import CertCaptureCase, pdf_b64


class TaxCase(CertCaptureCase):
    """A 10 % sale tax on the product, and the company's exempt position."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sale_tax = cls.env["account.tax"].create(
            {"name": "WA sales tax 10%", "amount": 10, "type_tax_use": "sale"}
        )
        cls.product.taxes_id = cls.sale_tax
        cls.exempt_position = cls.company._certcapture_exempt_fiscal_position()
        cls.exempt_position._certcapture_map_sale_taxes()

    def pull(self):
        self.env["certcapture.sync"]._cron_pull_certificates()

    def certificate_on_file(self, region="WA", **values):
        self.sync_customer()
        self.add_remote_certificate(region=region, **values)
        self.pull()

    def taxes(self, record):
        lines = record.order_line if record._name == "sale.order" else record.invoice_line_ids
        return lines.tax_ids if record._name == "account.move" else lines.tax_id


@tagged("post_install", "-at_install")
class TestTaxEffect(TaxCase):
    def test_the_position_removes_every_sale_tax(self):
        self.assertEqual(self.exempt_position.name, "Tax exempt: certificate on file")
        self.assertFalse(self.exempt_position.map_tax(self.sale_tax))
        new_tax = self.env["account.tax"].create(
            {"name": "New city tax", "amount": 1, "type_tax_use": "sale"}
        )
        self.assertEqual(self.exempt_position.map_tax(new_tax), new_tax, "not mapped yet")
        action = self.env["res.config.settings"].create({}).action_certcapture_map_taxes()
        self.assertIn("New city tax", action["params"]["message"])
        self.assertFalse(self.exempt_position.map_tax(new_tax))

    def test_a_covered_order_is_untaxed_and_says_which_certificate(self):
        self.certificate_on_file()
        order = self.create_order()
        self.assertEqual(order.certcapture_status, "exempt")
        self.assertEqual(order.fiscal_position_id, self.exempt_position)
        self.assertFalse(self.taxes(order))
        self.assertEqual(order.amount_tax, 0)
        certificate = order.certcapture_covering_certificate_id
        self.assertEqual(certificate.exemption_number, "WA-RESALE-9")
        self.assertIn("WA-RESALE-9", order.certcapture_tax_note)
        self.assertIn("RESALE", order.certcapture_tax_note)

    def test_an_uncovered_state_is_taxed_and_says_why(self):
        self.certificate_on_file(region="TX")
        order = self.create_order()
        self.assertEqual(self.taxes(order), self.sale_tax)
        self.assertNotEqual(order.fiscal_position_id, self.exempt_position)
        self.assertIn("Certificate missing", order.certcapture_tax_note)

    def test_a_delivery_address_in_a_covered_state_is_untaxed(self):
        texas_store = self.env["res.partner"].create(
            {
                "name": "Cascade Austin Store",
                "type": "delivery",
                "parent_id": self.customer.id,
                "street": "1 Congress Ave",
                "city": "Austin",
                "zip": "78701",
                "state_id": self.texas.id,
                "country_id": self.us.id,
            }
        )
        self.certificate_on_file(region="TX")
        order = self.create_order(partner_shipping_id=texas_store.id)
        self.assertEqual(order.certcapture_state_id, self.texas)
        self.assertFalse(self.taxes(order))
        # Delivered to Seattle instead: Washington has no certificate.
        order.partner_shipping_id = self.customer
        self.assertEqual(order.certcapture_state_id, self.washington)
        self.assertEqual(self.taxes(order), self.sale_tax)

    def test_a_certificate_arriving_later_untaxes_the_quotation_and_lapsing_taxes_it(self):
        order = self.create_order()
        self.assertEqual(self.taxes(order), self.sale_tax)
        self.add_remote_certificate()
        self.pull()
        self.assertEqual(order.certcapture_status, "exempt")
        self.assertFalse(self.taxes(order))
        self.assertLogged(order, "Sales tax removed")
        # The certificate lapses: the quotation is taxed again.
        order.certcapture_covering_certificate_id.sudo().expiration_date = date.today() - timedelta(
            days=1
        )
        self.env["certcapture.sync"]._reevaluate_lapsed_coverage()
        self.assertEqual(self.taxes(order), self.sale_tax)
        self.assertLogged(order, "Sales tax applies again")

    def test_a_confirmed_order_changes_only_on_a_click(self):
        order = self.create_order()
        order.action_confirm()
        self.add_remote_certificate()
        self.pull()
        self.assertEqual(self.taxes(order), self.sale_tax, "not changed silently")
        self.assertEqual(order.certcapture_exemption_change, "apply")
        order.action_certcapture_apply_exemption_change()
        self.assertFalse(self.taxes(order))
        self.assertFalse(order.certcapture_exemption_change)

    def test_a_position_chosen_by_hand_is_left_alone(self):
        chosen = self.env["account.fiscal.position"].create({"name": "Chosen by hand"})
        self.certificate_on_file()
        order = self.create_order(fiscal_position_id=chosen.id)
        self.assertEqual(order.fiscal_position_id, chosen)
        self.assertLogged(order, "chosen by hand")

    def test_a_single_use_certificate_covers_its_purchase_order_once(self):
        self.customer.write({"certcapture_exemption_reason_id": self.resale.id})
        self.env["certcapture.certificate"].create(
            {
                "partner_id": self.customer.id,
                "state_id": self.washington.id,
                "pdf": pdf_b64(),
                "single_use": True,
                "po_numbers": "PO-77",
            }
        )
        first = self.create_order(client_order_ref="PO-77")
        self.assertFalse(self.taxes(first))
        other_po = self.create_order(client_order_ref="PO-78")
        self.assertEqual(self.taxes(other_po), self.sale_tax)
        self.assertIn("single purchase order", other_po.certcapture_tax_note)
        again = self.create_order(client_order_ref="PO-77")
        self.assertEqual(self.taxes(again), self.sale_tax, "used once already")

    def test_a_pulled_single_use_certificate_covers_the_order_it_names(self):
        self.certificate_on_file(single_use=True, po_numbers=["PO-9001"])
        certificate = self.customer.certcapture_certificate_ids
        self.assertEqual(certificate.po_numbers, "PO-9001", "pulled with $include=po_numbers")
        named = self.create_order(client_order_ref="PO-9001")
        self.assertFalse(self.taxes(named))
        self.assertEqual(certificate.used_by_order_id, named)
        other = self.create_order(client_order_ref="PO-9002")
        self.assertEqual(self.taxes(other), self.sale_tax)


@tagged("post_install", "-at_install")
class TestInvoiceEvidence(TaxCase):
    def invoice_order(self, order):
        order.action_confirm()
        invoice = order._create_invoices()
        invoice.action_post()
        return invoice

    def test_an_invoice_from_an_exempt_order_is_untaxed_with_frozen_evidence(self):
        self.certificate_on_file()
        invoice = self.invoice_order(self.create_order())
        self.assertFalse(self.taxes(invoice))
        self.assertEqual(invoice.fiscal_position_id, self.exempt_position)
        certificate = invoice.certcapture_certificate_id
        self.assertTrue(certificate)
        self.assertEqual(invoice.certcapture_certificate_ref, certificate.certcapture_id)
        self.assertEqual(invoice.certcapture_exemption_number, "WA-RESALE-9")
        self.assertEqual(invoice.certcapture_exemption_reason, "RESALE")
        self.assertEqual(invoice.certcapture_exempt_state, "WA")
        expires = certificate.expiration_date
        self.assertEqual(invoice.certcapture_expiration_date, expires)
        # A later change of the certificate does not touch the evidence.
        certificate.sudo().write({"expiration_date": date.today(), "exemption_number": "CHANGED"})
        self.assertEqual(invoice.certcapture_expiration_date, expires)
        self.assertEqual(invoice.certcapture_exemption_number, "WA-RESALE-9")

    def test_a_credit_note_carries_the_evidence_of_its_invoice(self):
        self.certificate_on_file()
        invoice = self.invoice_order(self.create_order())
        invoice.certcapture_certificate_id.sudo().expiration_date = date.today() - timedelta(days=3)
        wizard = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"journal_id": invoice.journal_id.id})
        )
        refund = self.env["account.move"].browse(wizard.refund_moves()["res_id"])
        refund.action_post()
        self.assertEqual(refund.certcapture_certificate_id, invoice.certcapture_certificate_id)
        self.assertEqual(refund.certcapture_exemption_number, "WA-RESALE-9")
        self.assertFalse(refund.certcapture_missing_evidence)

    def test_an_accountants_invoice_for_an_exempt_customer_gets_the_same_test(self):
        self.certificate_on_file()
        with Form(self.env["account.move"].with_context(default_move_type="out_invoice")) as form:
            form.partner_id = self.customer
            with form.invoice_line_ids.new() as line:
                line.product_id = self.product
        invoice = form.save()
        self.assertEqual(invoice.fiscal_position_id, self.exempt_position)
        self.assertFalse(self.taxes(invoice))
        invoice.action_post()
        self.assertTrue(invoice.certcapture_certificate_id)

    def test_an_untaxed_invoice_without_certificate_warns_or_is_blocked(self):
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.customer.id,
                "invoice_line_ids": [
                    Command.create({"product_id": self.product.id, "tax_ids": [Command.clear()]})
                ],
            }
        )
        self.company.certcapture_block_untaxed_posting = True
        with self.assertRaises(UserError):
            invoice.action_post()
        self.company.certcapture_block_untaxed_posting = False
        invoice.action_post()
        self.assertTrue(invoice.certcapture_missing_evidence)
        flagged = self.env["account.move"].search([("certcapture_missing_evidence", "=", True)])
        self.assertIn(invoice, flagged)

    def test_the_printed_invoice_and_order_state_the_exemption(self):
        self.certificate_on_file()
        order = self.create_order()
        quotation_html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("sale.action_report_saleorder", order.ids)[0]
            .decode()
        )
        self.assertIn("Exempt from sales tax: RESALE, certificate WA-RESALE-9 (WA)", quotation_html)
        invoice = self.invoice_order(order)
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("account.account_invoices", invoice.ids)[0]
            .decode()
        )
        self.assertIn(
            "Exempt from sales tax: RESALE, certificate WA-RESALE-9 (WA), valid until", html
        )


@tagged("post_install", "-at_install")
class TestTaxEffectOnUpdate(TaxCase):
    def test_an_order_update_brings_the_certificate_and_removes_the_tax(self):
        self.company.certcapture_missing_policy = "none"
        order = self.create_order()
        self.assertEqual(self.taxes(order), self.sale_tax)
        self.add_remote_certificate()  # uploaded by the customer meanwhile
        order.client_order_ref = "PO-2026-11"
        self.assertEqual(order.certcapture_status, "exempt")
        self.assertFalse(self.taxes(order), order.certcapture_tax_note)

    def test_the_form_save_returns_the_untaxed_lines(self):
        self.company.certcapture_missing_policy = "none"
        order = self.create_order()
        self.add_remote_certificate()
        spec = {
            "certcapture_status": {},
            "order_line": {"fields": {"tax_id": {"fields": {"display_name": {}}}}},
        }
        saved = order.web_save({"client_order_ref": "PO-9"}, spec)[0]
        self.assertEqual(saved["certcapture_status"], "exempt")
        self.assertEqual(saved["order_line"][0]["tax_id"], [], saved)


@tagged("post_install", "-at_install")
class TestCheckCost(TaxCase):
    """What a check costs in steady state: the order is decided before it is
    created, a check that finds nothing new writes once and logs nothing."""

    def spy(self, method):
        """Calls of a sale.order method, still doing what they do."""
        calls = []
        original = getattr(type(self.env["sale.order"]), method)

        def recorded(records, *args, **kwargs):
            calls.append((records.ids, args))
            return original(records, *args, **kwargs)

        self.patch(type(self.env["sale.order"]), method, recorded)
        return calls

    def test_a_covered_order_is_created_untaxed_without_a_second_write(self):
        self.certificate_on_file()
        self.create_order()  # fills the status cache
        writes = self.spy("_certcapture_write")
        recomputed = self.spy("_recompute_taxes")
        order = self.create_order()
        self.assertEqual(order.certcapture_status, "exempt")
        self.assertEqual(order.fiscal_position_id, self.exempt_position)
        self.assertTrue(order.certcapture_fiscal_position_applied)
        self.assertFalse(self.taxes(order))
        self.assertIn("WA-RESALE-9", order.certcapture_tax_note)
        self.assertEqual(writes, [], "decided before the order was created")
        self.assertEqual(recomputed, [], "the lines were taxed right the first time")
        self.assertEqual(
            order.message_ids.mapped("body"),
            order.message_ids.filtered(lambda m: "Sales Order created" in str(m.body)).mapped(
                "body"
            ),
            "nothing but Odoo's own creation message",
        )

    @contextmanager
    def tables_read(self):
        """The table each SELECT sent inside reads first, one entry per query."""
        tables = []
        execute = Cursor.execute

        def recorded(cursor, query, params=None, log_exceptions=True):
            text = query.code if isinstance(query, SQL) else str(query)
            match = re.match(r'\s*SELECT\b.*?\bFROM\s+"?(\w+)', text, re.DOTALL | re.IGNORECASE)
            if match:
                tables.append(match[1])
            return execute(cursor, query, params, log_exceptions)

        with patch.object(Cursor, "execute", recorded):
            yield tables

    def test_a_check_reads_the_customers_certificates_in_one_query(self):
        # The hand-entered certificate and the one CertCapture's answer (or
        # the cached answer) names are found among the state's certificates.
        self.certificate_on_file()
        for minutes in (60, 0):
            with self.subTest(cache_minutes=minutes):
                self.company.certcapture_status_cache_minutes = minutes
                self.create_order()  # the answer cached, when the cache is kept
                self.env.invalidate_all()
                with self.tables_read() as tables:
                    order = self.create_order()
                self.assertEqual(order.certcapture_status, "exempt")
                self.assertTrue(order.certcapture_covering_certificate_id)
                self.assertEqual(tables.count("certcapture_certificate"), 1, tables)

    def test_a_check_that_finds_nothing_new_writes_one_small_write_and_no_note(self):
        self.certificate_on_file()
        order = self.create_order()
        messages = len(order.message_ids)
        order.certcapture_checked_at = order.certcapture_checked_at - timedelta(hours=1)
        writes = self.spy("_certcapture_write")
        recomputed = self.spy("_recompute_taxes")
        order._certcapture_check()
        self.assertEqual(len(writes), 1, writes)
        self.assertEqual(list(writes[0][1][0]), ["certcapture_checked_at"])
        self.assertEqual(recomputed, [])
        self.assertEqual(len(order.message_ids), messages, "no note when nothing changed")

    def test_a_first_answer_that_needs_the_user_is_noted_a_change_too(self):
        order = self.create_order()
        self.assertLogged(order, "Certificate missing")
        self.certificate_on_file()
        self.assertEqual(order.certcapture_status, "exempt")
        self.assertLogged(order, "Certificate on file")
        self.assertLogged(order, "Sales tax removed")

    def test_the_calls_made_before_the_order_existed_are_logged_for_it(self):
        self.company.certcapture_status_cache_minutes = 0
        self.certificate_on_file()
        order = self.create_order()
        logs = self.env["certcapture.api.log"].search(
            [("res_model", "=", "sale.order"), ("res_id", "=", order.id)]
        )
        self.assertTrue(logs, "the status call is in the order's request log")
        self.assertIn("/certificates/US/WA", " ".join(logs.mapped("path")))
