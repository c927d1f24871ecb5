"""The certificates' expiry: reminders to the salesperson, renewal requests.

The daily job looks at the certificates that hold their state for their
customer (``certcapture.certificate.is_state_current``: a certificate
replaced by a later one for the same state is history and is left alone):

- **reminders**: when a certificate enters one of the company's reminder
  windows ("90,60,30" days before expiry by default), the customer's
  salesperson gets a to-do on the customer. The windows announced are kept
  on the certificate, so a rerun announces nothing twice; a certificate first
  seen inside the 30-day window gets the 30-day reminder only. A newer
  reminder replaces the certificate's earlier one if still open (one to-do
  per certificate, the most urgent), and a reminder whose certificate was
  replaced by a later one is marked done.
- **renewals** (a company setting, off by default): N days before expiry the
  customer is emailed one CertExpress request for all its states about to
  lapse, through ``_send_request``; the request is kept on the certificates,
  so it goes once. A customer that cannot be asked yet (no valid A/P email,
  incomplete address, a request for the state still open) gets a chatter
  note saying why, once per reason, and is tried again the next day.

One call handles a batch; Odoo's cron runner commits and calls again while
work remains (``ir.cron._notify_progress``). What a call did is recorded on
the certificates in the same transaction, so a failure resumes where the last
committed batch ended.
"""

import logging
from datetime import timedelta

from markupsafe import Markup, escape
from odoo import _, api, fields, models
from odoo.tools import format_date

from .. import ecm
from ..const import EXPIRY_BATCH_SIZE, OPEN_REQUEST_STATES
from .certcapture_service import JOB_CONTEXT_KEY, CertCaptureUserError

_logger = logging.getLogger(__name__)

# Failures that belong to one customer (CertCapture refuses its data, or lost
# it): noted on the customer, the others go on. Any other failure
# (CertCapture down, credentials, rate limiting) stops the company's renewals
# until the next run.
CUSTOMER_FAULTS = (ecm.ValidationError, ecm.NotFoundError)


def parse_windows(text):
    """The windows a certificate's ``expiry_reminder_windows`` names."""
    return {int(part) for part in (text or "").split(",") if part.strip().isdigit()}


