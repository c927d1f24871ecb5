"""Proves that upgrading the add-on from its previous release keeps the data.

Steps: export the previous release's add-on from git (--from, default
5ae2e0e) into a temporary folder; install it into a new database
(cc_upgrade_check); seed data as that release made it (odoo-bin shell); run
`odoo-bin -u certcapture_exemption` with this working tree's add-on; check the
data through odoo-bin shell (and that running the migration again changes
nothing); install the new code into a second database (cc_upgrade_check_fresh)
and compare the add-on's tables and metadata with the upgraded ones. Prints one
line per check, then `N passed, N failed`; exits non-zero on any failure. The
databases and their filestores are dropped at the end unless --keep is given
(--seed-only stops before the upgrade and keeps the seeded old database).
Databases start from the project's template database when run_tests.py has
made one, else from nothing.

Run it through scripts/with-env.sh (VENV, ODOO_SRC and the PG* variables):

    bash scripts/with-env.sh python scripts/check_upgrade.py [--from REF] [--keep]
"""

import argparse
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from odoo_options import odoo_options
from run_tests import OdooTiers, filestore

ROOT = Path(__file__).resolve().parent.parent
ADDON = "certcapture_exemption"
DEFAULT_FROM = "5ae2e0e"
DATABASE = "cc_upgrade_check"
MARKER = "CC-UPGRADE-CHECK "
MIGRATIONS = ROOT / ADDON / "migrations" / "18.0.2.0.0"
MIGRATION_SCRIPTS = ("pre-migrate.py", "post-migrate.py")


# ---------------------------------------------------------------- in odoo-bin shell
# The two functions below run inside `odoo-bin shell` (their source is piped
# to it): the first with the previous release's code, the second with the new
# code. They only import what Odoo's shell has at hand.


