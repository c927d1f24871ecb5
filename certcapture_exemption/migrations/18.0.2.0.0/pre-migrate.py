"""18.0.1.0.0 -> 18.0.2.0.0: the add-on's models and fields renamed.

Runs before the new code's models are loaded, in plain SQL:

1. tables, sequences, indexes, constraints and columns take the new names,
   many2many tables the explicit names the new code declares;
2. every place where Odoo keys data by model or field name follows (ir_model,
   ir_model_fields, ir_model_data, attachments, chatter, actions, views,
   filters...), so the update finds the existing records under the new names
   and deletes nothing: an ir.model record left under an old name would be
   removed at the end of the update, and its table dropped with it;
3. the certificate PDFs kept on partners move to certificates: the partner's
   attachment is deleted when a certificate of the partner holds the same
   file, otherwise a manual certificate is created from the partner's values
   and the attachment moves to it;
4. a partner whose certificate dates or state match none of its certificates
   (typed without a PDF, or changed after the PDF) gets them in a note in its
   chatter: they are not made into a certificate, since a state alone (set to
   prefill certificate requests) would read as a current certificate.

The partner's five certificate fields that are no longer stored (the PDF, its
file name, the dates and the state) keep their old names here: their values
are read by step 3, and Odoo's update then removes those fields and drops
their columns, as for any field a module no longer defines.

Every step checks the state it starts from, so running it again changes
nothing.
"""

import logging
from html import escape

from odoo.tools import SQL, parse_version
from odoo.tools.sql import column_exists, make_index_name, table_exists

_logger = logging.getLogger(__name__)

VERSION = "18.0.2.0.0"

# (old model, new model); the tables are the models' default ones.
MODELS = [
    ("certcapture.invitation", "certcapture.certificate.request"),
    ("certcapture.exempt.reason", "certcapture.exemption.reason"),
    ("certcapture.request.wizard", "certcapture.certificate.request.wizard"),
]
# Transient models: their rows are dropped with their tables (Odoo creates the
# new ones), only their metadata is renamed.
TRANSIENT = {"certcapture.request.wizard"}

# (model, with its new name; old field; new field)
FIELDS = [
    ("res.partner", "is_tax_exempt", "certcapture_is_exempt"),
    ("res.partner", "exemption_number", "certcapture_exemption_number"),
    ("res.partner", "exemption_code_id", "certcapture_exemption_reason_id"),
    ("res.partner", "certificate_ids", "certcapture_certificate_ids"),
    ("res.partner", "certcapture_invitation_ids", "certcapture_request_ids"),
    ("res.partner", "certificate_status", "certcapture_certificate_status"),
    ("res.partner", "certificate_status_reason", "certcapture_certificate_status_reason"),
    ("sale.order", "certcapture_invitation_ids", "certcapture_request_ids"),
    ("certcapture.certificate", "exempt_reason_id", "exemption_reason_id"),
    ("certcapture.certificate.request", "exempt_reason_ids", "exemption_reason_ids"),
    ("certcapture.certificate.request.wizard", "exempt_reason_ids", "exemption_reason_ids"),
]
# Models that _inherits another one get a related field for each of its
# fields, under the same name: (parent model, child model, link field).
INHERITS = [("res.partner", "res.users", "partner_id")]

# Many2many tables: model, field (new names), (old table, column1, column2),
# (new table, column1, column2), the comodel's table
RELATIONS = [
    (
        "certcapture.certificate.request",
        "exemption_reason_ids",
        (
            "certcapture_exempt_reason_certcapture_invitation_rel",
            "certcapture_invitation_id",
            "certcapture_exempt_reason_id",
        ),
        ("certcapture_request_exemption_reason_rel", "request_id", "reason_id"),
        "certcapture_exemption_reason",
    ),
    (
        "certcapture.certificate.request",
        "exposure_zone_ids",
        (
            "certcapture_exposure_zone_certcapture_invitation_rel",
            "certcapture_invitation_id",
            "certcapture_exposure_zone_id",
        ),
        ("certcapture_request_exposure_zone_rel", "request_id", "zone_id"),
        "certcapture_exposure_zone",
    ),
]