class CertCaptureSync(models.AbstractModel):
    # The engines of certcapture.sync are split by concern (this file:
    # certificate expiry), each file readable on its own, as _portal and _bulk.
    _inherit = "certcapture.sync"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _cron_certificate_expiry(self, batch_size=EXPIRY_BATCH_SIZE):
        """Scheduled job (daily): expiry reminders, then automatic renewal
        requests, for every company with CertCapture enabled. Returns how many
        certificates (reminders) and customers (renewals) were handled."""
        sync = self.with_context(**{JOB_CONTEXT_KEY: True})
        today = fields.Date.context_today(sync)
        companies = sync.env["res.company"].sudo().search([("certcapture_enabled", "=", True)])
        for company in companies:
            sync._close_replaced_reminders(company)

        due = [item for company in companies for item in sync._due_reminders(company, today)]
        for certificate, window in due[:batch_size]:
            sync._remind_expiry(certificate, window, today)
        done = min(len(due), batch_size)
        remaining = len(due) - done

        budget = batch_size
        for company in companies.filtered("certcapture_auto_renewal"):
            groups = sync._due_renewals(company, today)
            handled = 0
            for partner, certificates in groups[:budget]:
                if not sync._renew(partner, certificates, company):
                    break  # CertCapture cannot be reached: the next run tries again
                handled += 1
            else:
                remaining += len(groups) - handled
            done += handled
            budget -= handled
        sync.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done

    # ------------------------------------------------------------- reminders

    @api.model
    def _expiring_certificates(self, company, today, days):
        """The company's certificates that hold their state and expire within
        ``days``, of customers still active and exempt, soonest first."""
        return (
            self.env["certcapture.certificate"]
            .sudo()
            .search(
                [
                    ("company_id", "=", company.id),
                    ("is_state_current", "=", True),
                    ("expiration_date", "!=", False),
                    ("expiration_date", "<=", today + timedelta(days=days)),
                    ("partner_id.active", "=", True),
                    ("partner_id.certcapture_is_exempt", "=", True),
                ],
                order="expiration_date, id",
            )
        )

    @api.model
    def _due_reminders(self, company, today):
        """(certificate, window) of the reminders to announce: the smallest
        window a certificate is in, when it was not announced yet."""
        windows = company._certcapture_expiry_windows()
        if not windows:
            return []
        due = []
        for certificate in self._expiring_certificates(company, today, windows[0]):
            days_left = (certificate.expiration_date - today).days
            window = min(w for w in windows if days_left <= w)
            if window not in parse_windows(certificate.expiry_reminder_windows):
                due.append((certificate, window))
        return due

    @api.model
    def _expiry_responsible(self, partner, company):
        """Who is reminded: the customer's salesperson, else the company's
        CertCapture responsible, else the administrator; each only if an
        active internal user of the company."""
        candidates = (
            partner.user_id,
            company.certcapture_responsible_user_id,
            self.env.ref("base.user_admin", raise_if_not_found=False),
        )
        for user in candidates:
            user = (user or self.env["res.users"]).sudo()
            if user.active and not user.share and company in user.company_ids:
                return user
        return self.env.user

    @api.model
    def _remind_expiry(self, certificate, window, today):
        """Plan the to-do of ``window`` for ``certificate``'s salesperson on
        the customer, and remember the window (and the larger ones it passed)."""
        company = certificate.company_id
        partner = certificate.partner_id
        user = self._expiry_responsible(partner, company)
        # Written in the language of the person who reads them.
        texts = self.with_context(lang=user.lang or self.env.lang)
        summary, note = texts._expiry_reminder_texts(certificate, today)
        # One to-do per certificate: the more urgent one replaces the earlier.
        certificate.expiry_activity_id.sudo().unlink()
        activity = partner.sudo().activity_schedule(
            "mail.mail_activity_data_todo",
            date_deadline=today,
            summary=summary,
            note=note,
            user_id=user.id,
        )
        passed = {w for w in company._certcapture_expiry_windows() if w >= window}
        announced = parse_windows(certificate.expiry_reminder_windows) | passed
        certificate.sudo().write(
            {
                "expiry_reminder_windows": ",".join(map(str, sorted(announced, reverse=True))),
                "expiry_activity_id": activity.id,
            }
        )
        return activity

    @api.model
    def _expiry_reminder_texts(self, certificate, today):
        """(summary, HTML note) of a certificate's expiry reminder."""
        days_left = (certificate.expiration_date - today).days
        state = certificate.state_id.name or certificate.exposure_zone_id.name or "-"
        date = format_date(self.env, certificate.expiration_date)
        if days_left == 0:
            summary = _(
                "Exemption certificate expires today: %(state)s, %(date)s", state=state, date=date
            )
        elif days_left == 1:
            summary = _(
                "Exemption certificate expires tomorrow: %(state)s, %(date)s",
                state=state,
                date=date,
            )
        else:
            summary = _(
                "Exemption certificate expires in %(days)s days: %(state)s, %(date)s",
                days=days_left,
                state=state,
                date=date,
            )
        # A note is HTML: names and numbers are text and stay text.
        paragraphs = [
            _(
                "The exemption certificate %(number)s of %(partner)s for %(state)s expires on "
                "%(date)s.",
                number=escape(certificate.exemption_number or certificate.name or "-"),
                partner=escape(certificate.partner_id.display_name),
                state=escape(state),
                date=escape(date),
            ),
            _(
                "Ask the customer for a new certificate: Request certificate on its Tax "
                "Exemption tab, where the coverage by state shows every state to renew."
            ),
        ]
        company = certificate.company_id.sudo()
        if certificate.renewal_request_id:
            paragraphs.append(
                _(
                    "A renewal request was sent to the customer on %s.",
                    escape(format_date(self.env, certificate.renewal_request_id.create_date)),
                )
            )
        elif company.certcapture_auto_renewal:
            paragraphs.append(
                _(
                    "The renewal request is emailed to the customer automatically %s days "
                    "before expiry.",
                    company.certcapture_auto_renewal_days,
                )
            )
        # Markup escapes the plain-text paragraphs; those with escaped values
        # come back from _() as Markup.
        note = Markup("").join(Markup("<p>%s</p>") % text for text in paragraphs)
        return summary, note

    @api.model
    def _close_replaced_reminders(self, company):
        """Reminders of certificates a later one replaced are done: the
        customer renewed."""
        certificates = self.env["certcapture.certificate"].sudo()
        reminded = certificates.search(
            [
                ("company_id", "=", company.id),
                ("expiry_activity_id", "!=", False),
                ("is_state_current", "=", False),
            ]
        )
        for certificate in reminded:
            successor = certificates.search(
                [
                    ("company_id", "=", company.id),
                    ("partner_id", "=", certificate.partner_id.id),
                    ("state_id", "=", certificate.state_id.id),
                    ("is_state_current", "=", True),
                ],
                limit=1,
            )
            if not (successor and certificate.state_id):
                continue  # lapsed without a successor: the reminder stays
            activity = certificate.expiry_activity_id
            certificate.expiry_activity_id = False
            if activity.active:
                activity.action_feedback(
                    feedback=_(
                        "Renewed: certificate %(name)s, valid until %(date)s.",
                        name=successor.exemption_number or successor.name,
                        date=format_date(self.env, successor.expiration_date)
                        if successor.expiration_date
                        else _("no expiry"),
                    )
                )

    # ------------------------------------------------------------- renewals

    @api.model
    def _due_renewals(self, company, today):
        """[(customer, certificates)] whose renewal request is due: holding
        their state, expiring within the company's renewal days, without a
        renewal request, not tried yet today; soonest first."""
        certificates = self._expiring_certificates(
            company, today, company.certcapture_auto_renewal_days
        ).filtered(
            lambda c: not c.renewal_request_id
            and not (c.renewal_tried_on and c.renewal_tried_on >= today)
        )
        return list(certificates.grouped("partner_id").items())

    @api.model
    def _renew(self, partner, certificates, company):
        """Send one customer the renewal request for its certificates about
        to lapse. Returns False when CertCapture could not be reached (the
        company's other renewals wait for the next run), True otherwise."""
        certificates.write({"renewal_tried_on": fields.Date.context_today(self)})
        recipient = partner._certcapture_request_recipient()
        missing = partner._certcapture_missing_address_fields()
        if not recipient:
            return self._renewal_not_sent(
                partner, certificates, _("the customer has no valid A/P email address")
            )
        if missing:
            return self._renewal_not_sent(
                partner,
                certificates,
                _("CertCapture needs the customer's full address: add %s", ", ".join(missing)),
            )
        open_requests = (
            self.env["certcapture.certificate.request"]
            .sudo()
            .search(
                [
                    ("partner_id", "=", partner.id),
                    ("company_id", "=", company.id),
                    ("state", "in", OPEN_REQUEST_STATES),
                ]
            )
        )
        to_send, zones = certificates.browse(), self.env["certcapture.exposure.zone"]
        for certificate in certificates:
            zone = certificate.exposure_zone_id or self._zone_for(certificate.state_id)
            pending = open_requests.filtered(lambda r, zone=zone: zone in r.exposure_zone_ids)
            if not zone:
                self._renewal_not_sent(
                    partner,
                    certificate,
                    _("its state has no exposure zone (Refresh lists in Settings)"),
                )
            elif pending:
                self._renewal_not_sent(
                    partner,
                    certificate,
                    _(
                        "a certificate request sent on %s is still open",
                        format_date(self.env, pending[0].create_date),
                    ),
                )
            else:
                to_send |= certificate
                zones |= zone
        if not to_send:
            return True
        reasons = to_send.exemption_reason_id or partner.certcapture_exemption_reason_id
        try:
            with self.env.cr.savepoint():
                request, outcome = self._send_request(partner, company, recipient, zones, reasons)
        except CertCaptureUserError as error:
            if not isinstance(error.error, CUSTOMER_FAULTS):
                _logger.warning(
                    "CertCapture renewal requests of company %s stopped: %s", company.id, error
                )
                return False
            return self._renewal_not_sent(
                partner, to_send, _("CertCapture refused it: %s", error.args[0])
            )
        states = self._renewal_states(to_send)
        if outcome == "unconfirmed":
            return self._renewal_not_sent(
                partner,
                to_send,
                _("CertCapture did not confirm it; the next run checks whether it arrived"),
            )
        to_send.write({"renewal_request_id": request.id, "renewal_problem": False})
        expiries = ", ".join(
            sorted({format_date(self.env, date) for date in to_send.mapped("expiration_date")})
        )
        if outcome == "found":
            body = _(
                "Renewal request for %(states)s: CertCapture already had it (CertCapture "
                "request %(id)s); it was not sent twice. The certificates expire on %(dates)s.",
                states=states,
                id=request.certcapture_id,
                dates=expiries,
            )
        else:
            body = _(
                "Renewal request sent automatically to %(recipient)s for %(states)s "
                "(CertCapture request %(id)s): the certificates expire on %(dates)s.",
                recipient=recipient,
                states=states,
                id=request.certcapture_id,
                dates=expiries,
            )
        self._note(partner, body)
        return True

    @api.model
    def _renewal_states(self, certificates):
        return ", ".join(
            sorted({c.state_id.name or c.exposure_zone_id.name or "-" for c in certificates})
        )

    @api.model
    def _renewal_not_sent(self, partner, certificates, reason):
        """Remember why these certificates' renewal request could not go, and
        say so in the customer's chatter once per reason (the job tries again
        daily). Returns True: the job goes on."""
        changed = certificates.filtered(lambda c: c.renewal_problem != reason)
        if changed:
            changed.write({"renewal_problem": reason})
            self._note(
                partner,
                _(
                    "Renewal request for %(states)s not sent automatically: %(reason)s.",
                    states=self._renewal_states(changed),
                    reason=reason,
                ),
            )
        return True
