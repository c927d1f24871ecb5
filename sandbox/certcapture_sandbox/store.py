"""The sandbox's mutable state: customers, certificates, their PDFs, invitations.

One re-entrant lock guards everything because the werkzeug server answers
each request in its own thread. Records are kept as plain camelCase dicts
(close to their JSON form, trivially persisted); every method hands out deep
copies so callers can never change state without the lock.

With a state file, every change rewrites the whole file atomically (write a
temporary file, then rename it over the old one), so a demo survives a restart
and a crash never leaves half a file behind.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import secrets
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

from .clock import format_ticks, now_ticks, parse_ticks
from .config import Company, SandboxConfig
from .errors import ApiError, not_found, unknown_customer

STATE_FORMAT = "certcapture-sandbox-state"
STATE_VERSION = 1

#: Each kind of record numbers from its own range, so an id used for the
#: wrong kind of record (a customer id sent as certificate id) finds nothing.
FIRST_IDS = {"customer": 100001, "certificate": 500001, "invitation": 900001}


class Store:
    """Thread-safe in-memory records of one sandbox, optionally persisted."""

    def __init__(self, config: SandboxConfig):
        self._lock = threading.RLock()
        self.companies = config.companies()
        self._path = Path(config.state_file) if config.state_file else None
        self._clear()
        if self._path is not None and self._path.exists():
            self._load()

    # -- companies (fixed by the configuration) ---------------------------

    def company(self, company_id: int) -> Company | None:
        return next((c for c in self.companies if c.id == company_id), None)

    def company_by_code(self, code: str) -> Company | None:
        return next((c for c in self.companies if c.code == code), None)

    def setup_status(self, company_id: int) -> str:
        """``Provisioned``, ``InProgress`` (a setup request is under way) or
        ``NotProvisioned`` (ProvisionStatusModel / CertCaptureProvisionStatus)."""
        with self._lock:
            ready_at = self._setup.get(company_id)
        if ready_at is None:
            return "NotProvisioned"
        return "Provisioned" if ready_at <= time.time() else "InProgress"

    def is_provisioned(self, company_id: int) -> bool:
        return self.setup_status(company_id) == "Provisioned"

    def request_setup(self, company_id: int, delay: float) -> str:
        """RequestCertificateSetup: start provisioning (done ``delay`` seconds from
        now) unless it is done or under way; the status after the request."""
        with self._lock:
            if self._setup.get(company_id) is None:
                self._setup[company_id] = time.time() + delay
                self._save()
        return self.setup_status(company_id)

    # -- whole state -------------------------------------------------------

    def reset(self) -> None:
        """Forget every record: back to the seeded state (companies only)."""
        with self._lock:
            self._clear()
            self._save()

    # -- customers ---------------------------------------------------------

    def customer(self, company_id: int, code: str) -> dict:
        with self._lock:
            return copy.deepcopy(self._customers[self._customer_id(company_id, code)])

    def has_customer(self, company_id: int, code: str) -> bool:
        with self._lock:
            return (company_id, code) in self._customer_ids

    def customers_by_ids(self, ids: list[int]) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(self._customers[i]) for i in ids if i in self._customers]

    def create_customers(self, company_id: int, records: list[dict]) -> list[dict]:
        """Create all ``records`` or none of them (codes must be new and distinct)."""
        with self._lock:
            codes = [record["customerCode"] for record in records]
            taken = [code for code in codes if (company_id, code) in self._customer_ids]
            repeated = sorted({code for code in codes if codes.count(code) > 1})
            if taken or repeated:
                code = (taken or repeated)[0]
                raise ApiError(
                    400,
                    "DuplicateEntry",
                    f"A customer with customerCode '{code}' already exists.",
                    target="customerCode",
                )
            created = []
            for record in records:
                stamp = self._stamp()
                customer = {
                    **record,
                    "id": self._take_id("customer"),
                    "companyId": company_id,
                    "createdDate": stamp,
                    "modifiedDate": stamp,
                }
                self._customers[customer["id"]] = customer
                self._customer_ids[(company_id, customer["customerCode"])] = customer["id"]
                created.append(copy.deepcopy(customer))
            self._save()
            return created

    def delete_customer(self, company_id: int, code: str) -> None:
        """Forget a customer, as a user deleting it in CertCapture's web app."""
        with self._lock:
            customer_id = self._customer_id(company_id, code)
            del self._customers[customer_id]
            del self._customer_ids[(company_id, code)]
            for other in self._customers.values():
                for key in ("shipToIds", "billToIds"):
                    if customer_id in other.get(key, ()):
                        other[key].remove(customer_id)
            self._save()

    def replace_customer(self, company_id: int, code: str, fields: dict) -> dict:
        """PUT semantics: ``fields`` replaces every writable field (links stay)."""
        with self._lock:
            old = self._customers[self._customer_id(company_id, code)]
            keep = ("id", "companyId", "customerCode", "createdDate", "shipToIds", "billToIds")
            kept = {key: old[key] for key in keep if key in old}
            new = {**fields, **kept, "modifiedDate": self._stamp()}
            self._customers[old["id"]] = new
            self._save()
            return copy.deepcopy(new)

    def link_ship_tos(self, company_id: int, bill_to_code: str, ship_to_codes: list[str]) -> dict:
        """LinkShipToCustomersToBillCustomer: all codes linked, or none; the bill-to.

        The bill-to must be a bill-to (``isBill``), else BillToCustomerExpected
        (1221); each ship-to a ship-to (``isShip``), else ShipToCustomerExpected (1222).
        """
        with self._lock:
            bill_to = self._customers[self._customer_id(company_id, bill_to_code)]
            ship_tos = [
                self._customers[self._customer_id(company_id, code)] for code in ship_to_codes
            ]
            if bill_to.get("isBill") is not True:
                raise ApiError(
                    400,
                    "BillToCustomerExpected",
                    f"Customer '{bill_to_code}' is not a bill-to customer.",
                    target="code",
                )
            wrong = [c["customerCode"] for c in ship_tos if c.get("isShip") is not True]
            if wrong:
                raise ApiError(
                    400,
                    "ShipToCustomerExpected",
                    f"Customer '{wrong[0]}' is not a ship-to customer.",
                    target="customers",
                    descriptions=[
                        f"Customer '{code}' is not a ship-to customer." for code in wrong
                    ],
                )
            for ship_to in ship_tos:
                if ship_to["id"] not in bill_to.setdefault("shipToIds", []):
                    bill_to["shipToIds"].append(ship_to["id"])
                if bill_to["id"] not in ship_to.setdefault("billToIds", []):
                    ship_to["billToIds"].append(bill_to["id"])
            bill_to["modifiedDate"] = self._stamp()
            self._save()
            return copy.deepcopy(bill_to)

    # -- certificates ------------------------------------------------------

    def certificates(
        self, company_id: int, customer_code: str | None = None, *, copied: bool = True
    ) -> list[dict]:
        """The company's certificates, or only those linked to one customer.

        ``copied=False`` hands out the store's own records, for a caller that
        only reads them inside ``holding_still()``: a listing that copied
        every certificate for each page would be too slow for 100,000."""
        with self._lock:
            records = [c for c in self._certificates.values() if c["companyId"] == company_id]
            if customer_code is not None:
                customer_id = self._customer_id(company_id, customer_code)
                records = [c for c in records if customer_id in c["customerIds"]]
            return copy.deepcopy(records) if copied else records

    def holding_still(self):
        """``with store.holding_still():`` no other thread changes the store
        meanwhile (its records may then be read in place)."""
        return self._lock

    def certificate(self, company_id: int, certificate_id: int) -> dict:
        with self._lock:
            record = self._certificates.get(certificate_id)
            if record is None or record["companyId"] != company_id:
                raise not_found("Certificate", certificate_id)
            return copy.deepcopy(record)

    def attachment(self, company_id: int, certificate_id: int) -> bytes | None:
        """The certificate's PDF, or None when it has no document."""
        with self._lock:
            self.certificate(company_id, certificate_id)
            return self._attachments.get(certificate_id)

    def add_certificate(
        self,
        company_id: int,
        customer_code: str,
        *,
        zone_id: int,
        reason_id: int,
        exemption_number: str,
        signed_date: date,
        expiration_date: date,
        single_use: bool,
        status: str,
        pdf: bytes | None,
        filename: str | None,
        po_numbers: list[str] | tuple[str, ...] = (),
    ) -> dict:
        """Record one certificate linked to one existing customer."""
        with self._lock:
            customer_id = self._customer_id(company_id, customer_code)
            record = self._insert_certificate(
                company_id,
                [customer_id],
                zone_id=zone_id,
                reason_id=reason_id,
                exemption_number=exemption_number,
                signed_date=signed_date,
                expiration_date=expiration_date,
                single_use=single_use,
                status=status,
                pdf=pdf,
                filename=(filename or None) if pdf else None,
                po_numbers=po_numbers,
            )
            self._save()
            return record

    def create_certificates(self, company_id: int, certificates: list[dict]) -> list[dict]:
        """Record certificates as POST /certificates checked them (``validation``), all
        or none; each is COMPLETE at once and linked to its existing customers."""
        with self._lock:
            customer_ids = [
                [self._customer_id(company_id, code) for code in certificate["customerCodes"]]
                for certificate in certificates
            ]
            created = [
                self._insert_certificate(
                    company_id,
                    ids,
                    zone_id=certificate["exposureZoneId"],
                    reason_id=certificate["exemptionReasonId"],
                    exemption_number=certificate["exemptionNumber"],
                    signed_date=certificate["signedDate"],
                    expiration_date=certificate["expirationDate"],
                    single_use=certificate["isSingleCertificate"],
                    status="COMPLETE",
                    pdf=certificate["pdf"],
                    filename=certificate["filename"],
                )
                for certificate, ids in zip(certificates, customer_ids, strict=True)
            ]
            self._save()
            return created

    def _insert_certificate(
        self,
        company_id: int,
        customer_ids: list[int],
        *,
        zone_id: int,
        reason_id: int,
        exemption_number: str | None,
        signed_date: date,
        expiration_date: date,
        single_use: bool,
        status: str,
        pdf: bytes | None,
        filename: str | None,
        po_numbers: list[str] | tuple[str, ...] = (),
    ) -> dict:
        """Store one certificate (the caller holds the lock and saves); a copy of it.

        With a PDF, ``filename`` names it (a generated name when None); without,
        it names a document the sandbox does not have (``documentExists`` false).
        """
        certificate_id = self._take_id("certificate")
        stamp = self._stamp()
        record = {
            "id": certificate_id,
            "companyId": company_id,
            "customerIds": list(dict.fromkeys(customer_ids)),
            "exposureZoneId": zone_id,
            "exemptionReasonId": reason_id,
            "exemptionNumber": exemption_number,
            "signedDate": signed_date.isoformat(),
            "expirationDate": expiration_date.isoformat(),
            "isSingleCertificate": single_use,
            # The purchase orders a single-use certificate is for ($include=po_numbers).
            "poNumbers": list(po_numbers),
            "status": status,
            "filename": (filename or f"certificate-{certificate_id}.pdf") if pdf else filename,
            "hasDocument": bool(pdf),
            "createdDate": stamp,
            "modifiedDate": stamp,
        }
        self._certificates[certificate_id] = record
        if pdf:
            self._attachments[certificate_id] = bytes(pdf)
        return copy.deepcopy(record)

    # -- CertExpress invitations -------------------------------------------

    def create_invitations(
        self, company_id: int, customer_code: str, invitations: list[dict], ready_delay: float
    ) -> list[dict]:
        """Record invitations that become Ready ``ready_delay`` seconds from now."""
        with self._lock:
            self._customer_id(company_id, customer_code)
            created = []
            for invitation in invitations:
                record = {
                    **invitation,
                    "id": self._take_id("invitation"),
                    "companyId": company_id,
                    "customerCode": customer_code,
                    "date": self._stamp(),
                    "readyAt": time.time() + ready_delay,
                    "token": secrets.token_urlsafe(24),
                }
                self._invitations[record["id"]] = record
                created.append(copy.deepcopy(record))
            self._save()
            return created

    def invitations(self, company_id: int) -> list[dict]:
        """Every invitation of the company, all customers together."""
        with self._lock:
            return copy.deepcopy(
                [i for i in self._invitations.values() if i["companyId"] == company_id]
            )

    def invitation(self, company_id: int, customer_code: str, invitation_id: int) -> dict:
        with self._lock:
            self._customer_id(company_id, customer_code)
            record = self._invitations.get(invitation_id)
            if record is None or (record["companyId"], record["customerCode"]) != (
                company_id,
                customer_code,
            ):
                raise not_found("CertExpressInvitation", invitation_id)
            return copy.deepcopy(record)

    def sent_emails(self) -> list[dict]:
        """The Email invitations that are Ready (their email went out), oldest first."""
        now = time.time()
        with self._lock:
            sent = [
                i
                for i in self._invitations.values()
                if i["deliveryMethod"] == "Email" and i["readyAt"] <= now
            ]
            return copy.deepcopy(sorted(sent, key=lambda i: (i["readyAt"], i["id"])))

    def invitation_by_token(self, token: str) -> dict | None:
        with self._lock:
            found = next((i for i in self._invitations.values() if i["token"] == token), None)
            return copy.deepcopy(found)

    def make_invitations_ready(self) -> int:
        """Make every pending invitation Ready now; returns how many changed."""
        with self._lock:
            now = time.time()
            pending = [i for i in self._invitations.values() if i["readyAt"] > now]
            for record in pending:
                record["readyAt"] = now
            if pending:
                self._save()
            return len(pending)

    # -- internals ---------------------------------------------------------

    def _clear(self) -> None:
        self._customers: dict[int, dict] = {}
        self._customer_ids: dict[tuple[int, str], int] = {}
        self._certificates: dict[int, dict] = {}
        self._attachments: dict[int, bytes] = {}
        self._invitations: dict[int, dict] = {}
        self._next_ids = dict(FIRST_IDS)
        self._last_stamp: str | None = None
        #: company id -> time.time() at which its certificate storage is (or will be)
        #: set up; None: never asked for.
        self._setup: dict[int, float | None] = {
            company.id: 0.0 if company.provisioned else None for company in self.companies
        }

    def _customer_id(self, company_id: int, code: str) -> int:
        try:
            return self._customer_ids[(company_id, code)]
        except KeyError:
            raise unknown_customer(code) from None

    def _take_id(self, kind: str) -> int:
        value = self._next_ids[kind]
        self._next_ids[kind] = value + 1
        return value

    def _stamp(self) -> str:
        """A modification time strictly later than the previous one, to the tick
        (100 ns, seven fraction digits, as AvaTax writes them).

        Clients sync with ``modifiedDate gt <last seen>``; two changes at the same
        moment would make one of them invisible to that filter. Two changes within
        one microsecond differ in the seventh digit only: a client that keeps
        microseconds sees the later one again (never loses it).
        """
        ticks = now_ticks()
        if self._last_stamp is not None:
            ticks = max(ticks, parse_ticks(self._last_stamp) + 1)
        self._last_stamp = format_ticks(ticks)
        return self._last_stamp

    def _save(self) -> None:
        if self._path is None:
            return
        state = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "nextIds": self._next_ids,
            "lastStamp": self._last_stamp,
            "customers": list(self._customers.values()),
            "certificates": list(self._certificates.values()),
            "attachments": {
                str(key): base64.b64encode(value).decode("ascii")
                for key, value in self._attachments.items()
            },
            "invitations": list(self._invitations.values()),
            "setup": {str(key): value for key, value in self._setup.items()},
        }
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{self._path.name}.", dir=self._path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(state, stream, ensure_ascii=False)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self._path)
        except BaseException:
            os.unlink(temporary)
            raise

    def _load(self) -> None:
        state = json.loads(self._path.read_text(encoding="utf-8"))
        if state.get("format") != STATE_FORMAT or state.get("version") != STATE_VERSION:
            raise ValueError(f"{self._path} is not a sandbox state file of version {STATE_VERSION}")
        self._next_ids = {**FIRST_IDS, **state["nextIds"]}
        self._last_stamp = state["lastStamp"]
        self._customers = {c["id"]: c for c in state["customers"]}
        self._customer_ids = {
            (c["companyId"], c["customerCode"]): c["id"] for c in state["customers"]
        }
        self._certificates = {c["id"]: c for c in state["certificates"]}
        self._attachments = {
            int(key): base64.b64decode(value) for key, value in state["attachments"].items()
        }
        self._invitations = {i["id"]: i for i in state["invitations"]}
        for key, value in (state.get("setup") or {}).items():
            if int(key) in self._setup:
                self._setup[int(key)] = value