def shell_seed(env, out_path):
    """Data as the previous release made it; writes what to expect to out_path."""
    import base64
    import hashlib
    import json
    from datetime import date

    from odoo import Command

    def pdf(tag):
        return b"%PDF-1.4\n% certcapture upgrade check: " + tag.encode() + b"\n%%EOF\n"

    def checksum(raw):
        return hashlib.sha1(raw).hexdigest()

    env = env(context={**env.context, "tracking_disable": True})
    company = env.company
    company2 = env["res.company"].create({"name": "CC Upgrade Second Company"})
    states = env["res.country.state"]
    wa = states.search([("country_id.code", "=", "US"), ("code", "=", "WA")])
    ore = states.search([("country_id.code", "=", "US"), ("code", "=", "OR")])
    resale = env["certcapture.exempt.reason"].create({"name": "Resale", "certcapture_id": 9101})
    gov = env["certcapture.exempt.reason"].create({"name": "Government", "certcapture_id": 9102})
    zone_values = {"country_code": "US"}
    zone_wa = env["certcapture.exposure.zone"].create(
        {**zone_values, "name": "Washington", "certcapture_id": 9201, "region": "WA"}
    )
    zone_wa.state_id = wa
    zone_or = env["certcapture.exposure.zone"].create(
        {**zone_values, "name": "Oregon", "certcapture_id": 9202, "region": "OR"}
    )
    zone_or.state_id = ore
    Partner = env["res.partner"]
    expected = {"partners": {}, "certificates": {}}

    def remember(key, partner, raw=None, exempt=True, filename=False):
        expected["partners"][key] = {
            "id": partner.id,
            "exempt": exempt,
            "number": partner.exemption_number or False,
            "reason": partner.exemption_code_id.certcapture_id or False,
            # A partner without a company: the first company (the main one).
            "company": partner.company_id.id or min(env["res.company"].search([]).ids),
            "signed": str(partner.certificate_signed_date or ""),
            "expires": str(partner.certificate_expiration_date or ""),
            "state": partner.exemption_state_id.id or False,
            "checksum": checksum(raw) if raw else False,
            "filename": filename,
        }

    # 1. A PDF typed on the customer form: the old code stores it on the
    # partner and records a manual certificate holding the same PDF.
    raw_manual = pdf("typed on the form")
    manual = Partner.create(
        {
            "name": "CC Upgrade Manual",
            "email": "manual@example.com",
            "exemption_number": "EX-MANUAL",
            "exemption_code_id": resale.id,
        }
    )
    manual.write(
        {
            "certificate_pdf": base64.b64encode(raw_manual),
            "certificate_pdf_filename": "manual.pdf",
            "certificate_signed_date": date(2025, 1, 15),
            "certificate_expiration_date": date(2031, 1, 15),
            "exemption_state_id": wa.id,
        }
    )
    remember("manual", manual, raw_manual, filename="manual.pdf")

    # 2. A certificate pulled from CertCapture: the old code copies its PDF to
    # the partner (with certcapture_from_pull: no manual certificate).
    raw_pulled = pdf("pulled from CertCapture")
    pulled = Partner.create(
        {
            "name": "CC Upgrade Pulled",
            "exemption_number": "EX-PULLED",
            "exemption_code_id": gov.id,
            "certcapture_customer_code": "CC-UPGRADE-2",
        }
    )
    env["certcapture.certificate"].create(
        {
            "partner_id": pulled.id,
            "company_id": company.id,
            "source": "pulled",
            "certcapture_id": 4242,
            "state_id": ore.id,
            "exempt_reason_id": gov.id,
            "exemption_number": "EX-PULLED",
            "signed_date": date(2025, 2, 1),
            "expiration_date": date(2032, 2, 1),
            "pdf": base64.b64encode(raw_pulled),
            "pdf_filename": "pulled.pdf",
        }
    )
    pulled._certcapture_apply_best_certificate()
    remember("pulled", pulled, raw_pulled, filename="pulled.pdf")

    # 3. PDFs on the partner that no certificate holds (the copy was never
    # made): written as attachments directly. One partner without a company,
    # one of the second company, and one whose PDF is the same file as the
    # manual partner's (a certificate of another partner does not count).
    def orphan(key, values, raw, filename, exempt=True):
        partner = Partner.create(
            {
                **values,
                "certificate_pdf_filename": filename,
                "certificate_signed_date": date(2025, 3, 1),
                "certificate_expiration_date": date(2033, 3, 1),
                "exemption_state_id": wa.id,
            }
        )
        attachment = (
            env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": "certificate_pdf",
                    "res_model": "res.partner",
                    "res_field": "certificate_pdf",
                    "res_id": partner.id,
                    "raw": raw,
                    "mimetype": "application/pdf",
                }
            )
        )
        remember(key, partner, raw, exempt=exempt, filename=filename)
        expected["partners"][key]["attachment"] = attachment.id
        return partner

    orphan(
        "orphan",
        {"name": "CC Upgrade Orphan", "exemption_number": "EX-ORPHAN", "exemption_code_id": gov.id},
        pdf("never copied"),
        "orphan.pdf",
    )
    orphan(
        "orphan_company2",
        {
            "name": "CC Upgrade Orphan Second Company",
            "company_id": company2.id,
            "exemption_number": "EX-ORPHAN-2",
            "exemption_code_id": resale.id,
        },
        pdf("never copied, second company"),
        "orphan2.pdf",
    )
    orphan("shared", {"name": "CC Upgrade Shared PDF"}, raw_manual, "shared.pdf", exempt=False)

    # A state and an expiry typed without a PDF (the state also prefilled
    # certificate requests): no certificate holds them.
    values_only = Partner.create(
        {
            "name": "CC Upgrade Values Only",
            "certificate_expiration_date": date(2030, 6, 30),
            "exemption_state_id": wa.id,
        }
    )
    expected["values_only"] = {"id": values_only.id, "expires": "2030-06-30"}

    # 4. A certificate request with zones, reasons, an order and chatter.
    order = env["sale.order"].create({"partner_id": manual.id})
    invitation = env["certcapture.invitation"].create(
        {
            "partner_id": manual.id,
            "company_id": company.id,
            "certcapture_id": 777,
            "recipient": "ap@example.com",
            "exposure_zone_ids": [Command.set([zone_wa.id, zone_or.id])],
            "exempt_reason_ids": [Command.set([resale.id, gov.id])],
            "state": "sent",
            "order_id": order.id,
            "request_link": "https://example.com/upload/777",
        }
    )
    messages = env["mail.message"].create(
        [
            {
                "model": "certcapture.invitation",
                "res_id": invitation.id,
                "body": f"Request note {n}",
                "message_type": "comment",
                "subtype_id": env.ref("mail.mt_note").id,
            }
            for n in (1, 2)
        ]
    )
    note = env["ir.attachment"].create(
        {
            "name": "request-note.txt",
            "res_model": "certcapture.invitation",
            "res_id": invitation.id,
            "raw": b"attached to the request",
        }
    )
    follower = env["mail.followers"].create(
        {"res_model": "certcapture.invitation", "res_id": invitation.id, "partner_id": manual.id}
    )
    env.cr.execute(
        """
        INSERT INTO mail_activity (res_model_id, res_model, res_id, res_name, user_id,
                                   date_deadline, summary, automated, active,
                                   create_uid, write_uid, create_date, write_date)
        VALUES (%s, 'certcapture.invitation', %s, %s, %s, CURRENT_DATE, 'Follow up',
                false, true, 1, 1, now(), now())
        RETURNING id
        """,
        (env["ir.model"]._get_id("certcapture.invitation"), invitation.id, invitation.name, 1),
    )
    activity_id = env.cr.fetchone()[0]
    env["ir.filters"].create(
        {
            "name": "CC upgrade: requests with reasons",
            "model_id": "certcapture.invitation",
            "domain": "[('exempt_reason_ids', '!=', False)]",
            "user_id": False,
        }
    )
    # A wizard left open: transient rows with many2many lines.
    env["certcapture.request.wizard"].create(
        {
            "partner_id": manual.id,
            "company_id": company.id,
            "recipient": "ap@example.com",
            "exposure_zone_ids": [Command.set([zone_wa.id])],
            "exempt_reason_ids": [Command.set([resale.id])],
        }
    )
    env.flush_all()

    expected["request"] = {
        "id": invitation.id,
        "zones": sorted([zone_wa.id, zone_or.id]),
        "reasons": sorted([resale.id, gov.id]),
        "order": order.id,
        "partner": manual.id,
        "state": "sent",
        "messages": sorted(messages.ids),
        "attachment": note.id,
        "follower": follower.id,
        "activity": activity_id,
    }
    certificates = env["certcapture.certificate"].search([])
    for certificate in certificates:
        expected["certificates"][str(certificate.id)] = {
            "partner": certificate.partner_id.id,
            "reason": certificate.exempt_reason_id.certcapture_id or False,
        }
    expected["reasons"] = sorted([resale.id, gov.id])

    # What the old database looks like, for the report.
    cr = env.cr
    cr.execute(
        """SELECT table_name FROM information_schema.tables
           WHERE table_name LIKE 'certcapture%%rel' ORDER BY 1"""
    )
    relations = [row[0] for row in cr.fetchall()]
    cr.execute(
        """SELECT res_model, res_field, checksum FROM ir_attachment
           WHERE res_field IN ('certificate_pdf', 'pdf') ORDER BY id"""
    )
    attachments = cr.fetchall()
    expected["before"] = {
        "relations": relations,
        "partner_pdfs": sum(1 for a in attachments if a[0] == "res.partner"),
        "certificate_pdfs": sum(1 for a in attachments if a[0] == "certcapture.certificate"),
        "manual_certificates": len(certificates.filtered(lambda c: c.partner_id == manual)),
    }
    env.cr.commit()
    with open(out_path, "w", encoding="utf-8") as out:
        json.dump(expected, out, indent=1)


