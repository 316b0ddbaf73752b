"""Two real ``python -m ccs serve`` processes on one PBX (the simulator), one PostgreSQL and one
Redis, with a short PBX lease: a campaign runs, the process that leads is killed with SIGKILL,
the other takes the lease over within seconds and finishes the campaign. Not one try is
originated twice, every attempt ends with its callee's outcome, and the two processes never
dialled side by side (the simulator records which AMI session sent each Originate)."""
from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import datetime, timezone

import aiohttp
import pytest

from cti.simulator import Simulator, wire
from cti.simulator.pbx import CalleeBehaviour
from cti.simulator.presets import recorded_config
from cti.simulator.robocall import CALLEE_CONTEXT
from tests.campaigns.robocall_rig import (  # noqa: F401 (fixtures)
    SCALE, attempts_of, make_campaign, originates_by_try, robo_dsn, robo_pool, robo_template,
    robo_world,
)
from tests.campaigns.test_pacer import EXPECTED
from tests.conftest import ROOT
from tests.cti.conftest import SECRET
from tests.helpers import until

# Outcomes that are final at the first dial: no retry waits its minutes of real time.
DIGITS = ["1", "2", "3", "4", "5", "8", "9", "0"]
LEASE_TTL = 1.0


@pytest.fixture
async def long_calls():
    """Calls of about half a second of wall time, so that many are in flight at the kill."""
    config = recorded_config()
    config.default_callee = CalleeBehaviour(answer_after=5.0, listen=20.0)
    simulator = Simulator(config, secret=SECRET, time_scale=SCALE)
    await simulator.start()
    yield simulator
    await simulator.stop()


class Server:
    """One ``ccs serve`` process; its output is drained (a full pipe would stop its logging)."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc, self.port, self.output = proc, port, [b""]
        self.drain: asyncio.Task | None = None

    @classmethod
    async def start(cls, env: dict[str, str], port: int) -> Server:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ccs", "serve", cwd=str(ROOT),
            env={**env, "CCS_HTTP__PORT": str(port)},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        server = cls(proc, port)
        assert proc.stdout is not None
        async with asyncio.timeout(60):
            while b"serving on" not in server.output[0]:
                line = await proc.stdout.readline()
                assert line, server.text()
                server.output[0] += line
        server.drain = asyncio.get_running_loop().create_task(server._drain())
        return server

    async def _drain(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.output.append(line)

    def text(self) -> str:
        return b"".join(self.output).decode(errors="replace")[-4000:]

    async def leadership(self, http: aiohttp.ClientSession) -> str:
        async with http.get(f"http://127.0.0.1:{self.port}/health") as response:
            body = await response.json()
        return body["components"]["leadership"]["state"]

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self.drain is not None:
            await self.drain


def ami_ports(pid: int, ami_port: int) -> set[int]:
    """Local TCP ports of the process's connections to the PBX (its AMI sessions): /proc's
    socket inodes of the process matched in /proc/net/tcp."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if inode in inodes and int(remote.split(":")[1], 16) == ami_port:
                ports.add(int(local.split(":")[1], 16))
    return ports


def midday_zone() -> str:
    """A zone where it is about noon now, inside every calling window whenever the test runs."""
    offset = 12 - datetime.now(timezone.utc).hour
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}")


def robocalls_from(sim: Simulator) -> list[tuple[float, int]]:
    return [(at, port) for at, port, action in sim.originated_from
            if wire.first(action, "Channel").endswith(f"@{CALLEE_CONTEXT}")]


