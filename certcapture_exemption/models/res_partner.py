from collections import defaultdict
from datetime import timedelta

from markupsafe import Markup
from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import format_date

from ..const import (
    COUNTRIES_WITH_REQUIRED_STATE,
    COUNTRY_CODE,
    CUSTOMER_ADDRESS_FIELDS,
    OPEN_REQUEST_STATES,
    PARTNER_CERTIFICATE_STATUSES,
)
from ..notifications import display_notification, soft_reload
from ..tools import normalize_email
from .certcapture_certificate import ORDER_CHECK_FIELDS
from .certcapture_service import CertCaptureUserError

# The customer's certificate fields: computed from its best certificate of the
# current company, and typed on the form into its hand-entered certificate.
CERTIFICATE_FIELDS = {
    # partner field: certificate field
    "certcapture_certificate_pdf": "pdf",
    "certcapture_certificate_filename": "pdf_filename",
    "certcapture_certificate_signed_date": "signed_date",
    "certcapture_certificate_expiration_date": "expiration_date",
    "certcapture_exempt_state_id": "state_id",
}

# The coverage statuses a certificate request asks for (unless a request for
# the state is open already), and their badges in the coverage table.
STATUSES_TO_REQUEST = ("missing", "expired", "expiring")
STATUS_BADGES = {
    "covered": "text-bg-success",
    "expiring": "text-bg-warning",
    "pending": "text-bg-info",
    "expired": "text-bg-danger",
    "missing": "text-bg-danger",
}


def _comparable(value):
    """A written value as compared: base64 PDFs come as text or bytes."""
    return value.encode() if isinstance(value, str) else value


# What a customer's CertCapture record is made of (certcapture.sync's
# _customer_payload): the customer's own fields, and its contacts (the first
# one is the record's contact). Writing them makes the next sync send it.
CUSTOMER_PAYLOAD_FIELDS = frozenset(
    {
        "name",
        "street",
        "street2",
        "city",
        "zip",
        "state_id",
        "country_id",
        "email",
        "phone",
        "certcapture_ap_email",
        "certcapture_customer_code",
    }
)
CONTACT_PAYLOAD_FIELDS = frozenset({"name", "parent_id", "active"})


