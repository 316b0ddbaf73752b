"""The projector: the one writer of the agents' live views, from the tracker's events and the
service's (over the Redis Stream, from any process)."""
from __future__ import annotations

import asyncio

import pytest

from cti.simulator.originate import inbound_call
from features.agents.service import PbxRefused
from features.agents.settings import AgentsSettings
from state.events import AgentStateChanged
from tests.helpers import until

from .readiness_stack import (  # noqa: F401 (fixtures)
    agents_db, agents_dsn, make_agent, member, sim, stacks, view_is,
)

STATIC = "Local/1001@agents/n"  # support; answers after 2 PBX seconds


async def _states(stack, agent_id) -> list[str]:
    return [s for s, _r, _a, _b in await stack.state_log.history(agent_id)]


async def test_when_a_queue_call_rings_and_is_answered_then_ringing_on_call_then_back(
        sim, stacks, agents_db):
    stack = await stacks(sim)
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    await stack.service.set_readiness(agent_id, "ready")
    await view_is(stack, agent_id, "ready")
    sim.spawn(inbound_call(sim.pbx, "support", "+79120000001", "Ivan Petrov", patience=40))
    on_call = await view_is(stack, agent_id, "on_call")
    assert on_call.call_id
    await view_is(stack, agent_id, "ready", timeout=5)

    async def logged() -> list[str]:  # the log row and the event follow the Redis write
        states = await _states(stack, agent_id)
        return states if states[-1:] == ["ready"] and len(states) >= 4 else []

    assert (await until(logged, timeout=5))[-4:] == ["ready", "ringing", "on_call", "ready"]

    def changes() -> list[str]:
        return [e.view["state"] for e in stack.events
                if isinstance(e, AgentStateChanged) and e.agent_id == agent_id]

    await until(lambda: changes()[-1:] == ["ready"], timeout=5)
    assert changes()[-3:] == ["ringing", "on_call", "ready"]


async def test_when_a_fresh_leader_starts_then_it_rebuilds_every_view_from_its_tracker(
        sim, stacks, agents_db):
    first = await stacks(sim)
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    await first.service.set_readiness(agent_id, "not_ready", "training")
    await view_is(first, agent_id, "not_ready", "training")
    await first.stop()
    await first.redis.delete(first.keys.agent_state(agent_id))  # nothing left in Redis
    second = await stacks(sim)
    view = await view_is(second, agent_id, "not_ready", "training")
    assert view.queues == ["support"]


async def test_when_another_process_serves_the_agent_then_the_leader_projects_its_failure(
        sim, stacks, agents_db):
    leader = await stacks(sim)
    follower = await stacks(sim, leader=False)
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    await follower.service.set_readiness(agent_id, "ready")
    await view_is(leader, agent_id, "ready")  # the leader's tracker saw the PBX confirm it
    del sim.pbx.queues["support"].members[STATIC]
    with pytest.raises(PbxRefused):
        await follower.service.set_readiness(agent_id, "not_ready", "meeting")

    async def failed():
        view = await leader.view(agent_id)
        return view if view.failed else None

    view = await until(failed, timeout=5)
    assert (view.failed.error, view.failed.message) == ("pbx-refused", "Interface not found")
    assert not follower.projector.writes  # only the leader writes live state


async def test_when_the_pbx_autopauses_a_member_then_the_view_shows_it(sim, stacks, agents_db):
    # "meters" autopauses a member that does not answer (1007 never does).
    stack = await stacks(sim, settings=AgentsSettings(wrapup_seconds=0))
    agent_id = await make_agent(agents_db, "Local/1007@agents/n", ["meters"])
    await stack.service.set_readiness(agent_id, "ready")
    await view_is(stack, agent_id, "ready")
    queue = sim.pbx.queues["meters"]
    sim.pbx.set_paused(queue, queue.members["Local/1008@agents/n"], True, "break")
    sim.spawn(inbound_call(sim.pbx, "meters", "+79120000002", "Olga", patience=30))
    view = await view_is(stack, agent_id, "not_ready", timeout=5)
    assert view.reason == "Auto-Pause"
    assert member(sim, "meters", "Local/1007@agents/n").paused


async def test_when_a_queue_call_with_wrap_up_goes_by_then_one_state_event_per_transition(
        sim, stacks, agents_db):
    stack = await stacks(sim, settings=AgentsSettings(wrapup_seconds=30,
                                                      wrapup_per_queue={"support": 1}))
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    await stack.service.set_readiness(agent_id, "ready")
    await view_is(stack, agent_id, "ready")
    await until(lambda: not member(sim, "support", STATIC).paused)
    await stack.projector.idle()
    before = len(stack.events)
    sim.spawn(inbound_call(sim.pbx, "support", "+79120000001", "Ivan Petrov", patience=20))
    await view_is(stack, agent_id, "wrap_up", timeout=5)
    await view_is(stack, agent_id, "ready", timeout=5)
    await until(lambda: not member(sim, "support", STATIC).paused)

    def published() -> list[str]:  # the event follows the Redis write and the log row
        return [e.view["state"] for e in stack.events[before:]
                if isinstance(e, AgentStateChanged) and e.agent_id == agent_id]

    await until(lambda: published()[-1:] == ["ready"], timeout=5)
    await stack.projector.idle()
    # The wrap-up's durable deadline (a few ms after the one shown at the call's end) and the
    # change that ends it are not visible: one event per transition.
    assert published() == ["ringing", "on_call", "wrap_up", "ready"]
    assert stack.projector._on_call == {}  # the call's end found its agent; nothing kept


