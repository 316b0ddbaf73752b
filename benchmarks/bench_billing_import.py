"""Billing CSV import rate: ``python -m benchmarks bench_billing_import [--rows 10000000]``.

Writes a billing export of ``--rows`` balance rows (accounts x 4 services, one period) to the
benchmark data folder first (outside the timing, kept for later runs), imports it into a fresh
database, then imports it again (the idempotent re-import that changes nothing). Prints rows/s and
seconds for both.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from pathlib import Path

from benchmarks import DEFAULT_DATA_DIR, database, machine, start_postgres
from state.billing_import import COLUMNS, import_billing
from state.db import create_pool
from state.generator import pools
from state.generator.people import Names

SERVICES = ("electricity", "heating", "hot_water", "cold_water")


def parse(args: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench_billing_import")
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--data-dir", default=None)
    return p.parse_known_args(args)[0]


def write_export(path: Path, rows: int) -> None:
    """A realistic export: 4 services per account, ~20% with debt, Russian names and streets."""
    r = random.Random(2024)
    names = Names(r)
    cities = pools.CITIES
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        f.write(";".join(COLUMNS) + "\n")
        written, n = 0, 0
        while written < rows:
            n += 1
            number = f"{3 * 10**9 + n * 7:010d}"
            city, tz, *_ = cities[n % len(cities)]
            streets = pools.STREETS_COMMON
            head = (
                f"{number};person;{names.person()};;{city};{streets[n % len(streets)]};"
                f"{1 + n % 150};{1 + n % 300};{tz};+79{n % 10**9:09d}"
            )
            for service in SERVICES:
                if written >= rows:
                    break
                charged = 300 + int(r.random() * 3000)
                owed = 0 if r.random() < 0.8 else 1 + int(r.random() * 12)
                debt = charged * owed
                f.write(
                    f"{head};{service};active;2026-02;{charged}.00;{charged if not owed else 0}.00;"
                    f"{-debt}.00;{debt}.00;{debt // 200}.00;{owed}\n"
                )
                written += 1
    tmp.rename(path)


async def main(args: list[str]) -> None:
    opts = parse(args)
    data_dir = Path(opts.data_dir or DEFAULT_DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"billing_{opts.rows}.csv"
    if not path.exists():
        print(f"writing {path} ...", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, write_export, path, opts.rows)
    server = start_postgres(data_dir)
    dsn = await database(server, "bench_import", fresh=True)
    pool = await create_pool(dsn, min_size=1, max_size=2, command_timeout=3600)
    try:
        print(f"machine: {machine()}")
        print(f"file: {path.name}, {path.stat().st_size / 2**20:.0f} MiB, {opts.rows} rows")
        for label in ("first import (empty database)", "re-import (nothing changes)"):
            report = await import_billing(pool, path)
            print(
                f"{label}: {report.rows_read} rows in {report.seconds:.1f} s = "
                f"{report.rows_per_second:,.0f} rows/s; rejected {report.rejected_count}; "
                f"written {report.changes}",
                flush=True,
            )
            phases = ", ".join(f"{k} {v:.1f}" for k, v in report.timings.items())
            print(f"  seconds by phase: {phases}", flush=True)
    finally:
        await pool.close()
