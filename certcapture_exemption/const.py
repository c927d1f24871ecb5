"""Constants of the add-on's Odoo side (the API's own live in ecm/)."""

# Where each environment of the Settings screen sends requests.
ENVIRONMENT_URLS = {
    "sandbox": "https://sandbox-rest.avatax.com",
    "production": "https://rest.avatax.com",
}

# Avalara's exemption web app (ECM), where people see a customer and its
# certificates, per environment; docs/web-app.md says what is verified and
# what is assumed. The custom environment (the project's sandbox) has none.
WEB_APP_URLS = {
    "sandbox": "https://sbx.exemptions.avalara.com",
    "production": "https://exemptions.avalara.com",
}
# A customer's page in the web app, by its CertCapture (AvaTax) customer id.
WEB_APP_CUSTOMER_PATH = "/customer/{customer_id}"

# What an order created outside the form view does when its customer has no
# valid certificate (the form view always asks the user instead).
MISSING_CERTIFICATE_POLICIES = [
    ("none", "Do nothing"),
    ("flag", "Flag the order and plan an activity"),
    ("send", "Send the certificate request automatically"),
]

# The exemption check's result on a sale order.
ORDER_CHECK_STATUSES = [
    ("exempt", "Certificate on file"),
    ("missing", "Certificate missing"),
    ("expired", "Certificate expired"),
    ("pending", "Request pending"),
    ("incomplete", "Customer address incomplete"),
    ("unknown", "Not checked"),
    ("not_applicable", "Not applicable"),
    ("error", "Check failed"),
]

# What CertCapture needs of a customer's address before any call (AvaTax's
# CustomerModel, docs/api-reference.md); the state in the US and Canada only.
CUSTOMER_ADDRESS_FIELDS = ("street", "city", "zip", "country_id")
COUNTRIES_WITH_REQUIRED_STATE = ("US", "CA")

# The customer's certificate situation, as its form shows it.
PARTNER_CERTIFICATE_STATUSES = [
    ("valid", "Valid"),
    ("expiring", "Expiring soon"),
    ("expired", "Expired"),
    ("missing", "Missing"),
    ("pending", "Request pending"),
    ("unknown", "Unknown"),
]

EXPIRING_SOON_DAYS = 30
# How long the calls made while a person waits (a save, a button) may take
# in all, by default; what does not fit is left to the scheduled jobs.
DEFAULT_TIME_BUDGET_SECONDS = 10.0
# The pull lists this many changed certificates per page (one call, one
# commit), and downloads this many waiting files per run of a job, on this
# many threads (each with its own connection).
PULL_BATCH_SIZE = 100
DOWNLOAD_BATCH_SIZE = 100
DOWNLOAD_WORKERS = 8
RETRY_BATCH_SIZE = 50
# A certificate the pull had to skip is tried again this many times.
PULL_FAILURE_MAX_ATTEMPTS = 10
# Requests older than this are no longer followed by the scheduled job.
FOLLOW_REQUEST_DAYS = 30
# Failed checks older than this are left to the user (the order went on).
RETRY_MAX_AGE_DAYS = 7
COUNTRY_CODE = "US"
COUNTRY_XMLID = "base.us"

# Bulk actions from the customer list (certcapture.bulk.action.wizard): a
# selection of at most this many customers runs at once, a larger one goes to
# a background job (certcapture.bulk.job).
BULK_NOW_LIMIT = 20
BULK_KINDS = [
    ("sync", "Sync to CertCapture"),
    ("request", "Send certificate requests"),
    ("refresh", "Refresh certificates"),
]
# Customers a job handles per scheduled call, by kind: a sync sends 100 new
# customers in one POST (changed ones one by one); a request or a refresh
# costs a few calls per customer.
BULK_BATCH_SIZES = {"sync": 100, "request": 20, "refresh": 20}
# A job that CertCapture keeps turning away (down, rate limits, settings) is
# tried again after 5, 10, 20... minutes (at most an hour), this many times.
BULK_JOB_MAX_ATTEMPTS = 8
BULK_RETRY_FIRST_MINUTES = 5
BULK_RETRY_MAX_MINUTES = 60
# Names listed per reason in a summary; the rest are counted.
BULK_NAMES_SHOWN = 10

# Certificate expiry (models/certcapture_sync_expiry.py): the reminder windows,
# in days before expiry, a company starts with; how many days before expiry
# the renewal request goes when the company sends it automatically; and how
# many certificates (reminders) or customers (renewals) one call of the daily
# job handles before Odoo commits and calls again.
DEFAULT_EXPIRY_REMINDER_DAYS = "90,60,30"
DEFAULT_AUTO_RENEWAL_DAYS = 30
EXPIRY_BATCH_SIZE = 50
# Requests that are still on their way to the customer, or waiting for its
# upload: a state they cover is not asked for again.
OPEN_REQUEST_STATES = ("in_progress", "sent")
