"""Bulk work from the customer list: the engine (customers 100 to a POST,
updates one by one, nothing for unchanged ones), the wizard (small
selections at once, with a notification that says what was skipped and why)
and the job (large selections in batches across scheduled calls, resumed after
a failure, the user told when it is done), as a salesperson and as a
CertCapture manager."""

import json
import re

from odoo import fields, sql_db
from odoo.addons.bus.models.bus import channel_with_db, json_dump
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import CertCaptureCase

CUSTOMERS_POST = r"/customers$"
INVITES_POST = r"/certexpressinvites$"


@tagged("post_install", "-at_install")
class TestBulk(CertCaptureCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesperson = new_test_user(
            cls.env, "cc_bulk_sales", groups="sales_team.group_sale_salesman", email="s@x.test"
        )
        cls.manager = new_test_user(
            cls.env, "cc_bulk_manager", groups="certcapture_exemption.group_certcapture_manager"
        )
        cls.cron = cls.env.ref("certcapture_exemption.ir_cron_certcapture_bulk_jobs")

    # -- helpers

    def make_customers(self, count, **values):
        return self.env["res.partner"].create(
            [
                {
                    "name": f"Bulk Customer {n:03d}",
                    "is_company": True,
                    "street": f"{n} Pike Street",
                    "city": "Seattle",
                    "zip": "98101",
                    "state_id": self.washington.id,
                    "country_id": self.us.id,
                    "email": f"ap{n}@bulk.example.com",
                    **values,
                }
                for n in range(count)
            ]
        )

    def served(self, method, pattern):
        return [
            status
            for m, path, status in self.sandbox.requests
            if m == method and re.search(pattern, path)
        ]

    def run_wizard(self, kind, partners, user=None, **values):
        wizards = self.env["certcapture.bulk.action.wizard"].with_user(user or self.env.user)
        wizard = wizards.with_context(
            active_model="res.partner", active_ids=partners.ids, default_kind=kind
        ).create(values)
        return wizard, wizard.action_run()

    def run_cron_like_odoo(self, max_calls=20):
        """The scheduled job as Odoo 18's cron runner calls it: with a progress
        record, again while it reports work done and work remaining."""
        cron = self.cron.with_user(self.cron.user_id)
        progress_log = []
        for _call in range(max_calls):
            with_progress, progress = cron._add_progress()
            with_progress._callback(self.cron.cron_name, self.cron.ir_actions_server_id.id)
            progress_log.append((progress.done, progress.remaining))
            if not (progress.done and progress.remaining):
                break
        return progress_log

    def bus_notifications(self, user):
        self.env.cr.precommit.run()  # the bus writes its messages before the commit
        channel = json_dump(channel_with_db(self.env.cr.dbname, user.partner_id))
        messages = self.env["bus.bus"].sudo().search([("channel", "=", channel)])
        return [json.loads(message.message) for message in messages]

    # -- the engine: sync

    def test_250_new_customers_in_3_posts_and_250_unchanged_ones_in_none(self):
        customers = self.make_customers(250)
        self.sandbox.clear_requests()
        outcome = self.env["certcapture.sync"]._sync_customers_bulk(customers, self.company)
        self.assertEqual(len(outcome.done["created"]), 250)
        self.assertEqual(self.served("POST", CUSTOMERS_POST), [201, 201, 201])
        self.assertLessEqual(len(self.sandbox.requests), 3 + 2)
        customers = customers.with_company(self.company)
        self.assertTrue(all(customers.mapped("certcapture_id")))
        self.assertTrue(all(customers.mapped("certcapture_sync_hash")))
        self.assertTrue(all(customers.mapped("certcapture_last_sync")))
        remote = self.remote_customer(customers[-1].certcapture_customer_code)
        self.assertEqual(remote.id, customers[-1].certcapture_id)
        self.assertLogged(customers[0], "sent to CertCapture")

        self.sandbox.clear_requests()
        outcome = self.env["certcapture.sync"]._sync_customers_bulk(customers, self.company)
        self.assertEqual(self.sandbox.requests, [], "unchanged customers cost nothing")
        self.assertEqual(len(outcome.done["unchanged"]), 250)

    def test_changed_customers_are_updated_one_by_one_and_incomplete_ones_skipped(self):
        customers = self.make_customers(5)
        sync = self.env["certcapture.sync"]
        sync._sync_customers_bulk(customers, self.company)
        customers[0].street = "2 Pine Street"
        customers[1].name = "Renamed Customer"
        customers[2].zip = False
        new = self.make_customers(1, name="Newcomer")
        self.sandbox.clear_requests()
        outcome = sync._sync_customers_bulk(customers | new, self.company)
        self.assertEqual(self.served("PUT", r"/customers/"), [200, 200])
        self.assertEqual(self.served("POST", CUSTOMERS_POST), [201])
        self.assertEqual(outcome.done["updated"], customers[:2].ids)
        self.assertEqual(outcome.done["created"], new.ids)
        self.assertEqual(outcome.done["unchanged"], customers[3:].ids)
        self.assertEqual(outcome.skipped, {"incomplete": customers[2].ids})
        remote = self.remote_customer(customers[1].certcapture_customer_code)
        self.assertEqual(remote.name, "Renamed Customer")

    def test_a_contact_stands_for_its_company_once(self):
        company = self.make_customers(1)
        contact = self.env["res.partner"].create({"name": "Jane Buyer", "parent_id": company.id})
        outcome = self.env["certcapture.sync"]._sync_customers_bulk(company | contact, self.company)
        self.assertEqual(outcome.done, {"created": company.ids})

    def test_codes_certcapture_already_has_are_taken_over(self):
        customers = self.make_customers(4)
        customers._certcapture_ensure_customer_code()
        sync = self.env["certcapture.sync"]
        with self.env["certcapture.service"]._session(self.company) as client:
            # As a run whose bookkeeping was rolled back left them.
            client.create_customers([sync._customer_payload(p) for p in customers[1:3]])
        customers[1].name = "Taken Over"
        self.sandbox.clear_requests()
        outcome = sync._sync_customers_bulk(customers, self.company)
        self.assertEqual(sorted(outcome.done["created"]), sorted(customers[0:4:3].ids))
        self.assertEqual(sorted(outcome.done["updated"]), sorted(customers[1:3].ids))
        self.assertEqual(self.served("PUT", r"/customers/"), [200, 200])
        self.assertTrue(all(customers.with_company(self.company).mapped("certcapture_id")))
        remote = self.remote_customer(customers[1].certcapture_customer_code)
        self.assertEqual(remote.name, "Taken Over")

    def test_a_refused_chunk_goes_one_by_one_and_only_the_culprit_fails(self):
        customers = self.make_customers(3)
        # The bulk POST and the first single POST are refused as one customer's data would be.
        self.sandbox.set_faults(
            rules=[
                {
                    "method": "POST",
                    "path": CUSTOMERS_POST,
                    "status": 400,
                    "code": "ValueRequiredError",
                    "times": 2,
                }
            ]
        )
        outcome = self.env["certcapture.sync"]._sync_customers_bulk(customers, self.company)
        self.assertEqual(list(outcome.failed), customers[:1].ids)
        self.assertIn("CertCapture refused the request", outcome.failed[customers[0].id])
        self.assertEqual(outcome.done["created"], customers[1:].ids)
        self.assertFalse(customers[0].with_company(self.company).certcapture_id)

    def test_certcapture_down_stops_the_run_and_hands_back_the_rest(self):
        customers = self.make_customers(3)
        self.sandbox.set_faults(rules=[{"path": r"/api/", "status": 500}])
        outcome = self.env["certcapture.sync"]._sync_customers_bulk(customers, self.company)
        self.assertIn("internal error", outcome.stopped)
        self.assertTrue(outcome.resumable)
        self.assertEqual(sorted(outcome.pending), sorted(customers.ids))
        self.assertFalse(any(customers.with_company(self.company).mapped("certcapture_id")))

    # -- the wizard: small selections at once

    def test_bulk_request_skips_and_reports_open_requests_and_missing_emails(self):
        ready, pending, no_email = self.make_customers(3)
        no_email.email = False
        self.env["certcapture.certificate.request"].create(
            {"partner_id": pending.id, "company_id": self.company.id, "state": "sent"}
        )
        contact = self.env["res.partner"].create({"name": "Jo Buyer", "parent_id": ready.id})
        self.sandbox.clear_requests()
        _wizard, action = self.run_wizard(
            "request", ready | pending | no_email | contact, user=self.salesperson
        )
        params = action["params"]
        self.assertEqual(params["type"], "warning")
        self.assertIn("Done for 1: 1 sent.", params["message"])
        self.assertIn("Skipped 2:", params["message"])
        self.assertIn(f"a request is already open: {pending.name}", params["message"])
        self.assertIn(f"no valid email: {no_email.name}", params["message"])
        self.assertEqual(self.served("POST", INVITES_POST), [201], "one request sent")
        request = ready.certcapture_request_ids
        self.assertEqual(request.recipient, ready.email)
        self.assertEqual(request.exposure_zone_ids.state_id, self.washington)
        self.assertEqual(request.create_uid, self.salesperson)
        self.assertEqual(len(pending.certcapture_request_ids), 1, "no second request")
        self.assertFalse(no_email.certcapture_request_ids)
        self.assertLogged(ready, "Certificate request sent to")

    def test_bulk_refresh_as_a_salesperson(self):
        customers = self.make_customers(3)
        self.env["certcapture.sync"]._sync_customers_bulk(customers, self.company)
        self.add_remote_certificate(customers[1])
        never_sent = self.make_customers(1, name="Never Sent")
        _wizard, action = self.run_wizard("refresh", customers | never_sent, user=self.salesperson)
        message = action["params"]["message"]
        self.assertIn("1 with new or changed certificates, 2 with nothing new", message)
        self.assertIn(f"not in CertCapture yet: {never_sent.name}", message)
        self.assertEqual(len(customers[1].certcapture_certificate_ids), 1)

    def test_bulk_sync_is_for_certcapture_managers(self):
        customers = self.make_customers(2)
        with self.assertRaises(AccessError):
            self.run_wizard("sync", customers, user=self.salesperson)
        _wizard, action = self.run_wizard("sync", customers, user=self.manager)
        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])
        self.assertIn("2 created", action["params"]["message"])
        sync_action = self.env.ref("certcapture_exemption.certcapture_bulk_sync_action")
        self.assertEqual(
            sync_action.groups_id, self.env.ref("certcapture_exemption.group_certcapture_manager")
        )
        # The Action menu of the customer list offers it to managers only.
        bindings = self.env["ir.actions.actions"].with_user(self.salesperson)
        names = [a["name"] for a in bindings.get_bindings("res.partner")["action"]]
        self.assertIn("CertCapture: Send certificate requests", names)
        self.assertNotIn("CertCapture: Sync customers", names)

    def test_settings_that_need_a_person_are_said_and_not_queued(self):
        customers = self.make_customers(2)
        self.company.certcapture_enabled = False
        _wizard, action = self.run_wizard("request", customers, user=self.salesperson)
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("not enabled", action["params"]["message"])
        self.assertFalse(self.env["certcapture.bulk.job"].search([]))

    def test_what_does_not_fit_the_wait_goes_on_in_the_background(self):
        customers = self.make_customers(3)
        self.env["certcapture.sync"]._sync_customers_bulk(customers, self.company)
        self.company.certcapture_time_budget = 0.5
        self.sandbox.set_faults(delay_path=r"/certificates$", delay_seconds=1.0)
        _wizard, action = self.run_wizard("refresh", customers, user=self.salesperson)
        params = action["params"]
        self.assertEqual(params["type"], "warning")
        self.assertIn("3 customers could not be done now", params["message"])
        self.assertIn("did not answer in time", params["message"])
        job = self.env["certcapture.bulk.job"].search([])
        self.assertEqual((job.kind, job.todo_partner_ids), ("refresh", customers))
        self.sandbox.clear_faults()
        self.assertEqual(self.run_cron_like_odoo(), [(3, 0)])
        self.assertEqual(job.state, "done")

    # -- the job: large selections in the background

    def test_a_large_selection_is_a_job_done_across_several_cron_calls(self):
        customers = self.make_customers(45)
        self.env["certcapture.sync"]._sync_customers_bulk(customers, self.company)
        customers[7].email = False
        triggers_before = self.env["ir.cron.trigger"].search_count([("cron_id", "=", self.cron.id)])
        wizard, action = self.run_wizard("request", customers, user=self.salesperson)
        self.assertTrue(wizard.in_background)
        self.assertEqual(action["params"]["type"], "info")
        self.assertIn("background", action["params"]["message"])
        job = self.env["certcapture.bulk.job"].with_user(self.salesperson).search([])
        self.assertEqual(len(job), 1, "the salesperson sees the job")
        self.assertEqual(
            (job.state, job.total_count, job.user_id), ("queued", 45, self.salesperson)
        )
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", self.cron.id)]),
            triggers_before + 1,
            "started at once",
        )
        self.assertFalse(self.served("POST", INVITES_POST), "nothing sent while the user waits")

        progress = self.run_cron_like_odoo()
        self.assertEqual(progress, [(20, 25), (20, 5), (5, 0)])
        job.invalidate_recordset()
        self.assertEqual(job.state, "done")
        self.assertEqual((job.done_count, job.skipped_count, job.failed_count), (44, 1, 0))
        self.assertEqual(job.skipped_partner_ids, customers[7])
        self.assertEqual(job.progress, 100.0)
        self.assertIn("Done for 44: 44 sent.", job.result_message)
        self.assertIn(f"no valid email: {customers[7].name}", job.result_message)
        self.assertEqual(len(self.served("POST", INVITES_POST)), 44)
        requests = self.env["certcapture.certificate.request"].search(
            [("partner_id", "in", customers.ids)]
        )
        self.assertEqual(requests.create_uid, self.salesperson, "made as the user who asked")
        [notification] = self.bus_notifications(self.salesperson)
        self.assertEqual(notification["type"], "simple_notification")
        payload = notification["payload"]
        self.assertEqual(payload["type"], "success")
        self.assertIn("CertCapture job done", payload["title"])
        self.assertEqual(payload["message"], job.result_message)

        self.assertEqual(self.run_cron_like_odoo(), [(0, 0)], "nothing left to do")

    def test_a_job_waits_while_certcapture_is_down_and_resumes(self):
        customers = self.make_customers(25)
        self.env["certcapture.sync"]._sync_customers_bulk(customers, self.company)
        self.run_wizard("refresh", customers, user=self.salesperson)
        job = self.env["certcapture.bulk.job"].search([])
        self.sandbox.set_faults(rules=[{"path": r"/api/", "status": 500}])
        self.assertEqual(self.run_cron_like_odoo(), [(0, 0)], "the runner does not insist")
        self.assertEqual(job.state, "waiting")
        self.assertEqual(job.attempt_count, 1)
        self.assertIn("internal error", job.last_error)
        self.assertEqual(len(job.todo_partner_ids), 25, "nothing lost")
        self.assertGreater(job.next_try_at, fields.Datetime.now())
        self.assertTrue(
            self.env["ir.cron.trigger"].search(
                [("cron_id", "=", self.cron.id), ("call_at", "=", job.next_try_at)]
            ),
            "called again when it is due",
        )
        self.assertEqual(self.run_cron_like_odoo(), [(0, 0)], "not due yet")

        self.sandbox.clear_faults()
        job.next_try_at = fields.Datetime.now()
        self.assertEqual(self.run_cron_like_odoo(), [(20, 5), (5, 0)])
        self.assertEqual((job.state, job.done_count, job.attempt_count), ("done", 25, 0))

    def test_a_job_that_keeps_failing_gives_up_and_says_so(self):
        customers = self.make_customers(21)
        self.env["certcapture.sync"]._sync_customers_bulk(customers, self.company)
        self.run_wizard("refresh", customers, user=self.salesperson)
        job = self.env["certcapture.bulk.job"].search([])
        job.write({"attempt_count": 7})
        self.sandbox.set_faults(rules=[{"path": r"/api/", "status": 401}])
        self.run_cron_like_odoo()
        self.assertEqual(job.state, "failed")
        self.assertIn("credentials", job.result_message)
        [notification] = self.bus_notifications(self.salesperson)
        self.assertEqual(notification["payload"]["type"], "danger")

    def test_a_job_is_never_processed_twice_at_once(self):
        customers = self.make_customers(21)
        self.run_wizard("refresh", customers, user=self.salesperson)
        job = self.env["certcapture.bulk.job"].search([])
        # Another worker holds the job's lock (a connection of its own).
        other = sql_db.db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", (0x4343424B, job.id))
            self.assertTrue(other.fetchone()[0])
            self.assertEqual(self.env["certcapture.bulk.job"]._cron_process_jobs(), 0)
            self.assertEqual(len(job.todo_partner_ids), 21)
        finally:
            other.rollback()
            other.close()
        self.assertEqual(self.env["certcapture.bulk.job"]._cron_process_jobs(), 20)

    def test_a_salesperson_sees_and_cancels_only_their_own_jobs(self):
        customers = self.make_customers(21)
        self.run_wizard("refresh", customers, user=self.salesperson)
        self.run_wizard("refresh", customers, user=self.manager)
        jobs = self.env["certcapture.bulk.job"]
        mine = jobs.with_user(self.salesperson).search([])
        self.assertEqual(mine.user_id, self.salesperson)
        self.assertEqual(len(jobs.with_user(self.manager).search([])), 2)
        mine.action_cancel()
        self.assertEqual(mine.state, "cancelled")
        self.assertEqual(self.run_cron_like_odoo(), [(20, 1), (1, 0)], "the other job only")

    def test_the_job_form_and_list_open(self):
        customers = self.make_customers(21)
        self.run_wizard("sync", customers, user=self.manager)
        job = self.env["certcapture.bulk.job"].search([])
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "certcapture_exemption.certcapture_bulk_job_action"
        )
        self.assertEqual(action["res_model"], job._name)
        jobs = self.env["certcapture.bulk.job"].with_user(self.salesperson)
        self.assertFalse(jobs.search([]), "a manager's job is not a salesperson's business")
        for view in ("list", "form", "search"):
            self.env[job._name].get_view(view_type=view)
        self.env["certcapture.bulk.action.wizard"].with_user(self.salesperson).get_view(
            view_type="form"
        )
        self.assertEqual(job.partner_ids, customers)
        self.assertEqual(job.todo_partner_ids, customers)
        self.assertTrue(job.name.startswith("Sync to CertCapture"))
