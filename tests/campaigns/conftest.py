"""Fixtures of the campaign tests (shared by H-F1's and H-F2's modules: append, don't rewrite).

Every test makes its own consumers in a city of its own (``world.city``), so tests sharing the
database never count each other's rows; selection tests filter by that city.
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal

import asyncpg
import pytest

from state.db import create_pool, migrate


@pytest.fixture(scope="session")
async def campaign_dsn(create_database) -> str:
    dsn = await create_database("campaigns")
    await migrate(dsn)
    return dsn


@pytest.fixture(scope="session")
async def campaign_pool(campaign_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(campaign_dsn, min_size=1, max_size=6)
    yield pool
    await pool.close()


class World:
    """Hand-made consumers, accounts, phones, debts and payments in a city of their own."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.city = f"Город-{uuid.uuid4().hex[:8]}"
        self._phone = int(uuid.uuid4().int % 10**6)

    def phone(self) -> str:
        self._phone += 1
        return f"+7912{self._phone % 10**7:07d}"

    async def account(
        self, *, street: str = "ул. Ленина", house: str = "1", apartment: str | None = "5",
        status: str = "active", timezone: str = "Europe/Moscow", phones: int | list[str] = 1,
        consumer_id: int | None = None, city: str | None = None,
        debts: dict[str, tuple[str, int]] | None = None,
        services: dict[str, str] | None = None,
        paid_on: date | None = None,
    ) -> dict:
        """``debts``: {service: ("1234.56", months_overdue)}; ``services``: {service: status}."""
        numbers = [self.phone() for _ in range(phones)] if isinstance(phones, int) else phones
        async with self.pool.acquire() as conn, conn.transaction():
            if consumer_id is None:
                consumer_id = await conn.fetchval(
                    "INSERT INTO consumers (kind, full_name) VALUES ('person', 'Тест') "
                    "RETURNING id")
            account_id = await conn.fetchval(
                """INSERT INTO accounts (number, consumer_id, status, city, street, house,
                                         apartment, timezone)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id""",
                str(uuid.uuid4().int % 10**11).rjust(11, "1"), consumer_id, status,
                city or self.city, street, house, apartment, timezone)
            for kind_index, e164 in enumerate(numbers):
                phone_id = await conn.fetchval(
                    """INSERT INTO phones (e164) VALUES ($1) ON CONFLICT (e164)
                       DO UPDATE SET e164 = EXCLUDED.e164 RETURNING id""", e164)
                await conn.execute(
                    "INSERT INTO account_phones (phone_id, account_id, kind) VALUES ($1, $2, $3)",
                    phone_id, account_id, ("mobile", "home", "work")[kind_index % 3])
            for service, status_ in (services or {}).items():
                await conn.execute(
                    "INSERT INTO account_services (account_id, service, status) "
                    "VALUES ($1, $2, $3)", account_id, service, status_)
            for service, (debt, months) in (debts or {}).items():
                await conn.execute(
                    """INSERT INTO balances (account_id, service, period, debt, months_overdue)
                       VALUES ($1, $2, date '2026-11-01', $3, $4)""",
                    account_id, service, Decimal(debt), months)
            if paid_on is not None:
                await conn.execute(
                    "INSERT INTO payments (account_id, paid_on, amount) VALUES ($1, $2, 100)",
                    account_id, paid_on)
        return {"id": account_id, "consumer_id": consumer_id, "phones": numbers}

    async def dial(self, account: dict, at: datetime, result: str | None = "answered",
                   campaign_id: int | None = None) -> None:
        """A past dial in contact_log (what the dialler writes in its dial transaction)."""
        await self.pool.execute(
            """INSERT INTO contact_log (account_id, phone, campaign_id, dialled_at, result)
               VALUES ($1, $2, $3, $4, $5)""",
            account["id"], account["phones"][0] if account["phones"] else "+70000000000",
            campaign_id, at, result)


@pytest.fixture
def world(campaign_pool: asyncpg.Pool) -> World:
    return World(campaign_pool)
