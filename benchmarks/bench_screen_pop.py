"""Screen-pop latency: the AMI AgentCalled leaving the simulator -> the card at the agent's browser.
Prints numbers, asserts none.

    .venv/bin/python -m benchmarks bench_screen_pop [--accounts 2500000] [--agents 2000]
        [--rate 100] [--seconds 30] [--idle-calls 150] [--client-processes 2] [--floor-only]

Parts, each a process of its own, as in production: the server (`python -m ccs serve`, its
PostgreSQL the benchmark cluster holding the generated data set, `--accounts` of it, and an
embedded Redis), the PBX simulator (in this process, real TCP), and `--agents` Socket.IO clients
on `/agent` split over `--client-processes` processes (2,000 Python clients in the server's
process, or in the simulator's, would be measured instead of the server). Every agent logs in
(REST), goes ready (Socket.IO `set_readiness`) and is a member of one of `--queues` queues
(leastrecent: one phone rings per call). The simulator plays the agents' phones (answer after
1-2 s, talk 3-6 s). Half the callers were identified by the IVR (CCS_ACCOUNT, an account of the
data set, with CCS_IVR and CCS_IDENTIFIED_BY as our IVR sets them; the IVR's card prefetch is
played by `IvrIdentifies`), half only by their number (a
phone of the data set); every caller number is used once,
so each AgentCalled is matched to the `screen_pop` its agent received by (agent, caller number).

The stand-ins do not collect garbage while calls are measured (the client processes from the
time they are connected, this process during each phase): their collectors' pauses were
measured as the server's latency before (BENCHMARKS.md, 2026-12-06).

Latency = the client's time of receipt minus the time the simulator wrote AgentCalled to the
server's AMI socket (Simulator.observers), both `time.perf_counter()`, which on Linux is
CLOCK_MONOTONIC: one clock for every process of the machine.

The floor, measured in the same run before and after: a bare Redis GET of a real card (JSON, on
the same Redis) plus a bare python-socketio emit of it (aiohttp server in a process of its own,
one AsyncClient in a client process, nothing else), from before the GET to the client's receipt;
twice: with python-socketio's default client manager, and with the AsyncRedisManager the server
uses (on the same Redis), which publishes every emit (pickled) for the other processes.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOOR_NAMESPACE = "/floor"
AGENT_NAMESPACE = "/agent"
SECRET = "bench-screen-pop"
PASSWORD = "bench-screen-pop-password"
CONNECT_CONCURRENCY = 50
REFERENCE_LOOKUPS = 200
SERVER_COMMAND = [sys.executable, "-m", "ccs", "serve"]


def parse(args: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench_screen_pop")
    p.add_argument("--accounts", type=int, default=2_500_000, help="generated data set size")
    p.add_argument("--agents", type=int, default=2000, help="connected Socket.IO agents")
    p.add_argument("--queues", type=int, default=100, help="queues the agents are spread over")
    p.add_argument("--rate", type=float, default=100.0, help="new calls per second under load")
    p.add_argument("--seconds", type=float, default=30.0, help="length of the loaded phase")
    p.add_argument("--idle-rate", type=float, default=5.0, help="calls per second when idle")
    p.add_argument("--idle-calls", type=int, default=150, help="calls of the idle phase")
    p.add_argument("--floor-samples", type=int, default=500, help="floor samples (each side)")
    p.add_argument("--client-processes", type=int, default=2)
    p.add_argument("--data-dir", default=None, help="benchmark PostgreSQL cluster folder")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--floor-only", action="store_true", help="measure the floor alone")
    return p.parse_known_args(args)[0]


# -- figures ---------------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def row(name: str, values_ms: list[float]) -> str:
    if not values_ms:
        return f"| {name} | 0 | - | - | - |"
    return (f"| {name} | {len(values_ms)} | {pct(values_ms, .5):.2f} | {pct(values_ms, .99):.2f} "
            f"| {max(values_ms):.2f} |")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (and its waited-for children) from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot (every process, ours or not)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / hz, sum(ticks) / hz


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- client processes ------------------------------------------------------------------------
@dataclass
class Receipt:
    login: str
    event: str
    received: float
    call_id: str = ""
    caller_number: str = ""
    sent: float | None = None  # the floor server's own stamp
    card: bool = False
    candidates: int = 0


def client_process(url: str, namespace: str, agents: list[tuple[str, str]], ready: bool,
                   conn) -> None:
    """Entry of a client process: connect `agents` (login, token), report, record pops, stop."""
    asyncio.run(_clients(url, namespace, agents, ready, conn))


async def _clients(url: str, namespace: str, agents: list[tuple[str, str]], ready: bool,
                   conn) -> None:
    import socketio

    loop = asyncio.get_running_loop()
    receipts: list[Receipt] = []
    last = [0.0]  # perf_counter of the last event of any kind
    clients: list[socketio.AsyncClient] = []
    failures: list[str] = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(login: str, token: str) -> None:
        client = socketio.AsyncClient(reconnection=False)

        def on_pop(pop: dict) -> None:
            received = time.perf_counter()
            last[0] = received
            receipts.append(Receipt(
                login, "screen_pop", received, str(pop.get("call_id", "")),
                str(pop.get("caller_number", "")), pop.get("t0"), bool(pop.get("card")),
                len(pop.get("candidates") or ())))

        def on_other(*_args) -> None:
            last[0] = time.perf_counter()

        client.on("screen_pop", on_pop, namespace=namespace)
        for event in ("state", "pop_update", "pop_closed", "error"):
            client.on(event, on_other, namespace=namespace)
        async with gate:
            try:
                await client.connect(url, namespaces=[namespace], transports=["websocket"],
                                     auth={"token": token}, wait_timeout=30)
                if ready:
                    answer = await client.call("set_readiness", {"state": "ready"},
                                               namespace=namespace, timeout=30)
                    if not (isinstance(answer, dict) and answer.get("ok")):
                        failures.append(f"{login}: set_readiness answered {answer!r}")
            except Exception as exc:  # noqa: BLE001 (counted and reported, not hidden)
                failures.append(f"{login}: {exc!r}")
        clients.append(client)

    await asyncio.gather(*(one(login, token) for login, token in agents))
    # These processes stand in for 2,000 browsers, each with one connection and a collector of
    # its own. One Python process holding 1,000 connections has collections a browser does not:
    # measured, 50-60 pauses of 2-50 ms per process in a run, and a pop arriving meanwhile
    # waited for them in the client, not in the server (BENCHMARKS.md, 2026-12-06). What is
    # alive now is frozen; the little the run leaves for the collector stays until it ends.
    gc.collect()
    gc.freeze()
    gc.disable()
    conn.send(("connected", len(agents) - len(failures), failures[:5]))
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "clear":
            receipts.clear()
        elif command == "report":
            conn.send(("receipts", [r.__dict__ for r in receipts]))
            receipts.clear()
        elif command == "last":
            conn.send(("last", last[0]))
        elif command == "stop":
            break
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    conn.send(("stopped",))


async def receive(pipe, proc, timeout: float = 600):
    """The next message from a child process; an error (not a hang) when the child died."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout
    while not await loop.run_in_executor(None, pipe.poll, 0.5):
        if not proc.is_alive():
            raise RuntimeError(f"{proc.name} exited ({proc.exitcode})")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{proc.name} did not answer within {timeout} s")
    return pipe.recv()


