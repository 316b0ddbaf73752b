"""The SQL half of the billing import: staging table, duplicate check, set-based upserts.

Runs inside the caller's transaction. Every upsert writes only rows whose values differ
(``IS DISTINCT FROM``), so a second import of the same file leaves every row (and its xmin) as it
was. Counts of written rows per table go to ``report.changes``. Into empty tables the rows go
without most indexes, which are built again at the end (see state/billing_first_load.py).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING

import asyncpg

from state.billing_format import COLUMNS
from state.billing_first_load import (
    FIRST_LOAD_PAYMENTS,
    FIRST_LOAD_PHONES,
    TARGETS,
    begin_first_load,
    rebuild_indexes,
)

if TYPE_CHECKING:
    from state.billing_format import ImportReport

MAX_LISTED = 1000  # duplicates listed in the report (all are counted)
LONG = 3600.0  # seconds: bulk statements outlive the pool's per-command timeout

# The staging table holds the file's columns in file-format order, after the line number and the
# run marker; consumer_kind is stored as kind.
STAGE_COLUMNS = ("line", "run_start",
                 *("kind" if c == "consumer_kind" else c for c in COLUMNS))

_STAGE = """
CREATE TEMP TABLE billing_stage (
    line integer NOT NULL, run_start boolean NOT NULL, account text NOT NULL, kind text NOT NULL,
    full_name text NOT NULL, inn text, city text NOT NULL, street text NOT NULL,
    house text NOT NULL, apartment text, timezone text, phone text, service text NOT NULL, service_status text NOT NULL,
    period date NOT NULL, charged numeric(14, 2), paid numeric(14, 2),
    balance numeric(14, 2) NOT NULL, debt numeric(14, 2) NOT NULL,
    penalty numeric(14, 2) NOT NULL, months_overdue integer NOT NULL
) ON COMMIT DROP
"""

_DUPLICATES = """
CREATE TEMP TABLE billing_dups ON COMMIT DROP AS
SELECT line, first FROM (
    SELECT line, row_number() OVER w AS n, first_value(line) OVER w AS first
    FROM billing_stage
    WINDOW w AS (PARTITION BY account COLLATE "C", service COLLATE "C", period ORDER BY line)
) d WHERE n > 1
"""

# The latest line of each account carries its consumer and address; its run (see ``run_start``
# in the parser) has the same account columns, so the first rows of runs are enough. New
# accounts and consumers take their ids from the sequences here, in account order (index inserts
# then append), instead of in a second pass that would rewrite every row; the sequence names are
# looked up once (InitPlan). Sorting with "C" is faster and finds the same groups.
_ACCOUNTS = """
CREATE TEMP TABLE billing_accounts ON COMMIT DROP AS
SELECT d.account, d.kind, d.full_name, d.inn, d.city, d.street, d.house, d.apartment, d.timezone,
       CASE WHEN d.is_new THEN nextval((SELECT pg_get_serial_sequence('accounts', 'id'))::regclass)
            ELSE d.account_id END AS account_id,
       CASE WHEN d.is_new THEN nextval((SELECT pg_get_serial_sequence('consumers', 'id'))::regclass)
            ELSE d.consumer_id END AS consumer_id,
       d.is_new
FROM (
    SELECT DISTINCT ON (s.account COLLATE "C") s.account, s.kind, s.full_name, s.inn, s.city,
           s.street, s.house, s.apartment, s.timezone, a.id AS account_id, a.consumer_id,
           a.id IS NULL AS is_new
    FROM billing_stage s LEFT JOIN accounts a ON a.number = s.account
    WHERE s.run_start
    ORDER BY s.account COLLATE "C", s.line DESC
) d
"""

# Each upsert first drops, with an anti-join, the rows that are already in place: on a re-import
# that replaces millions of index probes and row locks by one hash join. ON CONFLICT stays for
# rows written meanwhile by someone else.

# The latest period (then line) of each account and service carries status and balance.
_LATEST = """
CREATE TEMP TABLE billing_latest ON COMMIT DROP AS
SELECT DISTINCT ON (b.account_id, s.service COLLATE "C") b.account_id, b.is_new, s.service,
       s.service_status, s.period, s.balance, s.debt, s.penalty, s.months_overdue
