import csv
import filecmp
import hashlib
import io
import mimetypes
import os
import re
import shutil
import tempfile
import time
import zipfile

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import split_every

from ..models.account_move import EVIDENCE_FIELDS

# Invoices are read, and certificate files copied, this many at a time: the
# ORM cache is emptied after each batch, so a pack of any size holds one
# batch of invoices and one certificate file at most.
AUDIT_PACK_BATCH_SIZE = 500
COPY_CHUNK_SIZE = 1024 * 1024

CSV_NAME = "exempt_sales.csv"
# The columns of exempt_sales.csv (docs/user-guide.md describes them).
CSV_COLUMNS = [
    "invoice",
    "type",
    "invoice_date",
    "customer",
    "customer_code",
    "ship_to_state",
    "untaxed_amount",
    "currency",
    "evidence",
    "exempt_state",
    "exemption_number",
    "certcapture_certificate_id",
    "odoo_certificate_id",
    "exemption_reason",
    "signed_date",
    "expiration_date",
    "certificate_file",
]
MOVE_FIELDS = [
    "name",
    "move_type",
    "invoice_date",
    "commercial_partner_id",
    "partner_id",
    "partner_shipping_id",
    "amount_untaxed_signed",
    *EVIDENCE_FIELDS,
    "certcapture_missing_evidence",
]


def _file_name_part(value, default):
    """``value`` as a safe part of a file name (letters, digits, - and .)."""
    cleaned = re.sub(r"[^A-Za-z0-9.-]+", "-", str(value or "")).strip("-.")
    return cleaned or default