class ClientGroup:
    """Client processes holding `agents` Socket.IO connections between them."""

    def __init__(self, url: str, namespace: str, agents: list[tuple[str, str]], processes: int,
                 ready: bool = False) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipes = []
        self.procs = []
        for k in range(processes):
            share = agents[k::processes]
            if not share:
                continue
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=client_process, args=(url, namespace, share, ready, theirs),
                               daemon=True, name=f"bench-clients-{k}")
            proc.start()
            self.pipes.append(mine)
            self.procs.append(proc)

    async def _ask(self, pipe, command: str | None):
        if command is not None:
            pipe.send(command)
        return await receive(pipe, self.procs[self.pipes.index(pipe)])

    async def connected(self) -> tuple[int, list[str]]:
        answers = await asyncio.gather(*(self._ask(p, None) for p in self.pipes))
        return sum(a[1] for a in answers), [f for a in answers for f in a[2]]

    async def clear(self) -> None:
        for pipe in self.pipes:
            pipe.send("clear")

    async def report(self) -> list[Receipt]:
        answers = await asyncio.gather(*(self._ask(p, "report") for p in self.pipes))
        return [Receipt(**r) for a in answers for r in a[1]]

    async def quiet_for(self) -> float:
        """Seconds since any client last received anything."""
        answers = await asyncio.gather(*(self._ask(p, "last") for p in self.pipes))
        return time.perf_counter() - max(a[1] for a in answers)

    async def stop(self) -> None:
        await asyncio.gather(*(self._ask(p, "stop") for p in self.pipes), return_exceptions=True)
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid]