async def test_when_the_leading_server_is_killed_then_the_other_takes_over_and_dials_alone(
        long_calls, robo_dsn, robo_pool, robo_world, redis_server, unused_tcp_port_factory):
    digits = DIGITS * 9
    pacing = {"mode": "agentless", "max_channels": 12, "calls_per_second": 20,
              "target_queue": "support"}
    cid, accounts = await make_campaign(robo_pool, robo_world, digits, state="paused",
                                        pacing=pacing)
    await robo_pool.execute("UPDATE accounts SET timezone = $2 WHERE id = ANY($1::bigint[])",
                            [a["id"] for a in accounts], midday_zone())
    env = {**os.environ, "CCS_POSTGRES__DSN": robo_dsn, "CCS_REDIS__URL": redis_server.url,
           "CCS_REDIS__KEY_PREFIX": f"t{uuid.uuid4().hex[:8]}",
           "CCS_AMI__HOST": "127.0.0.1", "CCS_AMI__PORT": str(long_calls.port),
           "CCS_AMI__SECRET": SECRET, "CCS_AMI__RECONNECT_INTERVAL": "0.05",
           "CCS_AUTH__SECRET_KEY": "k" * 40, "CCS_SPEECH__ENABLED": "false",
           "CCS_IVR__ENABLED": "false", "CCS_AGENTS__LEASE_TTL": str(LEASE_TTL),
           "CCS_CAMPAIGNS__DAILY_CAP": "100", "CCS_CAMPAIGNS__WEEKLY_CAP": "100",
           "CCS_CAMPAIGNS__MONTHLY_CAP": "100", "CCS_CAMPAIGNS__MIN_GAP_MINUTES": "0",
           "CCS_CAMPAIGNS__RING_SECONDS": "5", "CCS_CAMPAIGNS__PACER_TICK": "0.02",
           "CCS_CAMPAIGNS__CAMPAIGNS_REFRESH": "0.1",
           "CCS_CAMPAIGNS__INFLIGHT_CHECK_SECONDS": "1",
           "CCS_CAMPAIGNS__UNTRACED_GRACE_SECONDS": "1"}
    servers: list[Server] = []
    try:
        async with aiohttp.ClientSession() as http:
            first = await Server.start(env, unused_tcp_port_factory())
            servers.append(first)
            await until(lambda: _is(first, http, "leader"), timeout=20, interval=0.05)
            second = await Server.start(env, unused_tcp_port_factory())
            servers.append(second)
            assert await second.leadership(http) == "standby"
            first_ports = ami_ports(first.proc.pid, long_calls.port)
            second_ports = ami_ports(second.proc.pid, long_calls.port)
            assert first_ports and second_ports and not first_ports & second_ports

            await robo_pool.execute("UPDATE campaigns SET state = 'running' WHERE id = $1", cid)
            await until(lambda: len(robocalls_from(long_calls)) >= 20, timeout=20,
                        interval=0.01)
            first.proc.kill()  # SIGKILL mid-campaign: calls in flight, claims maybe unsent
            await first.proc.wait()
            killed_at = time.monotonic()
            await until(lambda: _is(second, http, "leader"), timeout=10, interval=0.05)
            took_over = time.monotonic() - killed_at

            async def finished() -> bool:
                return await robo_pool.fetchval(
                    "SELECT state FROM campaigns WHERE id = $1", cid) == "finished"

            try:
                await until(finished, timeout=40, interval=0.1)
            except AssertionError as exc:
                raise AssertionError("\n".join(s.text() for s in servers)) from exc
    finally:
        for server in servers:
            await server.stop()

    assert took_over < LEASE_TTL + 3, took_over
    # Which process sent each robocall's Originate, and when: the first until the kill, then
    # the second alone, never both.
    sent = robocalls_from(long_calls)
    by_first = [at for at, port in sent if port in first_ports]
    by_second = [at for at, port in sent if port in second_ports]
    assert len(by_first) + len(by_second) == len(sent)
    assert by_first and by_second
    assert max(by_first) < killed_at < min(by_second)
    # Each try originated once, never a try the table does not have; no outcome lost.
    rows = await attempts_of(robo_pool, cid)
    tries = originates_by_try(long_calls)
    assert max(tries.values()) == 1, "a try was originated twice"
    by_id = {str(r["id"]): r for r in rows}
    assert all(a in by_id and 1 <= int(t) <= by_id[a]["tries"] for a, t in tries)
    got = [(r["phones"][0][-1], r["state"], r["outcome"]) for r in rows]
    assert got == [(d, "done", EXPECTED[d][0]) for d in digits]
    dials = await robo_pool.fetchval(
        "SELECT count(*) FROM contact_log WHERE campaign_id = $1 AND result IS NULL", cid)
    assert dials == 0


async def _is(server: Server, http: aiohttp.ClientSession, state: str) -> bool:
    try:
        return await server.leadership(http) == state
    except (aiohttp.ClientError, KeyError):
        return False