# Columns that hold a model name, as (table, column); absent ones are skipped.
MODEL_NAME_COLUMNS = [
    ("ir_model_data", "model"),
    ("ir_attachment", "res_model"),
    ("ir_act_window", "res_model"),
    ("ir_act_client", "res_model"),
    ("ir_act_report_xml", "model"),
    ("ir_act_server", "model_name"),
    ("ir_embedded_actions", "parent_res_model"),
    ("ir_ui_view", "model"),
    ("ir_filters", "model_id"),
    ("ir_exports", "resource"),
    ("base_import_mapping", "res_model"),
    ("mail_message", "model"),
    ("mail_followers", "res_model"),
    ("mail_activity", "res_model"),
    ("mail_activity_type", "res_model"),
    ("mail_activity_plan", "res_model"),
    ("mail_message_subtype", "res_model"),
    ("mail_template", "model"),
    ("mail_scheduled_message", "model"),
    ("sms_template", "model"),
    ("snailmail_letter", "model"),
    ("rating_rating", "res_model"),
    ("rating_rating", "parent_res_model"),
    ("mailing_trace", "model"),
    ("calendar_event", "res_model"),
]

# The partner's old many2one columns that the update drops: their foreign keys
# go first, with their ir.model.constraint records (Odoo's drop of the column
# would leave those records behind).
OBSOLETE_FOREIGN_KEYS = [("res_partner", "exemption_state_id")]

# The partner's old certificate fields, read to make the certificates.
PARTNER_PDF_FIELD = "certificate_pdf"
PARTNER_VALUE_COLUMNS = (
    "certificate_pdf_filename",
    "certificate_signed_date",
    "certificate_expiration_date",
    "exemption_state_id",
)


def migrate(cr, version):
    if not version or parse_version(version) >= parse_version(VERSION):
        return
    for old, new in MODELS:
        if old in TRANSIENT:
            drop_transient_tables(cr, old)
        else:
            rename_table(cr, table_of(old), table_of(new))
    for model, _field, old_spec, new_spec, comodel_table in RELATIONS:
        rename_relation(cr, model, old_spec, new_spec, comodel_table)
    for old, new in MODELS:
        rename_model(cr, old, new)
    for model, old, new in FIELDS:
        rename_field(cr, model, old, new)
        for parent, child, link in INHERITS:
            if parent == model:
                rename_field(cr, child, old, new, related=(f"{link}.{old}", f"{link}.{new}"))
    move_partner_pdfs(cr)
    note_unkept_partner_values(cr)
    drop_obsolete_foreign_keys(cr)


def table_of(model):
    return model.replace(".", "_")


def execute(cr, query, params=None):
    cr.execute(query, params)
    return cr.rowcount


# ------------------------------------------------------------ tables


def rename_table(cr, old, new):
    """The table, its id sequence, and the indexes and constraints named after
    it (as Odoo names them: <table>_..., <table>__..._index)."""
    if not table_exists(cr, old) or table_exists(cr, new):
        return
    _logger.info("table %s: renamed to %s", old, new)
    cr.execute(SQL("ALTER TABLE %s RENAME TO %s", SQL.identifier(old), SQL.identifier(new)))
    cr.execute("SELECT 1 FROM pg_class WHERE relname = %s AND relkind = 'S'", (f"{old}_id_seq",))
    if cr.fetchone():
        cr.execute(
            SQL(
                "ALTER SEQUENCE %s RENAME TO %s",
                SQL.identifier(f"{old}_id_seq"),
                SQL.identifier(f"{new}_id_seq"),
            )
        )
    prefix = old + "_"
    cr.execute(
        """SELECT con.conname FROM pg_constraint con
           JOIN pg_class rel ON rel.oid = con.conrelid
           WHERE rel.relname = %s AND starts_with(con.conname, %s)""",
        (new, prefix),
    )
    for (name,) in cr.fetchall():
        rename_constraint(cr, new, name, new + name[len(old) :])
    cr.execute(
        """SELECT idx.relname FROM pg_index i
           JOIN pg_class rel ON rel.oid = i.indrelid
           JOIN pg_class idx ON idx.oid = i.indexrelid
           WHERE rel.relname = %s AND starts_with(idx.relname, %s)""",
        (new, prefix),
    )
    for (name,) in cr.fetchall():
        rename_index(cr, name, new + name[len(old) :])


def rename_constraint(cr, table, old, new):
    """A constraint, its ir.model.constraint record and that record's xml id."""
    if len(new) > 63:
        return
    cr.execute(
        "SELECT 1 FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid "
        "WHERE rel.relname = %s AND con.conname = %s",
        (table, old),
    )
    if cr.fetchone():
        cr.execute(
            SQL(
                "ALTER TABLE %s RENAME CONSTRAINT %s TO %s",
                SQL.identifier(table),
                SQL.identifier(old),
                SQL.identifier(new),
            )
        )
    execute(cr, "UPDATE ir_model_constraint SET name = %s WHERE name = %s", (new, old))
    rename_xmlid(cr, "ir.model.constraint", f"constraint_{old}", f"constraint_{new}")


