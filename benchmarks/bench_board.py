"""Supervisor board: the AMI event leaving the simulator -> the board update at every
supervisor's browser, and the CPU the live metrics spend per event. Prints numbers, asserts none.

    .venv/bin/python -m benchmarks bench_board [--supervisors 50] [--agents 2000] [--queues 100]
        [--rate 100] [--seconds 30] [--client-processes 2]

Parts, each a process of its own, as in bench_screen_pop (whose helpers this reuses): the server
(`python -m ccs serve` on a database of its own in the benchmark cluster, an embedded Redis),
the PBX simulator (this process, real TCP), `--agents` agents on `/agent` (logged in, ready,
members of `--queues` leastrecent queues; the simulator plays their phones: answer after 1-2 s,
talk 3-6 s) and `--supervisors` boards on `/supervisor`, each group in client processes.

Delays (ms, every supervisor counts: `--supervisors` samples per event):
- queue tile: a QueueCallerJoin into a queue nobody waited in, written by the simulator ->
  the first tile of that queue in a `queues` batch whose longest waiting caller is that caller
  (its `longest_wait_since` is the join's time) at the board.
- agent row: an AgentConnect -> the first row of that agent on that call (`call_id`, `on_call`)
  in an `agents` batch: through the agents' projector, as the board shows it.
Each item of a batch counts with the batch's receipt time; the frames are counted too.
Both clocks are `time.perf_counter()` (CLOCK_MONOTONIC: one clock for every process).

The floor, in the same run: a bare Redis GET of a queue tile's JSON and a python-socketio emit
of it to one client (bench_screen_pop's floor: default manager, and AsyncRedisManager).

CPU: the server process's cores during the loaded phase and per AMI event; and the metrics'
own cost, measured here by replaying the loaded phase's AMI events through the tracker twice
(alone, and publishing into `QueueMetrics` with a change listener that marks a coalescer), plus
the cost of one push (a tile built and serialised), so the metrics' share is not hidden in the
server's total.
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_screen_pop import (  # noqa: E402 (after the path)
    AGENT_NAMESPACE, FLOOR_KINDS, PASSWORD, SECRET, SERVER_COMMAND, ClientGroup, agent_interface,
    agent_login, cpu_seconds, floors, free_port, install_agents, login_all, machine_busy,
    queue_name, row, server_env, settled, start_redis, wait_healthy,
)

BOARD_NAMESPACE = "/supervisor"
CONNECT_CONCURRENCY = 25


def parse(args: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench_board")
    p.add_argument("--supervisors", type=int, default=50, help="connected boards")
    p.add_argument("--agents", type=int, default=2000, help="connected Socket.IO agents")
    p.add_argument("--queues", type=int, default=100, help="queues the agents are spread over")
    p.add_argument("--rate", type=float, default=100.0, help="new calls per second")
    p.add_argument("--seconds", type=float, default=30.0, help="length of the loaded phase")
    p.add_argument("--floor-samples", type=int, default=300, help="floor samples (each kind)")
    p.add_argument("--client-processes", type=int, default=2, help="per client group")
    p.add_argument("--data-dir", default=None, help="benchmark PostgreSQL cluster folder")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_known_args(args)[0]


# -- supervisors' boards (client processes) ------------------------------------------------------
def board_process(url: str, tokens: list[str], conn) -> None:
    asyncio.run(_boards(url, tokens, conn))


async def _boards(url: str, tokens: list[str], conn) -> None:
    """Connect the boards, then record every queue tile and agent row of the `queues` and
    `agents` batches with the batch's receipt time (a frame: ("frame", board, time, items))."""
    import socketio

    loop = asyncio.get_running_loop()
    pushes: list[tuple] = []
    clients: list[socketio.AsyncClient] = []
    failures: list[str] = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(k: int, token: str) -> None:
        client = socketio.AsyncClient(reconnection=False)

        def on_queues(data: dict) -> None:
            now = time.perf_counter()
            pushes.append(("frame", k, now, len(data["queues"])))
            pushes.extend(("queue", k, now, tile["name"], tile["waiting"],
                           tile["longest_wait_since"]) for tile in data["queues"])

        def on_agents(data: dict) -> None:
            now = time.perf_counter()
            pushes.append(("frame", k, now, len(data["agents"])))
            pushes.extend(("agent", k, now, agent["agent_id"], agent["state"], agent["call_id"])
                          for agent in data["agents"])

        client.on("queues", on_queues, namespace=BOARD_NAMESPACE)
        client.on("agents", on_agents, namespace=BOARD_NAMESPACE)
        async with gate:
            try:
                await client.connect(url, namespaces=[BOARD_NAMESPACE], transports=["websocket"],
                                     auth={"token": token}, wait_timeout=30)
            except Exception as exc:  # noqa: BLE001 (counted and reported)
                failures.append(repr(exc))
        clients.append(client)

    await asyncio.gather(*(one(k, t) for k, t in enumerate(tokens)))
    conn.send(("connected", len(tokens) - len(failures), failures[:5]))
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "clear":
            pushes.clear()
        elif command == "report":
            conn.send(("pushes", pushes[:]))
            pushes.clear()
        elif command == "stop":
            break
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    conn.send(("stopped",))