# -- the floor -------------------------------------------------------------------------------
def floor_server_process(redis_url: str, key: str, port: int, samples: int, interval: float,
                         conn, through_redis: bool = False) -> None:
    asyncio.run(_floor_server(redis_url, key, port, samples, interval, conn, through_redis))


async def _floor_server(redis_url: str, key: str, port: int, samples: int, interval: float,
                        conn, through_redis: bool = False) -> None:
    """python-socketio on aiohttp and a Redis client, nothing else: GET the card, emit it.
    ``through_redis``: with the client manager the server uses (AsyncRedisManager on the same
    Redis, a channel of its own), so the floor pays what every emit of the server pays."""
    import redis.asyncio as redis
    import socketio
    from aiohttp import web

    manager = (socketio.AsyncRedisManager(redis_url, channel="bench-floor") if through_redis
               else None)
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager)
    app = web.Application()
    sio.attach(app)
    store = redis.Redis.from_url(redis_url)
    loop = asyncio.get_running_loop()
    joined: asyncio.Queue[str] = asyncio.Queue()

    @sio.on("connect", namespace=FLOOR_NAMESPACE)
    async def connect(sid, environ, auth):  # noqa: ARG001
        await sio.enter_room(sid, f"agent:{auth['token']}", namespace=FLOOR_NAMESPACE)
        joined.put_nowait(sid)

    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    conn.send("listening")
    await joined.get()
    await asyncio.sleep(0.5)
    for _ in range(samples):
        t0 = time.perf_counter()
        card = await store.get(key)
        await sio.emit("screen_pop", {"t0": t0, "card": card.decode()}, to="agent:floor",
                       namespace=FLOOR_NAMESPACE)
        await asyncio.sleep(interval)
    await asyncio.sleep(0.5)
    conn.send("done")
    await loop.run_in_executor(None, conn.recv)
    await store.aclose()
    await runner.cleanup()


async def measure_floor(redis_url: str, key: str, samples: int, interval: float,
                        through_redis: bool = False) -> list[float]:
    """ms from before the Redis GET to the client's receipt of the emitted card."""
    ctx = multiprocessing.get_context("spawn")
    port = free_port()
    mine, theirs = ctx.Pipe()
    server = ctx.Process(target=floor_server_process,
                         args=(redis_url, key, port, samples, interval, theirs, through_redis),
                         daemon=True,
                         name="bench-floor-server")
    server.start()
    assert await receive(mine, server) == "listening"
    clients = ClientGroup(f"http://127.0.0.1:{port}", FLOOR_NAMESPACE, [("floor", "floor")], 1)
    count, failures = await clients.connected()
    if count != 1:
        raise RuntimeError(f"floor client did not connect: {failures}")
    assert await receive(mine, server) == "done"
    receipts = await clients.report()
    await clients.stop()
    mine.send("stop")
    server.join(10)
    return [(r.received - r.sent) * 1000 for r in receipts if r.sent is not None]


