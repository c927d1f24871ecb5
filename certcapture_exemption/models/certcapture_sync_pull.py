"""The certificate pull: CertCapture's certificates brought into Odoo.

It works a page at a time. Listing a page of changed certificates (the
company's watermark moves with it) records them at once, the page's
customers, records, zones and reasons read in one query each; the file of
each certificate is left for a second step. That step claims waiting files
with ``FOR UPDATE SKIP LOCKED``, downloads them on a few threads and writes
each once. Any number of cron workers can run the second step side by side
without taking a certificate twice, and a run that stops resumes where the
last commit left it: the watermark for the listing, the waiting flag for the
files.
"""

import base64
import logging
from datetime import datetime

from markupsafe import Markup, escape
from odoo import _, api, models
from psycopg2.errors import UniqueViolation

from ..const import (
    DOWNLOAD_BATCH_SIZE,
    DOWNLOAD_WORKERS,
    PULL_BATCH_SIZE,
    PULL_FAILURE_MAX_ATTEMPTS,
)
from .certcapture_service import JOB_CONTEXT_KEY, CertCaptureUserError
from .certcapture_sync import ITEM_FAULTS, naive_utc

_logger = logging.getLogger(__name__)


class CertCaptureSync(models.AbstractModel):
    _inherit = "certcapture.sync"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------- a page

    @api.model
    def _page_lookups(self, api_certificates):
        """The zones, states and reasons a page of certificates names, read
        once for the page: {"zones": {id: zone}, "states": {(country, region):
        state}, "reasons": {id: reason}}."""
        zones = self.env["certcapture.exposure.zone"].sudo()
        zone_ids = {c.exposure_zone.id for c in api_certificates if c.exposure_zone}
        zones = zones.search([("certcapture_id", "in", list(zone_ids))]) if zone_ids else zones
        by_zone = {zone.certcapture_id: zone for zone in zones}
        # Zones the lists do not have yet are matched on their state's code.
        regions = {
            (c.exposure_zone.country or "US", c.exposure_zone.region)
            for c in api_certificates
            if c.exposure_zone and not by_zone.get(c.exposure_zone.id, zones).state_id
        }
        states = {}
        if regions:
            for state in self.env["res.country.state"].search(
                [
                    ("code", "in", [region for _country, region in regions]),
                    ("country_id.code", "in", [country for country, _region in regions]),
                ]
            ):
                states[(state.country_id.code, state.code)] = state
        Reason = self.env["certcapture.exemption.reason"].sudo().with_context(active_test=False)
        reason_ids = {c.exemption_reason.id for c in api_certificates if c.exemption_reason}
        reasons = {
            reason.certcapture_id: reason
            for reason in (
                Reason.search([("certcapture_id", "in", list(reason_ids))]) if reason_ids else ()
            )
        }
        for api_certificate in api_certificates:
            api_reason = api_certificate.exemption_reason
            if api_reason and api_reason.id not in reasons:
                reasons[api_reason.id] = Reason._from_api(api_reason)
        return {"zones": by_zone, "states": states, "reasons": reasons}

    @api.model
    def _page_partners(self, api_certificates):
        """{customer code: partners} for the customers a page names, in one
        query; codes nobody has are logged and left out (never turned into new
        partners)."""
        codes = {customer.customer_code for c in api_certificates for customer in c.customers} - {
            None,
            "",
        }
        Partner = self.env["res.partner"].sudo()
        partners = (
            Partner.search([("certcapture_customer_code", "in", list(codes))]) if codes else ()
        )
        by_code = {}
        for partner in partners:
            by_code[partner.certcapture_customer_code] = (
                by_code.get(partner.certcapture_customer_code, Partner) | partner
            )
        unknown = codes - set(by_code)
        if unknown:
            _logger.info(
                "CertCapture certificates skipped for unknown customer code(s) %s",
                ", ".join(sorted(unknown)),
            )
        return by_code

    @api.model
    def _ingest_page(self, client, api_certificates, company, partners=None, defer_files=False):
        """Bring a page of API certificates in; returns the partners touched.

        Each certificate goes to the partners of its customers (``partners``
        when given: a customer's own pull). A certificate unchanged since it was
        pulled is left alone. Files: with ``defer_files`` they wait for the
        download step (``_download_waiting_files``), else they are downloaded
        now, on a few threads. A certificate whose file cannot be had is
        recorded as a pull failure, the others go on."""
        Partner = self.env["res.partner"].sudo()
        Certificate = self.env["certcapture.certificate"].sudo().with_company(company)
        if not api_certificates:
            return Partner
        by_code = None if partners is not None else self._page_partners(api_certificates)
        pairs = []  # (api certificate, partner) to take in
        for api_certificate in api_certificates:
            if by_code is None:
                owners = partners
            else:
                owners = Partner.union(
                    *(by_code.get(c.customer_code, Partner) for c in api_certificate.customers)
                )
            pairs.extend((api_certificate, partner) for partner in owners)
        if not pairs:
            return Partner
        existing = {
            (record.certcapture_id, record.partner_id.id): record
            for record in Certificate.with_context(active_test=False, bin_size=True).search(
                [
                    ("company_id", "=", company.id),
                    ("certcapture_id", "in", [c.id for c, _partner in pairs]),
                    ("partner_id", "in", list({partner.id for _c, partner in pairs})),
                ]
            )
        }
        stale = [
            (api_certificate, partner, existing.get((api_certificate.id, partner.id)))
            for api_certificate, partner in pairs
            if not self._already_pulled(
                existing.get((api_certificate.id, partner.id)), api_certificate
            )
        ]
        if not stale:
            return Partner  # pulled before and unchanged since
        lookups = self._page_lookups([c for c, _partner, _record in stale])
        files = {}
        if not defer_files:
            files = self._download_files(
                client, company, {c.id for c, _p, _r in stale if c.document_exists}
            )
            # CertCapture failing as a whole stops the page, as any call does.
            stopped = next(
                (
                    error
                    for error in files.values()
                    if isinstance(error, Exception) and not isinstance(error, ITEM_FAULTS)
                ),
                None,
            )
            if stopped is not None:
                raise stopped
        to_create, taken = [], []
        for api_certificate, partner, record in stale:
            values = self._certificate_values(api_certificate, lookups=lookups)
            pdf = files.get(api_certificate.id)
            if isinstance(pdf, Exception):
                continue  # recorded as a pull failure: the others go on
            values.update(self._file_values(api_certificate, pdf, defer_files))
            if record:
                record.write(values)
            else:
                to_create.append({**values, "partner_id": partner.id, "company_id": company.id})
            taken.append((api_certificate, partner))
        if to_create:
            self._create_certificates(Certificate, to_create)
        if taken:
            self._resolve_pull_failures(company, {c.id for c, _partner in taken})
        changed = Partner.union(*(partner for _c, partner in taken))
        self._note_received(changed, taken, lookups)
        self._certificates_changed(changed, company)
        return changed

    @api.model
    def _already_pulled(self, record, api_certificate):
        """Whether ``record`` holds ``api_certificate`` as it is now (its file
        in, or on its way)."""
        return bool(
            record
            and record.remote_modified_date == naive_utc(api_certificate.modified_date)
            and (record.pdf or record.pdf_waiting or not api_certificate.document_exists)
        )

    @api.model
    def _file_values(self, api_certificate, pdf, defer):
        """The certificate's file fields: the PDF, or the flag that it waits."""
        if not api_certificate.document_exists:
            return {"pdf_waiting": False}
        filename = api_certificate.filename or f"certificate-{api_certificate.id}.pdf"
        if defer:
            return {"pdf_waiting": True, "pdf_filename": filename}
        return {"pdf": base64.b64encode(pdf), "pdf_filename": filename, "pdf_waiting": False}

    @api.model
    def _create_certificates(self, Certificate, vals_list):
        """Create a page's new records in one batch. Should another transaction
        have recorded one of them since (an order check that started before
        the pull), they are created one by one and that one left to it."""
        try:
            with self.env.cr.savepoint():
                return Certificate.create(vals_list)
        except UniqueViolation:
            created = Certificate.browse()
            for values in vals_list:
                try:
                    with self.env.cr.savepoint():
                        created |= Certificate.create(values)
                except UniqueViolation:
                    _logger.info(
                        "CertCapture certificate %s of partner %s recorded by another "
                        "transaction: left to it",
                        values["certcapture_id"],
                        values["partner_id"],
                    )
            return created

    @api.model
    def _note_received(self, partners, taken, lookups):
        """One note per customer for the certificates a page brought it."""
        if not partners:
            return
        lines = {partner.id: [] for partner in partners}
        for api_certificate, partner in taken:
            zone, state = self._zone_and_state(api_certificate, lookups)
            lines[partner.id].append(
                _(
                    "Exemption certificate received from CertCapture: %(state)s, number "
                    "%(number)s, signed %(signed)s, expires %(expires)s.",
                    state=state.name or zone.name or "-",
                    number=api_certificate.exemption_number or "-",
                    signed=api_certificate.signed_date or "-",
                    expires=api_certificate.expiration_date or "-",
                )
            )
        partners.sudo()._message_log_batch(
            bodies={
                partner_id: Markup("<br/>").join(escape(line) for line in partner_lines)
                for partner_id, partner_lines in lines.items()
            }
        )

    # ------------------------------------------------------------- files

    @api.model
    def _download_files(self, client, company, certificate_ids, workers=DOWNLOAD_WORKERS):
        """{certificate id: PDF bytes, or the error that kept it away} for
        these certificates, downloaded on up to ``workers`` threads. An item
        fault (its file) is recorded as a pull failure; what any other error
        means (CertCapture down, refusing) is the caller's to decide."""
        ids = sorted(certificate_ids)
        results = self._service()._concurrently(
            company, client, ids, lambda worker, i: worker.download_certificate_pdf(i), workers
        )
        for certificate_id, result in zip(ids, results, strict=True):
            if isinstance(result, ITEM_FAULTS):
                self._record_pull_failure(company, {"id": certificate_id}, result)
        return dict(zip(ids, results, strict=True))

    @api.model
    def _claim_waiting_files(self, company, limit):
        """Certificates of the company whose file waits, locked for this
        transaction; those another worker holds are skipped, not waited for."""
        self.env["certcapture.certificate"].flush_model(["pdf_waiting", "company_id"])
        self.env.cr.execute(
            """SELECT id FROM certcapture_certificate
                WHERE company_id = %s AND pdf_waiting
                ORDER BY id LIMIT %s
                  FOR UPDATE SKIP LOCKED""",
            (company.id, limit),
        )
        return (
            self.env["certcapture.certificate"]
            .sudo()
            .browse([row[0] for row in self.env.cr.fetchall()])
        )

    @api.model
    def _files_waiting(self, company):
        """Whether files of the company still wait (claimed by others or not)."""
        self.env["certcapture.certificate"].flush_model(["pdf_waiting", "company_id"])
        self.env.cr.execute(
            """SELECT EXISTS (SELECT 1 FROM certcapture_certificate
                               WHERE company_id = %s AND pdf_waiting)""",
            (company.id,),
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _download_waiting_files(self, company, limit=DOWNLOAD_BATCH_SIZE):
        """Download up to ``limit`` waiting files of the company and write each
        once. Returns how many were done (written, or recorded as failures).
        When CertCapture fails as a whole (down, refusing), what was
        downloaded is kept and the rest waits for the next run."""
        records = self._claim_waiting_files(company, limit)
        if not records:
            return 0
        by_remote = {}
        for record in records:
            by_remote.setdefault(record.certcapture_id, []).append(record)
        done = 0
        with self._service()._session(company) as client:
            files = self._download_files(client, company, by_remote)
        stopped = None
        for certificate_id, holders in by_remote.items():
            result = files[certificate_id]
            if isinstance(result, ITEM_FAULTS):
                for record in holders:
                    record.write({"pdf_waiting": False})
            elif isinstance(result, Exception):
                stopped = stopped or result
                continue
            else:
                for record in holders:
                    record.write(
                        {
                            "pdf": base64.b64encode(result),
                            "pdf_filename": record.pdf_filename
                            or f"certificate-{certificate_id}.pdf",
                            "pdf_waiting": False,
                        }
                    )
            done += len(holders)
        # The files are in the database now: not kept in memory as well.
        records.invalidate_recordset(["pdf"])
        if stopped is not None:
            _logger.warning(
                "CertCapture files of company %s: stopped after %s, the rest waits: %s",
                company.id,
                done,
                stopped,
            )
        return done

    # ------------------------------------------------------------- the listing

    @api.model
    def _pull_company_batch(self, company, batch_size=PULL_BATCH_SIZE):
        """List the next page of certificates changed since the company's
        watermark and record them (their files wait for the download step).
        Returns (certificates listed, whether more remain).

        The watermark only moves once the whole page is in, and a page never
        ends between two certificates of the same modification time, so a
        failure or a restart resumes exactly where the last success ended. A
        certificate that cannot be read is recorded as a pull failure and
        skipped; it does not hold the others back."""
        company = company.sudo()
        batch, more, unreadable = [], False, []
        watermark = company.certcapture_pull_watermark
        since = datetime.fromisoformat(watermark) if watermark else None
        # AvaTax stamps to the 100 ns, Python and the filter to the
        # microsecond: the certificates of the watermark's microsecond come
        # back once more. Those already taken in are known by id and skipped,
        # so that nothing is taken twice and nothing of that moment is lost.
        seen = {int(i) for i in (company.certcapture_pull_watermark_ids or "").split(",") if i}
        # A page of ``batch_size`` is one call, and its last certificate tells
        # whether the batch may end before it (a batch never ends inside a
        # moment): the batch is the rest of the page (and the ties of its last
        # moment, rarely on the next page), so that it costs one listing call.
        with self._service()._session(company) as client:
            for position, api_certificate in enumerate(
                client.iter_certificates_changed_since(
                    since,
                    page_size=batch_size,
                    on_unreadable=lambda raw, error: unreadable.append((raw, error)),
                ),
                1,
            ):
                if api_certificate.id in seen and api_certificate.modified_date == since:
                    continue
                if (
                    position >= batch_size
                    and batch
                    and api_certificate.modified_date != batch[-1].modified_date
                ):
                    more = True
                    break
                batch.append(api_certificate)
            for raw, error in unreadable:
                self._record_pull_failure(company, raw, error)
            self._ingest_page(client, batch, company, defer_files=True)
        if batch and batch[-1].modified_date:
            last = batch[-1].modified_date
            at_last = {c.id for c in batch if c.modified_date == last}
            if last == since:
                at_last |= seen
            company.write(
                {
                    "certcapture_pull_watermark": last.isoformat(),
                    "certcapture_pull_watermark_ids": ",".join(map(str, sorted(at_last))),
                }
            )
        return len(batch) + len(unreadable), more

    @api.model
    def _retry_pull_failures(self, company, failures=None, limit=20):
        """Try again the certificates earlier pulls had to skip."""
        if failures is None:
            failures = (
                self.env["certcapture.pull.failure"]
                .sudo()
                .search(
                    [
                        ("company_id", "=", company.id),
                        ("state", "=", "open"),
                        ("attempts", "<", PULL_FAILURE_MAX_ATTEMPTS),
                    ],
                    limit=limit,
                    order="last_attempt, id",
                )
            )
        if not failures:
            return 0
        found = []
        with self._service()._session(company) as client:
            for failure in failures.sudo():
                try:
                    found.append(client.get_certificate(failure.certcapture_id))
                except ITEM_FAULTS as error:
                    self._record_pull_failure(company, {"id": failure.certcapture_id}, error)
            # A record whose file could not be had is there without it: taken
            # in again, file included.
            self._ingest_page(client, found, company)
        return len(failures.filtered(lambda failure: failure.state == "resolved"))

    @api.model
    def _pull_customer(self, partner, company):
        """Bring in every certificate CertCapture holds for one customer, files
        included; returns the partners whose certificates changed, or None when
        another pull of the company is listing (it brings them in)."""
        partner = partner.commercial_partner_id.sudo()
        Partner = self.env["res.partner"].sudo()
        if not partner.certcapture_customer_code:
            return Partner
        if not self._try_pull_lock(company):
            return None
        with self._service()._session(company) as client:
            certificates = self._for_customer(
                client,
                partner,
                company,
                lambda code: list(client.iter_customer_certificates(code)),
            )
            return self._ingest_page(client, certificates, company, partners=partner)

    # ------------------------------------------------------------- the jobs

    @api.model
    def _cron_pull_certificates(self, batch_size=PULL_BATCH_SIZE):
        """Scheduled job: for every company, list the next page of changed
        certificates (one worker at a time per company), then download waiting
        files (any number of workers at once); follow pending requests. Odoo's
        cron runner commits after each call and calls again while progress
        remains; the download job shares the files with it. Returns the
        certificates taken in (listed, or retried after a failure)."""
        sync = self.with_context(**{JOB_CONTEXT_KEY: True})
        taken = files = 0
        more = False
        companies = sync.env["res.company"].sudo().search([("certcapture_enabled", "=", True)])
        for company in companies:
            company_more = False
            if sync._try_pull_lock(company):
                try:
                    with sync.env.cr.savepoint():
                        count, company_more = sync._pull_company_batch(company, batch_size)
                        taken += count
                except CertCaptureUserError as error:
                    _logger.warning("CertCapture pull for company %s failed: %s", company.id, error)
                    continue
            else:
                _logger.info(
                    "CertCapture pull for company %s already listing: files only", company.id
                )
            company_files, files_more = sync._download_company_files(company, batch_size)
            files += company_files
            if not (company_more or files_more):
                taken += sync._finish_company_pull(company)
            more = more or company_more or files_more
        download_job = sync.env.ref(
            "certcapture_exemption.ir_cron_certcapture_download_files", raise_if_not_found=False
        )
        if more and download_job:
            # Another worker shares the files while this one lists.
            download_job._trigger()
        if not more:
            # Once per run, not once per page of a long pull.
            sync._follow_pending_requests()
            sync._reevaluate_lapsed_coverage()
        sync.env["ir.cron"]._notify_progress(done=taken + files, remaining=1 if more else 0)
        return taken

    @api.model
    def _cron_download_certificate_files(self, batch_size=DOWNLOAD_BATCH_SIZE):
        """Scheduled job: download the waiting certificate files of every
        company. Several workers may run it (and the pull job) at once: each
        takes files the others do not hold."""
        sync = self.with_context(**{JOB_CONTEXT_KEY: True})
        done, more = 0, False
        for company in sync.env["res.company"].sudo().search([("certcapture_enabled", "=", True)]):
            files, files_more = sync._download_company_files(company, batch_size)
            done += files
            more = more or files_more
        sync.env["ir.cron"]._notify_progress(done=done, remaining=1 if more else 0)
        return done

    @api.model
    def _download_company_files(self, company, limit):
        """(files done, whether files still wait) for one company; a failure of
        CertCapture as a whole is logged and left to the next run."""
        try:
            with self.env.cr.savepoint():
                count = self._download_waiting_files(company, limit)
        except CertCaptureUserError as error:
            _logger.warning("CertCapture files of company %s failed: %s", company.id, error)
            return 0, False
        return count, bool(count) and self._files_waiting(company)

    @api.model
    def _finish_company_pull(self, company):
        """Once the listing and the files are through: the certificates earlier
        runs had to skip, and the hand-entered ones to send."""
        try:
            with self.env.cr.savepoint():
                return self._retry_pull_failures(company) + self._push_manual_certificates(
                    company=company
                )
        except CertCaptureUserError as error:
            _logger.warning("CertCapture pull for company %s failed: %s", company.id, error)
            return 0