FROM billing_stage s JOIN billing_accounts b USING (account)
ORDER BY b.account_id, s.service COLLATE "C", s.period DESC, s.line DESC
"""

# Rows of accounts created by this import cannot be in any target keyed by account yet (their ids
# are fresh and uncommitted), so they go in with plain inserts: no anti-join, no speculative
# ON CONFLICT insertion, which more than doubles the cost of an insert. Rows go in index order
# where nothing else gives one (inserts in hash order cost up to twice as much). Payments are the exception:
# their external id is unique across accounts, so new accounts' payments are checked against it.
NEW, EXISTING, ALL = "new", "existing", "all"  # which accounts a step is about

_STEPS: tuple[tuple[str, str, str], ...] = (
    (
        "consumers",
        NEW,
        """
        INSERT INTO consumers (id, kind, full_name, inn)
        SELECT consumer_id, kind, full_name, inn FROM billing_accounts WHERE is_new""",
    ),
    (
        "accounts",
        NEW,
        """
        INSERT INTO accounts (id, number, consumer_id, city, street, house, apartment, timezone)
        SELECT account_id, account, consumer_id, city, street, house, apartment,
               coalesce(timezone, 'Europe/Moscow')
        FROM billing_accounts WHERE is_new""",
    ),
    (
        "consumers",
        EXISTING,
        """
        UPDATE consumers c SET kind = b.kind, full_name = b.full_name, inn = coalesce(b.inn, c.inn)
        FROM billing_accounts b
        WHERE NOT b.is_new AND c.id = b.consumer_id
          AND (c.kind, c.full_name, c.inn) IS DISTINCT FROM (b.kind, b.full_name, coalesce(b.inn, c.inn))""",
    ),
    (
        "accounts",
        EXISTING,
        """
        UPDATE accounts a SET city = b.city, street = b.street, house = b.house,
               apartment = b.apartment, timezone = coalesce(b.timezone, a.timezone), updated_at = now()
        FROM billing_accounts b
        WHERE NOT b.is_new AND a.id = b.account_id
          AND (a.city, a.street, a.house, a.apartment, a.timezone)
              IS DISTINCT FROM (b.city, b.street, b.house, b.apartment, coalesce(b.timezone, a.timezone))""",
    ),
    (
        "account_services",
        NEW,
        """
        INSERT INTO account_services (account_id, service, status)
        SELECT account_id, service, service_status FROM billing_latest WHERE is_new""",
    ),
    (
        "account_services",
        EXISTING,
        """
        INSERT INTO account_services AS t (account_id, service, status)
        SELECT account_id, service, service_status FROM billing_latest l
        WHERE NOT l.is_new
          AND NOT EXISTS (SELECT 1 FROM account_services x WHERE x.account_id = l.account_id
                          AND x.service = l.service AND x.status = l.service_status)
        ON CONFLICT (account_id, service) DO UPDATE SET status = EXCLUDED.status
        WHERE t.status IS DISTINCT FROM EXCLUDED.status""",
    ),
    (
        "balances",
        NEW,
        """
        INSERT INTO balances (account_id, service, period, balance, debt, penalty, months_overdue)
        SELECT account_id, service, period, balance, debt, penalty, months_overdue
        FROM billing_latest WHERE is_new""",
    ),
    (
        "balances",
        EXISTING,
        """
        INSERT INTO balances AS t (account_id, service, period, balance, debt, penalty, months_overdue)
        SELECT account_id, service, period, balance, debt, penalty, months_overdue
        FROM billing_latest l
        WHERE NOT l.is_new AND NOT EXISTS (
            SELECT 1 FROM balances x WHERE x.account_id = l.account_id AND x.service = l.service
              AND (x.period > l.period OR (x.period, x.balance, x.debt, x.penalty, x.months_overdue)
                   = (l.period, l.balance, l.debt, l.penalty, l.months_overdue)))
        ON CONFLICT (account_id, service) DO UPDATE SET period = EXCLUDED.period,
            balance = EXCLUDED.balance, debt = EXCLUDED.debt, penalty = EXCLUDED.penalty,
            months_overdue = EXCLUDED.months_overdue, updated_at = now()
        WHERE EXCLUDED.period >= t.period
          AND (t.period, t.balance, t.debt, t.penalty, t.months_overdue) IS DISTINCT FROM
              (EXCLUDED.period, EXCLUDED.balance, EXCLUDED.debt, EXCLUDED.penalty, EXCLUDED.months_overdue)""",
    ),
    (
        "charges",
        NEW,
        """
        INSERT INTO charges (account_id, service, period, amount)
        SELECT b.account_id, s.service, s.period, s.charged
        FROM billing_stage s JOIN billing_accounts b USING (account)
        WHERE b.is_new AND s.charged IS NOT NULL""",
    ),
    (
        "charges",
        EXISTING,
        """
        INSERT INTO charges AS t (account_id, service, period, amount)
        SELECT b.account_id, s.service, s.period, s.charged
        FROM billing_stage s JOIN billing_accounts b USING (account)
        WHERE NOT b.is_new AND s.charged IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM charges x WHERE x.account_id = b.account_id
                          AND x.service = s.service AND x.period = s.period AND x.amount = s.charged)
        ON CONFLICT (account_id, service, period) DO UPDATE SET amount = EXCLUDED.amount
        WHERE t.amount IS DISTINCT FROM EXCLUDED.amount""",
    ),
    (
        "payments",
        NEW,
        # What ON CONFLICT (external_id) DO UPDATE would do, in two set operations: a payment
        # with such an external id could only have been written by hand for another account.
        """
        UPDATE payments t SET amount = n.paid
        FROM billing_stage n JOIN billing_accounts b USING (account)
        WHERE b.is_new AND n.paid > 0 AND t.amount IS DISTINCT FROM n.paid AND t.external_id =
              'billing:' || n.account || ':' || n.service || ':' || to_char(n.period, 'YYYY-MM')""",
    ),
    (
        "payments",
        NEW,
        """
        INSERT INTO payments (account_id, service, paid_on, amount, channel, external_id)
        SELECT account_id, service, paid_on, paid, 'billing', external_id FROM (
            SELECT b.account_id, s.service, (s.period + interval '1 month - 1 day')::date AS paid_on,
                   s.paid, 'billing:' || s.account || ':' || s.service || ':'
                   || to_char(s.period, 'YYYY-MM') AS external_id
            FROM billing_stage s JOIN billing_accounts b USING (account)
            WHERE b.is_new AND s.paid > 0
        ) n
        WHERE NOT EXISTS (SELECT 1 FROM payments x WHERE x.external_id = n.external_id)""",
    ),
    (
        "payments",
        EXISTING,
        """
        INSERT INTO payments AS t (account_id, service, paid_on, amount, channel, external_id)
        SELECT b.account_id, s.service, (s.period + interval '1 month - 1 day')::date, s.paid,
               'billing', 'billing:' || s.account || ':' || s.service || ':' || to_char(s.period, 'YYYY-MM')
        FROM billing_stage s JOIN billing_accounts b USING (account)
        WHERE NOT b.is_new AND s.paid > 0
          AND NOT EXISTS (SELECT 1 FROM payments x WHERE x.account_id = b.account_id
                          AND x.service = s.service AND x.amount = s.paid AND x.external_id =
                          'billing:' || s.account || ':' || s.service || ':' || to_char(s.period, 'YYYY-MM'))
        ON CONFLICT (external_id) DO UPDATE SET amount = EXCLUDED.amount
        WHERE t.amount IS DISTINCT FROM EXCLUDED.amount""",
    ),
    (
        "phones",
        ALL,
        """
        INSERT INTO phones (e164)
        SELECT DISTINCT s.phone FROM billing_stage s
        WHERE s.run_start AND s.phone IS NOT NULL AND NOT EXISTS (SELECT 1 FROM phones x WHERE x.e164 = s.phone)
        ORDER BY s.phone
        ON CONFLICT (e164) DO NOTHING""",
    ),
    (
        "account_phones",
        NEW,
        """
        INSERT INTO account_phones (phone_id, account_id)
        SELECT DISTINCT p.id, b.account_id
        FROM billing_stage s JOIN billing_accounts b USING (account) JOIN phones p ON p.e164 = s.phone
        WHERE s.run_start AND b.is_new
        ORDER BY p.id, b.account_id""",
    ),
    (
        "account_phones",
        EXISTING,
        """
        INSERT INTO account_phones (phone_id, account_id)
        SELECT DISTINCT p.id, b.account_id
        FROM billing_stage s JOIN billing_accounts b USING (account) JOIN phones p ON p.e164 = s.phone
        WHERE s.run_start AND NOT b.is_new
          AND NOT EXISTS (SELECT 1 FROM account_phones x
                          WHERE x.phone_id = p.id AND x.account_id = b.account_id)
        ORDER BY p.id, b.account_id
        ON CONFLICT (phone_id, account_id) DO NOTHING""",
    ),
)


def _count(status: str) -> int:
    parts = status.split()
    return int(parts[-1]) if parts and parts[-1].isdigit() else 0


async def apply_staged(
    conn: asyncpg.Connection, chunks: AsyncIterable[bytes], report: ImportReport
) -> None:
    """Stage the validated rows, reject duplicates, upsert everything. Caller owns the transaction."""
    await conn.execute("SET LOCAL work_mem = '256MB'")
    # Compiling each big statement costs more than it saves on these simple plans.
    await conn.execute("SET LOCAL jit = off")
    await _skip_foreign_key_triggers(conn)
    await conn.execute(_STAGE)
    clock = _Clock(report.timings)
    await conn.copy_to_table(
        "billing_stage", source=chunks, columns=STAGE_COLUMNS, format="text", timeout=LONG
    )
    clock.lap("parse and stage")
    await conn.execute("ANALYZE billing_stage", timeout=LONG)  # temp tables have no statistics
    await conn.execute(_DUPLICATES, timeout=LONG)
    duplicates = await conn.fetchval("SELECT count(*) FROM billing_dups")
    if duplicates:
        # Every duplicate is counted; only the first few are listed, like other rejections.
        listed = await conn.fetch(
            "SELECT line, first FROM billing_dups ORDER BY line LIMIT $1", MAX_LISTED
        )
        for row in listed:
            report.reject(
                row["line"], f"duplicate of line {row['first']} (same account, service and period)"
            )
        report.rejected_count += duplicates - len(listed)
        # A deleted row may have been the first of its run (see run_start): the other rows
        # of its account then stand for themselves.
        await conn.execute(
            """CREATE TEMP TABLE billing_restart ON COMMIT DROP AS
               SELECT DISTINCT s.account FROM billing_stage s JOIN billing_dups d USING (line)
               WHERE s.run_start""",
            timeout=LONG,
        )
        await conn.execute(
            "DELETE FROM billing_stage s USING billing_dups d WHERE s.line = d.line", timeout=LONG
        )
        await conn.execute(
            """UPDATE billing_stage SET run_start = true
               WHERE NOT run_start AND account IN (SELECT account FROM billing_restart)""",
            timeout=LONG,
        )
        report.rejected.sort(key=lambda r: r.line)
    report.rows_applied = report.rows_read - report.rejected_count
    clock.lap("duplicate check")
    rebuild = await begin_first_load(conn, LONG)
    if rebuild is not None:
        clock.lap("first load: lock and drop indexes")
    await conn.execute(_ACCOUNTS, timeout=LONG)
    await conn.execute(_LATEST, timeout=LONG)
    await conn.execute("ANALYZE billing_accounts, billing_latest", timeout=LONG)
    new, existing = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new)"
        " FROM billing_accounts"
    )
    clock.lap("accounts and latest positions")
    for step, (table, accounts, sql) in enumerate(_STEPS):
        report.changes.setdefault(table, 0)
        if (accounts == NEW and not new) or (accounts == EXISTING and not existing):
            continue
        if rebuild is not None and step in _FIRST_LOAD_STEPS:
            sql = _FIRST_LOAD_STEPS[step]
            if sql is None:
                continue
        status = await conn.execute(sql, timeout=LONG)
        report.changes[table] += _count(status)
        clock.lap(table)
    if rebuild is not None:
        await rebuild_indexes(conn, rebuild, LONG)
        clock.lap("first load: rebuild indexes")
    await conn.execute("SELECT pg_notify('ccs_card_changed', '*')")  # triggers may be off


class _Clock:
    """Adds the seconds since the previous lap to ``timings[name]``."""

    def __init__(self, timings: dict[str, float]) -> None:
        self._timings = timings
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self._timings[name] = self._timings.get(name, 0.0) + now - self._last
        self._last = now




async def _skip_foreign_key_triggers(conn: asyncpg.Connection) -> None:
    """Skip per-row foreign-key checks when that skips nothing else.

    Every id the upserts write comes from a join with its parent table inside this transaction,
    and services were checked against ``services``, so the checks cannot fail; on 10 M rows they
    cost more than the upserts themselves. Only possible for a superuser, and only done when the
    target tables have no triggers of their own (replica mode would silence those too).
    """
    user_triggers = await conn.fetchval(
        """SELECT count(*) FROM pg_trigger
           WHERE NOT tgisinternal AND left(tgname, 11) <> 'card_cache_'
             AND tgrelid = ANY(SELECT oid FROM pg_class
               WHERE relname = ANY($1::text[]) AND relnamespace = 'public'::regnamespace)""",
        list(TARGETS),
    )
    if user_triggers:
        return
    if await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
        await conn.execute("SET LOCAL session_replication_role = replica")



# Steps replaced on a first load (by position in _STEPS; None skips the step): with the tables
# locked and empty there is nothing to update or to check against, and ON CONFLICT would need the
# unique index that is gone until the end.
_FIRST_LOAD_STEPS: dict[int, str | None] = {}


def _first_load_steps() -> None:
    for step, (table, accounts, sql) in enumerate(_STEPS):
        if table == "payments" and accounts == NEW and sql.lstrip().startswith("UPDATE"):
            _FIRST_LOAD_STEPS[step] = None
        elif table == "payments" and accounts == NEW:
            _FIRST_LOAD_STEPS[step] = FIRST_LOAD_PAYMENTS
        elif table == "phones":
            _FIRST_LOAD_STEPS[step] = FIRST_LOAD_PHONES


_first_load_steps()
