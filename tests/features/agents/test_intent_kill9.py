"""Kill -9 of the server with an agent on lunch, restart, then a PBX restart: the agent is still
paused on the PBX with reason lunch (the intent is durable, the re-apply runs once)."""
from __future__ import annotations

import asyncio
import sys
import uuid

from tests.conftest import ROOT
from tests.helpers import until

from .readiness_stack import (  # noqa: F401 (fixtures)
    actions, agents_db, agents_dsn, make_agent, member, sent_since, sim,
)

STATIC = "Local/1001@agents/n"


async def _server(sim, dsn: str, redis_url: str, prefix: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.features.agents.agents_process", str(sim.port), dsn,
        redis_url, prefix, cwd=str(ROOT), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 20)
    assert line.strip() == b"ready", line
    return proc


async def _ask(proc: asyncio.subprocess.Process, command: str) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(command.encode() + b"\n")
    await proc.stdin.drain()
    return (await asyncio.wait_for(proc.stdout.readline(), 10)).decode().strip()


async def test_when_server_is_killed_on_lunch_and_pbx_restarts_then_still_paused_for_lunch(
        sim, agents_dsn, agents_db, redis_server):
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    prefix = f"t{uuid.uuid4().hex[:8]}"
    first = await _server(sim, agents_dsn, redis_server.url, prefix)
    second = None
    try:
        assert await _ask(first, f"set {agent_id} not_ready lunch") == "done"
        assert member(sim, "support", STATIC).reason == "lunch"
        first.kill()  # SIGKILL: nothing of its memory survives
        await first.wait()
        second = await _server(sim, agents_dsn, redis_server.url, prefix)
        before = actions(sim)
        await sim.restart()  # Asterisk forgets every pause
        await until(lambda: not sim.booting and member(sim, "support", STATIC).paused, timeout=10)
        assert member(sim, "support", STATIC).reason == "lunch"
        assert (await _ask(second, "idle")).startswith("idle")
        assert sent_since(sim, before, "queuepause")["queuepause"] == 1
    finally:
        for proc in (first, second):
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()


async def _ccs_serve(env: dict[str, str]) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ccs", "serve", cwd=str(ROOT), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert proc.stdout is not None
    seen = b""
    async with asyncio.timeout(60):
        while b"serving on" not in seen:
            line = await proc.stdout.readline()
            assert line, seen.decode(errors="replace")[-2000:]
            seen += line
    OUTPUT[proc.pid] = [seen]

    async def drain() -> None:  # a full pipe would stop the server's logging, and the server
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            OUTPUT[proc.pid].append(line)

    DRAINS.add(asyncio.get_running_loop().create_task(drain()))
    return proc


OUTPUT: dict[int, list[bytes]] = {}
DRAINS: set[asyncio.Task] = set()


def _output(procs) -> str:
    return "\n".join(f"--- server {p.pid}\n" + b"".join(OUTPUT.get(p.pid, [])).decode(
        errors="replace")[-3000:] for p in procs)


async def test_when_ccs_serve_is_killed_on_lunch_and_pbx_restarts_then_still_paused_for_lunch(
        sim, agents_dsn, agents_db, redis_server, unused_tcp_port):
    import os

    import aiohttp

    agent_id = await make_agent(agents_db, STATIC, ["support"])
    login = await agents_db.fetchval("SELECT login FROM agents WHERE id = $1", agent_id)
    base = f"http://127.0.0.1:{unused_tcp_port}"
    env = {**os.environ, "CCS_POSTGRES__DSN": agents_dsn, "CCS_REDIS__URL": redis_server.url,
           "CCS_REDIS__KEY_PREFIX": f"t{uuid.uuid4().hex[:8]}",
           "CCS_AMI__HOST": "127.0.0.1", "CCS_AMI__PORT": str(sim.port),
           "CCS_AMI__SECRET": "test-secret", "CCS_AMI__RECONNECT_INTERVAL": "0.05",
           "CCS_AUTH__SECRET_KEY": "k" * 40, "CCS_HTTP__PORT": str(unused_tcp_port),
           "CCS_SPEECH__ENABLED": "false", "CCS_IVR__ENABLED": "false",
           "CCS_AGENTS__LEASE_TTL": "1.0"}
    procs = [await _ccs_serve(env)]
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/api/login",
                                 json={"login": login, "password": "pw-123456"}) as r:
                token = (await r.json())["token"]
            headers = {"Authorization": f"Bearer {token}"}
            await until(lambda: member(sim, "support", STATIC) is not None)

            async def lunch():
                async with http.put(f"{base}/api/agents/me/readiness", headers=headers,
                                    json={"state": "not_ready", "reason": "lunch"}) as r:
                    return r.status == 202  # 503 while the server still connects to the PBX

            await until(lunch, timeout=20, interval=0.2)
            assert member(sim, "support", STATIC).reason == "lunch"
            procs[0].kill()  # SIGKILL: nothing of its memory survives
            await procs[0].wait()
            procs.append(await _ccs_serve(env))
            before = actions(sim)
            await sim.restart()  # Asterisk forgets every pause

            try:
                await until(lambda: not sim.booting and member(sim, "support", STATIC).paused,
                            timeout=20)
            except AssertionError as exc:
                raise AssertionError(_output(procs)) from exc
            assert member(sim, "support", STATIC).reason == "lunch"
            assert sent_since(sim, before, "queuepause")["queuepause"] == 1
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        for task in list(DRAINS):
            await task
        DRAINS.clear()