# -- the data set, Redis and the card of the floor --------------------------------------------
async def sample_keys(dsn: str, n: int, seed: int) -> tuple[list[str], list[str]]:
    """Distinct account numbers and phones of the data set (a block sample, no full scan)."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        numbers = [r[0] for r in await conn.fetch(
            "SELECT number FROM accounts TABLESAMPLE SYSTEM (2) REPEATABLE ($1)", seed)]
        phones = [r[0] for r in await conn.fetch(
            "SELECT e164 FROM phones TABLESAMPLE SYSTEM (2) REPEATABLE ($1)", seed)]
        if len(numbers) < n or len(phones) < n:
            numbers = [r[0] for r in await conn.fetch("SELECT number FROM accounts")]
            phones = [r[0] for r in await conn.fetch("SELECT e164 FROM phones")]
    finally:
        await conn.close()
    rng = random.Random(seed)
    rng.shuffle(numbers)
    rng.shuffle(phones)
    return numbers[:n], phones[:n]


async def store_floor_card(dsn: str, redis_url: str, number: str) -> tuple[str, int]:
    """A real consumer card as JSON in Redis (the value the floor GETs); its key and size."""
    import asyncpg
    import redis.asyncio as redis

    from state.cards import card_by_account

    conn = await asyncpg.connect(dsn)
    try:
        card = await card_by_account(conn, number)
    finally:
        await conn.close()
    value = card.model_dump_json() if card is not None else json.dumps({"account": number})
    store = redis.Redis.from_url(redis_url)
    key = "bench:floor:card"
    await store.flushdb()  # the benchmark's own Redis: no live state of an earlier run
    await store.set(key, value)
    await store.aclose()
    return key, len(value)


async def lookup_alone(dsn: str, numbers: list[str]) -> list[float]:
    """ms of `state.cards.card_by_account` alone, one connection, on accounts no call used."""
    import asyncpg

    from state.cards import card_by_account

    conn = await asyncpg.connect(dsn)
    try:
        out = []
        for number in numbers:
            t0 = time.perf_counter()
            await card_by_account(conn, number)
            out.append((time.perf_counter() - t0) * 1000)
        return out
    finally:
        await conn.close()


def start_redis(data_dir: Path):
    from ccs.localenv import LocalRedis

    server = LocalRedis(data_dir)
    server.start()
    return server


# -- agents, server, simulator ---------------------------------------------------------------
def agent_login(i: int) -> str:
    return f"popbench{i:05d}"


def agent_interface(i: int) -> str:
    return f"Local/{70000 + i}@agents/n"


def queue_name(i: int) -> str:
    return f"pop{i:03d}"


async def install_agents(dsn: str, agents: int, queues: int) -> None:
    """Bench agents (bcrypt cost 4: logging 2,000 in must not take minutes) and their queues."""
    import asyncpg

    from state.demo_data import hash_password

    password_hash = await asyncio.get_running_loop().run_in_executor(
        None, hash_password, PASSWORD, 4)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO queues (name, title) VALUES ($1, $1) ON CONFLICT DO NOTHING",
                [(queue_name(q),) for q in range(queues)])
            await conn.executemany(
                """INSERT INTO agents (login, full_name, role, password_hash, interface)
                   VALUES ($1, $1, 'agent', $2, $3)
                   ON CONFLICT (login) DO UPDATE SET password_hash = EXCLUDED.password_hash,
                       interface = EXCLUDED.interface, active = true""",
                [(agent_login(i), password_hash, agent_interface(i)) for i in range(agents)])
            # every run starts from logged-out agents: no intents, wrap-ups or history of the
            # runs before (their queues may have been others)
            for table in ("agent_queues", "agent_intents", "agent_wrapups", "agent_state_log"):
                if await conn.fetchval("SELECT to_regclass($1)", table) is not None:
                    await conn.execute(f"DELETE FROM {table} WHERE agent_id IN "
                                       "(SELECT id FROM agents WHERE login LIKE 'popbench%')")
            await conn.executemany(
                """INSERT INTO agent_queues (agent_id, queue_name, penalty)
                   SELECT id, $2, 0 FROM agents WHERE login = $1""",
                [(agent_login(i), queue_name(i % queues)) for i in range(agents)])
    finally:
        await conn.close()


def server_env(dsn: str, redis_url: str, ami_port: int, http_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "CCS_LOG_LEVEL": "WARNING",
        "CCS_POSTGRES__DSN": dsn,
        "CCS_POSTGRES__POOL_MAX": "20",
        "CCS_REDIS__URL": redis_url,
        "CCS_AMI__HOST": "127.0.0.1",
        "CCS_AMI__PORT": str(ami_port),
        "CCS_AMI__SECRET": SECRET,
        "CCS_AMI__SIMULATED": "true",
        "CCS_HTTP__PORT": str(http_port),
        "CCS_AUTH__SECRET_KEY": "bench-screen-pop-signing-key-0123456789",
        "CCS_SPEECH__ENABLED": "false",
        "CCS_IVR__ENABLED": "false",
        # one short wrap-up: 2,000 agents must keep up with 100 calls/s
        "CCS_AGENTS__WRAPUP_SECONDS": os.environ.get("CCS_AGENTS__WRAPUP_SECONDS", "3"),
    }


async def loop_lag(port: int) -> dict:
    """The server's event-loop lag and garbage-collector pauses over its last 30 s (/health:
    agent_api/loop_lag.py, agent_api/gc_pauses.py)."""
    def get() -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            components = json.loads(r.read())["components"]
            return {**components["event_loop"]["lag"], "gc": components["gc"]["pauses"]}

    return await asyncio.get_running_loop().run_in_executor(None, get)


async def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout

    def get() -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            return r.status

    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}); see its log")
        try:
            if await loop.run_in_executor(None, get) == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.3)
    raise RuntimeError("the server did not become healthy")


async def login_all(port: int, agents: int) -> list[tuple[str, str]]:
    from aiohttp import ClientSession

    tokens: list[tuple[str, str]] = []
    gate = asyncio.Semaphore(16)
    async with ClientSession() as http:
        async def one(i: int) -> None:
            async with gate:
                async with http.post(f"http://127.0.0.1:{port}/api/login",
                                     json={"login": agent_login(i), "password": PASSWORD}) as r:
                    body = await r.json()
                    if r.status != 200:
                        raise RuntimeError(f"login of {agent_login(i)}: {r.status} {body}")
                    tokens.append((agent_login(i), body["token"]))
        await asyncio.gather(*(one(i) for i in range(agents)))
    return tokens


def digits(number: str) -> str:
    """The caller number as digits: the pop may show it normalized."""
    return re.sub(r"\D", "", number)


@dataclass
class Sent:
    """AgentCalled as the simulator wrote it: (interface, caller number) -> perf_counter."""

    at: dict[tuple[str, str], float] = field(default_factory=dict)

    def observe(self, name: str, body) -> None:
        if name == "AgentCalled":
            fields = dict(body)
            self.at.setdefault((fields["Interface"], digits(fields["CallerIDNum"])),
                              time.perf_counter())


class Callers:
    """Unique callers: even ones identified by the IVR (an account), odd ones by their phone."""

    def __init__(self, numbers: list[str], phones: list[str], queues: int, seed: int) -> None:
        self.numbers, self.phones = iter(numbers), iter(phones)
        self.queues = queues
        self.rng = random.Random(seed)
        self.n = 0

    def next(self) -> tuple[str, str, str]:
        """(queue, caller number, IVR account or '')."""
        self.n += 1
        queue = queue_name(self.rng.randrange(self.queues))
        if self.n % 2:
            return queue, next(self.phones), ""
        return queue, f"+7990{self.n:07d}", next(self.numbers)


class IvrIdentifies:
    """The server's IVR as the pop sees it: when it has identified a caller it prefetches the
    card (``CardCache.prefetch``, the product's code, on the server's Redis and PostgreSQL).
    The FastAGI dialogue itself is not driven here (benchmarks/bench_ivr measures it); its
    CPU for the prefetch is counted in this process instead of the server's."""

    def __init__(self, pool, client, cards) -> None:
        self.pool, self.client, self.cards = pool, client, cards

    @classmethod
    async def open(cls, dsn: str, redis_url: str) -> IvrIdentifies:
        import redis.asyncio as aioredis

        from state.cards import CardCache
        from state.db import create_pool
        from state.settings import RedisSettings

        pool = await create_pool(dsn, min_size=1, max_size=8)
        client = aioredis.from_url(redis_url, decode_responses=True)
        return cls(pool, client, CardCache.from_settings(client, RedisSettings(url=redis_url)))

    def identified(self, account: str) -> None:
        self.cards.prefetch(self.pool, account)

    async def close(self) -> None:
        await self.cards.flushed()
        await self.client.aclose()
        await self.pool.close()


