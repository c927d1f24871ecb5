from . import certcapture_request_wizard