def rename_index(cr, old, new):
    if len(new) > 63:
        return
    cr.execute("SELECT 1 FROM pg_class WHERE relname = %s AND relkind = 'i'", (old,))
    if cr.fetchone():
        cr.execute(SQL("ALTER INDEX %s RENAME TO %s", SQL.identifier(old), SQL.identifier(new)))


def drop_transient_tables(cr, model):
    """A wizard's rows, its many2many tables and their metadata: Odoo creates
    them again under the new names."""
    table = table_of(model)
    cr.execute(
        """SELECT r.name FROM ir_model_relation r JOIN ir_model m ON m.id = r.model
           WHERE m.model = %s""",
        (model,),
    )
    for (relation,) in cr.fetchall():
        cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(relation)))
    if table_exists(cr, table):
        _logger.info("table %s: dropped (transient)", table)
        cr.execute(SQL("DROP TABLE %s", SQL.identifier(table)))
    execute(
        cr,
        """DELETE FROM ir_model_relation r USING ir_model m
           WHERE m.id = r.model AND m.model = %s""",
        (model,),
    )
    execute(
        cr,
        """DELETE FROM ir_model_constraint c USING ir_model m
           WHERE m.id = c.model AND m.model = %s AND c.type = 'f'""",
        (model,),
    )


def rename_relation(cr, model, old_spec, new_spec, comodel_table):
    """A many2many table under the name and columns the new code declares.

    Its secondary index and foreign keys are made again as Odoo makes them
    for a new table (PostgreSQL names them after the table and columns): the
    index here, the foreign keys by the update."""
    (old, old1, old2), (new, new1, new2) = old_spec, new_spec
    if table_exists(cr, old) and not table_exists(cr, new):
        _logger.info("many2many %s: renamed to %s", old, new)
        cr.execute(
            """SELECT con.conname FROM pg_constraint con
               JOIN pg_class rel ON rel.oid = con.conrelid
               WHERE rel.relname = %s AND con.contype = 'f'""",
            (old,),
        )
        foreign_keys = [row[0] for row in cr.fetchall()]
        for name in foreign_keys:
            cr.execute(
                SQL("ALTER TABLE %s DROP CONSTRAINT %s", SQL.identifier(old), SQL.identifier(name))
            )
        if foreign_keys:
            execute(cr, "DELETE FROM ir_model_constraint WHERE name IN %s", (tuple(foreign_keys),))
        cr.execute(
            """SELECT idx.relname FROM pg_index i
               JOIN pg_class rel ON rel.oid = i.indrelid
               JOIN pg_class idx ON idx.oid = i.indexrelid
               WHERE rel.relname = %s AND NOT i.indisprimary""",
            (old,),
        )
        for (name,) in cr.fetchall():
            cr.execute(SQL("DROP INDEX %s", SQL.identifier(name)))
        table, column1, column2 = SQL.identifier(new), SQL.identifier(new1), SQL.identifier(new2)
        cr.execute(SQL("ALTER TABLE %s RENAME TO %s", SQL.identifier(old), table))
        for old_column, column in ((old1, column1), (old2, column2)):
            cr.execute(
                SQL(
                    "ALTER TABLE %s RENAME COLUMN %s TO %s",
                    table,
                    SQL.identifier(old_column),
                    column,
                )
            )
        rename_index(cr, f"{old}_pkey", f"{new}_pkey")
        # As Odoo makes a many2many table (fields.Many2many.update_db); the
        # update adds the foreign keys and their ir.model.constraint records.
        cr.execute(
            SQL(
                "CREATE INDEX ON %s (%s, %s); COMMENT ON TABLE %s IS %s",
                table,
                column2,
                column1,
                table,
                f"RELATION BETWEEN {table_of(model)} AND {comodel_table}",
            )
        )
    execute(cr, "UPDATE ir_model_relation SET name = %s WHERE name = %s", (new, old))
    execute(
        cr,
        """UPDATE ir_model_fields SET relation_table = %s, column1 = %s, column2 = %s
           WHERE relation_table = %s""",
        (new, new1, new2, old),
    )