async def drive_calls(sim, callers: Callers, rate: float, count: int,
                      identified: Callable[[str], None] | None = None) -> None:
    """``identified(account)`` plays the server's IVR telling whom it identified (what
    ``ivr/flows/identify.py`` does through ``IvrDeps.on_identified``: the card prefetch), at
    the call's start: the simulator's IVR takes ``PbxConfig.ivr_seconds`` before the queue."""
    from cti.simulator.originate import inbound_call

    loop = asyncio.get_running_loop()
    start = loop.time()
    for k in range(count):
        delay = start + k / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        queue, number, account = callers.next()
        if account and identified is not None:
            identified(account)
        # What our IVR sets for a caller it identified and told the balance (transfer.py).
        said = {"CCS_IVR": "balance", "CCS_IDENTIFIED_BY": "keyed"} if account else None
        sim.spawn(inbound_call(sim.pbx, queue, number, "Bench Caller", patience=120,
                               account=account, intent="balance" if account else "",
                               ivr_vars=said))


def latencies(sent: Sent, receipts: list[Receipt], interfaces: dict[str, str],
              since: float, until: float) -> tuple[list[float], dict[str, int]]:
    """ms from each AgentCalled written in [since, until] to its agent's screen_pop."""
    got: dict[tuple[str, str], Receipt] = {}
    wrong = 0
    for r in receipts:
        key = (interfaces.get(r.login, "?"), digits(r.caller_number))
        if key not in sent.at:
            wrong += 1
        got.setdefault(key, r)
    expected = {k: t for k, t in sent.at.items() if since <= t <= until}
    ms = [(got[k].received - t) * 1000 for k, t in expected.items() if k in got]
    found = [got[k] for k in expected if k in got]
    # Callers the IVR identified have numbers of their own (Callers.next): their card is the
    # one the IVR prefetched, the others' is looked up from CallStarted on.
    split: dict[str, list[float]] = {"ivr": [], "number": []}
    for k, t in expected.items():
        if k in got:
            split["ivr" if k[1].startswith("7990") else "number"].append(
                (got[k].received - t) * 1000)
    return ms, {"agent_called": len(expected), "pops": len(ms),
                "missing": len(expected) - len(ms), "not_matching": wrong,
                "with_card": sum(r.card for r in found),
                "with_candidates": sum(r.candidates > 1 for r in found), "split": split}


