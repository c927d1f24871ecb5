from . import (
    certcapture_certificate,
    certcapture_exempt_reason,
    certcapture_exposure_zone,
    certcapture_invitation,
    certcapture_service,
    certcapture_status_cache,
    res_company,
    res_config_settings,
    res_partner,
    sale_order,
)