class Boards(ClientGroup):
    """Board processes, asked and stopped as bench_screen_pop's agent clients are; a report is
    the pushes the boards received."""

    def __init__(self, url: str, tokens: list[str], processes: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipes, self.procs = [], []
        for k in range(processes):
            share = tokens[k::processes]
            if share:
                mine, theirs = ctx.Pipe()
                proc = ctx.Process(target=board_process, args=(url, share, theirs), daemon=True,
                                   name=f"bench-boards-{k}")
                proc.start()
                self.pipes.append(mine)
                self.procs.append(proc)

    async def report(self) -> list[tuple]:  # type: ignore[override]
        answers = await asyncio.gather(*(self._ask(p, "report") for p in self.pipes))
        # Board k of process p: make the ids unique across processes.
        return [(p[0], (i, p[1]), *p[2:]) for i, a in enumerate(answers) for p in a[1]]


async def collect(boards: Boards, quiet: float = 3.0, longest: float = 120.0) -> list[tuple]:
    """Every push until none came for ``quiet`` seconds (the calls of the phase are over and
    every pipeline has caught up), at most ``longest`` seconds."""
    pushes: list[tuple] = []
    last = start = time.monotonic()
    while time.monotonic() - last < quiet and time.monotonic() - start < longest:
        await asyncio.sleep(1)
        new = await boards.report()
        if new:
            pushes += new
            last = time.monotonic()
    return pushes


# -- what the simulator wrote ------------------------------------------------------------------
class Written:
    """Joins into an empty queue and agent answers, as the simulator wrote them; and every AMI
    event of the loaded phase (for the metrics' replay)."""

    def __init__(self, sim) -> None:
        self.sim = sim
        self.waiting: dict[str, int] = defaultdict(int)
        self.joins: list[tuple[float, str, float]] = []  # (perf, queue, PBX time)
        self.connects: list[tuple[float, str, str]] = []  # (perf, interface, linkedid)
        self.recording = False
        self.events: list[tuple[str, list]] = []

    def observe(self, name: str, body) -> None:
        if self.recording:
            self.events.append((name, list(body)))
        if name == "QueueCallerJoin":
            fields = dict(body)
            queue = fields["Queue"]
            if self.waiting[queue] == 0:
                self.joins.append((time.perf_counter(), queue, self.sim.pbx.clock.now()))
            self.waiting[queue] += 1
        elif name in ("QueueCallerLeave", "QueueCallerAbandon"):
            queue = dict(body)["Queue"]
            if name == "QueueCallerLeave":
                self.waiting[queue] = max(0, self.waiting[queue] - 1)
        elif name == "AgentConnect":
            fields = dict(body)
            self.connects.append((time.perf_counter(), fields["Interface"], fields["Linkedid"]))


def first_after(pushes: list[tuple], t: float, match) -> tuple | None:
    """The first push received at or after ``t`` that ``match``es (``pushes`` in time order)."""
    for p in pushes[bisect.bisect_left(pushes, t, key=lambda p: p[2]):]:
        if match(p):
            return p
    return None


def delays(written: Written, pushes: list[tuple], agent_of: dict[str, int], boards: int,
           since: float, until: float) -> dict[str, tuple[list[float], int]]:
    """ms per (event, board): tile and agent row; and how many (event, board) pairs got none."""
    queue_pushes: dict[tuple, list[tuple]] = defaultdict(list)
    agent_pushes: dict[tuple, list[tuple]] = defaultdict(list)
    for p in pushes:
        if p[0] == "queue":
            queue_pushes[(p[1], p[3])].append(p)
        elif p[0] == "agent":
            agent_pushes[(p[1], p[3])].append(p)
    for group in (*queue_pushes.values(), *agent_pushes.values()):
        group.sort(key=lambda p: p[2])
    board_ids = sorted({p[1] for p in pushes})
    tiles, tiles_missing = [], 0
    for t, queue, pbx_time in written.joins:
        if not since <= t <= until:
            continue
        for board in board_ids:
            hit = first_after(queue_pushes[(board, queue)], t, lambda p: p[4] >= 1
                              and p[5] is not None and abs(p[5] - pbx_time) < 0.05)
            if hit is None:
                tiles_missing += 1
            else:
                tiles.append((hit[2] - t) * 1000)
    rows, rows_missing = [], 0
    for t, interface, linkedid in written.connects:
        agent_id = agent_of.get(interface)
        if not since <= t <= until or agent_id is None:
            continue
        for board in board_ids:
            hit = first_after(agent_pushes[(board, agent_id)], t,
                              lambda p: p[5] == linkedid and p[4] == "on_call")
            if hit is None:
                rows_missing += 1
            else:
                rows.append((hit[2] - t) * 1000)
    return {"tile": (tiles, tiles_missing), "row": (rows, rows_missing),
            "boards": ([], len(board_ids) - boards)}


# -- the metrics' own CPU (replay in this process) ----------------------------------------------
def ami_message(name: str, body: list) -> dict:
    message: dict = {"Event": name}
    for key, value in body:
        if key in message:
            old = message[key]
            message[key] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            message[key] = value
    return message


async def metrics_cpu(dsn: str, events: list[tuple[str, list]]) -> dict[str, float]:
    """µs of CPU per AMI event: the tracker alone, and the tracker publishing into the live
    metrics (their change marks included); µs per push (a tile built and made JSON)."""
    from cti.bus import EventBus
    from cti.tracker import Tracker
    from features.agents.directory import AgentDirectory
    from features.supervisor.board_notifier import Coalescer
    from features.supervisor.metrics import QueueMetrics
    from features.supervisor.settings import SupervisorSettings
    from state.db import create_pool

    messages = [ami_message(n, b) for n, b in events]
    settings = SupervisorSettings()
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        directory = AgentDirectory(pool)
        await directory.refresh()

        published = [0]

        def count(_event: object) -> None:
            published[0] += 1

        def tracker_alone() -> float:
            published[0] = 0
            tracker = Tracker(count)
            t0 = time.process_time()
            for message in messages:
                tracker.apply(message)
            return time.process_time() - t0

        async def with_metrics() -> tuple[float, QueueMetrics]:
            bus: EventBus = EventBus()
            tracker = Tracker(bus.publish)
            metrics = QueueMetrics(pool, settings, tracker, directory)
            await metrics.start(bus)
            coalescer = Coalescer(0.25)
            metrics.add_listener(lambda queues, agents: [coalescer.mark(("queue", q))
                                                         for q in queues])
            t0 = time.process_time()
            for message in messages:
                tracker.apply(message)
            spent = time.process_time() - t0
            await metrics.stop()
            return spent, metrics

        # Alternated, the least of three each: the machine is shared.
        bare, loaded = [], []
        for _ in range(3):
            bare.append(tracker_alone())
            spent, metrics = await with_metrics()
            loaded.append(spent)
        bare_s, with_s = min(bare), min(loaded)
        names = metrics.queue_names()
        t0 = time.process_time()
        built = 0
        for _ in range(max(1, 2000 // max(1, len(names)))):
            for name in names:
                json.dumps(metrics.tile(name).model_dump(mode="json"))
                built += 1
        per_push = (time.process_time() - t0) / max(1, built)
    finally:
        await pool.close()
    n = max(1, len(messages))
    return {"events": len(messages), "domain_events": published[0],
            "tracker_us": bare_s / n * 1e6, "metrics_us": max(0.0, with_s - bare_s) / n * 1e6,
            "push_us": per_push * 1e6}


def print_floors(measured: dict[str, list[float]], tile_bytes: int, when: str) -> None:
    for kind, values in measured.items():
        print(row(f"floor: Redis GET ({tile_bytes} B tile) + {FLOOR_KINDS[kind]}, {when}",
                  values), flush=True)


# -- the run -----------------------------------------------------------------------------------
def supervisor_login(i: int) -> str:
    return f"boardbench{i:03d}"


async def install_supervisors(dsn: str, supervisors: int) -> None:
    import asyncpg

    from state.demo_data import hash_password

    password_hash = await asyncio.get_running_loop().run_in_executor(
        None, hash_password, PASSWORD, 4)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            """INSERT INTO agents (login, full_name, role, password_hash)
               VALUES ($1, $1, 'supervisor', $2)
               ON CONFLICT (login) DO UPDATE SET password_hash = EXCLUDED.password_hash,
                   active = true""",
            [(supervisor_login(i), password_hash) for i in range(supervisors)])
    finally:
        await conn.close()


async def login_supervisors(port: int, supervisors: int) -> list[str]:
    from aiohttp import ClientSession

    tokens = []
    async with ClientSession() as http:
        for i in range(supervisors):
            async with http.post(f"http://127.0.0.1:{port}/api/login",
                                 json={"login": supervisor_login(i), "password": PASSWORD}) as r:
                body = await r.json()
                if r.status != 200:
                    raise RuntimeError(f"login of {supervisor_login(i)}: {r.status} {body}")
                tokens.append(body["token"])
    return tokens


async def store_tile(redis_url: str) -> tuple[str, int]:
    """A queue tile as JSON in Redis: what the floor GETs and emits."""
    import datetime as dt

    import redis.asyncio as redis

    from features.supervisor.board_schemas import QueueTile

    tile = QueueTile(name="pop000", sl_threshold=20, waiting=3,
                     longest_wait_since=dt.datetime.now().timestamp(), longest_wait=12.5)
    value = tile.model_dump_json()
    store = redis.Redis.from_url(redis_url)
    key = "bench:floor:tile"
    await store.flushdb()
    await store.set(key, value)
    await store.aclose()
    return key, len(value)


async def drive(sim, rate: float, count: int, queues: int, first: int) -> None:
    from cti.simulator.originate import inbound_call

    loop = asyncio.get_running_loop()
    start = loop.time()
    for k in range(count):
        delay = start + k / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        n = first + k
        sim.spawn(inbound_call(sim.pbx, queue_name(n % queues), f"+7990{n:07d}", "Bench Caller",
                               patience=120))


async def main(args: list[str]) -> None:
    from benchmarks import database, machine, start_postgres
    from cti.simulator import PbxConfig, QueueConfig, Simulator
    from cti.simulator.agent_phones import PhoneBehaviour

    opts = parse(args)
    data_dir = ROOT / ".data" / "bench-board"
    data_dir.mkdir(parents=True, exist_ok=True)
    pg = start_postgres(opts.data_dir)
    dsn = await database(pg, "bench_board", fresh=True)
    redis_server = start_redis(data_dir / "redis")
    print(f"machine: {machine()}", flush=True)
    key, tile_bytes = await store_tile(redis_server.url)
    interval = 0.02
    floor_before = await floors(redis_server.url, key, opts.floor_samples, interval)
    await install_agents(dsn, opts.agents, opts.queues)
    await install_supervisors(dsn, opts.supervisors)
    config = PbxConfig(
        queues=[QueueConfig(name=queue_name(q), strategy="leastrecent", timeout=15, retry=1)
                for q in range(opts.queues)],
        phones=PhoneBehaviour(answer_min=1, answer_max=2, talk_min=3, talk_max=6, seed=opts.seed))
    sim = Simulator(config, secret=SECRET)
    written = Written(sim)
    sim.observers.append(written.observe)
    await sim.start()
    http_port = free_port()
    with open(data_dir / "server.log", "w") as log_file:
        server = subprocess.Popen(SERVER_COMMAND, cwd=ROOT,
                                  env=server_env(dsn, redis_server.url, sim.port, http_port),
                                  stdout=log_file, stderr=subprocess.STDOUT)
    agents: ClientGroup | None = None
    boards: Boards | None = None
    try:
        await wait_healthy(http_port, server)
        url = f"http://127.0.0.1:{http_port}"
        tokens = await login_all(http_port, opts.agents)
        agents = ClientGroup(url, AGENT_NAMESPACE, tokens, opts.client_processes, ready=True)
        connected, failures = await agents.connected()
        print(f"{connected}/{opts.agents} agents connected and ready"
              + (f"; failures: {failures}" if failures else ""), flush=True)
        members, paused = await settled(sim, agents, opts.agents)
        boards = Boards(url, await login_supervisors(http_port, opts.supervisors),
                        opts.client_processes)
        on_board, failures = await boards.connected()
        print(f"PBX: {members} queue members, {paused} paused; {on_board}/{opts.supervisors} "
              f"boards connected" + (f"; failures: {failures}" if failures else ""), flush=True)
        import asyncpg

        conn = await asyncpg.connect(dsn)
        agent_of = {r["interface"]: r["id"] for r in await conn.fetch(
            "SELECT id, interface FROM agents WHERE login LIKE 'popbench%'")}
        await conn.close()
        assert agent_of.get(agent_interface(0)) is not None, agent_login(0)

        await drive(sim, opts.rate, int(opts.rate * 3), opts.queues, 0)  # warm-up
        await asyncio.sleep(3)
        await boards.report()
        pids = {"server": server.pid, "simulator (this process)": os.getpid(),
                **{f"agents {k}": p for k, p in enumerate(agents.pids())},
                **{f"boards {k}": p for k, p in enumerate(boards.pids())}}
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        busy0, total0 = machine_busy()
        events0 = len(written.events)
        written.recording = True
        since = time.perf_counter()
        count = int(opts.rate * opts.seconds)
        await drive(sim, opts.rate, count, opts.queues, 1_000_000)
        until = time.perf_counter()
        written.recording = False
        elapsed = until - since
        cpu = {name: (cpu_seconds(pid) - cpu0[name]) / elapsed for name, pid in pids.items()}
        busy1, total1 = machine_busy()
        cpu["whole machine"] = (busy1 - busy0) / (total1 - total0) * (os.cpu_count() or 1)
        ami_events = len(written.events) - events0
        pushes = await collect(boards)
        frames = sum(1 for p in pushes if p[0] == "frame")
        items = len(pushes) - frames
        measured = delays(written, pushes, agent_of, opts.supervisors, since, until)
        floor_after = await floors(redis_server.url, key, opts.floor_samples, interval)
        replay = await metrics_cpu(dsn, written.events)

        print(f"\n{opts.supervisors} boards, {opts.agents} agents in {opts.queues} queues; "
              f"{count} calls at {opts.rate:g}/s in {elapsed:.1f} s; {ami_events} AMI events; "
              f"{frames} batch frames received by all boards, carrying {items} tiles and rows "
              f"(phase and drain: {frames / max(1, opts.supervisors) / max(1.0, elapsed):.1f} frames/s a board)")
        print("| measure | n | p50 ms | p99 ms | max ms |\n| --- | ---: | ---: | ---: | ---: |")
        print_floors(floor_before, tile_bytes, "before")
        print(row("queue tile: QueueCallerJoin -> its tile in a `queues` batch at each board",
                  measured["tile"][0]))
        print(row("agent row: AgentConnect -> its row in an `agents` batch (via the projector) "
                  "at each board", measured["row"][0]))
        print_floors(floor_after, tile_bytes, "after")
        print(f"not received: {measured['tile'][1]} tile and {measured['row'][1]} row "
              f"(event, board) pairs")
        print("CPU during the loaded phase (cores): "
              + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))
        print(f"server CPU per AMI event (everything it does): "
              f"{cpu['server'] * elapsed / max(1, ami_events) * 1e6:.0f} µs")
        print(f"replay of {replay['events']} AMI events ({replay['domain_events']} domain "
              f"events) in one process: tracker {replay['tracker_us']:.1f} µs/AMI event, live "
              f"metrics on top {replay['metrics_us']:.1f} µs/AMI event; one push (tile + JSON) "
              f"{replay['push_us']:.1f} µs", flush=True)
    finally:
        for group in (boards, agents):
            if group is not None:
                await group.stop()
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        await sim.stop()
        redis_server.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