class CertCaptureAuditPackWizard(models.TransientModel):
    """What a sales tax auditor asks for: the exempt sales of a period and the
    certificates that exempt them, in one ZIP (exempt_sales.csv and the
    certificate files)."""

    _name = "certcapture.audit.pack.wizard"
    _description = "Exemption Audit Pack"

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    date_from = fields.Date(
        "From",
        required=True,
        default=lambda self: fields.Date.context_today(self).replace(month=1, day=1),
    )
    date_to = fields.Date("To", required=True, default=fields.Date.context_today)
    state_ids = fields.Many2many(
        "res.country.state",
        "certcapture_audit_pack_state_rel",
        "wizard_id",
        "state_id",
        string="Delivery States",
        help="The states the sales were delivered to; empty for all.",
    )
    move_ids = fields.Many2many(
        "account.move",
        "certcapture_audit_pack_move_rel",
        "wizard_id",
        "move_id",
        string="Selected Invoices",
        help="Only these invoices (an auditor's sample); empty for every exempt sale of the "
        "period.",
    )
    attachment_id = fields.Many2one("ir.attachment", "Audit Pack", readonly=True)
    invoice_count = fields.Integer("Invoices and Credit Notes", readonly=True)
    certificate_count = fields.Integer("Certificate Files", readonly=True)
    missing_evidence_count = fields.Integer("Untaxed Without Certificate", readonly=True)
    missing_file_count = fields.Integer("Certificates Without File", readonly=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if (
            "move_ids" in fields_list
            and context.get("active_model") == "account.move"
            and context.get("active_ids")
        ):
            # Opened on a selection of invoices: their pack, over their dates.
            moves = self.env["account.move"].browse(context["active_ids"]).exists()
            dates = [date for date in moves.mapped("invoice_date") if date]
            values["move_ids"] = [fields.Command.set(moves.ids)]
            if dates:
                values["date_from"] = min(dates)
                values["date_to"] = max(dates)
        return values

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        for wizard in self:
            if wizard.date_from > wizard.date_to:
                raise ValidationError(_("The period of the audit pack ends before it starts."))

    # ------------------------------------------------------------ actions

    def action_generate(self):
        self.ensure_one()
        self._check_audit_pack_access()
        with tempfile.TemporaryFile() as zip_file:
            summary = self._write_pack(zip_file)
            attachment = self._store_zip(zip_file, self._pack_file_name())
        self.write({**summary, "attachment_id": attachment.id})
        return {
            "type": "ir.actions.act_window",
            "name": _("Exemption Audit Pack"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }

    def action_download(self):
        self.ensure_one()
        if not self.attachment_id:
            raise UserError(_("Generate the audit pack first."))
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self.attachment_id.id}?download=true",
            "target": "download",
        }

    # ------------------------------------------------------------ building

    def _check_audit_pack_access(self):
        user = self.env.user
        if not (
            user.has_group("account.group_account_invoice")
            or user.has_group("certcapture_exemption.group_certcapture_manager")
        ):
            raise AccessError(_("Only accountants and CertCapture managers make audit packs."))
        if self.company_id not in user.company_ids:
            raise AccessError(_("You cannot make an audit pack of %s.", self.company_id.name))

    def _exempt_moves_domain(self):
        """Posted customer invoices and credit notes of the period that were
        untaxed for an exempt customer: with a certificate as evidence, or
        flagged for having none."""
        domain = [
            ("company_id", "=", self.company_id.id),
            ("move_type", "in", ("out_invoice", "out_refund")),
            ("state", "=", "posted"),
            ("invoice_date", ">=", self.date_from),
            ("invoice_date", "<=", self.date_to),
            "|",
            ("certcapture_certificate_id", "!=", False),
            ("certcapture_missing_evidence", "=", True),
        ]
        if self.state_ids:
            # The delivery address, else the customer's: as the exemption check.
            domain += [
                "|",
                ("partner_shipping_id.state_id", "in", self.state_ids.ids),
                "&",
                ("partner_shipping_id", "=", False),
                ("partner_id.state_id", "in", self.state_ids.ids),
            ]
        if self.move_ids:
            domain.append(("id", "in", self.move_ids.ids))
        return domain

    def _write_pack(self, zip_file):
        """Write the ZIP into ``zip_file``; return the counts the wizard shows.

        Invoices are read with sudo: the pack must hold every exempt sale of
        the period, and a CertCapture manager may see only his own invoices
        (access was checked by _check_audit_pack_access)."""
        moves = self.env["account.move"].sudo()
        move_ids = moves.search(self._exempt_moves_domain(), order="invoice_date, name, id").ids
        summary = {"invoice_count": len(move_ids), "missing_evidence_count": 0}
        with zipfile.ZipFile(zip_file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            # zipfile writes one member at a time: the CSV first, then the files
            # it names.
            with (
                archive.open(CSV_NAME, "w") as member,
                io.TextIOWrapper(member, encoding="utf-8", newline="") as text,
            ):
                writer = csv.writer(text)
                writer.writerow(CSV_COLUMNS)
                file_names = {}  # certificate id: its file in the ZIP, or ""
                for batch_ids in split_every(AUDIT_PACK_BATCH_SIZE, move_ids):
                    batch = moves.browse(batch_ids)
                    batch.fetch(MOVE_FIELDS)
                    file_names.update(self._certificate_file_names(batch, file_names))
                    for move in batch:
                        writer.writerow(self._csv_row(move, file_names))
                        summary["missing_evidence_count"] += not move.certcapture_certificate_id
                    self.env.invalidate_all()
            files = {cid: name for cid, name in file_names.items() if name}
            self._add_certificate_files(archive, files)
        summary["certificate_count"] = len(files)
        summary["missing_file_count"] = len(file_names) - len(files)
        return summary

    def _certificate_file_names(self, moves, known):
        """The ZIP file names of the certificates ``moves`` cite and ``known``
        does not have yet ("" for a certificate without a file)."""
        certificates = moves.certcapture_certificate_id.filtered(lambda c: c.id not in known)
        if not certificates:
            return {}
        certificates.fetch(["state_id", "exposure_zone_id", "exemption_number", "certcapture_id"])
        attachments = self._certificate_attachments(certificates.ids)
        attachments.fetch(["res_id", "mimetype"])
        mimetype_by_certificate = {a.res_id: a.mimetype for a in attachments}
        names = {}
        for certificate in certificates:
            if certificate.id not in mimetype_by_certificate:
                names[certificate.id] = ""
                continue
            region = certificate.state_id.code or certificate.exposure_zone_id.name
            reference = (
                str(certificate.certcapture_id)
                if certificate.certcapture_id
                else f"odoo-{certificate.id}"
            )
            mimetype = mimetype_by_certificate[certificate.id] or "application/pdf"
            extension = (
                ".pdf" if mimetype == "application/pdf" else mimetypes.guess_extension(mimetype)
            )
            names[certificate.id] = "certificates/{}_{}_{}{}".format(
                _file_name_part(region, "XX"),
                _file_name_part(certificate.exemption_number, "no-number"),
                reference,
                extension or ".pdf",
            )
        return names

    def _csv_row(self, move, file_names):
        certificate = move.certcapture_certificate_id
        delivery = move.partner_shipping_id or move.partner_id
        return [
            move.name,
            "credit_note" if move.move_type == "out_refund" else "invoice",
            move.invoice_date.isoformat(),
            move.commercial_partner_id.name,
            move.commercial_partner_id.certcapture_customer_code or "",
            delivery.state_id.code or "",
            f"{move.amount_untaxed_signed:.2f}",
            self.company_id.currency_id.name,
            "certificate" if certificate else "missing",
            move.certcapture_exempt_state or "",
            move.certcapture_exemption_number or "",
            move.certcapture_certificate_ref or "",
            certificate.id or "",
            move.certcapture_exemption_reason or "",
            move.certcapture_signed_date.isoformat() if move.certcapture_signed_date else "",
            move.certcapture_expiration_date.isoformat()
            if move.certcapture_expiration_date
            else "",
            file_names.get(certificate.id, ""),
        ]

    def _certificate_attachments(self, certificate_ids):
        return (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", "certcapture.certificate"),
                    ("res_field", "=", "pdf"),
                    ("res_id", "in", certificate_ids),
                ]
            )
        )

    def _add_certificate_files(self, archive, files):
        """Copy each certificate's file into the ZIP, one at a time: from the
        filestore in chunks, or from the database for one file at most."""
        attachment_model = self.env["ir.attachment"].sudo()
        stamp = time.localtime()[:6]
        for batch_ids in split_every(AUDIT_PACK_BATCH_SIZE, list(files)):
            attachments = self._certificate_attachments(list(batch_ids))
            attachments.fetch(["res_id", "store_fname"])
            for attachment in attachments:
                # PDFs are compressed already: stored as they are.
                info = zipfile.ZipInfo(files[attachment.res_id], date_time=stamp)
                info.compress_type = zipfile.ZIP_STORED
                with archive.open(info, "w") as member:
                    if attachment.store_fname:
                        path = attachment_model._full_path(attachment.store_fname)
                        with open(path, "rb") as source:
                            shutil.copyfileobj(source, member, COPY_CHUNK_SIZE)
                    else:
                        member.write(attachment.raw or b"")
                        attachment.invalidate_recordset(["raw", "db_datas"])
            self.env.invalidate_all()

    def _pack_file_name(self):
        return "exemption-audit-pack_{}_{}_{}.zip".format(
            _file_name_part(self.company_id.name, "company"),
            self.date_from.isoformat(),
            self.date_to.isoformat(),
        )

    def _store_zip(self, zip_file, name):
        """An attachment of this wizard holding ``zip_file``.

        ir.attachment takes its content as bytes only; a pack of thousands of
        certificates is too large for that, so with the filestore (Odoo's
        default) the file is copied into it in chunks, as ir.attachment would
        name it, and the attachment is pointed at it."""
        attachments = self.env["ir.attachment"]
        values = {
            "name": name,
            "type": "binary",
            "mimetype": "application/zip",
            "res_model": self._name,
            "res_id": self.id,
        }
        zip_file.seek(0)
        if attachments._storage() != "file":
            return attachments.create({**values, "raw": zip_file.read()})
        checksum = hashlib.sha1()
        for chunk in iter(lambda: zip_file.read(COPY_CHUNK_SIZE), b""):
            checksum.update(chunk)
        checksum = checksum.hexdigest()
        file_size = zip_file.tell()
        store_fname = f"{checksum[:2]}/{checksum}"
        full_path = attachments._full_path(store_fname)
        os.makedirs(os.path.dirname(full_path), exist_ok=True)
        zip_file.seek(0)
        with tempfile.NamedTemporaryFile(dir=os.path.dirname(full_path), delete=False) as copy:
            shutil.copyfileobj(zip_file, copy, COPY_CHUNK_SIZE)
        try:
            if not os.path.exists(full_path):
                os.replace(copy.name, full_path)
                # Collected by the filestore's garbage collection if this
                # transaction is rolled back, as ir.attachment does.
                attachments._mark_for_gc(store_fname)
            elif not filecmp.cmp(copy.name, full_path, shallow=False):
                raise UserError(_("The attachment collides with an existing file."))
        finally:
            if os.path.exists(copy.name):
                os.unlink(copy.name)
        attachment = attachments.create(values)
        attachment.flush_recordset()
        # ir.attachment's create and write drop these three fields: they are
        # set here as its _set_attachment_data does, for a file already stored.
        self.env.cr.execute(
            """
            UPDATE ir_attachment
               SET store_fname = %s, checksum = %s, file_size = %s, db_datas = NULL
             WHERE id = %s
            """,
            (store_fname, checksum, file_size, attachment.id),
        )
        attachment.invalidate_recordset(["store_fname", "checksum", "file_size", "db_datas"])
        return attachment
