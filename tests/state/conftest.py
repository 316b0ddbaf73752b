"""Fixtures of the state tests. Shared by several test modules: append, don't rewrite."""
from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from state.db import create_pool, migrate


# --- cards, repositories, live state ------------------------------------------------------
@pytest.fixture(scope="session")
async def state_dsn(create_database) -> str:
    """A migrated database of its own for the card/repository tests, which write rows."""
    dsn = await create_database("state")
    await migrate(dsn)
    return dsn


@pytest.fixture(scope="session")
async def state_pool(state_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(state_dsn, min_size=1, max_size=4)
    yield pool
    await pool.close()


class Rows:
    """Hand-inserted domain rows; every call makes unique numbers and streets, so tests sharing
    the database never see each other's rows."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._n = 0

    def unique(self) -> str:
        import uuid

        return uuid.uuid4().hex[:8]

    def account_number(self) -> str:
        import random

        return str(random.randrange(10**9, 10**10))

    async def account(
        self,
        *,
        number: str | None = None,
        full_name: str = "Иванов Иван Иванович",
        city: str = "Пермь",
        street: str | None = None,
        house: str = "1",
        apartment: str | None = "5",
        status: str = "active",
        phones: tuple[str, ...] = (),
    ) -> dict:
        number = number or self.account_number()
        street = street or f"ул. Тестовая-{self.unique()}"
        async with self.pool.acquire() as conn, conn.transaction():
            consumer_id = await conn.fetchval(
                "INSERT INTO consumers (kind, full_name) VALUES ('person', $1) RETURNING id",
                full_name,
            )
            account_id = await conn.fetchval(
                """INSERT INTO accounts (number, consumer_id, status, city, street, house,
                                         apartment, timezone)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, 'Asia/Yekaterinburg') RETURNING id""",
                number, consumer_id, status, city, street, house, apartment,
            )
            for e164 in phones:
                await self.link_phone(conn, account_id, e164)
        return {"id": account_id, "number": number, "consumer_id": consumer_id,
                "city": city, "street": street, "house": house}

    async def link_phone(self, conn, account_id: int, e164: str, kind: str = "mobile") -> None:
        phone_id = await conn.fetchval(
            """INSERT INTO phones (e164) VALUES ($1)
               ON CONFLICT (e164) DO UPDATE SET e164 = EXCLUDED.e164 RETURNING id""",
            e164,
        )
        await conn.execute(
            "INSERT INTO account_phones (phone_id, account_id, kind) VALUES ($1, $2, $3)",
            phone_id, account_id, kind,
        )

    def phone(self) -> str:
        import random

        return f"+79{random.randrange(10**8, 10**9)}"

    async def outage(
        self, city: str, street: str, house: str | None, *, restored: bool = False,
        service: str = "electricity", description: str = "Авария на линии",
    ) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            outage_id = await conn.fetchval(
                """INSERT INTO outages (service, description, started_at,
                                        expected_restoration_at, restored_at)
                   VALUES ($1, $2, now() - interval '1 hour', now() + interval '3 hours',
                           CASE WHEN $3 THEN now() END) RETURNING id""",
                service, description, restored,
            )
            await conn.execute(
                "INSERT INTO outage_addresses (outage_id, city, street, house) "
                "VALUES ($1, $2, $3, $4)",
                outage_id, city, street, house,
            )
        return outage_id


@pytest.fixture
def rows(state_pool: asyncpg.Pool) -> Rows:
    return Rows(state_pool)


# --- generator and billing import ---------------------------------------------------------
GEN_TODAY = __import__("datetime").date(2026, 3, 15)  # fixed, so runs on any day compare equal
GEN_ACCOUNTS = 1200


@pytest.fixture(scope="session")
async def fresh_db(create_database):
    """Factory: an empty migrated database of its own (and a pool on it, closed at the end)."""
    pools: list[asyncpg.Pool] = []

    async def make(prefix: str = "gen") -> tuple[str, asyncpg.Pool]:
        dsn = await create_database(prefix)
        await migrate(dsn)
        pool = await create_pool(dsn, min_size=1, max_size=4)
        pools.append(pool)
        return dsn, pool

    yield make
    for pool in pools:
        await pool.close()


@pytest.fixture(scope="session")
async def generated(fresh_db):
    """A generated data set (with the fixed demo accounts) that tests only read."""
    from state.generator import generate

    dsn, pool = await fresh_db("gen")
    report = await generate(pool, GEN_ACCOUNTS, seed=11, today=GEN_TODAY)
    return pool, report
