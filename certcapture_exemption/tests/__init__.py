from . import test_access
from . import test_partner
from . import test_pull
from . import test_request_wizard
from . import test_sale_order
from . import test_settings
from . import test_tour
from . import test_translations