async def phase(sim, clients: ClientGroup, sent: Sent, callers: Callers,
                interfaces: dict[str, str], rate: float, count: int,
                identified: Callable[[str], None] | None = None,
                ) -> tuple[list[float], dict[str, int], float]:
    """Drive `count` calls at `rate`; collect pops until every AgentCalled of the phase has its
    pop, or none came for 10 s (late pops count with their latency, lost ones as missing)."""
    # This process plays the PBX and its callers, which have machines of their own: its
    # collector's pauses (up to 120 ms of CPU at 100 calls/s) took one of the two cores from
    # the server and the clients while pops were due. Its garbage is collected between phases.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        since = time.perf_counter()
        await drive_calls(sim, callers, rate, count, identified)
        driven = time.perf_counter()
        until = driven + 1.0  # callers of the last second may still be in the IVR
        receipts: list[Receipt] = []
        quiet = time.perf_counter()
        while True:
            await asyncio.sleep(1)
            new = await clients.report()
            receipts += new
            now = time.perf_counter()
            quiet = now if new else quiet
            ms, counts = latencies(sent, receipts, interfaces, since, until)
            if now > until and (not counts["missing"] or now - quiet > 10
                                or now - driven > 180):
                return ms, counts, driven - since
    finally:
        gc.enable()
        gc.unfreeze()


