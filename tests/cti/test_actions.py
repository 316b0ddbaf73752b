"""AMI actions over real TCP: domain errors, Originate results, and panoramisk 1.4's traps.

Each trap has a twin marked xfail(strict=True) that runs the plain panoramisk Manager through the
same situation: it proves the trap is real (the twin would XPASS, and fail the suite, if it were
not)."""
from __future__ import annotations

import asyncio

import pytest
from panoramisk import Manager

from cti.actions import AmiActions
from cti.connection import AmiConnection
from cti.errors import (LinkLost, MemberAlreadyInQueue, MemberNotDynamic, MemberNotFound,
                        NoSuchChannel, NoSuchQueue)
from cti.simulator import CalleeBehaviour
from cti.simulator.presets import recorded_config
from tests.helpers import until

from .conftest import SECRET, ami_settings


@pytest.fixture
async def ami():
    made: list[AmiConnection] = []

    async def make(port: int, **overrides) -> AmiActions:
        conn = AmiConnection(ami_settings(port, **overrides), on_event=lambda m: None)
        await conn.start()
        await conn.wait_ready(5)
        made.append(conn)
        return AmiActions(conn)

    yield make
    for conn in made:
        await conn.stop()


async def test_when_member_actions_fail_then_each_asterisk_error_has_its_domain_error(sim, ami):
    actions = await ami(sim.port)
    await actions.queue_add("readings", "Local/1010@agents/n", member_name="Lev Fedorov",
                            paused=True, reason="not-ready")
    with pytest.raises(MemberAlreadyInQueue):
        await actions.queue_add("readings", "Local/1010@agents/n")
    with pytest.raises(NoSuchQueue):
        await actions.queue_add("no-such-queue", "Local/1010@agents/n")
    with pytest.raises(MemberNotFound):
        await actions.queue_pause("Local/1999@agents/n", True, queue="readings", reason="x")
    with pytest.raises(MemberNotDynamic):
        await actions.queue_remove("readings", "Local/1009@agents/n")
    with pytest.raises(MemberNotFound):
        await actions.queue_remove("readings", "Local/1999@agents/n")
    with pytest.raises(NoSuchChannel):
        await actions.hangup("Local/nobody@x-00000000;1")
    await actions.queue_remove("readings", "Local/1010@agents/n")
    assert "Local/1010@agents/n" not in sim.pbx.queues["readings"].members


async def test_when_a_value_carries_line_breaks_then_no_header_can_be_injected(sim, ami):
    actions = await ami(sim.port)
    reason = "lunch\r\nAction: Originate\r\nChannel: Local/79121110001@ccs-callee\r\n\r\n"
    await actions.queue_pause("Local/1009@agents/n", True, queue="readings", reason=reason)
    await actions.ping()
    assert sim.pbx.originates == []
    assert sim.pbx.queues["readings"].members["Local/1009@agents/n"].reason.startswith("lunch ")


async def test_when_originates_are_in_flight_then_other_actions_are_answered_meanwhile(
        make_sim, ami):
    config = recorded_config()
    config.callees["79121110001"] = CalleeBehaviour(outcome="answer", answer_after=2.0)
    config.callees["79121110004"] = CalleeBehaviour(outcome="noanswer")
    sim = await make_sim(config)
    actions = await ami(sim.port)
    numbers = ["79121110001", "79121110002", "79121110004", "79129999999"]
    calls = [asyncio.ensure_future(actions.originate(
        f"Local/{n}@ccs-callee", context="ccs-robot", exten="s", caller_id='"Energosbyt" <88005550100>',
        timeout_ms=3000, variables={"CCS_ACCOUNT": "100200300499"})) for n in numbers]
    await until(lambda: len(sim.pbx.originates) == 4, timeout=5)
    await actions.queue_pause("Local/1009@agents/n", True, queue="readings", reason="lunch")
    assert not calls[0].done() and not calls[2].done()
    results = await asyncio.gather(*calls)
    # Reason 0: the one table (cti.originate_outcomes) names it as the tracker does.
    assert [r.outcome for r in results] == ["answered", "busy", "no_answer", "failed"]
    assert results[0].answered and results[0].uniqueid
    assert results[1].uniqueid is None and results[1].channel == "Local/79121110002@ccs-callee"


async def test_when_link_drops_before_originate_is_answered_then_it_fails_and_is_not_redialled(
        sim, ami):
    actions = await ami(sim.port)
    sim.cut_on.add("originate")
    with pytest.raises(LinkLost):
        await actions.originate("Local/79121110001@ccs-callee", context="ccs-robot", exten="s")
    sim.cut_on.clear()
    await until(lambda: sim.logins >= 2, timeout=5)
    # The PBX counts the login before our side has read its answer: wait for our side too.
    await actions._conn.wait_ready(5)
    await actions.ping()
    assert len(sim.pbx.originates) == 1


@pytest.mark.xfail(strict=True, reason="panoramisk 1.4 re-sends the Originate after reconnect")
async def test_when_plain_panoramisk_loses_link_during_originate_then_it_dials_twice(sim):
    manager = Manager(host="127.0.0.1", port=sim.port, username="ccs", secret=SECRET,
                      reconnect_timeout=0, ping_delay=60)
    manager.connect()
    try:
        await until(lambda: manager.authenticated, timeout=5)
        sim.cut_on.add("originate")
        manager.send_action({"Action": "Originate", "Channel": "Local/79121110001@ccs-callee",
                             "Context": "ccs-robot", "Exten": "s", "Priority": "1", "Async": "true"})
        await until(lambda: sim.pbx.originates, timeout=5)
        sim.cut_on.clear()
        await until(lambda: sim.logins >= 2, timeout=5)
        await until(lambda: manager.authenticated, timeout=5)
        await asyncio.wait_for(manager.send_action({"Action": "Ping"}), 2)
        assert len(sim.pbx.originates) == 1
    finally:
        manager.close()


@pytest.mark.xfail(strict=True, reason="panoramisk 1.4's keep-alive never checks the Pong")
async def test_when_plain_panoramisk_pings_a_silent_pbx_then_it_never_notices(sim):
    manager = Manager(host="127.0.0.1", port=sim.port, username="ccs", secret=SECRET,
                      ping_delay=0, ping_interval=1)
    lost = asyncio.Event()
    manager.on_disconnect = lambda mgr, exc: lost.set()
    manager.connect()
    try:
        await until(lambda: manager.authenticated, timeout=5)
        sim.freeze()
        await until(lambda: lost.is_set(), timeout=2.5)
    finally:
        manager.close()


@pytest.mark.parametrize("reason", [0, 1, 3, 4, 5, 8, 99])
def test_when_the_tracker_and_actions_read_one_originate_reason_then_they_name_it_alike(reason):
    from cti.tracker import Tracker

    events = []
    tracker = Tracker(events.append)
    tracker.apply({"Event": "OriginateResponse", "ActionID": "a-1", "Response": "Failure",
                   "Channel": "Local/79121110002@ccs-callee", "Reason": str(reason),
                   "Uniqueid": "<null>"})
    from cti.originate_outcomes import originate_outcome
    assert [e.outcome for e in events if e.kind == "originate_result"] == [originate_outcome(reason)]
    assert originate_outcome(1) == originate_outcome(3) == "no_answer"
    assert originate_outcome(0) == "failed"
