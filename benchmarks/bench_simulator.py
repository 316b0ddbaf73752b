"""AMI link figures against the PBX simulator (real TCP on loopback). Prints numbers, asserts none.

    .venv/bin/python -m benchmarks bench_simulator [--events 100000] [--actions 2000]

- ingest: recorded Asterisk 22 traffic (08_concurrent, server side) injected N times over the
  link; events/s through AmiConnection dispatch + Tracker.apply.
- actions: sequential Ping round trips and a burst of concurrent QueuePause, latency percentiles.
- scenario: callers per second the simulator sustains end to end (tracker attached).
"""
from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from cti.actions import AmiActions  # noqa: E402
from cti.service import CtiService  # noqa: E402
from cti.settings import AmiSettings  # noqa: E402
from cti.simulator import Simulator  # noqa: E402
from cti.simulator.presets import recorded_config  # noqa: E402
from cti.simulator.scenario import ScenarioSettings, drive, scenario_config, wait_idle  # noqa: E402

CAPTURE = ROOT / "tests/data/ami/asterisk-22-recorded/08_concurrent.ami.txt"
_CHUNK = re.compile(rb"^<<< \d+\n(.*?)(?=^(?:>>>|<<<|===) \d+|\Z)", re.S | re.M)


def settings(port: int) -> AmiSettings:
    return AmiSettings(host="127.0.0.1", port=port, secret=SecretStr("bench"), ping_interval=5,
                       ping_timeout=3, action_timeout=10)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


async def bench_ingest(n_events: int) -> None:
    frames = [m.group(1) for m in _CHUNK.finditer(CAPTURE.read_bytes())
              if m.group(1).startswith(b"Event: ")]
    payload = b"".join(frames)
    copies = max(1, n_events // len(frames))
    sim = Simulator(recorded_config(), secret="bench")
    await sim.start()
    svc = CtiService(settings(sim.port), lambda e: None)
    await svc.start()
    await svc.connection.wait_ready(10)
    base = svc.connection.events_received
    total = copies * len(frames)
    t0 = time.perf_counter()
    for _ in range(copies):
        sim.inject(payload)
        await asyncio.sleep(0)
    while svc.connection.events_received - base < total:
        await asyncio.sleep(0.005)
    dt = time.perf_counter() - t0
    print(f"ingest: {total} recorded events in {dt:.2f}s = {total / dt:,.0f} events/s "
          f"(dispatch + Tracker.apply)")
    await svc.stop()
    await sim.stop()


async def bench_actions(n: int) -> None:
    sim = Simulator(recorded_config(), secret="bench")
    await sim.start()
    svc = CtiService(settings(sim.port), lambda e: None)
    await svc.start()
    await svc.connection.wait_ready(10)
    actions = AmiActions(svc.connection)
    rtts = []
    for _ in range(n):
        t = time.perf_counter()
        await actions.ping()
        rtts.append((time.perf_counter() - t) * 1000)
    print(f"ping sequential x{n}: p50 {pct(rtts, .5):.3f} ms, p99 {pct(rtts, .99):.3f} ms")

    async def one(i: int) -> float:
        t = time.perf_counter()
        await actions.queue_pause("Local/1001@agents/n", i % 2 == 0, queue="support", reason="bench")
        return (time.perf_counter() - t) * 1000

    t0 = time.perf_counter()
    lat = await asyncio.gather(*(one(i) for i in range(n)))
    dt = time.perf_counter() - t0
    print(f"QueuePause concurrent x{n}: {n / dt:,.0f} actions/s, p50 {pct(lat, .5):.2f} ms, "
          f"p99 {pct(lat, .99):.2f} ms")
    await svc.stop()
    await sim.stop()


async def bench_scenario() -> None:
    s = ScenarioSettings(agents=30, calls_per_second=20, duration=30, talk_mean=5, patience_mean=20,
                         seed=1)
    rng = random.Random(s.seed)
    sim = Simulator(scenario_config(s, rng), secret="bench", time_scale=0.05)
    await sim.start()
    svc = CtiService(settings(sim.port), lambda e: None)
    await svc.start()
    await svc.connection.wait_ready(10)
    t0 = time.perf_counter()
    run = await drive(sim, s, rng)
    idle = await wait_idle(sim, 60)
    dt = time.perf_counter() - t0
    q = sim.pbx.queues[s.queue]
    print(f"scenario: {run.started} calls ({q.completed} answered, {q.abandoned} abandoned) in "
          f"{dt:.2f}s wall = {run.started / dt:,.0f} calls/s, {svc.connection.events_received} "
          f"events; idle={idle}; tracker answered={svc.tracker.queue(s.queue).answered}")
    await svc.stop()
    await sim.stop()


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--actions", type=int, default=2000)
    args, _ = parser.parse_known_args(argv)  # options meant for other benchmarks are ignored
    await bench_ingest(args.events)
    await bench_actions(args.actions)
    await bench_scenario()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
