"""Consumer-card lookup by phone and by account number on the generated data set.

``python -m benchmarks bench_card_lookup [--accounts 2500000] [--lookups 10000]
[--concurrency 1,16] [--data-dir .data/bench]``: prints p50/p99 latency and throughput of
``state.cards.card_by_account`` and ``state.cards.cards_by_phone`` at each concurrency (one
connection per concurrent client). The data set is generated on the first run and reused.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

from benchmarks import generated_database, machine, start_postgres
from state.cards import card_by_account, cards_by_phone
from state.db import create_pool


def parse(args: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench_card_lookup")
    p.add_argument("--accounts", type=int, default=2_500_000)
    p.add_argument("--lookups", type=int, default=10_000)
    p.add_argument("--concurrency", default="1,16")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--seed", type=int, default=1)
    return p.parse_known_args(args)[0]


async def sample(pool, n: int) -> tuple[list[str], list[str]]:
    """Random existing account numbers and phones (a block sample: no full-table sort)."""
    async with pool.acquire() as conn:
        numbers = [
            r[0]
            for r in await conn.fetch(
                "SELECT number FROM accounts TABLESAMPLE SYSTEM (5) REPEATABLE (7)"
            )
        ]
        phones = [
            r[0]
            for r in await conn.fetch(
                "SELECT e164 FROM phones TABLESAMPLE SYSTEM (5) REPEATABLE (7)"
            )
        ]
        if len(numbers) < n:
            numbers = [r[0] for r in await conn.fetch("SELECT number FROM accounts")]
            phones = [r[0] for r in await conn.fetch("SELECT e164 FROM phones")]
    r = random.Random(42)
    return [r.choice(numbers) for _ in range(n)], [r.choice(phones) for _ in range(n)]


async def run(pool, keys: list[str], lookup, concurrency: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    found = 0
    queue = iter(keys)

    async def client() -> None:
        nonlocal found
        async with pool.acquire() as conn:
            for key in queue:
                t0 = time.perf_counter()
                result = await lookup(conn, key)
                latencies.append(time.perf_counter() - t0)
                found += bool(result)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started, found


def pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000
        if len(values) > 1
        else values[0] * 1000
    )


async def main(args: list[str]) -> None:
    opts = parse(args)
    levels = [int(c) for c in opts.concurrency.split(",")]
    server = start_postgres(opts.data_dir)
    dsn = await generated_database(server, opts.accounts, opts.seed)
    pool = await create_pool(dsn, min_size=max(levels), max_size=max(levels), command_timeout=60)
    try:
        numbers, phones = await sample(pool, opts.lookups)
        await run(pool, numbers[:200] + phones[:200], _any, 4)  # warm caches and plans
        print(f"machine: {machine()}")
        print(f"data: {opts.accounts} generated accounts; {opts.lookups} random lookups per row")
        print(
            f"{'lookup':<10} {'clients':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
            f"{'lookups/s':>10} {'found':>7}"
        )
        for name, keys, fn in (
            ("account", numbers, card_by_account),
            ("phone", phones, cards_by_phone),
        ):
            for c in levels:
                lat, total, found = await run(pool, keys, fn, c)
                print(
                    f"{name:<10} {c:>7} {pct(lat, 50):>8.2f} {pct(lat, 99):>8.2f} "
                    f"{max(lat) * 1000:>8.2f} {len(lat) / total:>10.0f} {found:>7}",
                    flush=True,
                )
    finally:
        await pool.close()


async def _any(conn, key: str):
    return await (cards_by_phone(conn, key) if key.startswith("+") else card_by_account(conn, key))
