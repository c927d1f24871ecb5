"""Start-up settings of a sandbox instance.

Everything that must be known before the server binds lives here; what can
change while it runs (faults, the data) lives in :mod:`faults` and :mod:`store`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: The first company gets this id; the others follow in the order given.
FIRST_COMPANY_ID = 1001
#: The most records any list call answers (AvaTax's own limit).
MAX_TOP = 1000
#: The most records an exemption list answers unless configured otherwise.
DEFAULT_MAX_TOP = 100


#: What the exemption calls of a company without certificate storage answer.
NOT_SET_UP = "CertificatesNotSetup"
PROVISIONING_FAILED = "AccountNotProvisioned"


@dataclass(frozen=True)
class Company:
    """An AvaTax company as the sandbox knows it (fixed for the server's life).

    ``provisioned`` is how the company starts; ``setup_error`` is the code its
    exemption calls answer until its certificate storage is set up
    (``CertificatesNotSetup``, or ``AccountNotProvisioned`` when Avalara's own
    provisioning failed). A setup request (POST certificates/setup) provisions it.
    """

    id: int
    code: str
    name: str
    provisioned: bool
    setup_error: str = NOT_SET_UP


@dataclass(frozen=True)
class SandboxConfig:
    """Credentials, companies and timing of one sandbox.

    ``not_provisioned`` and ``provisioning_failed`` codes that are not also in
    ``company_codes`` are added after them, so
    ``SandboxConfig(not_provisioned=("NOECM",))`` gives DEFAULT = 1001 and
    NOECM = 1002. ``not_provisioned`` companies answer ``CertificatesNotSetup``
    (1205), ``provisioning_failed`` ones ``AccountNotProvisioned`` (1216), until a
    setup request provisions them (``setup_delay`` seconds later).

    ``max_top`` caps ``$top`` on the exemption lists (certificates, a customer's
    certificates, invitations): AvaTax may answer fewer records than asked for
    (docs/api-reference.md, section 1), and then says so only by
    ``@recordsetCount`` and ``@nextLink``. ``refuse_gt_filter`` makes the same
    lists refuse a ``gt`` comparison in ``$filter`` with ``InvalidExemptionOperation``
    (1212): which operations AvaTax accepts is not public, and a client must cope
    with that answer. These and the delays may be changed while the sandbox runs
    (``SandboxServer.configure``).
    """

    account_id: str = "1100000001"
    license_key: str = "sandbox-license-key"
    company_codes: tuple[str, ...] = ("DEFAULT",)
    not_provisioned: tuple[str, ...] = ()
    provisioning_failed: tuple[str, ...] = ()
    invite_ready_delay: float = 0.0
    setup_delay: float = 0.0
    max_top: int = DEFAULT_MAX_TOP
    refuse_gt_filter: bool = False
    state_file: str | os.PathLike | None = None

    def __post_init__(self):
        # Accept lists from callers but keep the frozen object hashable.
        object.__setattr__(self, "company_codes", tuple(self.company_codes))
        object.__setattr__(self, "not_provisioned", tuple(self.not_provisioned))
        object.__setattr__(self, "provisioning_failed", tuple(self.provisioning_failed))
        if not str(self.account_id).isdigit():
            raise ValueError("account_id must be numeric, as AvaTax account ids are")
        if not self.license_key:
            raise ValueError("license_key must not be empty")
        codes = self.company_codes + self.not_provisioned + self.provisioning_failed
        if not codes or any(not code for code in codes):
            raise ValueError("at least one non-empty company code is needed")
        if len(set(self.company_codes)) != len(self.company_codes):
            raise ValueError("company codes must be unique")
        if set(self.not_provisioned) & set(self.provisioning_failed):
            raise ValueError("a company is either not provisioned or failed provisioning")
        for name in ("invite_ready_delay", "setup_delay"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if (
            isinstance(self.max_top, bool)
            or not isinstance(self.max_top, int)
            or not 1 <= self.max_top <= MAX_TOP
        ):
            raise ValueError(f"max_top must be a whole number from 1 to {MAX_TOP}")
        if not isinstance(self.refuse_gt_filter, bool):
            raise ValueError("refuse_gt_filter must be True or False")

    def companies(self) -> tuple[Company, ...]:
        """The companies with their stable ids, in configuration order."""
        extra = [
            code
            for code in dict.fromkeys(self.not_provisioned + self.provisioning_failed)
            if code not in self.company_codes
        ]
        return tuple(
            Company(
                id=FIRST_COMPANY_ID + index,
                code=code,
                name=f"{code} (sandbox)",
                provisioned=code not in self.not_provisioned + self.provisioning_failed,
                setup_error=PROVISIONING_FAILED if code in self.provisioning_failed else NOT_SET_UP,
            )
            for index, code in enumerate(self.company_codes + tuple(extra))
        )
