"""First load of the billing import: every target table empty.

Filling empty tables and then building each index in one sorted pass costs a fraction of
inserting millions of entries into live indexes. When every target table is empty, the import
locks them all (ACCESS EXCLUSIVE, held until it commits or rolls back: nobody reads them
meanwhile), drops their droppable indexes and constraints, loads, and builds them again from
their catalog definitions inside the same transaction, so a violation rolls everything back.
"""

from __future__ import annotations

import asyncpg

TARGETS = (
    "consumers",
    "accounts",
    "phones",
    "account_phones",
    "account_services",
    "balances",
    "charges",
    "payments",
)

# Indexes that something else depends on (a foreign key's referenced key, the replica identity,
# a CLUSTER mark, a comment) stay in place.
DROPPABLE = """
SELECT t.relname AS "table", i.relname AS index, ix.indexdef, con.conname,
       pg_get_constraintdef(con.oid) AS condef
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_indexes ix ON ix.schemaname = 'public' AND ix.indexname = i.relname
LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.conrelid = x.indrelid
                            AND con.contype IN ('p', 'u', 'x')
WHERE t.relnamespace = 'public'::regnamespace AND t.relname = ANY($1::text[])
  AND x.indisvalid AND NOT x.indisreplident AND NOT x.indisclustered
  AND obj_description(x.indexrelid, 'pg_class') IS NULL
  AND (con.oid IS NULL OR obj_description(con.oid, 'pg_constraint') IS NULL)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = x.indexrelid)
ORDER BY 1, 2
"""

ANY_ROW = " OR ".join(f"EXISTS (SELECT 1 FROM {t})" for t in TARGETS)

# With the tables locked and empty there is nothing to update or to check against, and ON
# CONFLICT would need the unique index that is gone until the end.
FIRST_LOAD_PAYMENTS = """
        INSERT INTO payments (account_id, service, paid_on, amount, channel, external_id)
        SELECT b.account_id, s.service, (s.period + interval '1 month - 1 day')::date, s.paid,
               'billing', 'billing:' || s.account || ':' || s.service || ':' || to_char(s.period, 'YYYY-MM')
        FROM billing_stage s JOIN billing_accounts b USING (account)
        WHERE b.is_new AND s.paid > 0"""

FIRST_LOAD_PHONES = """
        INSERT INTO phones (e164)
        SELECT DISTINCT s.phone COLLATE "C" FROM billing_stage s
        WHERE s.run_start AND s.phone IS NOT NULL"""


async def begin_first_load(conn: asyncpg.Connection, timeout: float) -> list[asyncpg.Record] | None:
    """If every target table is empty, lock them all and drop their droppable indexes.

    Returns what to rebuild before commit, or None (tables not empty: the usual path, no lock).
    The catalog is the source of every definition, so the migrations stay the only one.
    """
    if await conn.fetchval(f"SELECT {ANY_ROW}"):
        return None
    # ACCESS EXCLUSIVE at once (DROP INDEX needs it): upgrading a weaker lock could deadlock.
    await conn.execute(f"LOCK TABLE {', '.join(TARGETS)} IN ACCESS EXCLUSIVE MODE", timeout=timeout)
    if await conn.fetchval(f"SELECT {ANY_ROW}"):  # written before the lock was granted
        return None
    rebuild = await conn.fetch(DROPPABLE, list(TARGETS))
    for row in rebuild:
        if row["conname"] is not None:
            await conn.execute(f'ALTER TABLE {row["table"]} DROP CONSTRAINT "{row["conname"]}"')
        else:
            await conn.execute(f'DROP INDEX "{row["index"]}"')
    return list(rebuild)


async def rebuild_indexes(
    conn: asyncpg.Connection, rebuild: list[asyncpg.Record], timeout: float
) -> None:
    """Build every dropped index and constraint again; a violation fails the whole import."""
    await conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
    for row in rebuild:
        if row["conname"] is not None:
            await conn.execute(
                f'ALTER TABLE {row["table"]} ADD CONSTRAINT "{row["conname"]}" {row["condef"]}',
                timeout=timeout,
            )
        else:
            await conn.execute(row["indexdef"], timeout=timeout)
