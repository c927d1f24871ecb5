"""Bulk work on a large selection of customers, done in the background.

A job is created by the bulk action wizard for a selection too large to run
while the user waits. The scheduled job "CertCapture: bulk jobs" handles one
batch per call with Odoo 18's batched cron protocol (``_notify_progress``):
the runner commits after each call and calls again while work remains, so a
failure loses one batch at most and the job resumes where it stopped. It is
triggered when a job is created (``ir.cron._trigger``), and again at the time
a job waiting for CertCapture is due. The user who asked is told when it is
done by a notification in the web client (the bus's ``simple_notification``);
the job keeps the result.
"""

import logging
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..const import (
    BULK_BATCH_SIZES,
    BULK_JOB_MAX_ATTEMPTS,
    BULK_KINDS,
    BULK_RETRY_FIRST_MINUTES,
    BULK_RETRY_MAX_MINUTES,
)
from .certcapture_service import JOB_CONTEXT_KEY
from .certcapture_sync_bulk import merge_details

_logger = logging.getLogger(__name__)

# pg_try_advisory_xact_lock(namespace, job id): one batch of a job at a time,
# whoever runs it (the cron worker, a manual run of the scheduled job).
BULK_LOCK_NAMESPACE = 0x4343424B  # "CCBK"

ACTIVE_STATES = ("queued", "running", "waiting")


