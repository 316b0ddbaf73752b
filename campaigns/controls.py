"""The campaigns' small controls the REST handlers read and change: the pickers' choices, the
global kill switch, accounts' protection flags, and the account lookup of an opt-out."""
from __future__ import annotations

from typing import Any

import asyncpg

CHOICES_LIMIT = 2000  # names per picker: a datalist longer than this helps nobody
# Distinct values through the (city, street, house) index, one probe per value (a loose index
# scan): a plain DISTINCT would read every one of millions of accounts.
SQL_CITIES = """
WITH RECURSIVE c AS (
    (SELECT city FROM accounts ORDER BY city LIMIT 1)
    UNION ALL
    SELECT (SELECT a.city FROM accounts a WHERE a.city > c.city ORDER BY a.city LIMIT 1)
    FROM c WHERE c.city IS NOT NULL
)
SELECT city FROM c WHERE city IS NOT NULL LIMIT $1
"""
SQL_STREETS = """
WITH RECURSIVE s AS (
    (SELECT street FROM accounts WHERE city = $1 ORDER BY street LIMIT 1)
    UNION ALL
    SELECT (SELECT a.street FROM accounts a WHERE a.city = $1 AND a.street > s.street
            ORDER BY a.street LIMIT 1)
    FROM s WHERE s.street IS NOT NULL
)
SELECT street FROM s WHERE street IS NOT NULL LIMIT $2
"""
SQL_OPEN_OUTAGES = """
SELECT o.id, o.service, o.kind, o.description, o.started_at, o.expected_restoration_at,
       coalesce(x.n, 0) AS address_count, coalesce(x.first, '') AS addresses
FROM outages o
LEFT JOIN LATERAL (
    SELECT count(*) AS n,
           string_agg(concat_ws(', ', city, street, house), '; ' ORDER BY city, street, house)
               FILTER (WHERE k <= 3) AS first
    FROM (SELECT city, street, house, row_number() OVER (ORDER BY city, street, house) AS k
          FROM outage_addresses WHERE outage_id = o.id) a
) x ON true
WHERE o.restored_at IS NULL
ORDER BY o.started_at DESC, o.id DESC
LIMIT 200
"""


async def choices(pool: asyncpg.Pool, city: str | None) -> dict[str, Any]:
    """Open outages, cities, and the streets of ``city`` (each list capped, ``truncated``)."""
    async with pool.acquire() as conn:
        outages = [dict(r) for r in await conn.fetch(SQL_OPEN_OUTAGES)]
        cities = [r[0] for r in await conn.fetch(SQL_CITIES, CHOICES_LIMIT + 1)]
        streets = ([r[0] for r in await conn.fetch(SQL_STREETS, city, CHOICES_LIMIT + 1)]
                   if city else None)
    truncated = len(cities) > CHOICES_LIMIT or len(streets or ()) > CHOICES_LIMIT
    body: dict[str, Any] = {"outages": outages, "cities": cities[:CHOICES_LIMIT],
                            "truncated": truncated}
    if streets is not None:
        body["streets"] = streets[:CHOICES_LIMIT]
    return body


async def kill_switch(conn: asyncpg.Pool | asyncpg.Connection) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT engaged, reason, changed_by, changed_at FROM campaign_kill_switch")
    return dict(row)


async def set_kill_switch(conn: asyncpg.Pool | asyncpg.Connection, engaged: bool,
                          reason: str | None, by: int) -> dict[str, Any]:
    row = await conn.fetchrow(
        """UPDATE campaign_kill_switch SET engaged = $1, reason = $2, changed_by = $3,
                  changed_at = now() WHERE id
           RETURNING engaged, reason, changed_by, changed_at""",
        engaged, reason, by)
    return dict(row)


async def account_of(conn: asyncpg.Pool | asyncpg.Connection, number: str) -> Any:
    """``(id, consumer_id)`` of the account, or None."""
    return await conn.fetchrow("SELECT id, consumer_id FROM accounts WHERE number = $1", number)


async def set_protection(pool: asyncpg.Pool, number: str, category: str, note: str | None,
                         by: int) -> bool:
    """Flag the account as protected (never called); False when there is no such account."""
    async with pool.acquire() as conn:
        row = await account_of(conn, number)
        if row is None:
            return False
        await conn.execute(
            """INSERT INTO account_protection (account_id, category, note, set_by)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (account_id) DO UPDATE SET category = EXCLUDED.category,
                   note = EXCLUDED.note, set_by = EXCLUDED.set_by, set_at = now()""",
            row["id"], category, note, by)
    return True


async def clear_protection(conn: asyncpg.Pool | asyncpg.Connection, number: str) -> bool:
    """False when the account was not flagged."""
    status = await conn.execute(
        "DELETE FROM account_protection WHERE account_id = "
        "(SELECT id FROM accounts WHERE number = $1)", number)
    return not status.endswith(" 0")
