from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

# What only CertCapture says about a certificate: written by the sync engine
# (as superuser), never by a user.
CERTCAPTURE_ONLY_FIELDS = (
    "certcapture_id",
    "verified",
    "status",
    "ecm_status",
    "remote_modified_date",
    "certcapture_push_state",
    "certcapture_push_message",
)

# What the expiry job remembered of a certificate's expiry: a new expiry date
# (a corrected or extended certificate) starts its reminders and its renewal
# over.
EXPIRY_BOOKKEEPING_RESET = {
    "expiry_reminder_windows": False,
    "expiry_activity_id": False,
    "renewal_request_id": False,
    "renewal_problem": False,
    "renewal_tried_on": False,
}


# What an order check reads of a customer's certificates for a state (see
# res.partner._certcapture_state_certificates): _certcapture_covers, the
# tax note, and whether the record is as pulled.
ORDER_CHECK_FIELDS = [
    "partner_id",
    "company_id",
    "state_id",
    "source",
    "certcapture_id",
    "valid",
    "status",
    "signed_date",
    "expiration_date",
    "single_use",
    "po_numbers",
    "used_by_order_id",
    "exemption_number",
    "exemption_reason_id",
    "remote_modified_date",
]


class CertCaptureCertificate(models.Model):
    """One exemption certificate of a customer for one state.

    Pulled from CertCapture (by ``certcapture.sync``), or entered by hand on
    the customer form; kept as history (an expired certificate stays, a newer
    one is added). The customer's certificate fields show its best current
    certificate: this record is where the values and the PDF live."""

    _name = "certcapture.certificate"
    _description = "Exemption Certificate"
    _order = "expiration_date desc, id desc"

    name = fields.Char(compute="_compute_name", store=True)
    partner_id = fields.Many2one(
        "res.partner", "Customer", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    certcapture_id = fields.Integer("CertCapture ID", index=True, copy=False)
    source = fields.Selection(
        [("manual", "Entered by hand"), ("pulled", "Pulled from CertCapture")],
        required=True,
        default="manual",
    )
    state_id = fields.Many2one("res.country.state")
    exposure_zone_id = fields.Many2one("certcapture.exposure.zone")
    exemption_reason_id = fields.Many2one("certcapture.exemption.reason")
    exemption_number = fields.Char()
    signed_date = fields.Date("Signed")
    expiration_date = fields.Date("Expires")
    valid = fields.Boolean(default=True)
    verified = fields.Boolean()
    single_use = fields.Boolean()
    po_numbers = fields.Char(
        "PO Numbers",
        help="For a single-use certificate: the customer references (purchase orders) it is "
        "for, comma-separated.",
    )
    used_by_order_id = fields.Many2one(
        "sale.order",
        "Used By",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="The order a single-use certificate made tax exempt: it covers no other.",
    )
    status = fields.Char("CertCapture Status")
    ecm_status = fields.Char("ECM Status")
    # Portal users read it too, for the certificates their record rule
    # lets them see: their own company's (customer portal).
    pdf = fields.Binary(
        "Certificate PDF", attachment=True, groups="base.group_user,base.group_portal"
    )
    pdf_filename = fields.Char()
    # Listed by the pull, its file not downloaded yet: the download step's
    # work queue (certcapture.sync._claim_waiting_files).
    pdf_waiting = fields.Boolean(
        "File Waiting",
        readonly=True,
        copy=False,
        help="Listed by the pull: its PDF comes with the next run of the download job.",
    )
    remote_modified_date = fields.Datetime("Modified in CertCapture", readonly=True)
    # A certificate typed in Odoo goes to CertCapture (certcapture.sync's job),
    # so that CertCapture's exemption status covers it.
    certcapture_push_state = fields.Selection(
        [
            ("to_send", "Waiting to be sent"),
            ("incomplete", "Cannot be sent yet"),
            ("uncertain", "Sent, not confirmed"),
            ("sent", "In CertCapture"),
        ],
        "Sent to CertCapture",
        readonly=True,
        copy=False,
    )
    certcapture_push_message = fields.Char("Sending Problem", readonly=True, copy=False)
    is_current = fields.Boolean(
        "Currently Valid", compute="_compute_is_current", search="_search_is_current"
    )
    validity = fields.Selection(
        [
            ("valid", "Valid"),
            ("expiring", "Expiring soon"),
            ("expired", "Expired"),
            ("invalid", "Not valid"),
        ],
        compute="_compute_validity",
        help="What the customer portal shows: expired once past its expiry date, not valid "
        "when CertCapture or the user says so, expiring soon from the company's first expiry "
        "reminder on (90 days before by default).",
    )
    # Expiry and renewal: written by the daily job (models/certcapture_sync_expiry.py).
    is_state_current = fields.Boolean(
        "Holds Its State",
        compute="_compute_is_state_current",
        search="_search_is_state_current",
        help="The certificate that covers its state for this customer now: currently valid, "
        "neither single use nor revoked, a document (a PDF or CertCapture's record), and no "
        "later such certificate of the customer covers the same state. Expiry reminders, "
        "renewals and the customer's coverage by state follow it; a replaced certificate "
        "stays as history.",
    )
    expiry_reminder_windows = fields.Char(
        "Expiry Reminders Sent",
        readonly=True,
        copy=False,
        help="The reminder windows (days before expiry) already announced to the salesperson, "
        "e.g. 90,60: each is announced once.",
    )
    expiry_activity_id = fields.Many2one(
        "mail.activity", "Expiry Reminder", readonly=True, copy=False, ondelete="set null"
    )
    renewal_request_id = fields.Many2one(
        "certcapture.certificate.request",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="The certificate request sent automatically before this certificate expires "
        "(once per certificate).",
    )
    renewal_problem = fields.Char(
        "Renewal Not Sent",
        readonly=True,
        copy=False,
        help="Why the automatic renewal request could not go yet; the daily job tries again.",
    )
    renewal_tried_on = fields.Date(readonly=True, copy=False)

    @api.model_create_multi
    def create(self, vals_list):
        self._check_certcapture_only_fields(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._check_certcapture_only_fields([vals])
        if not self.env.su and self.filtered("certcapture_id"):
            raise AccessError(_("A certificate held by CertCapture changes in CertCapture."))
        moved = self._expiry_moved(vals)
        result = super().write(vals)
        if moved:
            moved.expiry_activity_id.sudo().unlink()
            moved.sudo().write(EXPIRY_BOOKKEEPING_RESET)
        return result

    def _expiry_moved(self, vals):
        """The certificates whose expiry date ``vals`` changes and that the
        expiry job already reminded of or renewed."""
        if "expiration_date" not in vals:
            return self.browse()
        new_date = fields.Date.to_date(vals["expiration_date"])
        return self.filtered(
            lambda c: c.expiration_date != new_date
            and (c.expiry_reminder_windows or c.renewal_request_id or c.renewal_problem)
        )

    def _check_certcapture_only_fields(self, vals_list):
        if self.env.su:
            return
        for vals in vals_list:
            if vals.get("source") == "pulled" or any(vals.get(f) for f in CERTCAPTURE_ONLY_FIELDS):
                raise AccessError(
                    _("Only certificates entered by hand can be recorded or changed in Odoo.")
                )

    def init(self):
        # One record per pulled certificate and customer; hand-entered ones
        # (certcapture_id 0) are free.
        self.env.cr.execute("""
            CREATE UNIQUE INDEX IF NOT EXISTS certcapture_certificate_remote_unique
                ON certcapture_certificate (company_id, certcapture_id, partner_id)
             WHERE certcapture_id <> 0
        """)
        # The download step's queue: the few waiting files among many
        # certificates, found (and claimed in id order) without a scan.
        self.env.cr.execute("""
            CREATE INDEX IF NOT EXISTS certcapture_certificate_pdf_waiting_index
                ON certcapture_certificate (company_id, id)
             WHERE pdf_waiting
        """)

    @api.depends("state_id", "exemption_number", "exposure_zone_id")
    def _compute_name(self):
        for certificate in self:
            region = certificate.state_id.code or certificate.exposure_zone_id.name or "?"
            certificate.name = " - ".join(filter(None, [region, certificate.exemption_number]))

    @api.depends("valid", "expiration_date")
    @api.depends_context("date")
    def _compute_is_current(self):
        today = fields.Date.context_today(self)
        for certificate in self:
            certificate.is_current = certificate.valid and (
                not certificate.expiration_date or certificate.expiration_date >= today
            )

    @api.depends("valid", "status", "expiration_date", "company_id")
    @api.depends_context("date")
    def _compute_validity(self):
        today = fields.Date.context_today(self)
        for certificate in self:
            expires = certificate.expiration_date
            # Expiring soon as everywhere else: from the company's first
            # expiry reminder on.
            company = certificate.company_id or self.env.company
            soon = today + timedelta(days=company._certcapture_expiring_soon_days())
            if expires and expires < today:
                certificate.validity = "expired"
            elif not certificate.valid or certificate.status == "REVOKED":
                certificate.validity = "invalid"
            elif expires and expires <= soon:
                certificate.validity = "expiring"
            else:
                certificate.validity = "valid"

    def _search_is_current(self, operator, value):
        today = fields.Date.context_today(self)
        domain = [
            ("valid", "=", True),
            "|",
            ("expiration_date", "=", False),
            ("expiration_date", ">=", today),
        ]
        positive = (operator == "=") == bool(value)
        return domain if positive else ["!", *domain]

    @api.model
    def _state_current_sql(self, today):
        """The ids of the certificates that hold their state on ``today``
        (see is_state_current), as a subquery; the best of several is the
        one _sort_key puts first. What makes a certificate count is
        _certcapture_covers's test, the state and the purchase order aside."""

        def counts(alias):
            alias = SQL.identifier(alias)
            return SQL(
                """%(c)s.valid IS TRUE AND %(c)s.single_use IS NOT TRUE
                   AND %(c)s.status IS DISTINCT FROM 'REVOKED'
                   AND (%(c)s.expiration_date IS NULL OR %(c)s.expiration_date >= %(today)s)
                   AND (COALESCE(%(c)s.certcapture_id, 0) <> 0 OR EXISTS (
                        SELECT 1 FROM ir_attachment a
                         WHERE a.res_model = 'certcapture.certificate'
                           AND a.res_field = 'pdf' AND a.res_id = %(c)s.id))""",
                c=alias,
                today=today,
            )

        return SQL(
            """(
            SELECT c.id FROM certcapture_certificate c
             WHERE %(c_counts)s
               AND NOT EXISTS (
                   SELECT 1 FROM certcapture_certificate o
                    WHERE o.partner_id = c.partner_id AND o.company_id = c.company_id
                      AND o.state_id = c.state_id AND o.id <> c.id
                      AND %(o_counts)s
                      AND (COALESCE(o.expiration_date, 'infinity'::date),
                           COALESCE(o.signed_date, '-infinity'::date), o.id)
                        > (COALESCE(c.expiration_date, 'infinity'::date),
                           COALESCE(c.signed_date, '-infinity'::date), c.id)))""",
            c_counts=counts("c"),
            o_counts=counts("o"),
        )

    @api.depends(
        "partner_id.certcapture_certificate_ids.valid",
        "partner_id.certcapture_certificate_ids.single_use",
        "partner_id.certcapture_certificate_ids.status",
        "partner_id.certcapture_certificate_ids.state_id",
        "partner_id.certcapture_certificate_ids.company_id",
        "partner_id.certcapture_certificate_ids.expiration_date",
        "partner_id.certcapture_certificate_ids.signed_date",
        "partner_id.certcapture_certificate_ids.certcapture_id",
        "partner_id.certcapture_certificate_ids.pdf",
    )
    @api.depends_context("date")
    def _compute_is_state_current(self):
        # One query for all: a certificate's answer depends on its siblings.
        ids = [certificate._origin.id for certificate in self if certificate._origin.id]
        holders = set()
        if ids:
            self._flush_state_current()
            query = self._state_current_sql(fields.Date.context_today(self))
            self.env.cr.execute(SQL("SELECT id FROM %s AS h WHERE h.id = ANY(%s)", query, ids))
            holders = {row[0] for row in self.env.cr.fetchall()}
        for certificate in self:
            certificate.is_state_current = certificate._origin.id in holders

    def _flush_state_current(self):
        """What _state_current_sql reads, written to the database."""
        self.flush_model()
        self.env["ir.attachment"].flush_model(["res_model", "res_field", "res_id"])

    def _search_is_state_current(self, operator, value):
        if operator not in ("=", "!="):
            raise NotImplementedError(_("Operation not supported"))
        self._flush_state_current()
        positive = (operator == "=") == bool(value)
        query = self._state_current_sql(fields.Date.context_today(self))
        return [("id", "in" if positive else "not in", query)]

    def _certcapture_covers(self, state, on_date, po_number=None, order=None):
        """Whether this certificate exempts a sale delivered to ``state`` on
        ``on_date``: valid and not revoked, signed and not expired on that
        date, a document (a PDF or CertCapture's record), and if single use,
        for that purchase order and no other order."""
        self.ensure_one()
        if not (self.valid and self.state_id == state) or self.status == "REVOKED":
            return False
        if self.signed_date and on_date and self.signed_date > on_date:
            return False
        if self.expiration_date and on_date and self.expiration_date < on_date:
            return False
        if not (self.certcapture_id or self.with_context(bin_size=True).pdf):
            return False
        if self.single_use:
            numbers = {n.strip().lower() for n in (self.po_numbers or "").split(",") if n.strip()}
            if not po_number or po_number.strip().lower() not in numbers:
                return False
            if self.used_by_order_id and self.used_by_order_id != order:
                return False
        return True

    def _certcapture_local(self):
        """Of these certificates, one typed in Odoo and not yet in CertCapture:
        until it is there, it is what proves the exemption. A certificate is
        a document: a state typed without a PDF is not one."""
        candidates = self.filtered(lambda c: c.source == "manual" and not c.certcapture_id)
        return candidates.with_context(bin_size=True).filtered("pdf")[:1]

    def _sort_key(self):
        """Best first when sorted in reverse: current before lapsed, then the
        latest expiry (none counts as latest), the latest signature, the newest."""
        return (
            self.is_current,
            self.expiration_date or fields.Date.to_date("9999-12-31"),
            self.signed_date or fields.Date.to_date("1900-01-01"),
            self.id,
        )

    def action_certcapture_send(self):
        """Send these hand-entered certificates to CertCapture now."""
        self.env["certcapture.sync"]._push_manual_certificates(self)
        return True

    def action_open_pdf(self):
        self.ensure_one()
        filename = self.pdf_filename or "certificate.pdf"
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/pdf/{filename}",
            "target": "new",
        }
