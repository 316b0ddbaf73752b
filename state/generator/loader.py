"""Load generated shards into PostgreSQL with COPY.

Shards are built in worker processes (or a thread for small runs) and copied as they arrive, one
transaction per shard, over a couple of connections so that PostgreSQL parses one shard while
Python builds the next. At most a few shards are in memory at once. Big loads drop the secondary
indexes of the tables they fill and build them again at the end (much cheaper than maintaining
them row by row) and, when the role may, skip foreign-key triggers: the generator's rows are
consistent by construction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import asyncpg

from . import known
from .extras import insert_billing_periods, insert_outages
from .params import COLUMNS, TABLES, GenParams, IdBases
from .shard import build_shard

log = logging.getLogger(__name__)

BIG_LOAD = 100_000  # accounts from which indexes are rebuilt instead of maintained
LONG = 3600.0  # seconds: bulk statements outlive the pool's per-command timeout


class GeneratorError(RuntimeError):
    pass


@dataclass
class GenerationReport:
    accounts: int
    seed: int
    workers: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    index_seconds: float = 0.0
    known_accounts: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        return (
            f"{self.accounts} accounts, {self.total_rows} rows in {self.seconds:.1f} s "
            f"({self.rows_per_second:,.0f} rows/s, {self.accounts / max(self.seconds, 1e-9):,.0f} "
            f"accounts/s, {self.workers} worker(s), index rebuild {self.index_seconds:.1f} s)"
        )


async def generate(
    pool_or_dsn: asyncpg.Pool | str,
    accounts: int,
    seed: int = 1,
    appeals_per_account: float = 2.6,
    *,
    history_months: int = 3,
    today: dt.date | None = None,
    workers: int | None = None,
    include_known: bool = True,
    rebuild_indexes: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationReport:
    """Fill an empty database with ``accounts`` generated accounts and everything around them.

    The same seed and ``today`` give the same rows. ``workers=0`` builds in a thread of this
    process (fine for small sets); the default uses one process per core for big sets.
    """
    if accounts < 0:
        raise GeneratorError("the number of accounts cannot be negative")
    today = today or dt.date.today()
    if workers is None:
        workers = 0 if accounts < 20_000 else (os.cpu_count() or 1)
    rebuild = accounts >= BIG_LOAD if rebuild_indexes is None else rebuild_indexes
    own_pool = isinstance(pool_or_dsn, str)
    pool = (
        await asyncpg.create_pool(pool_or_dsn, min_size=1, max_size=3, command_timeout=None)
        if own_pool
        else pool_or_dsn
    )
    report = GenerationReport(accounts=accounts, seed=seed, workers=workers)
    started = time.perf_counter()
    try:
        async with pool.acquire() as conn:
            if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM accounts)"):
                raise GeneratorError(
                    "the database already has accounts: generate into an empty one"
                )
            bases = IdBases(
                *[
                    await conn.fetchval(f"SELECT coalesce(max(id), 0) FROM {t}")
                    for t in ("consumers", "accounts", "phones", "meters")
                ]
            )
        params = GenParams(seed, accounts, today, history_months, appeals_per_account, bases)
        dropped = await _drop_indexes(pool) if rebuild else []
        try:
            await _load_shards(pool, params, workers, report, progress)
        finally:
            t0 = time.perf_counter()
            await _restore_indexes(pool, dropped)
            report.index_seconds = time.perf_counter() - t0
        async with pool.acquire() as conn, conn.transaction():
            report.rows["outages"] = await insert_outages(conn, params, include_known)
            report.rows["billing_periods"] = await insert_billing_periods(conn, params)
            for table in ("consumers", "accounts", "phones", "meters"):
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"greatest((SELECT max(id) FROM {table}), 1))"
                )
            if include_known:
                report.known_accounts = await known.insert_known(conn, today, history_months)
        async with pool.acquire() as conn:
            await conn.execute("ANALYZE " + ", ".join(TABLES), timeout=LONG)
    finally:
        if own_pool:
            await pool.close()
    report.seconds = time.perf_counter() - started
    return report


async def _load_shards(
    pool, params: GenParams, workers: int, report: GenerationReport, progress
) -> None:
    # Creating, feeding and stopping a process pool writes to pipes and starts processes: all
    # done from threads so that the event loop never blocks on them.
    executor = (
        await asyncio.to_thread(
            ProcessPoolExecutor, workers, mp_context=multiprocessing.get_context("spawn")
        )
        if workers > 0
        else None
    )

    async def build(shard_no: int) -> dict[str, bytes]:
        if executor is None:
            return await asyncio.to_thread(build_shard, params, shard_no)
        future = await asyncio.to_thread(executor.submit, build_shard, params, shard_no)
        return await asyncio.wrap_future(future)

    in_flight = asyncio.Semaphore(max(2, workers + 2))
    copiers = asyncio.Semaphore(2)
    done = 0

    async def one(shard_no: int) -> None:
        nonlocal done
        async with in_flight:
            blobs = await build(shard_no)
            async with copiers, pool.acquire() as conn:
                await _fast_session(conn)
                async with conn.transaction():
                    for table in TABLES:
                        if blobs[table]:
                            await conn.copy_to_table(
                                table,
                                source=io.BytesIO(blobs[table]),
                                columns=COLUMNS[table],
                                format="text",
                                timeout=LONG,
                            )
                await conn.execute("RESET session_replication_role")
        for table, blob in blobs.items():
            report.rows[table] = report.rows.get(table, 0) + blob.count(b"\n")
        done += 1
        if progress:
            progress(done, params.shards)

    # Tasks are started a few at a time so that the number of shards held in memory stays
    # bounded by the semaphore, not by the size of the run.
    pending: set[asyncio.Task] = set()
    try:
        for shard_no in range(params.shards):
            pending.add(asyncio.create_task(one(shard_no), name=f"shard-{shard_no}"))
            if len(pending) >= max(2, workers + 2) * 2:
                finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    task.result()
        while pending:
            finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                task.result()
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if executor:
            await asyncio.to_thread(executor.shutdown, cancel_futures=True)


async def _fast_session(conn: asyncpg.Connection) -> None:
    """Skip foreign-key triggers when the role is allowed to (superusers only)."""
    try:
        await conn.execute("SET session_replication_role = replica")
    except asyncpg.InsufficientPrivilegeError:
        pass


async def _drop_indexes(pool) -> list[tuple[str, str]]:
    """Drop indexes that back no constraint on the generated tables; return how to rebuild them."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
               FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
               WHERE t.relname = ANY($1::text[]) AND t.relnamespace = 'public'::regnamespace
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
            list(TABLES),
        )
        for row in rows:
            await conn.execute(f"DROP INDEX {row['name']}")
    return [(r["name"], r["def"]) for r in rows]


async def _restore_indexes(pool, dropped: list[tuple[str, str]]) -> None:
    async def build(definition: str) -> None:
        async with pool.acquire() as conn:
            await conn.execute("SET maintenance_work_mem = '256MB'")
            await conn.execute(definition, timeout=LONG)

    for i in range(0, len(dropped), 2):  # two at a time: one per core
        await asyncio.gather(*(build(d) for _, d in dropped[i : i + 2]))
