"""``EcmClient``: the calls of the AvaTax v2 exemption API this project uses.

Each method maps to one call of docs/api-reference.md (the project's API reference) and
returns typed models; HTTP, retries, logging and error mapping live in
``transport``. Paths are built here, with every variable segment
percent-encoded, because customer codes are free UTF-8 (spaces, slashes...).

An instance is not thread-safe (it holds one ``requests`` session): use one
client per thread or per Odoo request.
"""

import logging
import time
from contextlib import contextmanager
from urllib.parse import quote

from . import const
from .errors import ConfigurationError, EcmError, NotFoundError, ProtocolError, ValidationError
from .models import (
    Certificate,
    Company,
    Customer,
    ExemptionReason,
    ExemptionStatus,
    ExposureZone,
    Invitation,
    InvitationRequest,
    InvitationResult,
    PingResult,
    SetupStatus,
    format_datetime,
)
from .transport import Transport

_logger = logging.getLogger(const.LOGGER_NAME)

_PDF_MAGIC = b"%PDF-"


def _segment(value):
    """One path segment, percent-encoded entirely (a '/' in a code must not split it)."""
    return quote(str(value), safe="")


def _odata_string(value):
    """An OData string literal: quoted, with single quotes doubled."""
    return "'{}'".format(str(value).replace("'", "''"))


def _fetch_result(data, method, path):
    """The records and ``@recordsetCount`` (or None) of a FetchResult."""
    if not isinstance(data, dict) or not isinstance(data.get("value"), list):
        raise ProtocolError(
            "Avalara's answer has no list of records ('value').", method=method, path=path
        )
    total = data.get("@recordsetCount")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int)):
        raise ProtocolError(
            "Avalara's answer has a non-numeric @recordsetCount.", method=method, path=path
        )
    return data["value"], total


def _check_page_size(page_size):
    if (
        isinstance(page_size, bool)
        or not isinstance(page_size, int)
        or not 1 <= page_size <= const.MAX_PAGE_SIZE
    ):
        raise ValueError(f"page_size must be between 1 and {const.MAX_PAGE_SIZE}")


