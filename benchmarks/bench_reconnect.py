"""Back after a PBX outage: FullyBooted -> agents' pauses and memberships re-applied.
Prints numbers, asserts none.

    .venv/bin/python -m benchmarks bench_reconnect [--restarts 10] [--agents 40]

The simulator (real TCP on loopback) goes away for 1-3 s (a crash: connects are refused), then
boots as Asterisk 22 did in recording 08 (AMI port open, app_queue's actions unknown for
0.3 s, FullyBooted broadcast). The server runs with the production reconnect settings and
wants `--agents` agents back: each a dynamic member of two queues, every third paused. Measured
per restart, from the FullyBooted broadcast to the last re-applied QueueAdd/QueuePause
answered (CtiService.reapplied_at). The floor printed with it is measured in the same run: a
bare AMI session (connect, Login, QueueStatus of every queue) on asyncio streams.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from cti.service import CtiService  # noqa: E402
from cti.settings import AmiSettings  # noqa: E402
from cti.simulator import Simulator  # noqa: E402
from cti.simulator.presets import recorded_config  # noqa: E402
from cti.simulator.server import RECORDED_BOOT_TIME  # noqa: E402

SECRET = "bench"
QUEUES = ("support", "billing", "meters", "readings", "common", "debt")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def stats(values: list[float]) -> str:
    return f"p50 {pct(values, .5):.1f} ms, p99 {pct(values, .99):.1f} ms, max {max(values):.1f} ms"


async def bare_session(port: int) -> float:
    """ms for connect + banner + Login + QueueStatus (all queues) to QueueStatusComplete."""
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reader.readline()
    writer.write(f"Action: Login\r\nUsername: ccs\r\nSecret: {SECRET}\r\nEvents: off\r\n"
                 "ActionID: l\r\n\r\n".encode())
    while b"ActionID: l" not in await reader.readuntil(b"\r\n\r\n"):
        pass
    writer.write(b"Action: QueueStatus\r\nActionID: q\r\n\r\n")
    while b"QueueStatusComplete" not in await reader.readuntil(b"\r\n\r\n"):
        pass
    elapsed = (time.perf_counter() - t0) * 1000
    writer.close()
    await writer.wait_closed()
    return elapsed


def wanted(agents: int) -> dict[tuple[str, str], tuple[bool, str]]:
    out = {}
    for i in range(agents):
        interface = f"Local/{3000 + i}@agents/n"
        for queue in (QUEUES[i % len(QUEUES)], QUEUES[(i + 1) % len(QUEUES)]):
            out[(queue, interface)] = (i % 3 == 0, "lunch" if i % 3 == 0 else "")
    return out


def pbx_board(sim: Simulator) -> dict[tuple[str, str], tuple[bool, str]]:
    return {(q.name, m.interface): (m.paused, m.reason if m.paused else "")
            for q in sim.pbx.queues.values() for m in q.members.values()}


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--agents", type=int, default=40)
    args, _ = parser.parse_known_args(argv)  # options meant for other benchmarks are ignored
    logging.getLogger("cti").setLevel(logging.ERROR)  # one warning per outage is expected
    rng = random.Random(1)
    sim = Simulator(recorded_config(), secret=SECRET)
    await sim.start()
    floor = [await bare_session(sim.port) for _ in range(20)]
    settings = AmiSettings(host="127.0.0.1", port=sim.port, secret=SecretStr(SECRET))
    svc = CtiService(settings, lambda e: None)
    await svc.start()
    await svc.connection.wait_ready(10)
    want = wanted(args.agents)
    for (queue, interface), (paused, reason) in want.items():
        await svc.join_queue(queue, interface, member_name=interface, paused=paused, reason=reason)
    assert all(pbx_board(sim).get(k) == v for k, v in want.items())
    back, own, logins_in_boot, gaps = [], [], 0, []
    for _ in range(args.restarts):
        down = rng.uniform(1.0, 3.0)
        went = time.monotonic()
        await sim.restart(downtime=down / sim.clock.scale, shutdown=False)
        deadline = time.monotonic() + 10
        while not (sim.booted_at and svc.reapplied_at and svc.reapplied_at > sim.booted_at
                   and all(pbx_board(sim).get(k) == v for k, v in want.items())):
            if time.monotonic() > deadline:
                raise RuntimeError("not re-applied within 10 s of the restart")
            await asyncio.sleep(0.01)
        back.append((svc.reapplied_at - sim.booted_at) * 1000)
        attempts = [t for t in svc.connection.attempts if t >= went]
        # the server's own part: from the later of FullyBooted and its successful connect
        own.append((svc.reapplied_at - max(sim.booted_at, attempts[-1])) * 1000)
        gaps += [b - a for a, b in zip(attempts, attempts[1:])]
        logins_in_boot += attempts[-1] < sim.booted_at
        await asyncio.sleep(rng.uniform(0.2, 1.0))
    floor_after = [await bare_session(sim.port) for _ in range(20)]
    await svc.stop()
    await sim.stop()
    print(f"re-applied after FullyBooted, {args.restarts} restarts (outage 1-3 s, boot "
          f"{RECORDED_BOOT_TIME * 1000:.0f} ms, {len(want)} memberships, "
          f"{sum(p for p, _ in want.values())} paused): {stats(back)}")
    print(f"  of which the server's own work (from the later of FullyBooted and the connect "
          f"that succeeded: Login, resync, re-apply): {stats(own)}")
    print(f"  logged in while booting (waited for FullyBooted): {logins_in_boot}/{args.restarts}; "
          f"attempts while down: {len(gaps) + args.restarts}, gap p50 {pct(gaps, .5):.2f} s, "
          f"max {max(gaps):.2f} s (reconnect_interval {settings.reconnect_interval} s)")
    print(f"floor, bare connect+Login+QueueStatus: {stats(floor + floor_after)}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
