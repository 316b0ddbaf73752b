"""The billing CSV contract: the format, the errors and the report of an import."""

from __future__ import annotations

from dataclasses import dataclass, field

BILLING_FORMAT = """\
UTF-8 text (a BOM is allowed), one header line, `;` as delimiter (`,` is detected from the
header), CSV quoting with `"`. Columns, by header name, in any order:

| column | required | format |
| --- | --- | --- |
| account | yes | 8-12 digits |
| consumer_kind | no | `person` (default) or `organisation` (also `ФЛ`, `ЮЛ`, `ИП`) |
| full_name | yes | consumer's name, up to 300 characters |
| inn | no | 10 or 12 digits |
| city, street, house | yes | address |
| apartment | no | |
| timezone | no | IANA name such as `Asia/Novosibirsk`; empty keeps the current one (new: Europe/Moscow) |
| phone | no | any Russian or international form; stored as E.164; one per row, an account's rows add up |
| service | yes | `electricity`, `heating`, `hot_water`, `cold_water` (the `services` table) |
| service_status | no | `active` (default), `restricted`, `suspended`, `disconnected` |
| period | yes | `YYYY-MM` or `YYYY-MM-DD` (any day: the month is meant) |
| charged | no | money charged for the period, may be negative (recalculation); empty: none |
| paid | no | money paid for the period, >= 0; empty or 0: none |
| balance | no | signed current balance (negative: the consumer owes), default 0 |
| debt, penalty | no | overdue debt and penalty, >= 0, default 0 |
| months_overdue | no | whole months, >= 0, default 0 |

Money: digits with `.` or `,` and at most 2 decimals, optional leading `-`, no thousands separators.
Balance and service status come from the latest period of each account and service in the file
and never overwrite a newer period already in the database. Payments get the external id
`billing:<account>:<service>:<YYYY-MM>`.
"""

COLUMNS = (
    "account",
    "consumer_kind",
    "full_name",
    "inn",
    "city",
    "street",
    "house",
    "apartment",
    "timezone",
    "phone",
    "service",
    "service_status",
    "period",
    "charged",
    "paid",
    "balance",
    "debt",
    "penalty",
    "months_overdue",
)
REQUIRED = frozenset({"account", "full_name", "city", "street", "house", "service", "period"})
KINDS = {
    "person": "person",
    "фл": "person",
    "organisation": "organisation",
    "organization": "organisation",
    "юл": "organisation",
    "ип": "organisation",
}
SERVICE_STATUSES = frozenset({"active", "restricted", "suspended", "disconnected"})
MAX_REPORTED = 1000  # rejected rows listed in detail; all are counted


class BillingImportError(Exception):
    """Base of the import's errors."""


class ImportRefused(BillingImportError):
    """The file as a whole is unusable (encoding, header): nothing was applied."""


class ImportFailed(BillingImportError):
    """Applying the file failed; the transaction was rolled back and nothing was applied."""


@dataclass
class Rejection:
    line: int
    reason: str


@dataclass
class ImportReport:
    file: str
    rows_read: int = 0
    rows_applied: int = 0
    rejected_count: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    seconds: float = 0.0

    def reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REPORTED:
            self.rejected.append(Rejection(line, reason))

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0
