"""Rows that are not per account: billing periods and active outages at generated addresses."""

from __future__ import annotations

import datetime as dt
import random

import asyncpg

from . import pools
from .known import KNOWN_OUTAGE
from .params import GenParams
from .shard import CITY_TABLE, STREETS, house_text


async def insert_billing_periods(conn: asyncpg.Connection, params: GenParams) -> int:
    """Closed months of the history, and the current month open for readings."""
    rows: list[tuple[dt.date, dt.datetime | None]] = []
    for p in params.periods():
        closed = (p + dt.timedelta(days=34)).replace(day=3)
        rows.append((p, dt.datetime.combine(closed, dt.time(2, 0), dt.UTC)))
    rows.append((params.today.replace(day=1), None))
    await conn.executemany(
        "INSERT INTO billing_periods (period, closed_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        rows,
    )
    return len(rows)


async def insert_outages(conn: asyncpg.Connection, params: GenParams, include_known: bool) -> int:
    """A few active outages (street-wide or per house) and some already restored."""
    r = random.Random(params.seed * 7_919 + 17)
    midnight = dt.datetime.combine(params.today, dt.time(0, 0), dt.UTC)
    count = max(3, params.accounts // 40_000)
    specs = []
    for n in range(count):
        service = pools.SERVICES[int(r.random() * 4)]
        city = CITY_TABLE[int(r.random() * len(CITY_TABLE))][0]
        street = STREETS[city][int(r.random() * len(STREETS[city]))]
        houses = (
            [None]
            if r.random() < 0.2
            else sorted({house_text(r) for _ in range(1 + int(r.random() * 4))})
        )
        planned = r.random() < 0.3
        started = midnight - dt.timedelta(hours=1 + int(r.random() * 20))
        restored = started + dt.timedelta(hours=3) if n % 4 == 3 else None
        specs.append((service, planned, started, restored, city, street, houses))
    if include_known:
        service, city, street, house = KNOWN_OUTAGE
        specs.append(
            (service, False, midnight - dt.timedelta(hours=2), None, city, street, [house])
        )
    for service, planned, started, restored, city, street, houses in specs:
        texts = pools.OUTAGE_TEXTS[service]
        outage_id = await conn.fetchval(
            """INSERT INTO outages (service, kind, description, started_at, expected_restoration_at,
                                    restored_at)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
            service,
            "planned" if planned else "emergency",
            texts[1 if planned else 0],
            started,
            midnight + dt.timedelta(days=2),
            restored,
        )
        await conn.executemany(
            "INSERT INTO outage_addresses (outage_id, city, street, house) VALUES ($1, $2, $3, $4)",
            [(outage_id, city, street, h) for h in houses],
        )
    return len(specs)
