"""Readiness through the agent service: the PBX (the simulator over AMI) acts, the projector
shows it, the intent is kept only for what the PBX took."""
from __future__ import annotations

import pytest

from features.agents.service import (
    NoPhoneInterface, PbxRefused, UnknownPauseReason, QueueUnknownToPbx,
)
from state.events import MemberAdded, MemberStateChanged
from tests.helpers import until

from .readiness_stack import (  # noqa: F401 (fixtures)
    actions, agents_db, agents_dsn, make_agent, member, sent_since, sim, stacks, view_is,
)

NEW = "Local/1099@agents/n"  # not in queues.conf: joins dynamically
STATIC = "Local/1001@agents/n"  # a static member of support


async def test_when_agent_goes_ready_then_added_paused_then_unpaused_and_view_is_ready(
        sim, stacks, agents_db):
    stack = await stacks(sim)
    agent_id = await make_agent(agents_db, NEW, ["support", "billing"])
    pending = await stack.service.set_readiness(agent_id, "ready")
    assert pending.state == "ready"
    await until(lambda: sum(isinstance(e, MemberStateChanged) for e in stack.events) >= 2)
    seen = [(type(e).__name__, e.member.queue, e.member.paused) for e in stack.events
            if isinstance(e, (MemberAdded, MemberStateChanged)) and e.member.interface == NEW]
    # both queues joined paused before the first unpause: no call can ring in between
    assert sorted(seen[:2]) == [("MemberAdded", "billing", True), ("MemberAdded", "support", True)]
    assert sorted(seen[2:]) == [("MemberStateChanged", "billing", False),
                                ("MemberStateChanged", "support", False)]
    view = await view_is(stack, agent_id, "ready")
    assert view.queues == ["billing", "support"] and view.pending is None
    intent = await stack.intents.get(agent_id)
    assert intent is not None and intent.state == "ready"
    assert {q.queue for q in intent.queues} == {"support", "billing"}


async def test_when_agent_goes_not_ready_with_a_reason_then_pbx_pauses_and_view_says_why(
        sim, stacks, agents_db):
    stack = await stacks(sim)
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    await stack.service.set_readiness(agent_id, "not_ready", "lunch")
    assert member(sim, "support", STATIC).paused and member(sim, "support", STATIC).reason == "lunch"
    view = await view_is(stack, agent_id, "not_ready", "lunch")
    assert view.queues == ["support"]

    await stack.service.set_readiness(agent_id, "logged_out")
    # a static member cannot be removed: it is paused as logged out, and shown logged out
    assert member(sim, "support", STATIC).reason == "logged_out"
    await view_is(stack, agent_id, "logged_out")


async def test_when_reason_is_not_in_the_configured_list_then_refused_and_nothing_sent(
        sim, stacks, agents_db):
    stack = await stacks(sim)
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    before = actions(sim)
    with pytest.raises(UnknownPauseReason):
        await stack.service.set_readiness(agent_id, "not_ready", "nap")
    assert sent_since(sim, before, "queuepause", "queueadd") == {"queuepause": 0, "queueadd": 0}


async def test_when_supervisor_has_no_phone_interface_then_no_phone_interface_error(
        sim, stacks, agents_db):
    stack = await stacks(sim)
    agent_id = await make_agent(agents_db, None, [], role="supervisor")
    with pytest.raises(NoPhoneInterface) as info:
        await stack.service.set_readiness(agent_id, "ready")
    assert info.value.error_id == "no-phone-interface"
    assert "phone interface" in info.value.message


async def test_when_one_queue_is_unknown_to_the_pbx_then_clear_error_and_nothing_sent(
        sim, stacks, agents_db):
    stack = await stacks(sim)
    agent_id = await make_agent(agents_db, NEW, ["support", "nosuchqueue"])
    before = actions(sim)
    with pytest.raises(QueueUnknownToPbx) as info:
        await stack.service.set_readiness(agent_id, "ready")
    assert info.value.details == {"queues": ["nosuchqueue"]}
    assert sent_since(sim, before, "queueadd", "queuepause") == {"queueadd": 0, "queuepause": 0}
    assert member(sim, "support", NEW) is None
    assert await stack.intents.get(agent_id) is None


async def test_when_an_action_fails_midway_then_the_done_ones_are_undone_and_no_intent_left(
        sim, stacks, agents_db):
    stack = await stacks(sim)
    agent_id = await make_agent(agents_db, NEW, ["billing", "support"])
    # The tracker knows "support", the PBX no longer does (e.g. a reload since): its QueueAdd
    # is refused after billing's went through.
    del sim.pbx.queues["support"]
    with pytest.raises(PbxRefused) as info:
        await stack.service.set_readiness(agent_id, "ready")
    assert "No such queue" in info.value.details["pbx_message"]
    assert member(sim, "billing", NEW) is None  # undone
    assert stack.service.compensations == 1
    assert await stack.intents.get(agent_id) is None
    view = await until(lambda: _failed(stack, agent_id), timeout=5)
    assert view.state == "logged_out" and view.failed.error == "pbx-refused"


async def _failed(stack, agent_id):
    view = await stack.view(agent_id)
    return view if view.failed is not None else None


async def test_when_pbx_refuses_a_pause_then_view_shows_failed_with_the_pbx_reason(
        sim, stacks, agents_db):
    stack = await stacks(sim)
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    await stack.service.set_readiness(agent_id, "ready")
    await view_is(stack, agent_id, "ready")
    # The PBX lost the member without telling (as after a reload): QueuePause is refused.
    del sim.pbx.queues["support"].members[STATIC]
    with pytest.raises(PbxRefused):
        await stack.service.set_readiness(agent_id, "not_ready", "break")
    view = await until(lambda: _failed(stack, agent_id), timeout=5)
    assert view.failed.state == "not_ready" and view.failed.reason == "break"
    assert view.failed.message == "Interface not found"
    assert view.state == "ready" and view.pending is None
    intent = await stack.intents.get(agent_id)
    assert intent.state == "ready"  # the refused change left no intent behind


async def test_when_pbx_console_pauses_the_member_then_the_view_follows(sim, stacks, agents_db):
    stack = await stacks(sim)
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    await stack.service.set_readiness(agent_id, "ready")
    await view_is(stack, agent_id, "ready")
    queue = sim.pbx.queues["support"]
    sim.pbx.set_paused(queue, queue.members[STATIC], True, "console")
    await view_is(stack, agent_id, "not_ready", "console")

    async def logged() -> list:  # the log row follows the Redis write
        history = await stack.state_log.history(agent_id)
        states = [(s, r) for s, r, _a, _b in history]
        return states if states[-1:] == [("not_ready", "console")] else []

    assert (await until(logged, timeout=5))[-2:] == [("ready", ""), ("not_ready", "console")]


async def test_when_dynamic_agent_logs_out_then_it_leaves_every_queue(sim, stacks, agents_db):
    stack = await stacks(sim)
    agent_id = await make_agent(agents_db, NEW, ["support", "billing"])
    await stack.service.set_readiness(agent_id, "ready")
    await view_is(stack, agent_id, "ready")
    await stack.service.set_readiness(agent_id, "logged_out")
    assert member(sim, "support", NEW) is None and member(sim, "billing", NEW) is None
    view = await view_is(stack, agent_id, "logged_out")
    assert view.queues == []
    assert (await stack.intents.get(agent_id)).state == "logged_out"
