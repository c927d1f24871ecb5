from . import (
    test_access,
    test_partner,
    test_pull,
    test_request_wizard,
    test_sale_order,
    test_settings,
    test_tour,
)