class EcmClient:
    """Client of Avalara's exemption certificate (CertCapture) API.

    ``company_id`` is AvaTax's numeric company id (see ``find_company``); it is
    a plain attribute, and the calls under ``/companies/{companyId}`` raise
    ConfigurationError while it is None. ``request_count`` counts the HTTP
    requests actually sent, retries included.
    """

    def __init__(
        self,
        base_url,
        account_id,
        license_key,
        *,
        company_id=None,
        connect_timeout=const.DEFAULT_CONNECT_TIMEOUT,
        read_timeout=const.DEFAULT_READ_TIMEOUT,
        max_retries=const.DEFAULT_MAX_RETRIES,
        backoff_base=const.DEFAULT_BACKOFF_BASE,
        backoff_cap=const.DEFAULT_BACKOFF_CAP,
        max_pdf_bytes=const.DEFAULT_MAX_PDF_BYTES,
        app_name=const.DEFAULT_APP_NAME,
        app_version=const.DEFAULT_APP_VERSION,
        session=None,
        sleep=time.sleep,
    ):
        if (
            isinstance(max_pdf_bytes, bool)
            or not isinstance(max_pdf_bytes, int)
            or max_pdf_bytes < 1
        ):
            raise ConfigurationError("max_pdf_bytes must be a positive number of bytes.")
        self._transport = Transport(
            base_url,
            account_id,
            license_key,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            app_name=app_name,
            app_version=app_version,
            session=session,
            sleep=sleep,
        )
        self.company_id = company_id
        self.max_pdf_bytes = max_pdf_bytes

    def __repr__(self):
        return (
            f"EcmClient(base_url={self._transport.base_url!r}, "
            f"account_id={self._transport.account_id!r}, company_id={self.company_id!r})"
        )

    @property
    def request_count(self):
        """HTTP requests actually sent by this client, retries included."""
        return self._transport.request_count

    @contextmanager
    def time_budget(self, seconds):
        """``with client.time_budget(10):`` every request sent inside, retries
        and waits included, ends within ``seconds`` (None: no budget); what
        does not fit raises RequestTimeoutError instead of waiting. Budgets
        nest: an inner one never extends an outer one."""
        outer = self._transport.deadline
        if seconds is not None:
            deadline = time.monotonic() + seconds
            self._transport.deadline = deadline if outer is None else min(outer, deadline)
        try:
            yield self
        finally:
            self._transport.deadline = outer

    def close(self):
        """Release the HTTP connections (only those of a session the client created)."""
        self._transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # --- request helpers -----------------------------------------------------------

    def _company_path(self, *segments):
        if self.company_id is None:
            raise ConfigurationError(
                "The Avalara company is not set: resolve its id from the company code first."
            )
        return "/".join(
            (
                const.COMPANIES_PATH,
                _segment(self.company_id),
                *(_segment(segment) for segment in segments),
            )
        )

    def _get(self, model, path, params=None):
        return model.from_api(self._transport.request_json("GET", path, params=params))

    def _post_one(self, model, path, body):
        """POST a one-element array (the API creates in bulk) and read the one answer."""
        answer = self._transport.request_json("POST", path, body=[body.to_api()])
        if not isinstance(answer, list) or len(answer) != 1:
            raise ProtocolError(
                "Avalara's answer to a create is not a one-element list.",
                method="POST",
                path=path,
                may_have_taken_effect=True,
            )
        return model.from_api(answer[0])

    def _iter_pages(self, model, path, params, page_size):
        """Records page by page (``$top``/``$skip``), holding one page at a time.

        Arguments are checked now, pages are fetched as the iterator is consumed;
        it stops at a short page or once ``@recordsetCount`` records were read.
        """
        _check_page_size(page_size)
        return self._fetch_pages(model, path, params, page_size)

    def _fetch_pages(self, model, path, params, page_size):
        skip = 0
        while True:
            data = self._transport.request_json(
                "GET", path, params={**params, "$top": page_size, "$skip": skip}
            )
            records, total = _fetch_result(data, "GET", path)
            for record in records:
                yield model.from_api(record)
            skip += len(records)
            if len(records) < page_size or (total is not None and skip >= total):
                return

    # --- account and company -----------------------------------------------------------

    def ping(self):
        """Check the connection and the credentials (``authenticated`` is False if refused)."""
        return self._get(PingResult, const.PING_PATH)

    def find_company(self, company_code):
        """The AvaTax company with this code, or None: its ``id`` is the ``company_id``."""
        params = {"$filter": f"companyCode eq {_odata_string(company_code)}"}
        data = self._transport.request_json("GET", const.COMPANIES_PATH, params=params)
        records, _total = _fetch_result(data, "GET", const.COMPANIES_PATH)
        return Company.from_api(records[0]) if records else None

    def certificate_setup(self):
        """Whether exemption certificate management is provisioned for the company."""
        return self._get(SetupStatus, self._company_path("certificates", "setup"))

    # --- customers --------------------------------------------------------------------

    def get_customer(self, customer_code, *, include_active_certificates=False):
        """The customer with this code; NotFoundError if there is none."""
        params = (
            {"$include": const.INCLUDE_ACTIVE_CERTIFICATES} if include_active_certificates else None
        )
        return self._get(Customer, self._company_path("customers", customer_code), params)

    def create_customer(self, customer):
        """Create the customer and return it as stored.

        A create is not idempotent: if the POST may have been carried out
        without its answer arriving (read timeout, dropped connection, 502,
        504, unreadable answer), the customer is looked up first and returned
        if it exists; only if it does not is the POST sent again, once. If that
        second POST finds the code taken (``DuplicateEntry``), the first one
        landed late, and the customer is looked up again and returned.
        """
        path = self._company_path("customers")
        try:
            return self._post_one(Customer, path, customer)
        except EcmError as err:
            if not err.may_have_taken_effect:
                raise
            _logger.warning(
                "Creating customer %r may have succeeded (%s); looking it up "
                "before sending it again",
                customer.customer_code,
                err.code,
            )
        try:
            return self.get_customer(customer.customer_code)
        except NotFoundError:
            _logger.info("Customer %r is not there: sending it again", customer.customer_code)
        try:
            return self._post_one(Customer, path, customer)
        except ValidationError as err:
            if err.code != const.ERROR_DUPLICATE_ENTRY:
                raise
            return self.get_customer(customer.customer_code)

    def update_customer(self, customer):
        """Replace the customer's record with ``customer`` (every field, None clears)."""
        path = self._company_path("customers", customer.customer_code)
        return Customer.from_api(self._transport.request_json("PUT", path, body=customer.to_api()))

    def upsert_customer(self, customer):
        """Update the customer if it exists, else create it."""
        try:
            self.get_customer(customer.customer_code)
        except NotFoundError:
            return self.create_customer(customer)
        return self.update_customer(customer)

    # --- certificates -------------------------------------------------------------------

    def get_exemption_status(self, customer_code, region, country="US"):
        """Whether the customer is exempt in ``country``/``region`` (a state code), and by
        which certificate."""
        return self._get(
            ExemptionStatus,
            self._company_path("customers", customer_code, "certificates", country, region),
        )

    def iter_customer_certificates(self, customer_code, *, include_customers=False, page_size=100):
        """Every certificate of the customer, one page of ``page_size`` fetched at a time."""
        params = {"$include": const.INCLUDE_CUSTOMERS} if include_customers else {}
        return self._iter_pages(
            Certificate,
            self._company_path("customers", customer_code, "certificates"),
            params,
            page_size,
        )

    def iter_certificates_changed_since(self, since, *, page_size=100):
        """Certificates modified after ``since`` (all if None), oldest change first, with
        their customers. A naive ``since`` is taken as UTC."""
        params = {"$include": const.INCLUDE_CUSTOMERS, "$orderBy": "modifiedDate"}
        if since is not None:
            params["$filter"] = f"modifiedDate gt {_odata_string(format_datetime(since))}"
        return self._iter_pages(Certificate, self._company_path("certificates"), params, page_size)

    def get_certificate(self, certificate_id, *, include_customers=True):
        """One certificate; NotFoundError if there is none."""
        params = {"$include": const.INCLUDE_CUSTOMERS} if include_customers else None
        return self._get(Certificate, self._company_path("certificates", certificate_id), params)

    def download_certificate_pdf(self, certificate_id):
        """The certificate's PDF. ProtocolError if the file is not a PDF or is larger than
        ``max_pdf_bytes`` (reading stops there)."""
        path = self._company_path("certificates", certificate_id, "attachment")
        content = self._transport.request_bytes(
            "GET", path, params={"$type": const.ATTACHMENT_TYPE_PDF}, max_bytes=self.max_pdf_bytes
        )
        if not content.startswith(_PDF_MAGIC):
            raise ProtocolError(
                "The certificate file sent by Avalara is not a PDF.", method="GET", path=path
            )
        return content

    # --- definitions ---------------------------------------------------------------------

    def iter_exposure_zones(self, *, page_size=const.MAX_PAGE_SIZE):
        """Every exposure zone (for the US, the states)."""
        return self._iter_pages(ExposureZone, const.EXPOSURE_ZONES_PATH, {}, page_size)

    def iter_exemption_reasons(self, *, page_size=const.MAX_PAGE_SIZE):
        """Every exemption reason ("RESALE", "GOVERNMENT"...)."""
        return self._iter_pages(ExemptionReason, const.EXEMPT_REASONS_PATH, {}, page_size)

    # --- certificate requests (CertExpress invitations) ---------------------------------------

    def create_invitation(
        self,
        customer_code,
        recipient,
        exposure_zone_ids,
        exempt_reason_ids=(),
        *,
        delivery_method=const.DELIVERY_EMAIL,
        cover_letter_title=const.COVER_LETTER_STANDARD,
    ):
        """Ask the customer for a certificate (an email with an upload link, by default).

        The API has no way to list a customer's invitations, so after a failure
        that may have taken effect (``may_have_taken_effect``) the request is
        not sent again: the error is raised and the caller decides.
        """
        request = InvitationRequest(
            recipient,
            tuple(exposure_zone_ids),
            tuple(exempt_reason_ids),
            delivery_method,
            cover_letter_title,
        )
        return self._post_one(
            InvitationResult,
            self._company_path("customers", customer_code, "certexpressinvites"),
            request,
        )

    def get_invitation(self, customer_code, invitation_id):
        """A certificate request; its ``request_link`` is set once Avalara made it Ready."""
        return self._get(
            Invitation,
            self._company_path("customers", customer_code, "certexpressinvites", invitation_id),
        )
