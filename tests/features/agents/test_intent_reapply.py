"""The durable intent: kept only for what the PBX took, re-applied once after a PBX restart or
a server restart, only by the leader."""
from __future__ import annotations

import pytest

from features.agents.service import PbxRefused
from tests.helpers import until

from .readiness_stack import (  # noqa: F401 (fixtures)
    actions, agents_db, agents_dsn, make_agent, member, sent_since, sim, stacks, view_is,
)

NEW = "Local/1099@agents/n"
STATIC = "Local/1001@agents/n"


async def _restart_pbx(sim, stack) -> None:
    resyncs = stack.cti.connection.resyncs
    await sim.restart()
    await until(lambda: stack.cti.connection.resyncs > resyncs and not sim.booting, timeout=5)


async def test_when_pbx_restarts_then_intents_are_reapplied_exactly_once(sim, stacks, agents_db):
    stack = await stacks(sim)
    dynamic = await make_agent(agents_db, NEW, ["support", "billing"])
    static = await make_agent(agents_db, STATIC, ["support"])
    await stack.service.set_readiness(dynamic, "ready")
    await stack.service.set_readiness(static, "not_ready", "lunch")
    await view_is(stack, static, "not_ready", "lunch")
    before = actions(sim)
    rounds = stack.cti.reapply_rounds
    await _restart_pbx(sim, stack)
    await until(lambda: member(sim, "support", NEW) and member(sim, "billing", NEW)
                and member(sim, "support", STATIC).paused, timeout=5)
    # Let every resync of this restart (Login's and FullyBooted's) and its round finish.
    await until(lambda: stack.cti.reapply_rounds > rounds and stack.cti.connection.ready.is_set())
    await until(lambda: _idle(stack.cti), timeout=5)
    await view_is(stack, static, "not_ready", "lunch")
    # two dynamic members back (added unpaused as intended) and one pause: once each
    assert sent_since(sim, before, "queueadd", "queuepause", "queueremove") == {
        "queueadd": 2, "queuepause": 1, "queueremove": 0}
    assert member(sim, "support", STATIC).reason == "lunch"
    assert not member(sim, "support", NEW).paused


async def test_when_server_restarts_then_a_pbx_restart_still_reapplies_once(sim, stacks, agents_db):
    first = await stacks(sim)
    static = await make_agent(agents_db, STATIC, ["support"])
    await first.service.set_readiness(static, "not_ready", "lunch")
    await first.stop()  # the server goes away; its memory with it
    second = await stacks(sim)
    before = actions(sim)
    await _restart_pbx(sim, second)
    await until(lambda: member(sim, "support", STATIC).paused, timeout=5)
    await until(lambda: _idle(second.cti), timeout=5)
    assert member(sim, "support", STATIC).reason == "lunch"
    assert sent_since(sim, before, "queuepause")["queuepause"] == 1
    await view_is(second, static, "not_ready", "lunch")


async def test_when_the_pbx_refuses_then_no_intent_is_left_behind(sim, stacks, agents_db):
    stack = await stacks(sim)
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    del sim.pbx.queues["support"].members[STATIC]  # refused: "Interface not found"
    with pytest.raises(PbxRefused):
        await stack.service.set_readiness(agent_id, "not_ready", "lunch")
    assert await stack.intents.get(agent_id) is None
    assert await stack.service.reapply_intents() == []


async def test_when_not_leader_then_nothing_is_reapplied(sim, stacks, agents_db):
    stack = await stacks(sim)
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    await stack.service.set_readiness(agent_id, "not_ready", "lunch")
    await until(lambda: _idle(stack.cti), timeout=5)  # the round of the first connect is over
    stack.leader_flag[0] = False  # another process holds the lease now
    rounds = stack.cti.reapply_rounds
    await _restart_pbx(sim, stack)
    await until(lambda: _idle(stack.cti), timeout=5)
    assert stack.cti.reapply_rounds == rounds
    assert not member(sim, "support", STATIC).paused
    stack.leader_flag[0] = True  # the lease comes back: the new leader asks once
    stack.service.request_reapply()
    await until(lambda: member(sim, "support", STATIC).paused, timeout=5)
    assert member(sim, "support", STATIC).reason == "lunch"


async def test_when_queueadd_carries_a_state_interface_then_it_reaches_the_pbx(sim):
    from cti.service import CtiService
    from tests.cti.conftest import ami_settings

    svc = CtiService(ami_settings(sim.port), lambda e: None)
    await svc.start()
    try:
        await svc.connection.wait_ready(5)
        await svc.join_queue("support", NEW, member_name="Temp", state_interface="PJSIP/1099")
        assert member(sim, "support", NEW).state_interface == "PJSIP/1099"
        intent = [i for i in svc.intended.items() if i.interface == NEW]
        assert intent and intent[0].state_interface == "PJSIP/1099"
    finally:
        await svc.stop()


async def test_when_two_resyncs_plan_from_the_same_snapshot_then_actions_are_sent_once(sim):
    # The Login's and the FullyBooted's resync used to plan from one snapshot each and send
    # the same QueuePause twice.
    from cti.resync import collect_snapshot
    from cti.service import CtiService
    from tests.cti.conftest import ami_settings

    svc = CtiService(ami_settings(sim.port), lambda e: None)
    await svc.start()
    try:
        await svc.connection.wait_ready(5)
        await svc.set_paused(STATIC, True, "lunch", queue="support")
        await until(lambda: _idle(svc))
        sim.pbx.queues["support"].members[STATIC].paused = False  # the PBX forgot, silently
        snapshot = await collect_snapshot(svc.connection.send, 2.0)
        before = actions(sim)
        svc._on_resync(snapshot)
        svc._on_resync(snapshot)
        await until(lambda: member(sim, "support", STATIC).paused, timeout=5)
        await until(lambda: _idle(svc), timeout=5)
        assert sent_since(sim, before, "queuepause") == {"queuepause": 1}
    finally:
        await svc.stop()


def _idle(svc) -> bool:
    wanted = getattr(svc, "_reapply_wanted", None)
    return not (wanted is not None and wanted.is_set()) and not getattr(svc, "reapplying", False)


async def test_when_a_cti_action_is_refused_then_no_in_memory_intent_is_kept(sim):
    from cti.errors import MemberNotFound
    from cti.service import CtiService
    from tests.cti.conftest import ami_settings

    svc = CtiService(ami_settings(sim.port), lambda e: None)
    await svc.start()
    try:
        await svc.connection.wait_ready(5)
        with pytest.raises(MemberNotFound):
            await svc.set_paused("Local/9999@agents/n", True, "lunch", queue="support")
        assert svc.intended.items() == []
    finally:
        await svc.stop()


async def test_when_a_phone_goes_to_another_agent_then_the_old_owners_pause_is_not_reapplied(
        sim, stacks, agents_db):
    stack = await stacks(sim)
    old_owner = await make_agent(agents_db, STATIC, ["support"])
    await stack.service.set_readiness(old_owner, "not_ready", "lunch")
    # An administrator gives the phone to someone else, who has not logged in yet.
    await agents_db.execute("UPDATE agents SET interface = NULL WHERE id = $1", old_owner)
    await agents_db.execute("DELETE FROM agent_intents WHERE agent_id <> $1", old_owner)
    await make_agent(agents_db, STATIC, ["support"])
    await _restart_pbx(sim, stack)
    await until(lambda: stack.cti.connection.ready.is_set(), timeout=5)
    await until(lambda: _idle(stack.cti), timeout=5)
    assert not member(sim, "support", STATIC).paused