# ------------------------------------------------------------ models


def rename_model(cr, old, new):
    """Everywhere Odoo keys data by the model's name (openupgradelib's
    rename_models covers the same places)."""
    cr.execute("SELECT model FROM ir_model WHERE model IN %s", ((old, new),))
    found = {row[0] for row in cr.fetchall()}
    if new in found and old in found:
        raise RuntimeError(f"Both {old} and {new} exist in ir_model: cannot rename")
    if old not in found:
        return
    _logger.info("model %s: renamed to %s", old, new)
    _old, _new = table_of(old), table_of(new)
    execute(cr, "UPDATE ir_model SET model = %s WHERE model = %s", (new, old))
    # xml ids of the model, its fields, selection values, inherits and
    # constraints (before ir_model_fields.model changes)
    rename_xmlid(cr, "ir.model", f"model_{_old}", f"model_{_new}")
    rename_xmlid_prefix(cr, "ir.model.fields", f"field_{_old}__", f"field_{_new}__")
    rename_xmlid_prefix(
        cr, "ir.model.fields.selection", f"selection__{_old}__", f"selection__{_new}__"
    )
    rename_xmlid_prefix(
        cr, "ir.model.inherit", f"model_inherit__{_old}__", f"model_inherit__{_new}__"
    )
    execute(cr, "UPDATE ir_model_fields SET model = %s WHERE model = %s", (new, old))
    execute(cr, "UPDATE ir_model_fields SET relation = %s WHERE relation = %s", (new, old))
    for table, column in MODEL_NAME_COLUMNS:
        if column_exists(cr, table, column):
            count = execute(
                cr,
                SQL(
                    "UPDATE %s SET %s = %s WHERE %s = %s",
                    SQL.identifier(table),
                    SQL.identifier(column),
                    new,
                    SQL.identifier(column),
                    old,
                ),
            )
            if count:
                _logger.info("model %s: %s %s.%s renamed", old, count, table, column)
    # Reference fields store "model,id".
    cr.execute("SELECT model, name FROM ir_model_fields WHERE ttype = 'reference' AND store")
    for model, name in cr.fetchall():
        table = table_of(model)
        if table_exists(cr, table) and column_exists(cr, table, name):
            column = SQL.identifier(name)
            execute(
                cr,
                SQL(
                    "UPDATE %s SET %s = %s || substr(%s, %s) WHERE starts_with(%s, %s)",
                    SQL.identifier(table),
                    column,
                    new + ",",
                    column,
                    len(old) + 2,
                    column,
                    old + ",",
                ),
            )


def rename_xmlid(cr, model, old, new):
    execute(
        cr,
        """UPDATE ir_model_data d SET name = %s
           WHERE d.model = %s AND d.name = %s AND NOT EXISTS (
               SELECT 1 FROM ir_model_data o WHERE o.module = d.module AND o.name = %s)""",
        (new, model, old, new),
    )


def rename_xmlid_prefix(cr, model, old, new):
    execute(
        cr,
        """UPDATE ir_model_data d SET name = %s || substr(d.name, %s)
           WHERE d.model = %s AND starts_with(d.name, %s) AND NOT EXISTS (
               SELECT 1 FROM ir_model_data o
               WHERE o.module = d.module AND o.name = %s || substr(d.name, %s))""",
        (new, len(old) + 1, model, old, new, len(old) + 1),
    )


# ------------------------------------------------------------ fields


