"""The readiness parts wired as the composition root will wire them (until plugin.py does):
CTI service on the PBX simulator, the agent service, the projector and the leader's work, on
real PostgreSQL (a database of the test's own) and Redis (a key prefix of the test's own)."""
from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
import pytest
import redis.asyncio as aioredis

from cti.bus import EventBus
from cti.service import CtiService
from cti.simulator import Simulator
from cti.simulator.presets import recorded_config
from features.agents.directory import AgentDirectory
from features.agents.intent import IntentStore
from features.agents.leader import AgentsLeader
from features.agents.projector import Projector
from features.agents.schemas import AgentView
from features.agents.service import AgentService
from features.agents.settings import AgentsSettings
from features.agents.state_log import StateLog
from features.agents.stream import AgentEventStream
from features.agents.wrapup import WrapUpStore, WrapUpTimers
from state.db import create_pool, migrate
from state.events import DomainEvent
from state.live import LiveState
from state.models import AgentIn, QueueMembership
from state.redis_keys import RedisKeys
from state.repositories.agents import upsert_agent
from state.repositories.interactions import call_disposition
from tests.cti.conftest import SECRET, ami_settings
from tests.helpers import until

SCALE = 0.025


@dataclass
class Stack:
    """One server process's readiness parts."""

    sim: Simulator  # only its ``port`` is used
    pool: asyncpg.Pool
    redis: aioredis.Redis
    keys: RedisKeys
    settings: AgentsSettings
    leader_flag: list[bool] = field(default_factory=lambda: [True])
    events: list[DomainEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bus: EventBus[DomainEvent] = EventBus()
        self.bus.subscribe(self.events.append)
        self.cti = CtiService(ami_settings(self.sim.port), self.bus.publish,
                              is_leader=self.is_leader)
        self.live = LiveState(self.redis, self.keys)
        self.directory = AgentDirectory(self.pool, miss_refresh=0.0)
        self.intents = IntentStore(self.pool)
        self.wrapups = WrapUpStore(self.pool)
        self.state_log = StateLog(self.pool)
        self.stream = AgentEventStream(self.redis, self.keys.agents_stream())
        self.service = AgentService(self.cti, self.directory, self.intents, self.wrapups,
                                    self.settings, self.stream.add, self.live,
                                    is_leader=self.is_leader,
                                    disposition_of=functools.partial(call_disposition, self.pool))
        self.service.attach()
        self.projector = Projector(self.cti.tracker, self.live, self.directory, self.state_log,
                                   self.wrapups, self.bus.publish,
                                   pending_timeout=self.settings.pending_timeout,
                                   wrapup_seconds=self.settings.wrapup_for)
        self.timers = WrapUpTimers(self.service.finish_wrapup, retry=0.2)
        self.leader = AgentsLeader(self.service, self.projector, self.stream, self.timers,
                                   self.bus, block_ms=100, retry=0.2)

    stopped = False

    def is_leader(self) -> bool:
        return self.leader_flag[0]

    async def start(self) -> None:
        await self.cti.start()
        await self.cti.connection.wait_ready(5)
        if self.is_leader():
            await self.leader.start()

    async def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        # In a task of its own and bounded: a stop that hangs names what it waits on.
        if self.leader.running:
            await _bounded("stopping the leader's work", self.leader.stop())
        await _bounded("stopping the CTI service", self.cti.stop())

    async def view(self, agent_id: int) -> AgentView:
        return await self.service.view(agent_id)


async def _bounded(what: str, coro, seconds: float = 10) -> None:
    try:
        await asyncio.wait_for(coro, seconds)
    except TimeoutError:
        names = sorted(t.get_name() for t in asyncio.all_tasks())
        raise AssertionError(f"{what} hung; tasks: {names}") from None


@pytest.fixture
async def agents_dsn(create_database) -> str:
    """A migrated database of the test's own: intents of other tests are never re-applied."""
    dsn = await create_database("agents")
    await migrate(dsn)
    return dsn


@pytest.fixture
async def agents_db(agents_dsn) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(agents_dsn, min_size=1, max_size=8, acquire_timeout=5)
    yield pool
    await pool.close()


@pytest.fixture
async def stacks(agents_db, redis_server) -> AsyncIterator[Callable[..., Awaitable[Stack]]]:
    """``await make(sim, leader=True, settings=None, pool=None)`` -> a started Stack (on the
    test's database pool unless given one); all stop at the end."""
    made: list[Stack] = []
    clients: list[aioredis.Redis] = []
    keys = RedisKeys(f"t{uuid.uuid4().hex[:8]}")

    async def make(sim: Simulator, *, leader: bool = True,
                   settings: AgentsSettings | None = None,
                   pool: asyncpg.Pool | None = None) -> Stack:
        client = aioredis.from_url(redis_server.url, decode_responses=True, socket_timeout=5)
        clients.append(client)
        stack = Stack(sim, pool or agents_db, client, keys,
                      settings or AgentsSettings(wrapup_seconds=0), leader_flag=[leader])
        made.append(stack)
        await _bounded("starting the stack", stack.start(), 30)
        return stack

    yield make
    for stack in made:
        await stack.stop()
    for client in clients:
        await client.aclose()


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(recorded_config(), secret=SECRET, time_scale=SCALE)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def make_agent(pool: asyncpg.Pool, interface: str | None, queues: list[str], *,
                     role: str = "agent") -> int:
    for queue in queues:
        await pool.execute("INSERT INTO queues (name, title) VALUES ($1, $1) "
                           "ON CONFLICT DO NOTHING", queue)
    agent = await upsert_agent(pool, AgentIn(
        login=f"{role}-{uuid.uuid4().hex[:8]}", full_name="Anna Ivanova", role=role,
        password="pw-123456", interface=interface,
        queues=[QueueMembership(queue=q) for q in queues]), rounds=4)
    return agent.id


def member(sim: Simulator, queue: str, interface: str):
    q = sim.pbx.queues.get(queue)
    return q.members.get(interface) if q else None


def actions(sim: Simulator) -> dict[str, int]:
    return dict(sim.actions_seen)


def sent_since(sim: Simulator, before: dict[str, int], *names: str) -> dict[str, int]:
    return {n: sim.actions_seen.get(n, 0) - before.get(n, 0) for n in names}


async def view_is(stack: Stack, agent_id: int, state: str, reason: str | None = None,
                  timeout: float = 5.0) -> AgentView:
    async def check():
        view = await stack.view(agent_id)
        return view if view.state == state and (reason is None or view.reason == reason) else None

    return await until(check, timeout=timeout)