async def main(args: list[str]) -> None:
    from benchmarks import generated_database, machine, start_postgres

    opts = parse(args)
    data_dir = ROOT / ".data" / "bench-screen-pop"
    data_dir.mkdir(parents=True, exist_ok=True)
    pg = start_postgres(opts.data_dir)
    dsn = await generated_database(pg, opts.accounts, opts.seed)
    calls = 20 + opts.idle_calls + int(opts.rate * opts.seconds) + REFERENCE_LOOKUPS
    numbers, phones = await sample_keys(dsn, calls, opts.seed)
    redis_server = start_redis(data_dir / "redis")
    try:
        key, card_bytes = await store_floor_card(dsn, redis_server.url, numbers[0])
        interval = 1 / opts.idle_rate / 10
        print(f"machine: {machine()}", flush=True)
        floor_before = await floors(redis_server.url, key, opts.floor_samples, interval)
        print("| measure | n | p50 ms | p99 ms | max ms |\n| --- | ---: | ---: | ---: | ---: |")
        print_floors(floor_before, card_bytes, "before")
        if opts.floor_only:
            return
        await full_run(opts, dsn, redis_server.url, numbers, phones, data_dir, floor_before, key,
                       card_bytes, interval)
    finally:
        redis_server.stop()


FLOOR_KINDS = {
    "plain": "Socket.IO emit (default manager)",
    "redis": "Socket.IO emit through AsyncRedisManager (the server's manager)",
}


async def floors(redis_url: str, key: str, samples: int, interval: float
                 ) -> dict[str, list[float]]:
    """Both floors, one after the other: the bare emit, and the emit through the client
    manager the server uses (what every emit of the server pays besides our work)."""
    return {"plain": await measure_floor(redis_url, key, samples, interval),
            "redis": await measure_floor(redis_url, key, samples, interval, through_redis=True)}


def print_floors(measured: dict[str, list[float]], card_bytes: int, when: str) -> None:
    for kind, values in measured.items():
        print(row(f"floor: Redis GET ({card_bytes} B card) + {FLOOR_KINDS[kind]}, {when}",
                  values), flush=True)


async def settled(sim, clients: ClientGroup, agents: int, timeout: float = 180
                  ) -> tuple[int, int]:
    """Wait until every agent is an unpaused member on the PBX and no client has received
    anything for 3 s: the server has announced the readiness changes (not measured)."""
    deadline = time.monotonic() + timeout
    while True:
        members = [m for q in sim.pbx.queues.values() for m in q.members.values()]
        paused = sum(m.paused for m in members)
        if time.monotonic() > deadline or (
                len(members) >= agents and not paused and await clients.quiet_for() > 3):
            return len(members), paused
        await asyncio.sleep(0.5)


