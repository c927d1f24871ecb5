"""Start-up settings of a sandbox instance.

Everything that must be known before the server binds lives here; what can
change while it runs (faults, the data) lives in :mod:`faults` and :mod:`store`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: The first company gets this id; the others follow in the order given.
FIRST_COMPANY_ID = 1001


@dataclass(frozen=True)
class Company:
    """An AvaTax company as the sandbox knows it (fixed for the server's life)."""

    id: int
    code: str
    name: str
    provisioned: bool


@dataclass(frozen=True)
class SandboxConfig:
    """Credentials, companies and timing of one sandbox.

    ``not_provisioned`` codes that are not also in ``company_codes`` are added
    after them, so ``SandboxConfig(not_provisioned=("NOECM",))`` gives
    DEFAULT = 1001 and NOECM = 1002.
    """

    account_id: str = "1100000001"
    license_key: str = "sandbox-license-key"
    company_codes: tuple[str, ...] = ("DEFAULT",)
    not_provisioned: tuple[str, ...] = ()
    invite_ready_delay: float = 0.0
    state_file: str | os.PathLike | None = None

    def __post_init__(self):
        # Accept lists from callers but keep the frozen object hashable.
        object.__setattr__(self, "company_codes", tuple(self.company_codes))
        object.__setattr__(self, "not_provisioned", tuple(self.not_provisioned))
        if not str(self.account_id).isdigit():
            raise ValueError("account_id must be numeric, as AvaTax account ids are")
        if not self.license_key:
            raise ValueError("license_key must not be empty")
        codes = self.company_codes + self.not_provisioned
        if not codes or any(not code for code in codes):
            raise ValueError("at least one non-empty company code is needed")
        if len(set(self.company_codes)) != len(self.company_codes):
            raise ValueError("company codes must be unique")
        if self.invite_ready_delay < 0:
            raise ValueError("invite_ready_delay must not be negative")

    def companies(self) -> tuple[Company, ...]:
        """The companies with their stable ids, in configuration order."""
        extra = [code for code in self.not_provisioned if code not in self.company_codes]
        return tuple(
            Company(
                id=FIRST_COMPANY_ID + index,
                code=code,
                name=f"{code} (sandbox)",
                provisioned=code not in self.not_provisioned,
            )
            for index, code in enumerate(self.company_codes + tuple(extra))
        )