def rename_field(cr, model, old, new, related=None):
    """A field of ``model`` (already under its new name): column, index and
    foreign key, ir.model.fields and its xml ids, binary attachments, saved
    filters and export lists."""
    cr.execute(
        "SELECT id, store, ttype FROM ir_model_fields WHERE model = %s AND name = %s",
        (model, old),
    )
    row = cr.fetchone()
    if not row:
        return
    field_id, _store, _ttype = row
    cr.execute("SELECT 1 FROM ir_model_fields WHERE model = %s AND name = %s", (model, new))
    if cr.fetchone():
        raise RuntimeError(f"{model}: both fields {old} and {new} exist: cannot rename")
    _logger.info("field %s.%s: renamed to %s", model, old, new)
    table = table_of(model)
    if table_exists(cr, table) and column_exists(cr, table, old) and not related:
        cr.execute(
            SQL(
                "ALTER TABLE %s RENAME COLUMN %s TO %s",
                SQL.identifier(table),
                SQL.identifier(old),
                SQL.identifier(new),
            )
        )
        rename_index(cr, make_index_name(table, old), make_index_name(table, new))
        rename_constraint(cr, table, f"{table}_{old}_fkey", f"{table}_{new}_fkey")
    execute(cr, "UPDATE ir_model_fields SET name = %s WHERE id = %s", (new, field_id))
    if related:
        execute(
            cr,
            "UPDATE ir_model_fields SET related = %s WHERE id = %s AND related = %s",
            (related[1], field_id, related[0]),
        )
    _model = table_of(model)
    rename_xmlid(cr, "ir.model.fields", f"field_{_model}__{old}", f"field_{_model}__{new}")
    rename_xmlid_prefix(
        cr,
        "ir.model.fields.selection",
        f"selection__{_model}__{old}__",
        f"selection__{_model}__{new}__",
    )
    execute(
        cr,
        "UPDATE ir_attachment SET res_field = %s WHERE res_model = %s AND res_field = %s",
        (new, model, old),
    )
    # Saved filters and export lists of the model itself.
    pattern = r"""(['"])""" + old + r"""(['".:])"""
    for column in ("domain", "context", "sort"):
        if column_exists(cr, "ir_filters", column):
            execute(
                cr,
                SQL(
                    "UPDATE ir_filters SET %s = regexp_replace(%s, %s, %s, 'g') "
                    "WHERE model_id = %s AND %s ~ %s",
                    SQL.identifier(column),
                    SQL.identifier(column),
                    pattern,
                    r"\1" + new + r"\2",
                    model,
                    SQL.identifier(column),
                    pattern,
                ),
            )
    if table_exists(cr, "ir_exports_line"):
        execute(
            cr,
            """UPDATE ir_exports_line l SET name = %s || substr(l.name, %s)
               FROM ir_exports e
               WHERE e.id = l.export_id AND e.resource = %s
                 AND (l.name = %s OR starts_with(l.name, %s))""",
            (new, len(old) + 1, model, old, old + "/"),
        )


# ------------------------------------------------------------ partner PDFs


def move_partner_pdfs(cr):
    """Each partner PDF ends up once, as the attachment of a certificate."""
    cr.execute(
        """SELECT id, res_id, checksum, create_uid, create_date FROM ir_attachment
           WHERE res_model = 'res.partner' AND res_field = %s AND res_id IS NOT NULL
           ORDER BY id""",
        (PARTNER_PDF_FIELD,),
    )
    attachments = cr.fetchall()
    if not attachments:
        return
    values = {column: column_exists(cr, "res_partner", column) for column in PARTNER_VALUE_COLUMNS}
    cr.execute("SELECT min(id) FROM res_company")
    (first_company,) = cr.fetchone()
    deleted, created = 0, 0
    for attachment_id, partner_id, checksum, create_uid, create_date in attachments:
        cr.execute(
            """SELECT a.id FROM ir_attachment a
               JOIN certcapture_certificate c ON c.id = a.res_id
               WHERE a.res_model = 'certcapture.certificate' AND a.res_field = 'pdf'
                 AND c.partner_id = %s AND a.checksum = %s
               LIMIT 1""",
            (partner_id, checksum),
        )
        if checksum and cr.fetchone():
            cr.execute("DELETE FROM ir_attachment WHERE id = %s", (attachment_id,))
            deleted += 1
            continue
        # A partner's certificate fields, NULL for those already gone.
        selected = SQL(", ").join(
            SQL.identifier("p", column) if present else SQL("NULL")
            for column, present in values.items()
        )
        cr.execute(
            SQL(
                """SELECT %s, p.company_id, p.certcapture_exemption_number,
                          p.certcapture_exemption_reason_id
                   FROM res_partner p WHERE p.id = %s""",
                selected,
                partner_id,
            )
        )
        row = cr.fetchone()
        if row is None:  # the attachment of a deleted partner
            continue
        filename, signed, expires, state_id, company_id, number, reason_id = row
        cr.execute(
            """INSERT INTO certcapture_certificate (
                   name, partner_id, company_id, source, state_id, exemption_reason_id,
                   exemption_number, signed_date, expiration_date, valid, pdf_filename,
                   create_uid, create_date, write_uid, write_date)
               SELECT concat_ws(' - ', coalesce(s.code, '?'), nullif(%(number)s, '')),
                      %(partner)s, %(company)s, 'manual', %(state)s, %(reason)s,
                      %(number)s, %(signed)s, %(expires)s, true, %(filename)s,
                      %(uid)s, %(date)s, %(uid)s, now() AT TIME ZONE 'UTC'
               FROM (SELECT 1) one
               LEFT JOIN res_country_state s ON s.id = %(state)s
               RETURNING id""",
            {
                "partner": partner_id,
                "company": company_id or first_company,
                "state": state_id,
                "reason": reason_id,
                "number": number or None,
                "signed": signed,
                "expires": expires,
                "filename": filename or None,
                "uid": create_uid or 1,
                "date": create_date,
            },
        )
        (certificate_id,) = cr.fetchone()
        cr.execute(
            """UPDATE ir_attachment
               SET res_model = 'certcapture.certificate', res_field = 'pdf', res_id = %s,
                   name = 'pdf'
               WHERE id = %s""",
            (certificate_id, attachment_id),
        )
        created += 1
    _logger.info(
        "partner certificate PDFs: %s already held by a certificate (partner copy deleted), "
        "%s moved to new manual certificates",
        deleted,
        created,
    )


