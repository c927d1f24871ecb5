"""``EcmClient``: the calls of the AvaTax v2 exemption API this project uses.

Each method maps to one call of docs/api-reference.md (the project's API reference) and
returns typed models; HTTP, retries, logging and error mapping live in
``transport``. Paths are built here, with every variable segment
percent-encoded, because customer codes are free UTF-8 (spaces, slashes...).

An instance is not thread-safe (it holds one ``requests`` session): use one
client per thread or per Odoo request.
"""

import dataclasses
import logging
import time
from collections import Counter
from contextlib import contextmanager
from datetime import date, datetime, timezone
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from . import const
from .errors import (
    CertCaptureError,
    ConfigurationError,
    DuplicateCustomersError,
    EcmError,
    NotFoundError,
    ProtocolError,
    ValidationError,
)
from .models import (
    Certificate,
    CertificateRequest,
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
    """The records, ``@recordsetCount`` (or None) and ``@nextLink`` (or None) of a
    FetchResult."""
    if not isinstance(data, dict) or not isinstance(data.get("value"), list):
        raise ProtocolError(
            "Avalara's answer has no list of records ('value').", method=method, path=path
        )
    total = data.get("@recordsetCount")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int)):
        raise ProtocolError(
            "Avalara's answer has a non-numeric @recordsetCount.", method=method, path=path
        )
    next_link = data.get("@nextLink")
    return data["value"], total, next_link if isinstance(next_link, str) else None


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _certificate_argument_problems(arguments):
    """What is malformed or contradictory in the arguments of ``create_certificate``.

    Fields the API requires but the call leaves out are not checked here: the API
    refuses them itself (``MissingRequiredFields``, ``MissingExemptReason``).
    """
    problems = [
        f"{name} must be {expected}"
        for name, ok, expected in (
            ("customer_code", isinstance(arguments["customer_code"], str), "a string"),
            ("exposure_zone_id", _is_int(arguments["exposure_zone_id"]), "an integer id"),
            ("signed_date", isinstance(arguments["signed_date"], date), "a date"),
            ("expiration_date", _is_optional(arguments["expiration_date"], date), "a date"),
            ("exemption_number", _is_optional(arguments["exemption_number"], str), "a string"),
            ("exemption_reason_id", _is_optional_int(arguments["exemption_reason_id"]), "an id"),
            ("pdf", _is_optional(arguments["pdf"], bytes | bytearray), "bytes"),
            ("filename", _is_optional(arguments["filename"], str), "a string"),
            ("single_use", isinstance(arguments["single_use"], bool), "True or False"),
        )
        if not ok
    ]
    if arguments["pdf"] is not None and arguments["filename"] is not None:
        problems.append("give pdf or filename, not both: the API refuses both (ConflictingFields)")
    return problems


def _is_optional(value, kind):
    return value is None or isinstance(value, kind)


