"""Lookups the IVR needs that the state repositories do not offer (yet)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import asyncpg

__all__ = ["ServiceBalance", "balances_of"]


@dataclass(frozen=True)
class ServiceBalance:
    service: str
    balance: Decimal
    debt: Decimal
    penalty: Decimal


async def balances_of(db: asyncpg.Pool, account_id: int) -> list[ServiceBalance]:
    rows = await db.fetch(
        """SELECT service, balance, debt, penalty FROM balances
           WHERE account_id = $1 ORDER BY service""",
        account_id,
    )
    return [ServiceBalance(r["service"], r["balance"], r["debt"], r["penalty"]) for r in rows]
