"""Benchmarks that print figures: ``python -m benchmarks [bench_name ...] [--option ...]``.

Each ``bench_*.py`` module exposes ``main(args)`` (plain or async) taking the command-line options
that follow the benchmark names. Helpers shared by the benchmarks live here: an embedded
PostgreSQL in ``.data/bench`` (kept between runs) and a generated data set that is reused when a
database already holds it.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

import asyncpg

from ccs.localenv import LocalPostgres
from state.db import migrate_sync

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT / ".data" / "bench"


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores, {mem:.0f} GiB RAM, Python {platform.python_version()}"
    )


def start_postgres(data_dir: Path | str | None = None) -> LocalPostgres:
    """The benchmark cluster (fsync off: the data can always be generated again).

    It is shared by every benchmark and kept running between runs so that the 2.5 M-account data
    set is loaded once: do not stop it from a benchmark (``make clean`` or
    ``LocalPostgres(...).stop()`` by hand does).
    """
    server = LocalPostgres(
        Path(data_dir or DEFAULT_DATA_DIR), database="postgres", fast_unsafe=True
    )
    server.start()
    return server


async def database(server: LocalPostgres, name: str, *, fresh: bool = False) -> str:
    """DSN of database ``name`` in the cluster, created (and migrated) when missing."""
    conn = await asyncpg.connect(server.dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and fresh:
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    dsn = server.dsn.replace("/postgres?", f"/{name}?")
    migrate_sync(dsn)
    return dsn


async def generated_database(server: LocalPostgres, accounts: int, seed: int = 1) -> str:
    """A database holding ``accounts`` generated accounts; generated only on the first run."""
    from state.generator import generate

    name = f"bench_{accounts}_{seed}"
    dsn = await database(server, name)
    conn = await asyncpg.connect(dsn)
    try:
        ready = await conn.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", name
        )
    finally:
        await conn.close()
    if ready == "generated":
        return dsn
    dsn = await database(server, name, fresh=True)
    print(f"generating {accounts} accounts (seed {seed}) into {name} ...", flush=True)
    last = [0]

    def progress(done: int, total: int) -> None:
        if done * 20 // total != last[0]:
            last[0] = done * 20 // total
            print(f"  {done}/{total} shards", flush=True)

    report = await generate(dsn, accounts, seed=seed, progress=progress)
    print(f"generated: {report.summary()}", flush=True)
    print(f"rows: {report.rows}", flush=True)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"COMMENT ON DATABASE \"{name}\" IS 'generated'")
    finally:
        await conn.close()
    return dsn
