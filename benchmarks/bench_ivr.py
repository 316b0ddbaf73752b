"""IVR throughput: whole DTMF calls through FastAGI, AudioSocket ingest, reading submissions.

``python -m benchmarks bench_ivr [--calls 400] [--concurrency 1,16,64] [--streams 1,32]
[--seconds 20] [--data-dir .data/bench-ivr]``: prints calls/s and p50/p99 call time for a full call (identify by phone,
one meter reading keyed, stored, goodbye: ~20 AGI commands and 4 SQL transactions) driven by the
fake Asterisk of the tests over TCP; AudioSocket frames/s into sessions (one and several
streams, as a multiple of real time); and ``submit_reading`` per second on distinct meters
versus one contended meter (serialised by its row lock).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import time
import uuid
from decimal import Decimal

from benchmarks import DEFAULT_DATA_DIR, database, machine, start_postgres
from ivr.app import ivr_servers
from ivr.audiosocket import FRAME_20MS, Audio, AudioSocketServer, Ended, Kind, encode_frame
from ivr.settings import IvrSettings
from state.db import create_pool
from state.readings import ReadingLimits, submit_reading
from tests.ivr.fake_asterisk import FakeAsteriskCall


def parse(args: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench_ivr")
    p.add_argument("--calls", type=int, default=400)
    p.add_argument("--concurrency", default="1,16,64")
    p.add_argument("--streams", default="1,32")
    p.add_argument("--seconds", type=float, default=20.0, help="audio per stream")
    p.add_argument("--data-dir", default=None)
    return p.parse_known_args(args)[0]


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def seed(pool, n: int) -> list[str]:
    """n accounts, each with a phone and an electricity meter read last month."""
    period = dt.date.today().replace(day=1)
    last = (period - dt.timedelta(days=1)).replace(day=1)
    phones = []
    async with pool.acquire() as conn:
        consumer = await conn.fetchval(
            "INSERT INTO consumers (kind, full_name) VALUES ('person', 'Bench') RETURNING id")
        for i in range(n):
            phone = f"+7913{i:07d}"
            account = await conn.fetchval(
                """INSERT INTO accounts (number, consumer_id, city, street, house)
                   VALUES ($1, $2, 'Омск', 'Ленина', '1') RETURNING id""",
                f"{5000000000 + i}", consumer)
            phone_id = await conn.fetchval(
                "INSERT INTO phones (e164) VALUES ($1) RETURNING id", phone)
            await conn.execute("INSERT INTO account_phones VALUES ($1, $2)", phone_id, account)
            meter = await conn.fetchval(
                """INSERT INTO meters (account_id, service, serial, digits)
                   VALUES ($1, 'electricity', $2, 6) RETURNING id""", account, f"B{i}")
            await conn.execute(
                """INSERT INTO readings (meter_id, zone, period, value, source, status)
                   VALUES ($1, 'total', $2, 1000, 'file', 'accepted')""", meter, last)
            phones.append(phone)
    return phones


async def bench_calls(pool, phones: list[str], calls: int, concurrency: int) -> None:
    settings = IvrSettings(agi_port=0, audiosocket_port=0, dtmf_timeout_ms=500)
    durations: list[float] = []
    async with ivr_servers(settings, pool, None) as (agi, _audio, _app):
        todo = iter(range(calls))

        async def caller() -> None:
            for i in todo:
                call = FakeAsteriskCall(
                    agi.port, caller=phones[i % len(phones)],
                    script=["keys:1", "keys:1", f"keys:{1001 + i}#", "keys:1", "keys:9"],
                )
                t0 = time.perf_counter()
                await call.run()
                durations.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    print(f"calls  concurrency {concurrency:3d}: {calls / wall:7.1f} calls/s, "
          f"p50 {pct(durations, 50) * 1000:6.1f} ms, p99 {pct(durations, 99) * 1000:6.1f} ms")


async def bench_audio(streams: int, seconds: float) -> None:
    server = AudioSocketServer()
    await server.start("127.0.0.1", 0)
    frames = int(seconds * 50)
    payload = encode_frame(Kind.SLIN, bytes(FRAME_20MS))

    async def stream() -> None:
        session = server.expect()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode_frame(Kind.UUID, session.uuid.bytes))

        async def send() -> None:
            for _ in range(frames):
                writer.write(payload)
                await writer.drain()
            writer.write(encode_frame(Kind.HANGUP))
            await writer.drain()

        sender = asyncio.create_task(send())
        got = 0
        while True:
            event = await session.next_event(10)
            if isinstance(event, Audio):
                got += 1
            elif isinstance(event, Ended):
                break
        await sender
        writer.close()
        assert got == frames, (got, frames)

    started = time.perf_counter()
    await asyncio.gather(*(stream() for _ in range(streams)))
    wall = time.perf_counter() - started
    await server.stop()
    total = streams * frames
    print(f"audio  streams {streams:3d}: {total / wall:9.0f} frames/s "
          f"({total / wall / 50:6.0f}x real time in total)")


async def bench_readings(pool, n: int) -> None:
    limits = ReadingLimits()
    period = dt.date(2031, 1, 1)
    async with pool.acquire() as conn:
        consumer = await conn.fetchval(
            "INSERT INTO consumers (kind, full_name) VALUES ('person', 'Bench') RETURNING id")
        account = await conn.fetchval(
            """INSERT INTO accounts (number, consumer_id, city, street, house)
               VALUES ($1, $2, 'Омск', 'Мира', '2') RETURNING id""",
            str(6000000000 + uuid.uuid4().int % 10**9), consumer)
        meters = [await conn.fetchval(
            """INSERT INTO meters (account_id, service, serial, digits)
               VALUES ($1, 'cold_water', $2, 6) RETURNING id""", account, f"R{i}-{account}")
            for i in range(n)]
    for label, targets in (("distinct meters", meters), ("one meter", [meters[0]] * n)):
        started = time.perf_counter()
        await asyncio.gather(*(
            submit_reading(pool, meter_id=m, zone="total", period=period,
                           value=Decimal(10 + i), source="ivr", limits=limits)
            for i, m in enumerate(targets)))
        wall = time.perf_counter() - started
        print(f"readings {label:15s}: {n / wall:7.0f} submissions/s ({n} concurrent)")


async def main(args: list[str]) -> None:
    opts = parse(args)
    print(f"bench_ivr on {machine()}")
    # An own cluster folder: other benchmarks may be using the shared one at the same time.
    server = start_postgres(opts.data_dir or DEFAULT_DATA_DIR.parent / "bench-ivr")
    try:
        dsn = await database(server, "bench_ivr", fresh=True)
        pool = await create_pool(dsn, min_size=4, max_size=40)
        try:
            phones = await seed(pool, 200)
            for c in (int(x) for x in opts.concurrency.split(",")):
                await bench_calls(pool, phones, opts.calls, c)
            for s in (int(x) for x in opts.streams.split(",")):
                await bench_audio(s, opts.seconds)
            await bench_readings(pool, 32)
        finally:
            await pool.close()
    finally:
        server.stop()