def _is_optional_int(value):
    return value is None or _is_int(value)


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
        #: Date fields whose ``gt`` filter the API refused: asked with ``ge`` since.
        self._gt_refused = set()

    def __repr__(self):
        return (
            f"EcmClient(base_url={self._transport.base_url!r}, "
            f"account_id={self._transport.account_id!r}, company_id={self.company_id!r})"
        )

    @property
    def on_request(self):
        """Called with a dict (method, path, status, error_code, duration_ms,
        attempt) for every request sent, retries included: a request log."""
        return self._transport.on_request

    @on_request.setter
    def on_request(self, callback):
        self._transport.on_request = callback

    @property
    def request_count(self):
        """HTTP requests actually sent by this client, retries included."""
        return self._transport.request_count

    @property
    def deadline(self):
        """When every request must be over (``time.monotonic()``), or None:
        what ``time_budget`` sets, for a client working beside this one."""
        return self._transport.deadline

    @deadline.setter
    def deadline(self, moment):
        self._transport.deadline = moment

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
        """POST a one-element array of the JSON object ``body`` (the API creates in bulk)
        and read the one answer."""
        answer = self._transport.request_json("POST", path, body=[body])
        if not isinstance(answer, list) or len(answer) != 1:
            raise ProtocolError(
                "Avalara's answer to a create is not a one-element list.",
                method="POST",
                path=path,
                may_have_taken_effect=True,
            )
        try:
            return model.from_api(answer[0])
        except ProtocolError as err:
            # A 2xx came back: the create was carried out even if its record cannot be read.
            err.method, err.path, err.may_have_taken_effect = "POST", path, True
            raise

    def _iter_pages(self, model, path, params, page_size, on_unreadable=None):
        """Records page by page (``$top``/``$skip``), holding one page at a time.

        Arguments are checked now, pages are fetched as the iterator is consumed
        (see ``_fetch_pages`` for when it stops). A record that cannot be read
        raises ProtocolError, unless ``on_unreadable(raw_record, error)`` is given:
        then it is handed the record and the error, and the others go on.
        """
        _check_page_size(page_size)
        return self._fetch_pages(model, path, params, page_size, on_unreadable)

    def _fetch_pages(self, model, path, params, page_size, on_unreadable):
        """The records of every page.

        The next page is the one ``@nextLink`` names when the answer has one (its
        query, sent to the same path and host), else ``$skip`` moves on by the
        records read. A page shorter than ``$top`` ends the listing only when the
        answer has no ``@recordsetCount``: the server may cap ``$top``, and then
        the first page's length is its page size, kept for the following pages
        (the exemption calls want pages of equal size). It stops on an empty page
        and once ``@recordsetCount`` records were read.
        """
        top, skip, first = page_size, 0, True
        query = {**params, "$top": top, "$skip": skip}
        followed = set()
        while True:
            data = self._transport.request_json("GET", path, params=query)
            records, total, next_link = _fetch_result(data, "GET", path)
            for record in records:
                try:
                    item = model.from_api(record)
                except ProtocolError as error:
                    if on_unreadable is None:
                        raise
                    on_unreadable(record, error)
                    continue
                yield item
            skip += len(records)
            if not records or (total is not None and skip >= total):
                return
            following = self._next_link_query(next_link, path)
            if following is not None and next_link not in followed:
                followed.add(next_link)
                query, first = following, False
                continue
            if len(records) < top:
                if total is None:
                    return
                if first:
                    _logger.info(
                        "Avalara answered %d of %d records asked for on %s: paging by %d",
                        len(records),
                        top,
                        path,
                        len(records),
                    )
                    top = len(records)
            first = False
            query = {**params, "$top": top, "$skip": skip}

    def _iter_pages_since(
        self, model, path, params, since_filter, page_size, *, clauses=(), on_unreadable=None
    ):
        """``_iter_pages`` of the records whose date field is after a moment.

        ``since_filter`` is (API field, model attribute, moment). The filter is
        ``<field> gt '<moment>'`` (after ``clauses``, joined by ``and``); if the API
        refuses the operation on the first page (``InvalidExemptionOperation``), it is
        ``ge`` from then on for this field, and the records at the moment or before
        are dropped here.
        """
        api_field, attribute, since = since_filter
        if not isinstance(since, datetime):
            raise ValueError(f"the moment to list {api_field} after must be a datetime")
        _check_page_size(page_size)
        return self._fetch_pages_since(
            model, path, params, since_filter, page_size, clauses, on_unreadable
        )

    def _fetch_pages_since(
        self, model, path, params, since_filter, page_size, clauses, on_unreadable
    ):
        api_field, attribute, since = since_filter
        literal = _odata_string(format_datetime(since))

        def pages(operation):
            text = " and ".join((*clauses, f"{api_field} {operation} {literal}"))
            return self._fetch_pages(
                model, path, {**params, "$filter": text}, page_size, on_unreadable
            )

        if api_field not in self._gt_refused:
            after = pages("gt")
            try:
                first = next(after)
            except StopIteration:
                return
            except ValidationError as err:
                if err.code != const.ERROR_INVALID_EXEMPTION_OPERATION:
                    raise
                _logger.warning(
                    "Avalara refused '%s gt' on %s (%s): asking with 'ge' from now on",
                    api_field,
                    path,
                    err.code,
                )
                self._gt_refused.add(api_field)
            else:
                yield first
                yield from after
                return
        moment = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
        for item in pages("ge"):
            stamp = getattr(item, attribute)
            if stamp is not None and stamp <= moment:
                continue  # at the watermark: the caller has it already
            yield item

    def _next_link_query(self, next_link, path):
        """The query options of an ``@nextLink`` that names this listing (``path``, on
        the client's own host or relative to it), else None. Only its query is used:
        the request goes to the client's own base URL and path, so a link elsewhere
        never receives the credentials."""
        if not next_link:
            return None
        try:
            link = urlsplit(next_link)
        except ValueError:
            return None
        base = urlsplit(self._transport.base_url)
        if (link.scheme or link.netloc) and (
            link.scheme.lower() != base.scheme or link.netloc.lower() != base.netloc.lower()
        ):
            return None
        if not link.query or not unquote(link.path).endswith(unquote(path)):
            return None
        return dict(parse_qsl(link.query, keep_blank_values=True))

    # --- account and company -----------------------------------------------------------

    def ping(self):
        """Check the connection and the credentials (``authenticated`` is False if refused)."""
        return self._get(PingResult, const.PING_PATH)

    def find_company(self, company_code):
        """The AvaTax company with this code, or None: its ``id`` is the ``company_id``."""
        params = {"$filter": f"companyCode eq {_odata_string(company_code)}"}
        data = self._transport.request_json("GET", const.COMPANIES_PATH, params=params)
        records, _total, _next_link = _fetch_result(data, "GET", const.COMPANIES_PATH)
        return Company.from_api(records[0]) if records else None

    def certificate_setup(self):
        """Whether exemption certificate management is provisioned for the company."""
        return self._get(SetupStatus, self._company_path("certificates", "setup"))

    def request_certificate_setup(self):
        """Ask Avalara to set up exemption certificate storage for the company
        (RequestCertificateSetup, POST with no body), for administrators; returns the
        ``SetupStatus`` it answers. Provisioning may take a while: poll
        ``certificate_setup`` until it ``is_provisioned``."""
        path = self._company_path("certificates", "setup")
        return SetupStatus.from_api(self._transport.request_json("POST", path))

    # --- customers --------------------------------------------------------------------

    def get_customer(
        self, customer_code, *, include_active_certificates=False, include_ship_tos=False
    ):
        """The customer with this code; NotFoundError if there is none.

        ``include_active_certificates`` fills ``active_certificates``,
        ``include_ship_tos`` fills ``ship_tos`` (``$include=shipTos``)."""
        included = [
            name
            for name, wanted in (
                (const.INCLUDE_ACTIVE_CERTIFICATES, include_active_certificates),
                (const.INCLUDE_SHIP_TOS, include_ship_tos),
            )
            if wanted
        ]
        params = {"$include": ",".join(included)} if included else None
        return self._get(Customer, self._company_path("customers", customer_code), params)

    def _sendable_customer(self, customer):
        """``customer`` with ``company_id`` filled in, or ValueError if the API would
        refuse it: a required field missing, or both ``is_bill`` and ``is_ship``."""
        if not isinstance(customer, Customer):
            raise ValueError("customer must be a Customer")
        problems = []
        missing = customer.missing_fields()
        if missing:
            problems.append("missing required fields: " + ", ".join(missing))
        if customer.is_bill and customer.is_ship:
            problems.append(
                "isBill and isShip are both true: a customer is a bill-to or a ship-to, "
                "never both (CustomerCantBeBothShipToAndBillTo)"
            )
        if customer.company_id not in (None, self.company_id):
            problems.append(
                f"companyId {customer.company_id} is not the client's company {self.company_id}"
            )
        if problems:
            raise ValueError(
                f"Cannot send customer {customer.customer_code!r}: " + "; ".join(problems) + "."
            )
        if customer.company_id is None:
            customer = dataclasses.replace(customer, company_id=self.company_id)
        return customer

    def create_customer(self, customer):
        """Create the customer and return it as stored.

        The body leaves unset fields out and carries ``companyId`` (the client's
        company when ``customer.company_id`` is None). A customer the API would
        refuse raises ValueError, sending nothing: a required field missing (see
        ``Customer.missing_fields``) or both ``is_bill`` and ``is_ship`` true.

        A create is not idempotent: if the POST may have been carried out
        without its answer arriving (read timeout, dropped connection, 502,
        504, unreadable answer), the customer is looked up first and returned
        if it exists; only if it does not is the POST sent again, once. If that
        second POST finds the code taken (``DuplicateEntry``), the first one
        landed late, and the customer is looked up again and returned.
        """
        path = self._company_path("customers")
        customer = self._sendable_customer(customer)
        body = customer.to_api(omit_none=True)
        try:
            return self._post_one(Customer, path, body)
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
            return self._post_one(Customer, path, body)
        except ValidationError as err:
            if err.code != const.ERROR_DUPLICATE_ENTRY:
                raise
            return self.get_customer(customer.customer_code)

    def create_customers(self, customers):
        """Create many customers (CreateCustomers takes an array); returns those
        created, as stored, in the order given.

        Each POST carries at most ``const.MAX_CUSTOMERS_PER_CREATE`` (100)
        customers: a longer list goes in chunks of that size, one after the
        other. Every customer is checked first as ``create_customer`` checks
        one, and a code given twice is refused too: ValueError, nothing sent.

        - **Codes already taken.** AvaTax answers ``DuplicateEntry`` (the
          sandbox refuses the whole chunk then, naming one code; **assumed** of
          AvaTax). The codes the answer names (quoted in its message or
          details), else those a lookup (GET) finds, are left out and the rest
          of the chunk is sent again. Once every chunk is through,
          ``DuplicateCustomersError`` (a ValidationError) names them
          (``codes``) and carries the customers that were created
          (``created``).
        - **Ambiguous failure** of a chunk (``may_have_taken_effect``: read
          timeout, dropped connection, 502, 504, an unreadable answer): rather
          than posting it blindly again, its customers are looked up one by
          one; those that exist are taken as created, the others are sent
          again, once. A ``DuplicateEntry`` on that second POST names
          customers of the first that landed late: they are looked up and
          returned.
        - **Any other failure** is raised at once; the chunks before it are
          created. A caller that keeps its own record of what was created
          passes at most 100 customers per call.
        """
        customers = [self._sendable_customer(customer) for customer in customers]
        counts = Counter(customer.customer_code for customer in customers)
        repeated = sorted(code for code, count in counts.items() if count > 1)
        if repeated:
            raise ValueError(
                "Cannot create customers: the codes "
                + ", ".join(repr(code) for code in repeated)
                + " are given more than once."
            )
        path = self._company_path("customers")
        created, taken = [], []
        size = const.MAX_CUSTOMERS_PER_CREATE
        for start in range(0, len(customers), size):
            chunk_created, chunk_taken = self._create_customer_chunk(
                path, customers[start : start + size]
            )
            created += chunk_created
            taken += chunk_taken
        if taken:
            raise DuplicateCustomersError(taken, created, method="POST", path=path, status=400)
        return created

    def _create_customer_chunk(self, path, chunk):
        """(customers created, in the chunk's order; codes already taken) of one
        chunk: see ``create_customers``."""
        pending = list(chunk)
        stored, taken = {}, []
        looked_up = False  # after an ambiguous failure, once
        while pending:
            try:
                stored.update(self._post_customers(path, pending))
                pending = []
            except ValidationError as err:
                if err.code != const.ERROR_DUPLICATE_ENTRY:
                    raise
                named = self._named_codes(err, pending)
                found = {} if named else self._existing_customers(pending)
                named = named or list(found)
                if not named:
                    raise  # taken, says the API, but none of them is there
                if looked_up:
                    # Absent a moment ago, taken now: ours, landed late.
                    for code in named:
                        stored[code] = found.get(code) or self.get_customer(code)
                else:
                    taken += named
                pending = [customer for customer in pending if customer.customer_code not in named]
            except EcmError as err:
                if not err.may_have_taken_effect or looked_up:
                    raise
                looked_up = True
                _logger.warning(
                    "Creating %d customers may have succeeded (%s); looking them up "
                    "before sending again those that are not there",
                    len(pending),
                    err.code,
                )
                stored.update(self._existing_customers(pending))
                pending = [customer for customer in pending if customer.customer_code not in stored]
        codes = [customer.customer_code for customer in chunk]
        return [stored[code] for code in codes if code in stored], [
            code for code in codes if code in taken
        ]

    def _post_customers(self, path, customers):
        """POST ``customers`` (their create bodies, one array); returns what was
        stored by code. An answer that is not one stored customer per customer
        sent is a ProtocolError that may have taken effect."""
        body = [customer.to_api(omit_none=True) for customer in customers]
        answer = self._transport.request_json("POST", path, body=body)

        def unreadable(text):
            return ProtocolError(text, method="POST", path=path, may_have_taken_effect=True)

        if not isinstance(answer, list) or len(answer) != len(customers):
            raise unreadable(
                f"Avalara's answer to a create of {len(customers)} customers is not a list "
                f"of {len(customers)}."
            )
        try:
            created = [Customer.from_api(record) for record in answer]
        except ProtocolError as err:
            # A 2xx came back: the create was carried out even if it cannot be read.
            err.method, err.path, err.may_have_taken_effect = "POST", path, True
            raise
        by_code = {customer.customer_code: customer for customer in created}
        if set(by_code) != {customer.customer_code for customer in customers}:
            raise unreadable("Avalara's answer to a create names other customers than those sent.")
        return by_code

    @staticmethod
    def _named_codes(err, customers):
        """The codes of ``customers`` an error names, quoted, in its message or
        details (the API's wording is not known: any quote will do)."""
        texts = [err.message or ""]
        for detail in err.details:
            texts += [
                detail[key]
                for key in ("message", "description", "refersTo")
                if isinstance(detail.get(key), str)
            ]
        return [
            customer.customer_code
            for customer in customers
            if any(
                f"{quote}{customer.customer_code}{quote}" in text
                for text in texts
                for quote in ("'", '"')
            )
        ]

    def _existing_customers(self, customers):
        """Those of ``customers`` Avalara has, as stored, by code (one GET each)."""
        found = {}
        for customer in customers:
            try:
                found[customer.customer_code] = self.get_customer(customer.customer_code)
            except NotFoundError:
                continue
        return found

    def update_customer(self, customer):
        """Replace the customer's record with ``customer``: every field is sent, None as
        null (it clears the field), ``companyId`` included. Refused before sending like
        ``create_customer`` (ValueError)."""
        path = self._company_path("customers", customer.customer_code)
        body = self._sendable_customer(customer).to_api()
        return Customer.from_api(self._transport.request_json("PUT", path, body=body))

    def upsert_customer(self, customer):
        """Update the customer if it exists, else create it."""
        self._sendable_customer(customer)  # refuse it before any request
        try:
            self.get_customer(customer.customer_code)
        except NotFoundError:
            return self.create_customer(customer)
        return self.update_customer(customer)

    def link_ship_to_customers(self, bill_to_code, ship_to_codes):
        """Link ship-to customers to a bill-to customer (LinkShipToCustomersToBillCustomer:
        POST ``.../customers/billto/{code}/shipto/link``, body ``{"customers": [codes]}``);
        returns the bill-to ``Customer`` as the API answers it.

        The API refuses a bill-to code that is not a bill-to (``BillToCustomerExpected``)
        and a ship-to code that is not a ship-to (``ShipToCustomerExpected``), as
        ValidationError. No API call undoes a link.
        """
        codes = [ship_to_codes] if isinstance(ship_to_codes, str) else list(ship_to_codes)
        if not isinstance(bill_to_code, str) or not bill_to_code:
            raise ValueError("bill_to_code must be a customer code")
        if not codes or not all(isinstance(code, str) and code for code in codes):
            raise ValueError("ship_to_codes must be one or more customer codes")
        path = self._company_path("customers", "billto", bill_to_code, "shipto", "link")
        return Customer.from_api(
            self._transport.request_json("POST", path, body={"customers": codes})
        )

    def list_ship_to_customers(self, bill_to_code):
        """The ship-to customers linked to a bill-to customer, as a tuple of ``Customer``.

        The SDKs have no call of their own for it: this is GetCustomer with
        ``$include=shipTos``. NotFoundError if the bill-to customer does not exist.
        """
        return self.get_customer(bill_to_code, include_ship_tos=True).ship_tos or ()

    # --- certificates -------------------------------------------------------------------

    def get_exemption_status(self, customer_code, region, country="US"):
        """Whether the customer is exempt in ``country``/``region`` (a state code), and by
        which certificate. A status other than Exempt/NotExempt is logged (a warning):
        it counts as not exempt."""
        status = self._get(
            ExemptionStatus,
            self._company_path("customers", customer_code, "certificates", country, region),
        )
        if not status.is_known_status:
            _logger.warning(
                "Avalara answered the unknown exemption status %r for %s/%s: taken as not exempt",
                status.status,
                country,
                region,
            )
        return status

    def iter_customer_certificates(self, customer_code, *, include_customers=False, page_size=100):
        """Every certificate of the customer, one page of ``page_size`` fetched at a time."""
        params = {
            "$include": const.INCLUDE_CUSTOMERS_AND_PO_NUMBERS
            if include_customers
            else const.INCLUDE_PO_NUMBERS
        }
        return self._iter_pages(
            Certificate,
            self._company_path("customers", customer_code, "certificates"),
            params,
            page_size,
        )

    def iter_certificates_changed_since(self, since, *, page_size=100, on_unreadable=None):
        """Certificates modified after ``since`` (all if None), oldest change first, with
        their customers. A naive ``since`` is taken as UTC. ``on_unreadable``: see
        ``_iter_pages`` (a pull skips a bad certificate instead of stopping).

        ``since`` is the caller's watermark: the ``modified_date`` of the last
        certificate it took in, having taken in every certificate of that same
        moment. The filter is ``modifiedDate gt '<since>'``. Should the API refuse
        ``gt`` (``InvalidExemptionOperation``), the client asks with ``ge`` instead
        and drops the certificates modified at ``since`` or before (compared to the
        microsecond: those are the ones the caller already has), and keeps asking
        with ``ge`` for as long as it lives.
        """
        params = {"$include": const.INCLUDE_CUSTOMERS_AND_PO_NUMBERS, "$orderBy": "modifiedDate"}
        path = self._company_path("certificates")
        if since is None:
            return self._iter_pages(Certificate, path, params, page_size, on_unreadable)
        return self._iter_pages_since(
            Certificate,
            path,
            params,
            ("modifiedDate", "modified_date", since),
            page_size,
            on_unreadable=on_unreadable,
        )

    def get_certificate(self, certificate_id, *, include_customers=True):
        """One certificate; NotFoundError if there is none."""
        params = {
            "$include": const.INCLUDE_CUSTOMERS_AND_PO_NUMBERS
            if include_customers
            else const.INCLUDE_PO_NUMBERS
        }
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

    def create_certificate(
        self,
        customer_code,
        *,
        exposure_zone_id,
        signed_date,
        expiration_date=None,
        exemption_number=None,
        exemption_reason_id=None,
        pdf=None,
        filename=None,
        single_use=False,
    ):
        """Record a certificate typed in by hand, linked to the customer; returns the
        stored ``Certificate``.

        ``pdf`` is the signed document: bytes starting with ``%PDF-``, at most
        ``max_pdf_bytes``. ``filename`` instead names a document kept elsewhere; the
        API takes one of the two, never both. Fields left None are left out of the
        body; the API refuses a certificate without document (``MissingRequiredFields``)
        or without reason (``MissingExemptReason``), which raises ValidationError.
        Malformed or contradictory arguments (wrong types, both ``pdf`` and
        ``filename``, a PDF too large or not a PDF) raise ValueError, sending nothing.

        A create is not idempotent and nothing identifies a certificate before it
        exists, so the POST is never sent twice: a failure that may have taken
        effect (``may_have_taken_effect``: read timeout, dropped connection, 502,
        504, an unreadable answer, and CertCapture's own ``CertificatesError``,
        after which Avalara has been seen to keep the certificate) is raised as it
        is. Before sending again, look among the customer's certificates
        (``iter_customer_certificates``) for one with the same exposure zone, signed
        date and exemption number created since the attempt.
        """
        problems = _certificate_argument_problems(
            {
                "customer_code": customer_code,
                "exposure_zone_id": exposure_zone_id,
                "signed_date": signed_date,
                "expiration_date": expiration_date,
                "exemption_number": exemption_number,
                "exemption_reason_id": exemption_reason_id,
                "pdf": pdf,
                "filename": filename,
                "single_use": single_use,
            }
        )
        if isinstance(pdf, bytes | bytearray):
            if len(pdf) > self.max_pdf_bytes:
                problems.append(
                    f"the PDF has {len(pdf)} bytes, more than the {self.max_pdf_bytes} allowed"
                )
            elif not pdf.startswith(_PDF_MAGIC):
                problems.append("pdf is not a PDF file: it does not start with %PDF-")
        if problems:
            raise ValueError("Cannot create the certificate: " + "; ".join(problems) + ".")
        path = self._company_path("certificates")
        request = CertificateRequest(
            customer_codes=(customer_code,),
            exposure_zone_id=exposure_zone_id,
            signed_date=signed_date,
            expiration_date=expiration_date,
            exemption_number=exemption_number,
            exemption_reason_id=exemption_reason_id,
            pdf=None if pdf is None else bytes(pdf),
            filename=filename,
            is_single_certificate=single_use,
            company_id=self.company_id,
        )
        try:
            return self._post_one(Certificate, path, request.to_api())
        except EcmError as err:
            # CertCapture's own error, whatever class its words gave it (a "not found"
            # one is a NotFoundError): Avalara has been seen to keep the certificate.
            if isinstance(err, CertCaptureError) or err.code == const.ERROR_CERTIFICATES:
                err.may_have_taken_effect = True
            raise

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
        """Ask the customer for a certificate; returns the ``InvitationResult``.

        ``delivery_method`` is ``Email`` (the default: Avalara emails ``recipient``
        the upload link; ``is_sent`` tells when it went out), ``Download`` (no email:
        the caller hands the customer ``upload_link``, there once the request is
        Ready; ``recipient`` may be None) or ``Fax`` (the number on file). An unknown
        method, or an Email request without recipient, raises ValueError, sending
        nothing.

        A request is not idempotent, so after a failure that may have taken effect
        (``may_have_taken_effect``) it is not sent again: the error is raised and
        the caller decides. To find out whether it landed, list the customer's
        requests made since just before the attempt (``iter_invitations`` with
        ``customer_code`` and ``created_since``) and look for one with the same
        recipient, exposure zones and delivery method.
        """
        if delivery_method not in const.DELIVERY_METHODS:
            raise ValueError(f"delivery_method must be one of {', '.join(const.DELIVERY_METHODS)}")
        if recipient is not None and not isinstance(recipient, str):
            raise ValueError("recipient must be an email address or None")
        if delivery_method == const.DELIVERY_EMAIL and not (recipient or "").strip():
            raise ValueError("an Email request needs a recipient address")
        request = InvitationRequest(
            recipient or None,
            tuple(exposure_zone_ids),
            tuple(exempt_reason_ids),
            delivery_method,
            cover_letter_title,
        )
        return self._post_one(
            InvitationResult,
            self._company_path("customers", customer_code, "certexpressinvites"),
            request.to_api(omit_none=True),
        )

    def iter_invitations(self, *, customer_code=None, created_since=None, page_size=100):
        """The company's certificate requests, one page of ``page_size`` fetched at a time.

        ``customer_code`` keeps those of one customer (``$filter=customerCode eq``;
        the code is also compared exactly here, as codes are case-sensitive) and
        ``created_since`` those made after that moment (``date gt``, a naive
        datetime is taken as UTC; ``ge``, dropping the requests made at that moment,
        if the API refuses ``gt``, as ``iter_certificates_changed_since`` does). The
        records come in the API's own order.
        """
        clauses = []
        if customer_code is not None:
            if not isinstance(customer_code, str):
                raise ValueError("customer_code must be a string or None")
            clauses.append(f"customerCode eq {_odata_string(customer_code)}")
        path = self._company_path("certexpressinvites")
        if created_since is not None:
            if not isinstance(created_since, datetime):
                raise ValueError("created_since must be a datetime or None")
            pages = self._iter_pages_since(
                Invitation, path, {}, ("date", "date", created_since), page_size, clauses=clauses
            )
        else:
            params = {"$filter": " and ".join(clauses)} if clauses else {}
            pages = self._iter_pages(Invitation, path, params, page_size)
        if customer_code is None:
            return pages
        return (invitation for invitation in pages if invitation.customer_code == customer_code)

    def get_invitation(self, customer_code, invitation_id):
        """A certificate request: ``is_sent`` (Email) or ``upload_link`` (Download) says
        whether it reached the customer."""
        return self._get(
            Invitation,
            self._company_path("customers", customer_code, "certexpressinvites", invitation_id),
        )
