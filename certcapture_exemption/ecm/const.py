"""Fixed values of the AvaTax v2 exemption API and of this client, in one place.

Paths, enum strings and error codes are spelled exactly as the API contract
(docs/api-reference.md) spells them, so a reader can grep one against the
other. Enum values travel as strings; the constants below name the known ones
without turning them into Python enums, so an unknown value sent by a newer API
still parses.
"""

LOGGER_NAME = "certcapture_exemption.ecm"

# --- client defaults (documented in docs/client.md) --------------------------
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_BACKOFF_CAP = 8.0
DEFAULT_MAX_PDF_BYTES = 10 * 1024 * 1024
DEFAULT_APP_NAME = "certcapture_exemption"
DEFAULT_APP_VERSION = "18.0.2.1.0"
#: A server asking to wait longer than this is waited for this long only: a
#: user or a cron job is waiting behind the call.
RETRY_AFTER_CAP = 60.0
#: Inside a time budget (a person waiting on a save), a retry that would wait
#: longer than this is given up, and so is one that leaves no time to try.
BUDGETED_MAX_WAIT = 2.0
BUDGETED_MIN_TRY = 0.5
#: The API's own limit on records per call.
MAX_PAGE_SIZE = 1000

# --- paths --------------------------------------------------------------------
API_ROOT = "/api/v2"
PING_PATH = f"{API_ROOT}/utilities/ping"
COMPANIES_PATH = f"{API_ROOT}/companies"
EXPOSURE_ZONES_PATH = f"{API_ROOT}/definitions/certificateexposurezones"
EXEMPT_REASONS_PATH = f"{API_ROOT}/definitions/certificateexemptreasons"

# --- enums (as the API spells them) -------------------------------------------
SETUP_PROVISIONED = "Provisioned"
SETUP_IN_PROGRESS = "InProgress"
SETUP_NOT_PROVISIONED = "NotProvisioned"

EXEMPT = "Exempt"
NOT_EXEMPT = "NotExempt"

CERTIFICATE_COMPLETE = "COMPLETE"
CERTIFICATE_PENDING = "PENDING"
CERTIFICATE_PENDING_FUTURE = "PENDING-FUTURE"
CERTIFICATE_PENDING_MULTI = "PENDING-MULTI"
CERTIFICATE_PENDING_SINGLE = "PENDING-SINGLE"
CERTIFICATE_REVOKED = "REVOKED"
CERTIFICATE_STATUSES = (
    CERTIFICATE_COMPLETE,
    CERTIFICATE_PENDING,
    CERTIFICATE_PENDING_FUTURE,
    CERTIFICATE_PENDING_MULTI,
    CERTIFICATE_PENDING_SINGLE,
    CERTIFICATE_REVOKED,
)

ECM_STATUS_NONE = "None"
ECM_STATUS_EXPIRED = "Expired"
ECM_STATUS_INVALID = "Invalid"
ECM_STATUS_VALID = "Valid"
ECM_STATUS_PENDING_FUTURE = "PendingFuture"
ECM_STATUSES = (
    ECM_STATUS_NONE,
    ECM_STATUS_EXPIRED,
    ECM_STATUS_INVALID,
    ECM_STATUS_VALID,
    ECM_STATUS_PENDING_FUTURE,
)

INVITATION_IN_PROGRESS = "InProgress"
INVITATION_READY = "Ready"

DELIVERY_EMAIL = "Email"
DELIVERY_FAX = "Fax"
DELIVERY_DOWNLOAD = "Download"
DELIVERY_METHODS = (DELIVERY_EMAIL, DELIVERY_FAX, DELIVERY_DOWNLOAD)
#: ``emailStatus`` once the email of an Email request went out (the only value the
#: SDK names; what it says before is unknown).
EMAIL_SENT = "Sent"

#: What CustomerModel requires on create (python name, API name); the region too in
#: the US and Canada (CustomerModel.ts and CustomerModel.cs).
REQUIRED_CUSTOMER_FIELDS = (
    ("customer_code", "customerCode"),
    ("name", "name"),
    ("line1", "line1"),
    ("city", "city"),
    ("postal_code", "postalCode"),
    ("country", "country"),
)
#: ``country`` may be an ISO 3166 code of two or three letters or a country name.
COUNTRIES_NEEDING_REGION = frozenset(
    {"US", "USA", "UNITED STATES", "UNITED STATES OF AMERICA", "CA", "CAN", "CANADA"}
)