def shell_verify(env, expected):
    """Checks on the upgraded database; prints one marked JSON line per check."""
    import json

    results = []

    def check(name, ok, detail=""):
        results.append({"name": name, "ok": bool(ok), "detail": "" if ok else str(detail)})

    cr = env.cr
    Partner = env["res.partner"].with_context(active_test=False)
    Certificate = env["certcapture.certificate"].with_context(active_test=False)
    Attachment = env["ir.attachment"].sudo()
    Reason = env["certcapture.exemption.reason"].with_context(active_test=False)
    reason_ids = {r.certcapture_id: r.id for r in Reason.search([])}

    # The models and tables of the old names are gone, their data kept.
    old_models = (
        "certcapture.invitation",
        "certcapture.exempt.reason",
        "certcapture.request.wizard",
    )
    cr.execute("SELECT model FROM ir_model WHERE model IN %s", (old_models,))
    check("no old model remains in ir_model", not cr.fetchall(), "old ir_model rows")
    cr.execute(
        "SELECT model, name FROM ir_model_fields WHERE model IN %s OR relation IN %s",
        (old_models, old_models),
    )
    rows = cr.fetchall()
    check("no field belongs to or points at an old model", not rows, rows)
    old_tables = [
        "certcapture_invitation",
        "certcapture_exempt_reason",
        "certcapture_request_wizard",
        *expected["before"]["relations"],
    ]
    old_tables += [f"{table}_id_seq" for table in old_tables]
    cr.execute("SELECT relname FROM pg_class WHERE relname IN %s", (tuple(old_tables),))
    leftovers = [row[0] for row in cr.fetchall()]
    check("no table or sequence of the old names remains", not leftovers, leftovers)
    check(
        "exemption reasons kept (same ids)",
        sorted(reason_ids.values()) == expected["reasons"],
        reason_ids,
    )

    # Partners: exempt, numbers, reasons; PDFs moved to certificates.
    cr.execute(
        """SELECT count(*) FROM ir_attachment WHERE res_model = 'res.partner'
           AND res_field IN ('certificate_pdf', 'certcapture_certificate_pdf')"""
    )
    check("partners hold no certificate PDF attachment", cr.fetchone()[0] == 0)
    cr.execute(
        """SELECT column_name FROM information_schema.columns WHERE table_name = 'res_partner'
           AND column_name IN ('is_tax_exempt', 'exemption_number', 'exemption_code_id')"""
    )
    check("the partner's renamed columns are gone", not cr.fetchall())
    cr.execute(
        """SELECT column_name FROM information_schema.columns WHERE table_name = 'res_partner'
           AND column_name IN %s""",
        (
            (
                "certificate_pdf_filename",
                "certificate_signed_date",
                "certificate_expiration_date",
                "exemption_state_id",
            ),
        ),
    )
    rows = cr.fetchall()
    check("the partner's obsolete certificate columns are dropped", not rows, rows)
    for key, old in expected["partners"].items():
        partner = Partner.browse(old["id"])
        if old["exempt"]:
            check(
                f"{key}: exempt, number and reason kept",
                partner.certcapture_is_exempt
                and partner.certcapture_exemption_number == old["number"]
                and partner.certcapture_exemption_reason_id.id == reason_ids.get(old["reason"]),
                (
                    partner.certcapture_is_exempt,
                    partner.certcapture_exemption_number,
                    partner.certcapture_exemption_reason_id.name,
                ),
            )
        else:
            check(f"{key}: still not exempt", not partner.certcapture_is_exempt)
        holders = Attachment.search(
            [
                ("res_model", "=", "certcapture.certificate"),
                ("res_field", "=", "pdf"),
                ("checksum", "=", old["checksum"]),
            ]
        )
        mine = holders.filtered(lambda a, p=partner: Certificate.browse(a.res_id).partner_id == p)
        check(
            f"{key}: the PDF exists once, as a certificate's",
            len(mine) == 1,
            f"{len(mine)} certificate attachment(s) of this partner",
        )
        if "attachment" in old:
            check(
                f"{key}: the partner's attachment was moved, not copied",
                mine.id == old["attachment"],
                f"attachment {mine.ids} instead of {old['attachment']}",
            )
            certificate = Certificate.browse(mine.res_id)
            got = (
                certificate.source,
                certificate.company_id.id,
                certificate.exemption_number or False,
                certificate.exemption_reason_id.certcapture_id or False,
                str(certificate.signed_date or ""),
                str(certificate.expiration_date or ""),
                certificate.state_id.id or False,
                certificate.pdf_filename,
                mine.name,  # a field's attachment is named after the field
            )
            want = (
                "manual",
                old["company"],
                old["number"],
                old["reason"],
                old["signed"],
                old["expires"],
                old["state"],
                old["filename"],
                "pdf",
            )
            check(f"{key}: its new certificate has the partner's values", got == want, got)
        else:
            check(
                f"{key}: no certificate added",
                len(Certificate.search([("partner_id", "=", partner.id)])) == 1,
                Certificate.search([("partner_id", "=", partner.id)]).mapped("name"),
            )
        # The form shows the best certificate of the current company.
        check(
            f"{key}: the form shows the certificate PDF",
            partner.with_company(old["company"]).certcapture_certificate_pdf,
            "no PDF computed",
        )
    cr.execute(
        "SELECT checksum, count(*) FROM ir_attachment WHERE checksum IN %s GROUP BY checksum",
        (tuple({old["checksum"] for old in expected["partners"].values()}),),
    )
    counts = dict(cr.fetchall())
    wanted = {}
    for old in expected["partners"].values():
        wanted[old["checksum"]] = wanted.get(old["checksum"], 0) + 1
    check("no PDF attachment is left over anywhere", counts == wanted, (counts, wanted))

    # Values no certificate held: a note, no certificate.
    old = expected["values_only"]
    cr.execute(
        "SELECT body FROM mail_message WHERE model = 'res.partner' AND res_id = %s",
        (old["id"],),
    )
    notes = [body for (body,) in cr.fetchall() if old["expires"] in (body or "")]
    check(
        "values_only: the values are kept in one chatter note, no certificate made",
        len(notes) == 1 and not Certificate.search([("partner_id", "=", old["id"])]),
        f"{len(notes)} note(s)",
    )

    # Certificates keep their reasons.
    for certificate_id, old in expected["certificates"].items():
        certificate = Certificate.browse(int(certificate_id))
        check(
            f"certificate {certificate_id}: kept with its reason",
            certificate.exists()
            and certificate.partner_id.id == old["partner"]
            and (certificate.exemption_reason_id.certcapture_id or False) == old["reason"],
            certificate.exists() and certificate.exemption_reason_id.name,
        )

    # The certificate request (was an invitation).
    old = expected["request"]
    request = env["certcapture.certificate.request"].browse(old["id"])
    check("request kept", request.exists() and request.state == old["state"], request.exists())
    if request.exists():
        check(
            "request keeps its zones",
            sorted(request.exposure_zone_ids.ids) == old["zones"],
            request.exposure_zone_ids.ids,
        )
        check(
            "request keeps its reasons",
            sorted(request.exemption_reason_ids.ids) == old["reasons"],
            request.exemption_reason_ids.ids,
        )
        order = env["sale.order"].browse(old["order"])
        check(
            "request keeps its order, the order lists it",
            request.order_id == order and request in order.certcapture_request_ids,
            (request.order_id.id, order.certcapture_request_ids.ids),
        )
        check(
            "the partner lists the request",
            request in Partner.browse(old["partner"]).certcapture_request_ids,
        )
    cr.execute(
        "SELECT id FROM mail_message WHERE model = %s AND res_id = %s ORDER BY id",
        ("certcapture.certificate.request", old["id"]),
    )
    messages = [row[0] for row in cr.fetchall()]
    check("request keeps its chatter messages", messages == old["messages"], messages)
    note = Attachment.browse(old["attachment"])
    check(
        "request keeps its attachment",
        note.res_model == "certcapture.certificate.request" and note.res_id == old["id"],
        (note.res_model, note.res_id),
    )
    cr.execute("SELECT res_model, res_id FROM mail_followers WHERE id = %s", (old["follower"],))
    check(
        "request keeps its follower",
        cr.fetchone() == ("certcapture.certificate.request", old["id"]),
    )
    cr.execute(
        """SELECT a.res_model, m.model FROM mail_activity a
           JOIN ir_model m ON m.id = a.res_model_id WHERE a.id = %s""",
        (old["activity"],),
    )
    row = cr.fetchone()
    check(
        "request keeps its activity",
        row == ("certcapture.certificate.request",) * 2,
        row,
    )
    cr.execute(
        "SELECT model_id, domain FROM ir_filters WHERE name = 'CC upgrade: requests with reasons'"
    )
    row = cr.fetchone()
    check(
        "saved filter follows the renames",
        row and row[0] == "certcapture.certificate.request" and "exemption_reason_ids" in row[1],
        row,
    )

    # The scheduled jobs (noupdate data) call methods that exist.
    for xmlid in ("ir_cron_certcapture_pull", "ir_cron_certcapture_retry_checks"):
        job = env.ref(f"certcapture_exemption.{xmlid}")
        method = job.code.strip().removeprefix("model.").removesuffix("()")
        check(
            f"scheduled job {xmlid} calls an existing method",
            hasattr(env[job.model_id.model], method),
            f"{job.model_id.model}.{method}",
        )

    # Running the migration again changes nothing.
    def snapshot():
        cr.execute(
            """SELECT (SELECT count(*) FROM certcapture_certificate),
                      (SELECT string_agg(concat_ws(':', id, res_model, res_field, res_id), ','
                                         ORDER BY id) FROM ir_attachment),
                      (SELECT string_agg(model, ',' ORDER BY id) FROM ir_model),
                      (SELECT string_agg(concat_ws(':', model, name), ',' ORDER BY id)
                       FROM ir_model_fields),
                      (SELECT string_agg(module || '.' || name, ',' ORDER BY id)
                       FROM ir_model_data),
                      (SELECT string_agg(concat_ws(':', model_name, code), ',' ORDER BY id)
                       FROM ir_act_server)"""
        )
        return cr.fetchone()

    import importlib.util

    env.flush_all()
    before = snapshot()
    for path in expected["migrations"]:
        spec = importlib.util.spec_from_file_location("migration", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(cr, "18.0.1.0.0")
    check("running the migration again changes nothing", snapshot() == before)
    cr.rollback()

    for result in results:
        print("CC-UPGRADE-CHECK " + json.dumps(result), flush=True)


# ---------------------------------------------------------------- driver

# What an upgraded database must share with a fresh install of the new code.
MODULE_ID = "(SELECT id FROM ir_module_module WHERE name = 'certcapture_exemption')"
SCHEMA_QUERIES = [
    (
        "model",
        """SELECT m.model, m.transient FROM ir_model m
           JOIN ir_model_data d ON d.model = 'ir.model' AND d.res_id = m.id
           WHERE d.module = 'certcapture_exemption'""",
    ),
    (
        "field",
        """SELECT model, name, ttype, relation, relation_table, column1, column2, store,
                  related, tracking
           FROM ir_model_fields
           WHERE model LIKE 'certcapture%' OR name LIKE 'certcapture%'""",
    ),
    (
        "selection",
        """SELECT f.model, f.name, s.value FROM ir_model_fields_selection s
           JOIN ir_model_fields f ON f.id = s.field_id
           WHERE f.model LIKE 'certcapture%' OR f.name LIKE 'certcapture%'""",
    ),
    (
        "xmlid",
        "SELECT model, name, noupdate FROM ir_model_data WHERE module = 'certcapture_exemption'",
    ),
    (
        "column",
        """SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
           WHERE table_schema = current_schema() AND (table_name LIKE 'certcapture%'
                 OR column_name ~ 'certcapture|exempt|certificate')""",
    ),
    (
        "index",
        """SELECT t.relname, i.relname, pg_get_indexdef(i.oid) FROM pg_index x
           JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
           WHERE t.relname LIKE 'certcapture%' OR i.relname LIKE '%certcapture%'""",
    ),
    (
        "constraint",
        """SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
           JOIN pg_class t ON t.oid = c.conrelid
           WHERE t.relname LIKE 'certcapture%' OR c.conname LIKE '%certcapture%'""",
    ),
    (
        "sequence",
        "SELECT relname FROM pg_class WHERE relkind = 'S' AND relname LIKE 'certcapture%'",
    ),
    (
        "ir.model.constraint",
        f"""SELECT c.name, c.type, m.model FROM ir_model_constraint c
            JOIN ir_model m ON m.id = c.model WHERE c.module = {MODULE_ID}""",
    ),
    (
        "ir.model.relation",
        f"""SELECT r.name, m.model FROM ir_model_relation r
            JOIN ir_model m ON m.id = r.model WHERE r.module = {MODULE_ID}""",
    ),
    (
        "scheduled job",
        """SELECT d.name, s.model_name, s.code FROM ir_model_data d
           JOIN ir_cron c ON d.model = 'ir.cron' AND c.id = d.res_id
           JOIN ir_act_server s ON s.id = c.ir_actions_server_id
           WHERE d.module = 'certcapture_exemption'""",
    ),
]


class Check:
    def __init__(self, odoo_src, database, keep):
        self.odoo_src = Path(odoo_src)
        self.database = database
        self.keep = keep
        self.tiers = OdooTiers(odoo_src)
        self.results = []
        self.work = Path(tempfile.mkdtemp(prefix="cc_upgrade_"))
        self.old_addons = self.work / "old"
        self.old_addons.mkdir()

    def record(self, name, ok, detail=""):
        self.results.append((name, ok))
        line = f"{'PASS' if ok else 'FAIL'}  {name}"
        if detail and not ok:
            line += f"  ({detail})"
        print(line, flush=True)

    def say(self, message):
        print(f"[check-upgrade] {message}", file=sys.stderr, flush=True)

    def odoo(self, *args, old=False, database=None):
        options = odoo_options(self.odoo_src)
        if old:
            at = options.index("--addons-path")
            options[at + 1] = ",".join(
                [f"{self.odoo_src}/odoo/addons", f"{self.odoo_src}/addons", str(self.old_addons)]
            )
        return [
            sys.executable,
            str(self.odoo_src / "odoo-bin"),
            *args[:1],
            *options,
            "-d",
            database or self.database,
            *args[1:],
        ]

    def run(self, cmd, stdin=None, log_name=None):
        self.say("$ " + " ".join(cmd[:3]) + " ... " + " ".join(cmd[-4:]))
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False)
        if log_name:
            (self.work / log_name).write_text(proc.stdout + proc.stderr, encoding="utf-8")
        return proc

    def export_old(self, ref):
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, ADDON], capture_output=True, check=False
        )
        if archive.returncode != 0:
            return archive.stderr.decode(errors="replace").strip()
        subprocess.run(["tar", "-x", "-C", str(self.old_addons)], input=archive.stdout, check=True)
        return None

    @property
    def fresh_database(self):
        return f"{self.database}_fresh"

    def create_database(self, name):
        """From the project's template database when there is one (as
        run_tests.py makes it), else from nothing."""
        self.tiers.drop_database(name)
        template = self.tiers.template_name()
        if self.tiers.database_exists(template):
            subprocess.run(["createdb", "-T", template, name], check=True)
            if filestore(template).exists():
                shutil.copytree(filestore(template), filestore(name))
        else:
            subprocess.run(["createdb", name], check=True)

    def drop_databases(self):
        for name in (self.database, self.fresh_database):
            self.tiers.drop_database(name)

    def schema(self, name):
        """The add-on's tables and metadata, one line each."""
        import psycopg2  # Odoo's requirement, in the venv

        connection = psycopg2.connect(
            dbname=name,
            host=os.environ.get("PGHOST", "127.0.0.1"),
            port=os.environ.get("PGPORT", "5432"),
            user=os.environ.get("PGUSER", "odoo"),
        )
        lines = set()
        try:
            with connection.cursor() as cr:
                for label, query in SCHEMA_QUERIES:
                    cr.execute(query)
                    lines.update(
                        " | ".join([label, *("" if v is None else str(v) for v in row)])
                        for row in cr.fetchall()
                    )
        finally:
            connection.close()
        return lines

    def compare_with_fresh_install(self):
        self.create_database(self.fresh_database)
        proc = self.run(
            self.odoo(
                "server", "-i", ADDON, "--stop-after-init", "--no-http", "--without-demo=all",
                "--log-level=warn", database=self.fresh_database,
            ),
            log_name="fresh-install.log",
        )  # fmt: skip
        self.record(
            "install the new code in a fresh database", proc.returncode == 0, self.tail(proc)
        )
        if proc.returncode:
            return
        upgraded, fresh = self.schema(self.database), self.schema(self.fresh_database)
        differences = [f"- {line}" for line in sorted(fresh - upgraded)]
        differences += [f"+ {line}" for line in sorted(upgraded - fresh)]
        if differences:
            self.say(
                "fresh install (-) and upgraded database (+) differ:\n  " + "\n  ".join(differences)
            )
        self.say(f"compared {len(fresh)} lines of schema and metadata with a fresh install")
        self.record(
            "upgraded tables, fields, xml ids, constraints match a fresh install",
            fresh and not differences,
            f"{len(differences)} difference(s): {'; '.join(differences[:4])}",
        )

    def shell(self, function, argument, old):
        source = inspect.getsource(function) + f"\n{function.__name__}(env, {argument!r})\n"
        return self.run(
            self.odoo("shell", "--no-http", "--log-level=warn", old=old),
            stdin=source,
            log_name=f"{function.__name__}.log",
        )

    def main(self, ref, seed_only=False):
        error = self.export_old(ref)
        self.record(f"export {ADDON} from {ref}", error is None, error)
        if error:
            return
        self.create_database(self.database)
        proc = self.run(
            self.odoo(
                "server", "-i", ADDON, "--stop-after-init", "--no-http", "--without-demo=all",
                "--log-level=warn", old=True,
            ),
            log_name="install.log",
        )  # fmt: skip
        self.record(f"install the {ref} release", proc.returncode == 0, self.tail(proc))
        if proc.returncode:
            return
        seed_path = self.work / "seed.json"
        proc = self.shell(shell_seed, str(seed_path), old=True)
        self.record("seed data with the old code", seed_path.exists(), self.tail(proc))
        if not seed_path.exists():
            return
        if seed_only:
            self.say(f"seeded {self.database}; stopping before the upgrade (--seed-only)")
            return
        expected = json.loads(seed_path.read_text(encoding="utf-8"))
        expected["migrations"] = [
            str(MIGRATIONS / name) for name in MIGRATION_SCRIPTS if (MIGRATIONS / name).exists()
        ]
        before = expected["before"]
        self.say(f"old database: {json.dumps(before)}")
        self.record(
            "old code: the typed PDF made a manual certificate with the same PDF",
            before["manual_certificates"] == 1 and before["partner_pdfs"] == 5,
            before,
        )
        proc = self.run(
            self.odoo("server", "-u", ADDON, "--stop-after-init", "--no-http", "--log-level=info"),
            log_name="upgrade.log",
        )
        self.record("upgrade with the new code", proc.returncode == 0, self.tail(proc))
        errors = [
            line
            for line in (proc.stdout + proc.stderr).splitlines()
            if re.search(r" (ERROR|CRITICAL) ", line)
        ]
        self.record("upgrade logged no error", not errors, errors[:3])
        deleted = re.findall(r"Deleting (\d+@ir\.model(?:\.fields)? \(\S+\))", proc.stderr)
        self.say("the update deleted:\n  " + "\n  ".join(deleted))
        self.record(
            "upgrade deleted no model",
            not [line for line in deleted if "@ir.model " in line],
            [line for line in deleted if "@ir.model " in line],
        )
        migrated = [
            line for line in (proc.stdout + proc.stderr).splitlines() if "migrate" in line.lower()
        ]
        self.say("migration log:\n  " + "\n  ".join(migrated[-40:]))
        proc = self.shell(shell_verify, expected, old=False)
        lines = [
            json.loads(line[len(MARKER) :])
            for line in proc.stdout.splitlines()
            if line.startswith(MARKER)
        ]
        self.record("checks ran on the upgraded database", bool(lines), self.tail(proc))
        for result in lines:
            self.record(result["name"], result["ok"], result["detail"])
        self.compare_with_fresh_install()

    @staticmethod
    def tail(proc, lines=5):
        text = (proc.stdout + proc.stderr).strip().splitlines()
        return " | ".join(text[-lines:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="ref", default=DEFAULT_FROM, help="the previous release")
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument(
        "--seed-only", action="store_true", help="stop before the upgrade (implies --keep)"
    )
    args = parser.parse_args(argv)
    if not args.database.startswith("cc_upgrade_"):
        parser.error("the database name must start with cc_upgrade_")
    odoo_src = os.environ.get("ODOO_SRC")
    if not odoo_src:
        print("ODOO_SRC is not set: run through scripts/with-env.sh", file=sys.stderr)
        return 2
    args.keep = args.keep or args.seed_only
    check = Check(odoo_src, args.database, args.keep)
    try:
        check.main(args.ref, seed_only=args.seed_only)
    finally:
        if args.keep:
            check.say(
                f"kept databases {args.database}, {check.fresh_database} and logs in {check.work}"
            )
        else:
            check.drop_databases()
            shutil.rmtree(check.work, ignore_errors=True)
    passed = sum(1 for _name, ok in check.results if ok)
    failed = len(check.results) - passed
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
