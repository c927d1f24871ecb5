from datetime import timedelta

from odoo import api, fields, models


class CertCaptureStatusCache(models.Model):
    """CertCapture's last answer on whether a customer is exempt in a state.

    It keeps an order in steady state to at most one API round trip: orders
    for the same customer and state reuse it until it is older than the
    company's cache time, or until certificates are pulled or a request is sent
    for the customer (both clear it)."""

    _name = "certcapture.status.cache"
    _description = "CertCapture Exemption Status Cache"

    partner_id = fields.Many2one("res.partner", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one("res.company", required=True, ondelete="cascade")
    state_id = fields.Many2one("res.country.state", required=True, ondelete="cascade")
    status = fields.Selection([("exempt", "Exempt"), ("missing", "Not exempt")], required=True)
    certificate_id = fields.Many2one("certcapture.certificate", ondelete="set null")
    checked_at = fields.Datetime(required=True)

    _sql_constraints = [
        ("key_unique", "unique(partner_id, company_id, state_id)", "One answer per key."),
    ]

    def _domain(self, partner, company, state):
        return [
            ("partner_id", "=", partner.commercial_partner_id.id),
            ("company_id", "=", company.id),
            ("state_id", "=", state.id),
        ]

    @api.model
    def _lookup(self, partner, company, state):
        minutes = company.sudo().certcapture_status_cache_minutes
        if minutes <= 0:
            return self
        fresh_since = fields.Datetime.now() - timedelta(minutes=minutes)
        return self.search_fetch(
            [*self._domain(partner, company, state), ("checked_at", ">=", fresh_since)],
            ["status", "certificate_id"],
            limit=1,
        )

    @api.model
    def _store(self, partner, company, state, status, certificate):
        if company.sudo().certcapture_status_cache_minutes <= 0:
            return  # no cache: nobody would read it
        # An upsert, so two orders checked at once for the same customer
        # cannot make each other fail on the unique key.
        self.flush_model()
        self.env.cr.execute(
            """
            INSERT INTO certcapture_status_cache
                (partner_id, company_id, state_id, status, certificate_id, checked_at,
                 create_uid, write_uid, create_date, write_date)
            VALUES (%(partner)s, %(company)s, %(state)s, %(status)s, %(certificate)s,
                    %(now)s, %(uid)s, %(uid)s, %(now)s, %(now)s)
            ON CONFLICT (partner_id, company_id, state_id) DO UPDATE
               SET status = EXCLUDED.status, certificate_id = EXCLUDED.certificate_id,
                   checked_at = EXCLUDED.checked_at, write_uid = EXCLUDED.write_uid,
                   write_date = EXCLUDED.write_date
            """,
            {
                "partner": partner.commercial_partner_id.id,
                "company": company.id,
                "state": state.id,
                "status": status,
                "certificate": certificate.id or None,
                "now": fields.Datetime.now(),
                "uid": self.env.uid,
            },
        )
        self.invalidate_model()

    @api.model
    def _invalidate(self, partners):
        self.search([("partner_id", "in", partners.commercial_partner_id.ids)]).unlink()
