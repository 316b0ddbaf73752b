"""Wrap-up after every queue call: paused as wrap-up for the queue's time, ended early or
extended once, then back to what the agent intends."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from cti.simulator.originate import inbound_call
from features.agents.service import (
    DispositionRequired, NoWrapUp, WrapUpAlreadyExtended, WrapUpExtensionTooLong,
)
from features.agents.settings import AgentsSettings
from state.db import create_pool
from state.events import AgentCompleted
from state.models import NewInteraction
from state.repositories.interactions import insert_interaction, set_call_disposition
from tests.helpers import until

from .readiness_stack import (  # noqa: F401 (fixtures)
    agents_db, agents_dsn, make_agent, member, sim, stacks, view_is,
)

STATIC = "Local/1001@agents/n"  # support; answers after 2 PBX seconds


async def _call_and_wrap(sim, stack, agent_id):
    await stack.service.set_readiness(agent_id, "ready")
    await view_is(stack, agent_id, "ready")
    sim.spawn(inbound_call(sim.pbx, "support", "+79120000001", "Ivan Petrov", patience=20))
    await view_is(stack, agent_id, "on_call")
    return await view_is(stack, agent_id, "wrap_up", timeout=5)


async def test_when_a_queue_call_ends_then_wrap_up_starts_and_ends_by_itself(
        sim, stacks, agents_db):
    stack = await stacks(sim, settings=AgentsSettings(wrapup_seconds=30,
                                                      wrapup_per_queue={"support": 1}))
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    view = await _call_and_wrap(sim, stack, agent_id)
    await until(lambda: member(sim, "support", STATIC).paused)
    assert member(sim, "support", STATIC).reason == "wrap-up"
    left = (view.wrapup_until - dt.datetime.now(dt.timezone.utc)).total_seconds()
    assert 0 < left <= 1.0  # the queue's own wrap-up time, not the default
    await view_is(stack, agent_id, "ready", timeout=5)
    assert not member(sim, "support", STATIC).paused
    assert await stack.wrapups.get(agent_id) is None


async def test_when_agent_ends_wrap_up_early_then_back_to_the_reason_chosen_during_it(
        sim, stacks, agents_db):
    # Disposition not required here: this is about the state the wrap-up returns to.
    stack = await stacks(sim, settings=AgentsSettings(wrapup_seconds=60,
                                                      disposition_required=False))
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    await _call_and_wrap(sim, stack, agent_id)
    await stack.service.set_readiness(agent_id, "not_ready", "lunch")  # kept for the end
    await view_is(stack, agent_id, "wrap_up")
    await until(lambda: member(sim, "support", STATIC).reason == "wrap-up")
    await stack.service.end_wrapup(agent_id)
    await view_is(stack, agent_id, "not_ready", "lunch")
    assert member(sim, "support", STATIC).reason == "lunch"
    assert (await stack.intents.get(agent_id)).reason == "lunch"
    with pytest.raises(NoWrapUp):
        await stack.service.end_wrapup(agent_id)


async def test_when_agent_ends_wrap_up_early_without_a_disposition_then_refused_until_set(
        sim, stacks, agents_db):
    stack = await stacks(sim, settings=AgentsSettings(wrapup_seconds=60))
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    await _call_and_wrap(sim, stack, agent_id)
    # Between the wrap-up shown and its row stored, an early end is refused as "no wrap-up":
    # it must never end a row written meanwhile without the disposition check.
    wrap = await until(lambda: stack.wrapups.get(agent_id))  # the row follows the view
    with pytest.raises(DispositionRequired):
        await stack.service.end_wrapup(agent_id)
    assert (await view_is(stack, agent_id, "wrap_up")).state == "wrap_up"
    # The row the desk's notifier writes at the answer, then the agent's disposition.
    await insert_interaction(agents_db, NewInteraction(
        call_id=wrap.call_id, direction="inbound", agent_id=agent_id, queue_name="support",
        started_at=dt.datetime.now(dt.timezone.utc)))
    now = dt.datetime.now(dt.timezone.utc)
    await set_call_disposition(agents_db, wrap.call_id, agent_id, "resolved", None, now)
    await stack.service.end_wrapup(agent_id)
    await view_is(stack, agent_id, "ready")


async def test_when_agent_extends_wrap_up_then_once_and_within_the_limit(sim, stacks, agents_db):
    stack = await stacks(sim, settings=AgentsSettings(wrapup_seconds=60, wrapup_extend_max=30))
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    await _call_and_wrap(sim, stack, agent_id)
    with pytest.raises(WrapUpExtensionTooLong):
        await stack.service.extend_wrapup(agent_id, 31)
    await until(lambda: stack.wrapups.get(agent_id))  # the row follows the provisional view
    first = await stack.wrapups.get(agent_id)
    extended_to = await stack.service.extend_wrapup(agent_id, 30)
    assert (extended_to - first.until).total_seconds() == 30

    async def extended():
        view = await stack.view(agent_id)
        return view if view.wrapup_extended else None

    view = await until(extended, timeout=5)
    assert view.wrapup_until == extended_to
    with pytest.raises(WrapUpAlreadyExtended):
        await stack.service.extend_wrapup(agent_id, 5)


async def test_when_the_server_restarts_mid_wrap_up_then_the_durable_deadline_still_ends_it(
        sim, stacks, agents_db):
    settings = AgentsSettings(wrapup_seconds=1)
    first = await stacks(sim, settings=settings)
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    await _call_and_wrap(sim, first, agent_id)
    await first.stop()  # its timer goes with it
    second = await stacks(sim, settings=settings)
    await view_is(second, agent_id, "ready", timeout=5)
    assert not member(sim, "support", STATIC).paused


async def test_when_the_database_is_busy_as_a_call_ends_then_the_wrap_up_starts_once_it_is_free(
        sim, stacks, agents_db, agents_dsn):
    # A pool of two connections, both held by the test while the call ends: the wrap-up's
    # start cannot reach PostgreSQL (its acquire times out), as under a long checkpoint.
    tight = await create_pool(agents_dsn, min_size=2, max_size=2, acquire_timeout=0.3)
    try:
        stack = await stacks(sim, pool=tight, settings=AgentsSettings(
            wrapup_seconds=3, disposition_required=False))
        agent_id = await make_agent(agents_db, STATIC, ["support"])
        await stack.service.set_readiness(agent_id, "ready")
        await view_is(stack, agent_id, "ready")
        held = [await tight.acquire() for _ in range(2)]
        try:
            sim.spawn(inbound_call(sim.pbx, "support", "+79120000001", "Ivan Petrov",
                                   patience=20))
            await until(lambda: any(isinstance(e, AgentCompleted) for e in stack.events),
                        timeout=5)
            await asyncio.sleep(0.7)  # several tries have failed by now
            assert member(sim, "support", STATIC).reason != "wrap-up"
        finally:
            for conn in held:
                await tight.release(conn)
        # Free again: the start goes through, and the wrap-up still ends by itself.
        await until(lambda: member(sim, "support", STATIC).reason == "wrap-up", timeout=5)
        assert member(sim, "support", STATIC).paused
        await view_is(stack, agent_id, "ready", timeout=8)
        assert not member(sim, "support", STATIC).paused
        assert await stack.wrapups.get(agent_id) is None
    finally:
        await stack.stop()
        await tight.close()


async def test_when_a_wrap_up_starts_then_it_returns_to_the_intent_read_in_the_same_statement(
        agents_db):
    from features.agents.intent import AgentIntent, IntentQueue, IntentStore
    from features.agents.wrapup import WrapUpStore

    store, intents = WrapUpStore(agents_db), IntentStore(agents_db)
    now = dt.datetime.now(dt.timezone.utc)
    until_ = now + dt.timedelta(seconds=30)
    interface = f"PJSIP/wu-{now.timestamp():.6f}"
    agent_id = await make_agent(agents_db, interface, ["support"])
    # No intent yet: nothing to return to, so no wrap-up and no row.
    assert await store.start(agent_id, "support", "c-1", now, until_) is None
    assert await store.get(agent_id) is None
    seats = (IntentQueue("support"),)
    await intents.put(AgentIntent(agent_id, interface, "logged_out", "", "Anna", seats))
    assert await store.start(agent_id, "support", "c-1", now, until_) is None
    assert await store.get(agent_id) is None
    await intents.put(AgentIntent(agent_id, interface, "not_ready", "lunch", "Anna", seats))
    wrap = await store.start(agent_id, "support", "c-1", now, until_)
    assert wrap is not None and (wrap.then_state, wrap.then_reason) == ("not_ready", "lunch")
    assert (wrap.queue, wrap.call_id, wrap.extended) == ("support", "c-1", False)
    assert await store.get(agent_id) == wrap
    # A second call while the first wrap-up runs keeps the return state chosen meanwhile.
    await store.set_then(agent_id, "ready", "")
    await store.extend(agent_id, 10)
    await intents.put(AgentIntent(agent_id, interface, "not_ready", "training", "Anna", seats))
    again = await store.start(agent_id, "support", "c-2", now, until_)
    assert again is not None and (again.then_state, again.then_reason) == ("ready", "")
    assert (again.call_id, again.extended, again.until) == ("c-2", False, until_)
