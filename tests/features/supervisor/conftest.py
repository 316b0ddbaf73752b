"""Shared parts of the supervisor tests: a migrated database of the test's own, a Redis key
prefix of its own, agents, and the recorder + metrics + reports built on them."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from features.agents.directory import AgentDirectory
from features.supervisor.metrics import QueueMetrics
from features.supervisor.records import CallRecorder, agent_lookup
from features.supervisor.reports import Reports
from features.supervisor.settings import SupervisorSettings
from state.db import create_pool, migrate
from state.models import AgentIn, QueueMembership
from state.redis_keys import RedisKeys
from state.repositories.agents import upsert_agent

MOSCOW = dt.timezone(dt.timedelta(hours=3))


@pytest.fixture(scope="session")
async def sup_template(create_database) -> str:
    """A migrated database the tests copy (CREATE DATABASE ... TEMPLATE: much faster than
    migrating each test's database)."""
    dsn = await create_database("suptpl")
    await migrate(dsn)
    return dsn.split("@/", 1)[1].split("?", 1)[0]


@pytest.fixture
async def sup_pool(pg_server, sup_template) -> AsyncIterator[asyncpg.Pool]:
    """A database of the test's own (agents, intents and records of other tests never meet)."""
    name = f"sup_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_server.dsn.replace("/ccs_test?", "/postgres?"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{sup_template}"')
    finally:
        await admin.close()
    dsn = pg_server.dsn.replace("/ccs_test?", f"/{name}?")
    pool = await create_pool(dsn, min_size=1, max_size=8, acquire_timeout=5)
    yield pool
    await pool.close()


@pytest.fixture
async def sup_redis(redis_server) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_server.url, decode_responses=True, socket_timeout=5)
    yield client
    await client.aclose()


@pytest.fixture
def sup_keys() -> RedisKeys:
    return RedisKeys(f"s{uuid.uuid4().hex[:8]}")


async def make_agent(pool: asyncpg.Pool, interface: str, queue: str = "support",
                     name: str = "Анна Иванова") -> int:
    await pool.execute("INSERT INTO queues (name, title) VALUES ($1, $1) ON CONFLICT DO NOTHING",
                       queue)
    agent = await upsert_agent(pool, AgentIn(
        login=f"agent-{uuid.uuid4().hex[:8]}", full_name=name, role="agent",
        password="pw-123456", interface=interface, queues=[QueueMembership(queue=queue)]),
        rounds=4)
    return agent.id


@dataclass
class Parts:
    recorder: CallRecorder
    metrics: QueueMetrics
    reports: Reports
    directory: AgentDirectory


async def build_parts(pool: asyncpg.Pool, redis: aioredis.Redis, keys: RedisKeys,
                      settings: SupervisorSettings, bus: Any, *, tracker: Any = None,
                      cti: Any = None, clock=None, live: Any = None,
                      pause_reasons: tuple[str, ...] = ()) -> Parts:
    """The leader's supervisor work as the plugin starts it: recorder first, then metrics."""
    directory = AgentDirectory(pool)
    await directory.refresh()
    extra = {"clock": clock} if clock is not None else {}
    recorder = CallRecorder(pool, redis, keys, settings, agent_lookup(directory),
                            tracker=tracker, cti=cti, bus=bus, **extra)
    metrics = QueueMetrics(pool, settings, tracker if tracker is not None
                           else (cti.tracker if cti else None), directory, live, bus=bus,
                           recorder=recorder, pause_reasons=pause_reasons, **extra)
    # As Leadership.add runs them: no arguments, the recorder first.
    await recorder.start()
    await metrics.start()
    return Parts(recorder, metrics, Reports(pool, settings), directory)


async def stop_parts(parts: Parts) -> None:
    await parts.metrics.stop()
    await parts.recorder.stop()
