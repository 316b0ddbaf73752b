"""What one generation run is: sizes, seed, reference date, id bases, and the COPY layout.

A run is cut into shards of a fixed number of accounts. Every shard is built from
``(seed, shard number)`` alone, so the data do not depend on how many worker processes built it.
Ids that other rows point at (consumers, accounts, phones, meters) are computed from the account's
global index, so shards never need to talk to each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

SHARD_SIZE = 5000

# Table -> columns in the order the shard builder writes them (PostgreSQL COPY text format).
# The order of the mapping is also the load order, so foreign keys are satisfied.
COLUMNS: dict[str, tuple[str, ...]] = {
    "consumers": ("id", "kind", "full_name", "inn", "created_at"),
    "accounts": (
        "id",
        "number",
        "consumer_id",
        "status",
        "city",
        "street",
        "house",
        "apartment",
        "timezone",
        "opened_on",
        "created_at",
        "updated_at",
    ),
    "phones": ("id", "e164"),
    "account_phones": ("phone_id", "account_id", "kind"),
    "account_services": ("account_id", "service", "status", "tariff"),
    "balances": (
        "account_id",
        "service",
        "period",
        "balance",
        "debt",
        "penalty",
        "months_overdue",
        "updated_at",
    ),
    "charges": ("account_id", "service", "period", "amount", "volume"),
    "payments": ("account_id", "service", "paid_on", "amount", "channel"),
    "meters": (
        "id",
        "account_id",
        "service",
        "serial",
        "zones",
        "digits",
        "decimals",
        "verification_due",
        "installed_on",
    ),
    "readings": (
        "meter_id",
        "zone",
        "period",
        "value",
        "source",
        "status",
        "reject_reason",
        "created_at",
    ),
    "appeals": (
        "account_id",
        "consumer_id",
        "type",
        "topic",
        "priority",
        "status",
        "channel",
        "operator_group",
        "summary",
        "created_at",
        "due_at",
        "closed_at",
    ),
}
TABLES: tuple[str, ...] = tuple(COLUMNS)

PHONE_SLOTS = 3  # mobile, home, work phone ids reserved per account
METER_SLOTS = 4  # one meter per service
MAX_ACCOUNTS = 50_000_000  # account numbers and phones are permutations of 8 digits


@dataclass(frozen=True)
class IdBases:
    """Largest id already in each table; generated ids start above it."""

    consumers: int = 0
    accounts: int = 0
    phones: int = 0
    meters: int = 0


@dataclass(frozen=True)
class GenParams:
    seed: int
    accounts: int
    today: dt.date
    history_months: int = 3
    appeals_per_account: float = 2.6
    bases: IdBases = IdBases()

    @property
    def shards(self) -> int:
        return (self.accounts + SHARD_SIZE - 1) // SHARD_SIZE

    def periods(self) -> list[dt.date]:
        """Closed billing months, oldest first, ending with the month before ``today``."""
        first = self.today.replace(day=1)
        out = []
        y, m = first.year, first.month
        for _ in range(self.history_months):
            m -= 1
            if m == 0:
                y, m = y - 1, 12
            out.append(dt.date(y, m, 1))
        return out[::-1]


class Permutation:
    """A bijection of ``range(modulus)``: spreads sequential indexes into unique-looking numbers."""

    def __init__(self, modulus: int, seed: int, salt: int) -> None:
        a = (seed * 2654435761 + salt * 97531) % modulus | 1
        while a % 5 == 0 or a < modulus // 10:
            a = (a + modulus // 7 + 2) % modulus | 1
        self.a, self.b, self.m = a, (seed * 40503 + salt * 7919) % modulus, modulus

    def __call__(self, i: int) -> int:
        return (self.a * i + self.b) % self.m
