"""Two real server processes (``ccs serve``) against one PBX simulator, one PostgreSQL, one Redis.

One agent has two browser tabs, one on each process. Only the lease holder consumes the PBX's
events, and emits go through the shared Redis client manager: each tab gets each pop exactly
once. After kill -9 of the holder, the other process takes the lease and the next call pops.
"""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest

from cti.simulator import Simulator
from cti.simulator.presets import recorded_config
from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    SIM_SECRET, Desk, login, make_account, make_agent, ring,
)
from tests.helpers import until

ROOT = Path(__file__).resolve().parents[3]
SECRET_KEY = "two-process-secret-key-0123456789-abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def simulator():
    sim = Simulator(recorded_config(), secret=SIM_SECRET, time_scale=0.05)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def two_servers(pg_dsn, redis_server, simulator, tmp_path):
    prefix = f"t{uuid.uuid4().hex[:8]}"
    procs: list[tuple[asyncio.subprocess.Process, str]] = []
    for n in range(2):
        port = _free_port()
        env = {**os.environ, "CCS_POSTGRES__DSN": pg_dsn, "CCS_REDIS__URL": redis_server.url,
               "CCS_REDIS__KEY_PREFIX": prefix, "CCS_AUTH__SECRET_KEY": SECRET_KEY,
               "CCS_HTTP__HOST": "127.0.0.1", "CCS_HTTP__PORT": str(port),
               "CCS_AMI__HOST": "127.0.0.1", "CCS_AMI__PORT": str(simulator.port),
               "CCS_AMI__USERNAME": "ccs", "CCS_AMI__SECRET": SIM_SECRET,
               "CCS_SPEECH__ENABLED": "false", "CCS_IVR__ENABLED": "false",
               "CCS_AGENTS__LEASE_TTL": "1.5", "CCS_LOG_LEVEL": "WARNING",
               "CCS_LOCAL__DATA_DIR": str(tmp_path / f"data{n}")}
        log = open(tmp_path / f"server{n}.log", "wb")  # noqa: SIM115 (closed with the process)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ccs", "serve", cwd=ROOT, env=env, stdout=log,
            stderr=asyncio.subprocess.STDOUT)
        log.close()
        procs.append((proc, f"http://127.0.0.1:{port}"))
    try:
        async with aiohttp.ClientSession() as http:
            for _, base in procs:
                await until(lambda base=base: _healthy(http, base), timeout=30, interval=0.2)
        yield procs
    finally:
        for proc, _ in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        for n in range(2):
            text = (tmp_path / f"server{n}.log").read_bytes().decode(errors="replace")
            print(f"--- server {n}\n{text[-3000:]}")


async def _healthy(http: aiohttp.ClientSession, base: str) -> bool:
    try:
        return await _role(http, base) in ("leader", "standby")
    except aiohttp.ClientError:
        return False


async def _role(http: aiohttp.ClientSession, base: str) -> str | None:
    async with http.get(f"{base}/health") as response:
        body = await response.json()
        return body["components"].get("agents", {}).get("state")


async def test_when_two_processes_serve_one_agent_then_each_tab_gets_each_pop_once_and_a_killed_leader_is_replaced(
    two_servers, simulator, pg_pool, make_account
):
    (proc1, base1), (proc2, base2) = two_servers
    account = await make_account()
    _, name = await make_agent(pg_pool, "Local/1001@agents/n")
    async with aiohttp.ClientSession() as http:
        roles = {base1: await _role(http, base1), base2: await _role(http, base2)}
        assert sorted(roles.values()) == ["leader", "standby"], roles
        token = await login(http, base1, name)
    tabs = [await Desk.open(base1, token), await Desk.open(base2, token)]
    try:
        for tab in tabs:
            await tab.wait_for("state")
        ring(simulator, "support", account["phone"], account=account["number"], patience=4)
        for tab in tabs:
            await tab.wait_for("pop_update", lambda p: p["status"] == "ended", timeout=15)
        await asyncio.sleep(0.3)  # a duplicate would have arrived by now
        for tab in tabs:
            pops = tab.named("screen_pop")
            assert len(pops) == 1, [e for e, _ in tab.events]
            assert pops[0]["card"]["account"]["number"] == account["number"]
            assert len([p for p in tab.named("pop_update") if p["status"] == "answered"]) == 1

        leader, survivor = (proc1, base1), (proc2, base2)
        if roles[base2] == "leader":
            leader, survivor = survivor, leader
        tab = tabs[0] if survivor[1] == base1 else tabs[1]
        leader[0].send_signal(signal.SIGKILL)
        await leader[0].wait()
        async with aiohttp.ClientSession() as http:
            await until(lambda: _is_leader(http, survivor[1]), timeout=10, interval=0.1)
        ring(simulator, "support", account["phone"], account=account["number"], patience=4)
        await until(lambda: len(tab.named("screen_pop")) == 2, timeout=10)
    finally:
        for tab in tabs:
            await tab.close()


async def _is_leader(http: aiohttp.ClientSession, base: str) -> bool:
    return await _role(http, base) == "leader"
