"""18.0.1.0.0 -> 18.0.2.0.0: the scheduled jobs follow their methods; the
customer code sequence goes.

The jobs are noupdate data, so the update leaves them as they were: on the
models and methods of 18.0.1.0.0, which 18.0.2.0.0 moved to certcapture.sync.
Runs after the new models are loaded (certcapture.sync exists in ir_model).
A job whose code someone changed is left alone, with a warning.

Customer codes no longer come from a sequence (a partner's code is its
reference or made from its id, so the same partner always gets the same
one): the noupdate sequence of 18.0.1.0.0 is removed.
"""

import logging

from odoo import SUPERUSER_ID, api
from odoo.tools import parse_version

_logger = logging.getLogger(__name__)

VERSION = "18.0.2.0.0"

# xml id: ((old model, old code), (new model, new code))
JOBS = {
    "ir_cron_certcapture_pull": (
        ("certcapture.certificate", "model._cron_pull_certificates()"),
        ("certcapture.sync", "model._cron_pull_certificates()"),
    ),
    "ir_cron_certcapture_retry_checks": (
        ("sale.order", "model._cron_certcapture_retry_checks()"),
        ("certcapture.sync", "model._cron_retry_order_checks()"),
    ),
}


def migrate(cr, version):
    if not version or parse_version(version) >= parse_version(VERSION):
        return
    _move_jobs(cr)
    _drop_customer_code_sequence(cr)


def _drop_customer_code_sequence(cr):
    cr.execute(
        """SELECT res_id FROM ir_model_data
           WHERE module = 'certcapture_exemption' AND name = 'seq_certcapture_customer_code'
             AND model = 'ir.sequence'"""
    )
    row = cr.fetchone()
    if not row:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["ir.sequence"].browse(row[0]).exists().unlink()
    cr.execute(
        """DELETE FROM ir_model_data
           WHERE module = 'certcapture_exemption' AND name = 'seq_certcapture_customer_code'"""
    )
    _logger.info("customer code sequence removed: codes come from references or ids")


def _move_jobs(cr):
    for xmlid, ((old_model, old_code), (new_model, new_code)) in JOBS.items():
        cr.execute(
            """SELECT s.id, s.model_name, btrim(s.code)
               FROM ir_model_data d
               JOIN ir_cron c ON c.id = d.res_id
               JOIN ir_act_server s ON s.id = c.ir_actions_server_id
               WHERE d.module = 'certcapture_exemption' AND d.name = %s AND d.model = 'ir.cron'""",
            (xmlid,),
        )
        row = cr.fetchone()
        if not row:
            continue
        action_id, model, code = row
        if (model, code) == (new_model, new_code):
            continue
        if (model, code) != (old_model, old_code):
            _logger.warning(
                "scheduled job %s was changed (%s: %s): left as it is; it should call " "%s on %s",
                xmlid,
                model,
                code,
                new_code,
                new_model,
            )
            continue
        cr.execute(
            """UPDATE ir_act_server
               SET model_id = (SELECT id FROM ir_model WHERE model = %s), model_name = %s,
                   code = %s
               WHERE id = %s""",
            (new_model, new_model, new_code, action_id),
        )
        _logger.info("scheduled job %s: now %s on %s", xmlid, new_code, new_model)