async def test_when_the_projector_falls_behind_its_bound_then_it_drops_and_rebuilds_and_goes_on(
        sim, stacks, agents_db):
    from features.agents.projector import Projector
    from state.events import CallerLeftQueue

    stack = await stacks(sim, leader=False)  # this test's projector is the only one
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    projector = Projector(stack.cti.tracker, stack.live, stack.directory, stack.state_log,
                          stack.wrapups, lambda _e: None, inbox_max=3)
    await projector.start(stack.bus)
    try:
        rebuilt = projector.rebuilds
        # A burst, all before the projector runs once: 3 kept, 7 dropped.
        for n in range(10):
            stack.bus.publish(CallerLeftQueue(ts=1_700_000_000.0 + n, queue="nobody-s-queue",
                                              linkedid=f"1700000000.{n}", channel="Local/x;2"))
        assert projector.dropped == 7
        await until(lambda: projector.rebuilds == rebuilt + 1, timeout=5)
        # Caught up: a change made on the PBX afterwards is projected as usual.
        await stack.cti.set_paused(STATIC, True, "lunch")
        view = await until(lambda: (v := projector.view(agent_id)) is not None
                           and v.state == "not_ready" and v, timeout=5)
        assert view.reason == "lunch"
        assert projector.dropped == 7
    finally:
        await projector.stop()


async def test_when_views_change_in_a_burst_or_redis_refuses_then_they_are_written_behind_and_published_after(
        sim, stacks, agents_db):
    """The projector does not wait on Redis per change: a burst goes in few writes, each
    change is published once its view is in Redis, in order; while Redis refuses nothing is
    published or lost, and the latest view lands once it is back."""
    import redis.asyncio as aioredis

    from features.agents.projector import Projector
    from state.live import LiveState

    stack = await stacks(sim, leader=False)  # this test's projector is the only one
    ids = [await make_agent(agents_db, f"Local/18{n:02d}@agents/n", ["support"])
           for n in range(20)]
    published: list[tuple[int, str, str | None]] = []

    def publish(event) -> None:  # noqa: ANN001 (a DomainEvent)
        if isinstance(event, AgentStateChanged):
            published.append((event.agent_id, event.view["state"], event.view["reason"]))
    projector = Projector(stack.cti.tracker, stack.live, stack.directory, stack.state_log,
                          stack.wrapups, publish, retry_seconds=0.05)
    await projector.start(stack.bus)
    try:
        for agent_id in ids:  # added to the queue paused, one after another
            await stack.service.set_readiness(agent_id, "not_ready", "lunch")
        await until(lambda: sum(1 for _i, s, r in published if r == "lunch") == 20, timeout=10)
        await projector.idle()
        assert projector.view_batches < projector.writes
        for agent_id in ids:
            assert (await stack.live.get_agent_view(agent_id))["reason"] == "lunch"
        # Redis refuses (nothing listens there): nothing is published, nothing is lost.
        good = projector.live
        down = aioredis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
        projector.live = LiveState(down, stack.keys)
        before = len(published)
        await stack.service.set_readiness(ids[0], "not_ready", "training")
        await stack.service.set_readiness(ids[0], "not_ready", "meeting")
        await until(lambda: projector.errors >= 2, timeout=10)
        assert len(published) == before
        projector.live = good
        await projector.idle()
        await down.aclose()
        assert published[before:] == [(ids[0], "not_ready", "training"),
                                      (ids[0], "not_ready", "meeting")]
        assert (await stack.live.get_agent_view(ids[0]))["reason"] == "meeting"
    finally:
        await projector.stop()


async def test_when_the_projector_stops_while_redis_refuses_then_it_writes_nothing_later(
        sim, stacks, agents_db):
    """A leader that stops (its lease lost) must not write its old views later over the new
    leader's."""
    import redis.asyncio as aioredis

    from features.agents.projector import Projector
    from state.live import LiveState

    stack = await stacks(sim, leader=False)  # this test's projector is the only one
    agent_id = await make_agent(agents_db, "Local/1890@agents/n", ["support"])
    projector = Projector(stack.cti.tracker, stack.live, stack.directory, stack.state_log,
                          stack.wrapups, lambda _e: None, retry_seconds=0.05, stop_timeout=0.3)
    await projector.start(stack.bus)
    await stack.service.set_readiness(agent_id, "not_ready", "lunch")
    await until(lambda: (v := projector.view(agent_id)) is not None and v.reason == "lunch",
                timeout=5)
    await projector.idle()
    good = projector.live
    down = aioredis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    projector.live = LiveState(down, stack.keys)
    await stack.service.set_readiness(agent_id, "not_ready", "training")
    await until(lambda: projector.errors >= 1, timeout=5)
    await projector.stop()
    projector.live = good  # Redis is back: the stopped projector must not use it
    await asyncio.sleep(0.3)
    await down.aclose()
    assert (await stack.live.get_agent_view(agent_id))["reason"] == "lunch"