#: Customers sent in one CreateCustomers POST (``create_customers`` chunks longer lists):
#: no SDK states a limit; the project keeps each POST and its answer small.
MAX_CUSTOMERS_PER_CREATE = 100

COVER_LETTER_STANDARD = "STANDARD_REQUEST"
ATTACHMENT_TYPE_PDF = "Pdf"
INCLUDE_CUSTOMERS = "customers"
#: A single-use certificate's purchase orders (PoNumberModel), asked for with
#: the certificate itself: they decide which order it exempts.
INCLUDE_PO_NUMBERS = "po_numbers"
INCLUDE_CUSTOMERS_AND_PO_NUMBERS = f"{INCLUDE_CUSTOMERS},{INCLUDE_PO_NUMBERS}"
INCLUDE_ACTIVE_CERTIFICATES = "active_certificates"
INCLUDE_SHIP_TOS = "shipTos"

# --- error codes of the API's error envelope ----------------------------------
# Names and numbers of the .NET SDK's ErrorCodeId (docs/api-reference.md, section 11).
ERROR_AUTHENTICATION = "AuthenticationException"
ERROR_NOT_FOUND = "EntityNotFoundError"
ERROR_VALUE_REQUIRED = "ValueRequiredError"
ERROR_VALIDATION = "ValidationException"
ERROR_DUPLICATE_ENTRY = "DuplicateEntry"
ERROR_CERTIFICATES = "CertificatesError"
ERROR_CERTIFICATES_NOT_SETUP = "CertificatesNotSetup"
#: The name of ``CertificatesNotSetup`` (1205) before SDK 18.4; still read as such.
ERROR_CERTCAPTURE_NOT_CONFIGURED = "CertCaptureNotConfiguredError"
ERROR_INVALID_EXEMPTION_OPERATION = "InvalidExemptionOperation"
ERROR_ACCOUNT_NOT_PROVISIONED = "AccountNotProvisioned"
ERROR_PAGINATION_LIMITS = "ExemptionPaginationLimits"
ERROR_CUSTOMER_BOTH_BILL_AND_SHIP = "CustomerCantBeBothShipToAndBillTo"
ERROR_BILL_TO_EXPECTED = "BillToCustomerExpected"
ERROR_SHIP_TO_EXPECTED = "ShipToCustomerExpected"
ERROR_REQUEST_LIMIT = "RequestLimitExceeded"
ERROR_CONCURRENT_REQUEST_LIMIT = "ConcurrentRequestLimitExceeded"
ERROR_RATE_LIMIT_EXCEEDED = "RateLimitExceededError"
#: The gateway's rate limit (4011).
ERROR_RATE_LIMITED = "RateLimitExceeded"
ERROR_NUMBERS = {
    ERROR_NOT_FOUND: 4,
    ERROR_VALUE_REQUIRED: 5,
    ERROR_AUTHENTICATION: 30,
    ERROR_VALIDATION: 32,
    ERROR_DUPLICATE_ENTRY: 193,
    ERROR_CERTIFICATES: 1203,
    ERROR_CERTIFICATES_NOT_SETUP: 1205,
    ERROR_CERTCAPTURE_NOT_CONFIGURED: 1205,
    ERROR_INVALID_EXEMPTION_OPERATION: 1212,
    ERROR_ACCOUNT_NOT_PROVISIONED: 1216,
    ERROR_PAGINATION_LIMITS: 1218,
    ERROR_CUSTOMER_BOTH_BILL_AND_SHIP: 1220,
    ERROR_BILL_TO_EXPECTED: 1221,
    ERROR_SHIP_TO_EXPECTED: 1222,
    ERROR_REQUEST_LIMIT: 1715,
    ERROR_CONCURRENT_REQUEST_LIMIT: 1716,
    ERROR_RATE_LIMIT_EXCEEDED: 1723,
    ERROR_RATE_LIMITED: 4011,
}