def drop_obsolete_foreign_keys(cr):
    for table, column in OBSOLETE_FOREIGN_KEYS:
        name = f"{table}_{column}_fkey"
        cr.execute(
            SQL(
                "ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s",
                SQL.identifier(table),
                SQL.identifier(name),
            )
        )
        execute(cr, "DELETE FROM ir_model_constraint WHERE name = %s AND type = 'f'", (name,))


NOTE_PREFIX = "<p>Certificate values of this customer before version 18.0.2"


def note_unkept_partner_values(cr):
    """Partner values that no certificate holds, kept as a note."""
    if not all(column_exists(cr, "res_partner", column) for column in PARTNER_VALUE_COLUMNS):
        return
    cr.execute(
        """SELECT p.id, p.certificate_signed_date, p.certificate_expiration_date,
                  s.name, s.code
           FROM res_partner p
           LEFT JOIN res_country_state s ON s.id = p.exemption_state_id
           WHERE (p.certificate_signed_date IS NOT NULL
                  OR p.certificate_expiration_date IS NOT NULL
                  OR p.exemption_state_id IS NOT NULL)
             AND NOT EXISTS (
                 SELECT 1 FROM certcapture_certificate c
                 WHERE c.partner_id = p.id
                   AND c.signed_date IS NOT DISTINCT FROM p.certificate_signed_date
                   AND c.expiration_date IS NOT DISTINCT FROM p.certificate_expiration_date
                   AND c.state_id IS NOT DISTINCT FROM p.exemption_state_id)
             AND NOT EXISTS (
                 SELECT 1 FROM mail_message m
                 WHERE m.model = 'res.partner' AND m.res_id = p.id
                   AND starts_with(m.body, %s))
           ORDER BY p.id""",
        (NOTE_PREFIX,),
    )
    rows = cr.fetchall()
    if not rows:
        return
    cr.execute(
        """SELECT (SELECT res_id FROM ir_model_data WHERE module = 'mail' AND name = 'mt_note'),
                  (SELECT res_id FROM ir_model_data
                   WHERE module = 'base' AND name = 'partner_root')"""
    )
    subtype_id, author_id = cr.fetchone()
    for partner_id, signed, expires, state_name, state_code in rows:
        state = f"{state_name} ({state_code})" if state_name else None
        values = [
            ("Signed", signed and signed.isoformat()),
            ("Expires", expires and expires.isoformat()),
            ("Exempt state", state),
        ]
        items = "".join(f"<li>{label}: {escape(value)}</li>" for label, value in values if value)
        body = (
            f"{NOTE_PREFIX}, which no certificate holds (entered without a PDF, or changed "
            f"after it). Certificates now hold these values: add one if they still "
            f"apply.</p><ul>{items}</ul>"
        )
        cr.execute(
            """INSERT INTO mail_message (
                   model, res_id, body, message_type, subtype_id, author_id, is_internal,
                   date, create_uid, write_uid, create_date, write_date)
               VALUES ('res.partner', %s, %s, 'notification', %s, %s, true,
                       now() AT TIME ZONE 'UTC', 1, 1,
                       now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')""",
            (partner_id, body, subtype_id, author_id),
        )
    _logger.warning(
        "%s partner(s) had certificate dates or a state that no certificate holds: "
        "kept as a note in their chatter (partner ids %s)",
        len(rows),
        ", ".join(str(row[0]) for row in rows),
    )