async def full_run(opts, dsn: str, redis_url: str, numbers: list[str], phones: list[str],
                   data_dir: Path, floor_before: dict[str, list[float]], key: str, card_bytes: int,
                   interval: float) -> None:
    from cti.simulator import PbxConfig, QueueConfig, Simulator
    from cti.simulator.agent_phones import PhoneBehaviour

    await install_agents(dsn, opts.agents, opts.queues)
    config = PbxConfig(
        queues=[QueueConfig(name=queue_name(q), strategy="leastrecent", timeout=15, retry=1)
                for q in range(opts.queues)],
        phones=PhoneBehaviour(answer_min=1, answer_max=2, talk_min=3, talk_max=6, seed=opts.seed))
    sim = Simulator(config, secret=SECRET)
    sent = Sent()
    sim.observers.append(sent.observe)
    await sim.start()
    http_port = free_port()
    log_path = data_dir / "server.log"
    with open(log_path, "w") as log_file:
        server = subprocess.Popen(
            SERVER_COMMAND, cwd=ROOT,
            env=server_env(dsn, redis_url, sim.port, http_port),
            stdout=log_file, stderr=subprocess.STDOUT)
    clients: ClientGroup | None = None
    try:
        await wait_healthy(http_port, server)
        t0 = time.perf_counter()
        tokens = await login_all(http_port, opts.agents)
        clients = ClientGroup(f"http://127.0.0.1:{http_port}", AGENT_NAMESPACE, tokens,
                              opts.client_processes, ready=True)
        connected, failures = await clients.connected()
        print(f"{connected}/{opts.agents} agents logged in, connected and ready in "
              f"{time.perf_counter() - t0:.1f} s over {len(clients.procs)} client processes"
              + (f"; failures: {failures}" if failures else ""), flush=True)
        members, paused = await settled(sim, clients, opts.agents)
        print(f"PBX: {members} queue members, {paused} paused", flush=True)
        interfaces = {agent_login(i): agent_interface(i) for i in range(opts.agents)}
        callers = Callers(numbers[REFERENCE_LOOKUPS:], phones, opts.queues, opts.seed)
        ivr = await IvrIdentifies.open(dsn, redis_url)

        # warm-up (plans, caches, connections), not measured
        await phase(sim, clients, sent, callers, interfaces, opts.idle_rate, 20, ivr.identified)
        idle, idle_counts, _ = await phase(sim, clients, sent, callers, interfaces,
                                           opts.idle_rate, opts.idle_calls, ivr.identified)
        idle_lag = await loop_lag(http_port)
        pids = {"server": server.pid, "simulator (this process)": os.getpid(),
                **{f"clients {k}": pid for k, pid in enumerate(clients.pids())}}
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        busy0, total0 = machine_busy()
        started = time.perf_counter()
        load, load_counts, wall = await phase(sim, clients, sent, callers, interfaces, opts.rate,
                                              int(opts.rate * opts.seconds), ivr.identified)
        load_lag = await loop_lag(http_port)
        await ivr.close()
        cpu = {name: (cpu_seconds(pid) - cpu0[name]) / (time.perf_counter() - started)
               for name, pid in pids.items()}
        busy1, total1 = machine_busy()
        cpu["whole machine (PostgreSQL, Redis, other work included)"] = (
            (busy1 - busy0) / (total1 - total0) * (os.cpu_count() or 1))
        lookups = await lookup_alone(dsn, numbers[:REFERENCE_LOOKUPS])
        floor_after = await floors(redis_url, key, opts.floor_samples, interval)

        print(f"\ndata: {opts.accounts} generated accounts; {opts.agents} agents in "
              f"{opts.queues} queues; calls driven at {opts.rate:g}/s for {wall:.1f} s")
        print("| measure | n | p50 ms | p99 ms | max ms |\n| --- | ---: | ---: | ---: | ---: |")
        print_floors(floor_before, card_bytes, "before")
        idle_split, load_split = idle_counts.pop("split"), load_counts.pop("split")
        print(row(f"screen pop, idle ({opts.idle_rate:g} calls/s)", idle))
        print(row("  idle, callers known by their number (card from CallStarted on)",
                  idle_split["number"]))
        print(row("  idle, callers the IVR identified (card prefetched by the IVR)",
                  idle_split["ivr"]))
        print(row(f"screen pop, {opts.rate:g} calls/s", load))
        print(row(f"  {opts.rate:g} calls/s, callers known by their number", load_split["number"]))
        print(row(f"  {opts.rate:g} calls/s, callers the IVR identified", load_split["ivr"]))
        print_floors(floor_after, card_bytes, "after")
        print(row("for reference: the card by account from PostgreSQL alone, keys not used "
                  "before", lookups))
        for kind in FLOOR_KINDS:
            floor = floor_before[kind] + floor_after[kind]
            if idle and floor:
                print(f"idle p99 / floor p99 ({kind}, before and after) = "
                      f"{pct(idle, .99) / pct(floor, .99):.1f} (target <= 3)")
        print(f"loaded p99 {pct(load, .99) if load else float('nan'):.2f} ms (target < 10 ms)")
        print(f"idle: {idle_counts}\nloaded: {load_counts}")
        for name, lag in (("idle", idle_lag), ("loaded", load_lag)):
            print(f"server event-loop lag, last 30 s of the {name} phase (ms): p50 "
                  f"{lag['p50_ms']}, p99 {lag['p99_ms']}, max {lag['max_ms']} "
                  f"({lag['samples']} probes); garbage-collector pauses: "
                  + ", ".join(f"{gen} {g['collections']} (p99 {g['p99_ms']}, max {g['max_ms']})"
                              for gen, g in lag["gc"].items()))
        print("CPU during the loaded phase (cores): "
              + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()), flush=True)
    finally:
        if clients is not None:
            await clients.stop()
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        await sim.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
