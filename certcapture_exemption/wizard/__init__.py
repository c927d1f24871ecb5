from . import certcapture_certificate_request_wizard
from . import certcapture_audit_pack_wizard
from . import certcapture_bulk_action_wizard