class ResPartner(models.Model):
    _inherit = "res.partner"

    certcapture_is_exempt = fields.Boolean(
        "Tax Exempt",
        compute="_compute_certcapture_is_exempt",
        store=True,
        help="Set when an exemption number or an exemption reason is entered.",
    )
    certcapture_exemption_number = fields.Char(
        "Exemption Number",
        tracking=True,
        help="The customer's exemption or resale number (aACE: Exemption No). With it, or an "
        "exemption reason, the customer is tax exempt.",
    )
    certcapture_exemption_reason_id = fields.Many2one(
        "certcapture.exemption.reason",
        "Exemption Reason",
        tracking=True,
        help="Why the customer is exempt, as CertCapture names it (aACE: Ex Code).",
    )
    certcapture_ap_email = fields.Char(
        "A/P Email",
        help="The customer's accounts payable address: certificate requests go there, and "
        "CertCapture may update it.",
    )
    certcapture_missing_ap_email = fields.Boolean(compute="_compute_certcapture_missing_ap_email")
    certcapture_address_warning = fields.Char(
        "Address Incomplete for CertCapture", compute="_compute_certcapture_address_warning"
    )
    certcapture_customer_code = fields.Char(
        "CertCapture Customer Code",
        copy=False,
        index="btree_not_null",
        help="The customer's key in CertCapture; defaults from the reference. "
        "Changing it makes CertCapture see a new customer.",
    )
    # Sync state per company: each company talks to its own AvaTax company.
    certcapture_id = fields.Integer("CertCapture ID", company_dependent=True, copy=False)
    certcapture_sync_hash = fields.Char(company_dependent=True, copy=False)
    certcapture_last_sync = fields.Datetime(
        "Last Sync", company_dependent=True, copy=False, readonly=True
    )
    certcapture_web_app_url = fields.Char(
        "CertCapture Page",
        compute="_compute_certcapture_web_app_url",
        help="The customer's page in Avalara's exemption web app, for the company's environment.",
    )
    certcapture_certificate_ids = fields.One2many(
        "certcapture.certificate", "partner_id", "Certificates"
    )
    certcapture_request_ids = fields.One2many(
        "certcapture.certificate.request", "partner_id", "Certificate Requests"
    )
    # The best certificate of the current company and what it says: one value
    # in one place (the certificate), shown here.
    certcapture_certificate_id = fields.Many2one(
        "certcapture.certificate",
        "Current Certificate",
        compute="_compute_certcapture_certificate",
    )
    certcapture_certificate_source = fields.Selection(
        [("manual", "Entered by hand"), ("pulled", "Pulled from CertCapture")],
        "Certificate Source",
        compute="_compute_certcapture_certificate",
    )
    certcapture_certificate_pdf = fields.Binary(
        "Certificate",
        compute="_compute_certcapture_certificate",
        inverse="_inverse_certcapture_certificate_pdf",
        groups="base.group_user",
        help="The PDF of the customer's current certificate (aACE: Cert).",
    )
    certcapture_certificate_filename = fields.Char(
        "Certificate Filename",
        compute="_compute_certcapture_certificate",
        inverse="_inverse_certcapture_certificate_filename",
    )
    certcapture_certificate_signed_date = fields.Date(
        "Certificate Signed",
        compute="_compute_certcapture_certificate",
        inverse="_inverse_certcapture_certificate_signed_date",
        help="When the customer signed its current certificate (aACE: Cert Signed).",
    )
    certcapture_certificate_expiration_date = fields.Date(
        "Certificate Expires",
        compute="_compute_certcapture_certificate",
        inverse="_inverse_certcapture_certificate_expiration_date",
        help="When the current certificate expires (aACE: Cert Exp Date).",
    )
    certcapture_exempt_state_id = fields.Many2one(
        "res.country.state",
        "Exempt State",
        compute="_compute_certcapture_certificate",
        inverse="_inverse_certcapture_exempt_state_id",
        help="The state the current certificate covers (aACE: Ex State).",
    )
    certcapture_active_certificate_count = fields.Integer(
        "Active Certificates", compute="_compute_certcapture_certificate_status"
    )
    certcapture_certificate_status = fields.Selection(
        PARTNER_CERTIFICATE_STATUSES,
        "Certificate Status",
        compute="_compute_certcapture_certificate_status",
    )
    certcapture_certificate_status_reason = fields.Char(
        compute="_compute_certcapture_certificate_status"
    )
    # Each state the customer ships to or holds a certificate for: a computed,
    # non-stored HTML table rather than a One2many of transient lines, so that
    # displaying a customer writes nothing (transient lines would be created on
    # every read of the form, by every user); every value in it is escaped.
    certcapture_coverage_html = fields.Html(
        "Coverage by State",
        compute="_compute_certcapture_coverage",
        sanitize=False,  # built from escaped values only
        help="Each state the customer ships to or holds a certificate for, and whether a "
        "current certificate covers it.",
    )
    certcapture_coverage_to_request = fields.Boolean(
        "States to Request",
        compute="_compute_certcapture_coverage",
        help="Some state is missing, expired or expiring, and no request for it is open.",
    )

    _sql_constraints = [
        (
            "certcapture_customer_code_unique",
            "unique(certcapture_customer_code)",
            "Another customer already has this CertCapture customer code.",
        ),
    ]

    @api.depends("certcapture_exemption_number", "certcapture_exemption_reason_id")
    def _compute_certcapture_is_exempt(self):
        for partner in self:
            partner.certcapture_is_exempt = bool(
                partner.certcapture_exemption_number or partner.certcapture_exemption_reason_id
            )

    @api.depends("certcapture_id")
    @api.depends_context("company")
    def _compute_certcapture_web_app_url(self):
        company = self.env.company
        for partner in self:
            partner.certcapture_web_app_url = company._certcapture_web_app_customer_url(
                partner.certcapture_id
            )

    @api.depends("certcapture_is_exempt", "certcapture_ap_email", "email")
    def _compute_certcapture_missing_ap_email(self):
        for partner in self:
            partner.certcapture_missing_ap_email = (
                partner.certcapture_is_exempt and not partner._certcapture_request_recipient()
            )

    @api.depends("certcapture_is_exempt", "street", "city", "zip", "country_id", "state_id")
    def _compute_certcapture_address_warning(self):
        for partner in self:
            missing = (
                partner._certcapture_missing_address_fields()
                if partner.certcapture_is_exempt
                else []
            )
            partner.certcapture_address_warning = (
                _("CertCapture needs the full address of a customer: add %s.", ", ".join(missing))
                if missing
                else False
            )

    def _certcapture_missing_address_fields(self):
        """Labels of the address fields CertCapture requires that are empty."""
        self.ensure_one()
        missing = [name for name in CUSTOMER_ADDRESS_FIELDS if not self[name]]
        if not self.state_id and self.country_id.code in COUNTRIES_WITH_REQUIRED_STATE:
            missing.append("state_id")
        return [self._fields[name]._description_string(self.env) for name in missing]

    def _certcapture_request_recipient(self):
        """Where certificate requests go: the A/P email, else the contact's
        email, as one bare valid address (or False)."""
        self.ensure_one()
        return normalize_email(self.certcapture_ap_email) or normalize_email(self.email)

    def _certcapture_company_certificates(self):
        """The partner's certificates of the current company."""
        self.ensure_one()
        company = self.env.company
        return self.certcapture_certificate_ids.filtered(lambda c: c.company_id == company)

    def _certcapture_best_certificate(self):
        """The certificate the customer form shows: the best current one of
        the current company, else its latest lapsed one."""
        certificates = self._certcapture_company_certificates()
        return certificates.sorted(lambda c: c._sort_key(), reverse=True)[:1]

    @api.depends(
        "certcapture_certificate_ids.is_current",
        "certcapture_certificate_ids.expiration_date",
        "certcapture_certificate_ids.signed_date",
        "certcapture_certificate_ids.state_id",
        "certcapture_certificate_ids.pdf",
        "certcapture_certificate_ids.pdf_filename",
        "certcapture_certificate_ids.company_id",
        "certcapture_certificate_ids.source",
    )
    @api.depends_context("company", "date")
    def _compute_certcapture_certificate(self):
        for partner in self:
            best = partner._certcapture_best_certificate()
            partner.certcapture_certificate_id = best
            partner.certcapture_certificate_source = best.source
            for partner_field, certificate_field in CERTIFICATE_FIELDS.items():
                partner[partner_field] = best[certificate_field]

    # One inverse per field: Odoo calls the inverses of the fields written
    # only, and a field's sibling values are not readable while it is written.
    def _inverse_certcapture_certificate_pdf(self):
        self._certcapture_write_certificate("certcapture_certificate_pdf")

    def _inverse_certcapture_certificate_filename(self):
        self._certcapture_write_certificate("certcapture_certificate_filename")

    def _inverse_certcapture_certificate_signed_date(self):
        self._certcapture_write_certificate("certcapture_certificate_signed_date")

    def _inverse_certcapture_certificate_expiration_date(self):
        self._certcapture_write_certificate("certcapture_certificate_expiration_date")

    def _inverse_certcapture_exempt_state_id(self):
        self._certcapture_write_certificate("certcapture_exempt_state_id")

    def _certcapture_write_certificate(self, partner_field):
        """What is typed in a certificate field goes to the customer's
        hand-entered certificate of the current company, created on first use.
        A certificate pulled from CertCapture is CertCapture's to change."""
        certificates = self.env["certcapture.certificate"]
        name = CERTIFICATE_FIELDS[partner_field]
        field = certificates._fields[name]
        for partner in self:
            best = partner._certcapture_best_certificate().with_context(bin_size=False)
            value = field.convert_to_write(partner[partner_field], partner)
            if _comparable(value) == _comparable(field.convert_to_write(best[name], best)):
                continue
            if best.certcapture_id:
                raise UserError(
                    _(
                        "The current certificate of %s is in CertCapture: its values change "
                        "there. Add a certificate to enter another one by hand.",
                        partner.display_name,
                    )
                )
            if best:
                best.write({name: value})
            else:
                certificates.create(
                    {
                        name: value,
                        "partner_id": partner.id,
                        "company_id": self.env.company.id,
                        "source": "manual",
                        "exemption_number": partner.certcapture_exemption_number,
                        "exemption_reason_id": partner.certcapture_exemption_reason_id.id,
                    }
                )

    @api.depends(
        "certcapture_is_exempt",
        "certcapture_customer_code",
        "certcapture_certificate_ids.is_current",
        "certcapture_certificate_ids.expiration_date",
        "certcapture_certificate_ids.company_id",
        "certcapture_request_ids.state",
    )
    @api.depends_context("company", "date")
    def _compute_certcapture_certificate_status(self):
        today = fields.Date.context_today(self)
        company = self.env.company
        # Expiring from the first expiry reminder on (the company's setting).
        soon = today + timedelta(days=company._certcapture_expiring_soon_days())
        for partner in self:
            certificates = partner._certcapture_company_certificates()
            current = certificates.filtered("is_current")
            partner.certcapture_active_certificate_count = len(current)
            partner.certcapture_certificate_status_reason = False
            pending = partner.certcapture_request_ids.filtered(
                lambda request: request.state != "completed" and request.company_id == company
            )
            if not partner.certcapture_is_exempt and not certificates:
                partner.certcapture_certificate_status = False
            elif current:
                expiries = [c.expiration_date for c in current if c.expiration_date]
                partner.certcapture_certificate_status = (
                    "expiring" if expiries and max(expiries) <= soon else "valid"
                )
            elif pending:
                partner.certcapture_certificate_status = "pending"
            elif certificates:
                partner.certcapture_certificate_status = "expired"
            elif not partner.certcapture_customer_code:
                partner.certcapture_certificate_status = "unknown"
                partner.certcapture_certificate_status_reason = _(
                    "Not yet in CertCapture: it is checked on the first order."
                )
            else:
                partner.certcapture_certificate_status = "missing"

    @api.constrains("certcapture_ap_email")
    def _check_certcapture_ap_email(self):
        for partner in self:
            if partner.certcapture_ap_email and not normalize_email(partner.certcapture_ap_email):
                raise ValidationError(
                    _(
                        "%(email)s is not a valid A/P email address (customer %(partner)s).",
                        email=partner.certcapture_ap_email,
                        partner=partner.display_name,
                    )
                )

    # ------------------------------------------------------------ coverage

    @api.depends(
        "state_id",
        "name",
        "child_ids.type",
        "child_ids.state_id",
        "child_ids.name",
        "certcapture_certificate_ids.is_state_current",
        "certcapture_certificate_ids.valid",
        "certcapture_certificate_ids.single_use",
        "certcapture_certificate_ids.state_id",
        "certcapture_certificate_ids.expiration_date",
        "certcapture_certificate_ids.exemption_number",
        "certcapture_certificate_ids.company_id",
        "certcapture_request_ids.state",
        "certcapture_request_ids.company_id",
        "certcapture_request_ids.exposure_zone_ids",
    )
    @api.depends_context("company", "date")
    def _compute_certcapture_coverage(self):
        for partner in self:
            lines = partner._certcapture_coverage_lines()
            partner.certcapture_coverage_html = partner._certcapture_coverage_table(lines)
            partner.certcapture_coverage_to_request = any(line["to_request"] for line in lines)

    def _certcapture_delivery_addresses(self):
        """The customer's delivery addresses: its child contacts of type
        delivery, at any depth."""
        addresses = self.browse()
        children = self.child_ids
        while children:
            addresses |= children.filtered(lambda child: child.type == "delivery")
            children = children.child_ids
        return addresses

    def _certcapture_coverage_lines(self):
        """The customer's coverage, one dict per state, by state name:
        ``state``; ``status`` (covered, expiring, expired, pending, missing);
        ``certificate``: the one holding the state, else the best of those
        that do not count (lapsed, invalid, revoked, without PDF);
        ``request``: an open request for the state; ``addresses``: the
        customer's addresses in the state; ``to_request``: whether a request
        should ask for it. Single-use certificates cover one order, not a
        state: they are left out. A customer that is not tax exempt and
        holds no certificate has no coverage to show."""
        self.ensure_one()
        partner = self.commercial_partner_id
        company = self.env.company
        if not (partner.certcapture_is_exempt or partner._certcapture_company_certificates()):
            return []
        today = fields.Date.context_today(self)
        soon = today + timedelta(days=company._certcapture_expiring_soon_days())
        addresses = defaultdict(self.browse)
        for address in partner | partner._certcapture_delivery_addresses():
            if address.state_id and address.state_id.country_id.code == COUNTRY_CODE:
                addresses[address.state_id] |= address
        certificates = partner._certcapture_company_certificates().filtered(
            lambda c: c.state_id and not c.single_use
        )
        requests = partner.certcapture_request_ids.filtered(
            lambda r: r.company_id == company and r.state in OPEN_REQUEST_STATES
        )
        states = self.env["res.country.state"].union(*addresses, certificates.state_id)
        lines = []
        for state in states.sorted("name"):
            of_state = certificates.filtered(lambda c, state=state: c.state_id == state)
            holder = of_state.filtered("is_state_current")[:1]
            request = requests.filtered(
                lambda r, state=state: state in r.exposure_zone_ids.state_id
            ).sorted("id", reverse=True)[:1]
            if holder:
                expires = holder.expiration_date
                status = "expiring" if expires and expires <= soon else "covered"
                certificate = holder
            else:
                # A certificate that does not count (lapsed, invalid, revoked,
                # without its PDF) is shown with the reason.
                certificate = of_state.sorted(lambda c: c._sort_key(), reverse=True)[:1]
                expires = certificate.expiration_date
                lapsed = bool(expires and expires < today)
                status = "pending" if request else "expired" if lapsed else "missing"
            lines.append(
                {
                    "state": state,
                    "status": status,
                    "certificate": certificate,
                    "request": request,
                    "addresses": addresses[state],
                    "to_request": status in STATUSES_TO_REQUEST and not request,
                }
            )
        return lines

    def _certcapture_coverage_table(self, lines):
        """The coverage lines as an HTML table (Markup; False without lines)."""
        if not lines:
            return False
        today = fields.Date.context_today(self)
        labels = {
            "covered": _("Covered"),
            "expiring": _("Expiring"),
            "expired": _("Expired"),
            "pending": _("Request pending"),
            "missing": _("Missing"),
        }
        rows = []
        for line in lines:
            certificate = line["certificate"]
            expires = certificate.expiration_date
            addresses = ", ".join(
                _("Main address")
                if address == self.commercial_partner_id
                else address.name or _("Delivery address")
                for address in line["addresses"]
            )
            rows.append(
                Markup(
                    "<tr><td>{state}</td>"
                    '<td><span class="badge rounded-pill {badge}">{label}</span> '
                    '<span class="text-muted">{detail}</span></td>'
                    "<td>{number}</td><td>{expires}</td><td>{addresses}</td></tr>"
                ).format(
                    state=line["state"].name,
                    badge=STATUS_BADGES[line["status"]],
                    label=labels[line["status"]],
                    detail=self._certcapture_coverage_detail(line, today),
                    number=certificate.exemption_number or certificate.name or "",
                    expires=format_date(self.env, expires) if expires else "",
                    addresses=addresses or "-",
                )
            )
        return Markup(
            '<table class="table table-sm o_certcapture_coverage mb-0"><thead><tr>'
            "<th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            "</tr></thead><tbody>{}</tbody></table>"
        ).format(
            _("State"),
            _("Status"),
            _("Certificate"),
            _("Expires"),
            _("Ships There"),
            Markup("").join(rows),
        )

    def _certcapture_coverage_detail(self, line, today):
        """The words after a coverage line's badge."""
        certificate, request = line["certificate"], line["request"]
        expires = certificate.expiration_date
        status = line["status"]
        if status == "covered":
            if not expires:
                return _("no expiry")
            return _("until %s", format_date(self.env, expires))
        if status == "expiring":
            detail = _(
                "on %(date)s, in %(days)s days",
                date=format_date(self.env, expires),
                days=(expires - today).days,
            )
            if request:
                detail = _(
                    "%(detail)s; requested on %(date)s",
                    detail=detail,
                    date=format_date(self.env, request.create_date),
                )
            return detail
        if status == "pending":
            return _("sent on %s", format_date(self.env, request.create_date))
        if status == "expired":
            return _("on %s", format_date(self.env, expires))
        if not certificate:
            return ""
        # Missing although a certificate names the state: why it does not count.
        if certificate.status == "REVOKED":
            return _("revoked")
        if not certificate.valid:
            return _("not valid")
        return _("no PDF attached")

    # ------------------------------------------------------------ CRUD

    @api.model_create_multi
    def create(self, vals_list):
        self._certcapture_check_code_rights(vals_list)
        partners = super().create(vals_list)
        # A new contact may be its company's first: the customer's contact.
        partners.parent_id._certcapture_payload_changed()
        return partners

    def write(self, vals):
        self._certcapture_check_code_rights([vals])
        former_parents = self.parent_id if "parent_id" in vals else self.browse()
        result = super().write(vals)
        if CUSTOMER_PAYLOAD_FIELDS & vals.keys():
            self._certcapture_payload_changed()
        if CONTACT_PAYLOAD_FIELDS & vals.keys():
            (former_parents | self.parent_id)._certcapture_payload_changed()
        return result

    def unlink(self):
        parents = self.parent_id
        result = super().unlink()
        parents.exists()._certcapture_payload_changed()
        return result

    def _certcapture_payload_changed(self):
        """What CertCapture holds of these customers may be out of date: their
        stored payload hashes go, in every company, so that their next sync
        builds the customer again and sends it. While a hash stays, nothing it
        covers was written and the sync sends nothing without building it (it
        runs on every uncached order check)."""
        customers = self.filtered(lambda p: p.id and p == p.commercial_partner_id)
        if not customers:
            return
        self.flush_model(["certcapture_sync_hash"])
        self.env.cr.execute(
            """UPDATE res_partner SET certcapture_sync_hash = NULL
                WHERE id = ANY(%s) AND certcapture_sync_hash IS NOT NULL""",
            [customers.ids],
        )
        customers.invalidate_recordset(["certcapture_sync_hash"])

    def _certcapture_check_code_rights(self, vals_list):
        if any("certcapture_customer_code" in vals for vals in vals_list) and not (
            self.env.su
            or self.env.user.has_group("certcapture_exemption.group_certcapture_manager")
        ):
            raise AccessError(_("Only CertCapture managers can change customer codes."))

    # ------------------------------------------------------------ CertCapture

    def _certcapture_ensure_customer_code(self):
        """Give the customer its stable code: its reference when no one else
        uses it, else one made from its id. The same partner always gets the
        same code, so a sync lost with a rolled-back transaction finds its
        customer in CertCapture again instead of creating a second one."""
        for partner in self.filtered(lambda p: not p.certcapture_customer_code):
            candidates = [partner.ref] if partner.ref else []
            base = f"CC{partner.id:06d}"
            candidates += [base, *(f"{base}-{n}" for n in range(1, 10))]
            taken = set(
                self.sudo()
                .with_context(active_test=False)
                .search([("certcapture_customer_code", "in", candidates)])
                .mapped("certcapture_customer_code")
            )
            code = next(code for code in candidates if code not in taken)
            partner.sudo().certcapture_customer_code = code

    def _certcapture_covering_certificate(
        self, state, company, on_date, po_number=None, order=None
    ):
        """The best of the customer's certificates of ``company`` that exempts
        a sale delivered to ``state`` on ``on_date`` (see
        certcapture.certificate._certcapture_covers), or an empty recordset."""
        self.ensure_one()
        certificates = self.commercial_partner_id.sudo().certcapture_certificate_ids.filtered(
            lambda c: c.company_id == company
            and c._certcapture_covers(state, on_date, po_number, order)
        )
        return certificates.sorted(lambda c: c._sort_key(), reverse=True)[:1]

    def _certcapture_state_certificates(self, state, company):
        """The customer's current certificates of ``company`` for ``state``,
        with what an order check reads of them, in one query: the check finds
        among them the certificate typed in Odoo and the one CertCapture's
        answer names. Searched, not read from all the customer's
        certificates: it runs on every order check."""
        self.ensure_one()
        return (
            self.env["certcapture.certificate"]
            .sudo()
            .with_company(company)
            .search_fetch(
                [
                    ("partner_id", "=", self.id),
                    ("company_id", "=", company.id),
                    ("state_id", "=", state.id),
                    ("is_current", "=", True),
                ],
                ORDER_CHECK_FIELDS,
            )
        )

    # ------------------------------------------------------------ actions

    def action_certcapture_request_certificate(self):
        self.ensure_one()
        partner = self.commercial_partner_id
        return self.env["certcapture.certificate.request.wizard"]._action_open(
            partner, states=partner.certcapture_exempt_state_id
        )

    def action_certcapture_refresh(self):
        """Pull this customer's certificates now."""
        self.ensure_one()
        try:
            sync = self.env["certcapture.sync"].with_context(certcapture_served=self)
            changed = sync._pull_customer(self.commercial_partner_id, self.env.company)
        except CertCaptureUserError as error:
            return display_notification(_("CertCapture"), str(error.args[0]), "warning")
        if changed is None:
            return display_notification(
                _("CertCapture"),
                _(
                    "Certificates are being pulled from CertCapture right now; this customer's "
                    "come with them. Try again in a minute."
                ),
                "info",
            )
        message = (
            _("New or changed certificates received.")
            if changed
            else _("Nothing new in CertCapture for this customer.")
        )
        return display_notification(_("CertCapture"), message, next_action=soft_reload())

    def action_certcapture_open_web_app(self):
        """The customer's page in Avalara's exemption web app, in a new tab."""
        self.ensure_one()
        if not self.env.user.has_group("certcapture_exemption.group_certcapture_manager"):
            raise AccessError(_("Only CertCapture managers open customers in CertCapture."))
        if not self.certcapture_web_app_url:
            raise UserError(
                _(
                    "%s has no page in CertCapture: it is not there yet, or the environment "
                    "(the custom URL) has no web app.",
                    self.display_name,
                )
            )
        return {
            "type": "ir.actions.act_url",
            "url": self.certcapture_web_app_url,
            "target": "new",
        }

    def action_certcapture_view_certificates(self):
        self.ensure_one()
        partner = self.commercial_partner_id
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "certcapture_exemption.certcapture_certificate_action"
        )
        action["domain"] = [("partner_id", "=", partner.id)]
        action["context"] = {"default_partner_id": partner.id}
        return action

    def action_certcapture_request_missing_states(self):
        """One CertExpress request for every state that is missing or
        lapsing and not requested yet: the request wizard, filled in."""
        self.ensure_one()
        partner = self.commercial_partner_id
        lines = partner._certcapture_coverage_lines()
        states = self.env["res.country.state"].union(
            *(line["state"] for line in lines if line["to_request"])
        )
        if not states:
            return display_notification(
                _("CertCapture"),
                _(
                    "Every state of %s is covered or has a request pending.",
                    partner.display_name,
                ),
                "info",
            )
        return self.env["certcapture.certificate.request.wizard"]._action_open(
            partner, states=states
        )
