"""IVR fixtures: an own migrated database, rows each test inserts for itself, and the servers."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal

import asyncpg
import pytest

from ivr.app import ivr_servers
from ivr.deps import IvrDeps
from ivr.settings import IvrSettings
from state.db import create_pool, migrate
from state.readings import ReadingLimits


@pytest.fixture(scope="session")
async def ivr_db(create_database) -> AsyncIterator[asyncpg.Pool]:
    dsn = await create_database("ivr")
    await migrate(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=10)
    yield pool
    await pool.close()


def unique_digits(n: int) -> str:
    return str(random.randrange(10 ** (n - 1), 10**n))


@dataclass
class Seeded:
    account_id: int
    number: str
    phone: str
    meters: list[int] = field(default_factory=list)
    city: str = "Новосибирск"
    street: str = ""
    house: str = "1"


async def seed_account(
    db: asyncpg.Pool,
    *,
    phone: str | None = None,
    timezone: str = "Europe/Moscow",
    street: str | None = None,
) -> Seeded:
    """A consumer with one account (unique number, own street) and optionally a phone."""
    street = street or f"ул. Тестовая {unique_digits(6)}"
    consumer = await db.fetchval(
        "INSERT INTO consumers (kind, full_name) VALUES ('person', 'Тестов Тест') RETURNING id"
    )
    number = unique_digits(10)
    account_id = await db.fetchval(
        """INSERT INTO accounts (number, consumer_id, city, street, house, timezone)
           VALUES ($1, $2, 'Новосибирск', $3, '1', $4) RETURNING id""",
        number, consumer, street, timezone,
    )
    seeded = Seeded(account_id, number, phone or "", street=street)
    if phone:
        await link_phone(db, phone, account_id)
    return seeded


async def link_phone(db: asyncpg.Pool, phone: str, account_id: int) -> None:
    phone_id = await db.fetchval(
        """INSERT INTO phones (e164) VALUES ($1)
           ON CONFLICT (e164) DO UPDATE SET e164 = EXCLUDED.e164 RETURNING id""",
        phone,
    )
    await db.execute(
        "INSERT INTO account_phones (phone_id, account_id) VALUES ($1, $2)", phone_id, account_id
    )


async def add_meter(
    db: asyncpg.Pool,
    account_id: int,
    *,
    service: str = "electricity",
    digits: int = 6,
    decimals: int = 0,
    zones: tuple[str, ...] = ("total",),
    replaces: int | None = None,
) -> int:
    return await db.fetchval(
        """INSERT INTO meters (account_id, service, serial, zones, digits, decimals,
                               replaces_meter_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
        account_id, service, unique_digits(9), list(zones), digits, decimals, replaces,
    )


async def add_reading(
    db: asyncpg.Pool, meter_id: int, period: dt.date, value: str, zone: str = "total"
) -> int:
    return await db.fetchval(
        """INSERT INTO readings (meter_id, zone, period, value, source, status)
           VALUES ($1, $2, $3, $4, 'file', 'accepted') RETURNING id""",
        meter_id, zone, period, Decimal(value),
    )


def unique_phone() -> str:
    return "+7912" + unique_digits(7)


def month_shift(period: dt.date, months: int) -> dt.date:
    index = period.year * 12 + period.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def ivr_test_settings() -> IvrSettings:
    return IvrSettings(
        agi_port=0,
        audiosocket_port=0,
        header_timeout=0.5,
        listen_no_input_seconds=0.3,
        listen_end_silence_seconds=0.3,
        listen_max_seconds=2.0,
        dtmf_timeout_ms=500,
        audiosocket_read_timeout=2.0,
        audiosocket_connect_timeout=2.0,
    )


@pytest.fixture
def route_errors() -> list[BaseException]:
    return []


@pytest.fixture
def ivr_factory(ivr_db, route_errors):
    """Start the IVR (FastAGI + AudioSocket) with a given engine and clock."""

    @contextlib.asynccontextmanager
    async def start(engine=None, *, clock=None, settings: IvrSettings | None = None):
        settings = settings or ivr_test_settings()
        deps = IvrDeps(
            ivr_db, settings,
            ReadingLimits(),
            **({"clock": clock} if clock else {}),
        )
        async with ivr_servers(
            settings, ivr_db, engine, deps=deps,
            on_route_error=lambda path, exc: route_errors.append(exc),
        ) as servers:
            yield servers
        # Route errors are bugs; each test sees them here instead of in a log.
        assert not route_errors, route_errors

    return start


async def wait_interaction(db: asyncpg.Pool, call_id: str) -> asyncpg.Record:
    from tests.helpers import until

    async def done():
        return await db.fetchrow(
            "SELECT * FROM interactions WHERE call_id = $1 AND outcome IS NOT NULL"
            " AND outcome <> 'in_progress'", call_id,
        )

    return await until(done, timeout=10)


__all__ = ["asyncio"]


@pytest.fixture(scope="session")
async def vosk_engine():
    """The real Vosk engine with the installed model (Korean on these machines)."""
    from speech import SpeechEngine
    from speech.settings import SpeechSettings

    engine = SpeechEngine(SpeechSettings(language="ko", max_sessions=2, workers=1))
    await engine.start()
    yield engine
    await engine.close()