class CertCaptureBulkJob(models.Model):
    _name = "certcapture.bulk.job"
    _description = "CertCapture Bulk Job"
    _order = "id desc"

    name = fields.Char(compute="_compute_name")
    kind = fields.Selection(BULK_KINDS, "Action", required=True, readonly=True)
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company
    )
    user_id = fields.Many2one(
        "res.users",
        "Requested By",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
        default=lambda self: self.env.user,
    )
    partner_ids = fields.Many2many(
        "res.partner",
        "certcapture_bulk_job_partner_rel",
        "job_id",
        "partner_id",
        "Selected Customers",
        readonly=True,
    )
    todo_partner_ids = fields.Many2many(
        "res.partner",
        "certcapture_bulk_job_todo_rel",
        "job_id",
        "partner_id",
        "Customers Still to Do",
        readonly=True,
    )
    # Certificate requests only: empty means each customer's own.
    exposure_zone_ids = fields.Many2many(
        "certcapture.exposure.zone",
        "certcapture_bulk_job_zone_rel",
        "job_id",
        "zone_id",
        "States",
        readonly=True,
    )
    exemption_reason_ids = fields.Many2many(
        "certcapture.exemption.reason",
        "certcapture_bulk_job_reason_rel",
        "job_id",
        "reason_id",
        "Exemption Reasons",
        readonly=True,
    )
    state = fields.Selection(
        [
            ("queued", "Queued"),
            ("running", "In progress"),
            ("waiting", "Waiting for CertCapture"),
            ("done", "Done"),
            ("failed", "Failed"),
            ("cancelled", "Cancelled"),
        ],
        default="queued",
        required=True,
        readonly=True,
        index=True,
    )
    total_count = fields.Integer("Customers", readonly=True)
    done_count = fields.Integer("Done", readonly=True)
    skipped_count = fields.Integer("Skipped", readonly=True)
    failed_count = fields.Integer("Failed", readonly=True)
    progress = fields.Float(compute="_compute_progress")
    skipped_partner_ids = fields.Many2many(
        "res.partner",
        "certcapture_bulk_job_skipped_rel",
        "job_id",
        "partner_id",
        "Skipped Customers",
        readonly=True,
    )
    failed_partner_ids = fields.Many2many(
        "res.partner",
        "certcapture_bulk_job_failed_rel",
        "job_id",
        "partner_id",
        "Failed Customers",
        readonly=True,
    )
    # BulkOutcome.details() summed over the batches (see certcapture_sync_bulk).
    details = fields.Json(readonly=True)
    result_message = fields.Text("Result", readonly=True)
    last_error = fields.Char(readonly=True)
    attempt_count = fields.Integer("Failed Attempts", readonly=True)
    next_try_at = fields.Datetime("Next Try", readonly=True)
    last_run_at = fields.Datetime("Last Run", readonly=True)
    date_done = fields.Datetime("Finished", readonly=True)

    @api.depends("kind", "total_count")
    def _compute_name(self):
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        for job in self:
            job.name = _(
                "%(action)s: %(count)s customers", action=kinds.get(job.kind), count=job.total_count
            )

    @api.depends("total_count", "done_count", "skipped_count", "failed_count")
    def _compute_progress(self):
        for job in self:
            handled = job.done_count + job.skipped_count + job.failed_count
            job.progress = 100.0 * handled / job.total_count if job.total_count else 100.0

    # ------------------------------------------------------------ queueing

    @api.model
    def _queue(self, kind, partners, company, zones=None, reasons=None):
        """A job for ``partners`` (customers, deduplicated), started at once
        in the background. Returns it."""
        job = self.create(
            {
                "kind": kind,
                "company_id": company.id,
                "partner_ids": [fields.Command.set(partners.ids)],
                "todo_partner_ids": [fields.Command.set(partners.ids)],
                "total_count": len(partners),
                "exposure_zone_ids": [fields.Command.set(zones.ids if zones else [])],
                "exemption_reason_ids": [fields.Command.set(reasons.ids if reasons else [])],
            }
        )
        self._cron()._trigger()
        return job

    @api.model
    def _cron(self):
        return self.env.ref("certcapture_exemption.ir_cron_certcapture_bulk_jobs").sudo()

    def action_cancel(self):
        """Stop a job that has not finished: the customers not yet reached are
        left as they are."""
        for job in self.filtered(lambda j: j.state in ACTIVE_STATES):
            job._lock_or_busy()
            job.sudo().write(
                {"state": "cancelled", "next_try_at": False, "date_done": fields.Datetime.now()}
            )
        return True

    def _lock_or_busy(self):
        if not self._try_lock():
            raise UserError(_("This job is being processed right now: try again in a minute."))

    # ------------------------------------------------------------ processing

    def _try_lock(self):
        self.ensure_one()
        self.env.cr.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", (BULK_LOCK_NAMESPACE, self.id)
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _due_domain(self):
        return [
            ("state", "in", ACTIVE_STATES),
            "|",
            ("next_try_at", "=", False),
            ("next_try_at", "<=", fields.Datetime.now()),
        ]

    @api.model
    def _cron_process_jobs(self):
        """Scheduled job: one batch of the job whose turn it is (the one least
        recently worked on, so that a large job does not hold the others
        back). Odoo's cron runner commits after the call and calls again while
        work remains."""
        jobs = self.sudo().search(self._due_domain(), order="last_run_at asc nulls first, id")
        processed = 0
        for job in jobs:
            if not job._try_lock():
                _logger.info(
                    "CertCapture bulk job %s is being processed elsewhere: skipped", job.id
                )
                continue
            processed = job._process_batch_safely()
            if processed:
                break
        # Jobs that wait for CertCapture are not counted: the runner must not
        # call again at once for them (their trigger is set at their time).
        remaining = sum(len(job.todo_partner_ids) for job in self.sudo().search(self._due_domain()))
        self.env["ir.cron"]._notify_progress(done=processed, remaining=remaining)
        return processed

    def _process_batch_safely(self):
        """``_process_batch``, with any failure of the batch undone and
        counted against the job: a job that cannot go on neither blocks the
        others nor gets the scheduled job deactivated by Odoo."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                return self._process_batch()
        except Exception as error:  # whatever it is: recorded on the job, tried again later
            _logger.exception("CertCapture bulk job %s failed", self.id)
            self._retry_later(str(error) or type(error).__name__)
            return 0

    def _process_batch(self):
        """Handle the next batch of customers; returns how many were handled."""
        self.ensure_one()
        batch = self.todo_partner_ids.sorted("id")[: BULK_BATCH_SIZES[self.kind]]
        if not batch:
            self._finish()
            return 0
        user = self.user_id
        # As the user who asked (records they create are theirs, messages in
        # their language), in the job's company, without a time budget.
        sync = (
            self.env["certcapture.sync"]
            .with_user(user)
            .with_company(self.company_id)
            .with_context(lang=user.lang, **{JOB_CONTEXT_KEY: True})
        )
        outcome = sync._bulk_run(
            self.kind,
            batch.with_env(sync.env),
            self.company_id.with_env(sync.env),
            zones=self.exposure_zone_ids.with_env(sync.env),
            reasons=self.exemption_reason_ids.with_env(sync.env),
        )
        # Batch members the run maps to another customer (a contact stands for
        # its company) are reached with it.
        pending = set(outcome.pending)
        reached = batch.filtered(lambda p: p.commercial_partner_id.id not in pending)
        details = outcome.details()
        skipped_ids = [i for ids in details["skipped"].values() for i in ids]
        failed_ids = [int(i) for i in details["failed"]]
        self.write(
            {
                "todo_partner_ids": [fields.Command.unlink(p.id) for p in reached],
                "details": merge_details(self.details, details),
                "done_count": self.done_count + sum(details["done"].values()),
                "skipped_count": self.skipped_count + len(skipped_ids),
                "failed_count": self.failed_count + len(failed_ids),
                "skipped_partner_ids": [fields.Command.link(i) for i in skipped_ids],
                "failed_partner_ids": [fields.Command.link(i) for i in failed_ids],
                "last_run_at": fields.Datetime.now(),
                "state": "running",
            }
        )
        if outcome.stopped:
            self._retry_later(outcome.stopped)
        else:
            self.write({"attempt_count": 0, "last_error": False, "next_try_at": False})
            if not self.todo_partner_ids:
                self._finish()
        return len(reached)

    def _retry_later(self, error):
        """CertCapture turned the job away (or it failed): try again later,
        waiting longer each time; give up after BULK_JOB_MAX_ATTEMPTS."""
        self.ensure_one()
        attempts = self.attempt_count + 1
        if attempts >= BULK_JOB_MAX_ATTEMPTS:
            self.write({"attempt_count": attempts, "last_error": error})
            self._finish(failed=True)
            return
        minutes = min(BULK_RETRY_FIRST_MINUTES * 2 ** (attempts - 1), BULK_RETRY_MAX_MINUTES)
        next_try = fields.Datetime.now() + timedelta(minutes=minutes)
        self.write(
            {
                "state": "waiting",
                "attempt_count": attempts,
                "last_error": error,
                "next_try_at": next_try,
                "last_run_at": fields.Datetime.now(),
            }
        )
        self._cron()._trigger(next_try)

    def _finish(self, failed=False):
        """The job is over: its result is written and its user told."""
        self.ensure_one()
        sync = self.env["certcapture.sync"].with_context(lang=self.user_id.lang)
        message = sync._bulk_summary(
            self.details or {},
            stopped=self.last_error if failed else None,
            pending=len(self.todo_partner_ids),
        )
        self.write(
            {
                "state": "failed" if failed else "done",
                "result_message": message,
                "next_try_at": False,
                "date_done": fields.Datetime.now(),
            }
        )
        self._notify_user(failed)

    def _notify_user(self, failed):
        """A notification in the user's web client (the bus's
        simple_notification, shown by Odoo 18's web client as a toast): no
        chatter, no email; the job keeps the result for whoever was away."""
        self.ensure_one()
        job = self.with_context(lang=self.user_id.lang)
        title = (
            job.env._("CertCapture job failed: %s", job.name)
            if failed
            else job.env._("CertCapture job done: %s", job.name)
        )
        self.user_id._bus_send(
            "simple_notification",
            {
                "type": "danger" if failed else ("warning" if self.failed_count else "success"),
                "title": title,
                "message": self.result_message,
                "sticky": True,
            },
        )
