"""The interface map: who a ringing phone pops at, in memory, kept true by PostgreSQL's NOTIFY
(migration 0006) whoever writes the agents table. Real PostgreSQL, no server."""
from __future__ import annotations

import asyncio
import contextlib

import pytest

from features.agents.interface_map import InterfaceMap
from tests.features.agents.pop_rig import make_agent
from tests.helpers import until


def answer_without_waiting(coro):
    """The value of a coroutine that finishes without suspending once (no I/O), else fail."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise AssertionError("the lookup waited on I/O")


@pytest.fixture
async def interface_map(pg_pool):
    m = InterfaceMap(pg_pool, retry_min=0.05, retry_max=0.2, keepalive=0.5)
    task = asyncio.create_task(m.run())
    await asyncio.wait_for(m.became_current.wait(), 10)
    yield m
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_when_the_map_is_current_then_a_ring_finds_its_agent_without_postgresql(
    pg_pool, interface_map
):
    agent_id, _ = await make_agent(pg_pool, "Local/2101@agents/n")
    await until(lambda: answer_without_waiting(interface_map.get("Local/2101@agents/n"))
                is not None, timeout=5)
    agent = answer_without_waiting(interface_map.get("Local/2101@agents/n"))
    assert agent.id == agent_id
    assert answer_without_waiting(interface_map.get("Local/nobody@agents/n")) is None


async def test_when_an_interface_is_given_to_another_agent_in_sql_then_the_map_follows(
    pg_pool, interface_map
):
    old_id, _ = await make_agent(pg_pool, "Local/2102@agents/n")
    new_id, _ = await make_agent(pg_pool, None)
    await until(lambda: answer_without_waiting(interface_map.get("Local/2102@agents/n"))
                is not None, timeout=5)
    async with pg_pool.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE agents SET interface = NULL WHERE id = $1", old_id)
        await conn.execute("UPDATE agents SET interface = 'Local/2102@agents/n' WHERE id = $1",
                           new_id)

    def holder():
        agent = answer_without_waiting(interface_map.get("Local/2102@agents/n"))
        return agent.id if agent else None

    await until(lambda: holder() == new_id, timeout=5)


async def test_when_an_agent_is_deactivated_or_made_supervisor_then_their_phone_pops_nobody(
    pg_pool, interface_map
):
    first, _ = await make_agent(pg_pool, "Local/2103@agents/n")
    second, _ = await make_agent(pg_pool, "Local/2104@agents/n")
    await until(lambda: answer_without_waiting(interface_map.get("Local/2104@agents/n"))
                is not None, timeout=5)
    await pg_pool.execute("UPDATE agents SET active = false WHERE id = $1", first)
    await pg_pool.execute("UPDATE agents SET role = 'supervisor' WHERE id = $1", second)
    await until(lambda: answer_without_waiting(interface_map.get("Local/2103@agents/n")) is None
                and answer_without_waiting(interface_map.get("Local/2104@agents/n")) is None,
                timeout=5)


async def test_when_the_listener_loses_postgresql_then_rings_ask_postgresql_until_it_reloads(
    pg_pool, interface_map
):
    agent_id, _ = await make_agent(pg_pool, "Local/2105@agents/n")
    await until(lambda: answer_without_waiting(interface_map.get("Local/2105@agents/n"))
                is not None, timeout=5)
    # Kill the listening backend: a change made before it listens again is not notified.
    await pg_pool.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND (query LIKE 'LISTEN%ccs_agent_changed%'"
        " OR query = 'SELECT 1')")
    await until(lambda: not interface_map.current, timeout=5)
    await pg_pool.execute("UPDATE agents SET interface = 'Local/2106@agents/n' WHERE id = $1",
                          agent_id)
    # Stale memory is never trusted: until the reload, the answer comes from PostgreSQL.
    assert await interface_map.get("Local/2105@agents/n") is None
    await until(lambda: interface_map.current, timeout=10)
    moved = answer_without_waiting(interface_map.get("Local/2106@agents/n"))
    assert moved is not None and moved.id == agent_id
    assert answer_without_waiting(interface_map.get("Local/2105@agents/n")) is None
