"""An AMI Redirect of a queue caller, done by the simulator the way Asterisk 22 does it
(recording 09), and scripted calls (scenario.play): what the tracker reports over real TCP."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from cti.service import CtiService
from cti.simulator import Simulator
from cti.simulator.originate import inbound_call
from cti.simulator.pbx import PbxConfig
from cti.simulator.presets import recorded_config
from cti.simulator.queues import AgentBehaviour, MemberConfig, QueueConfig
from cti.simulator.scenario import CallScript, play
from state.events import DomainEvent
from tests.helpers import until

from .conftest import SECRET, ami_settings

SCALE = 0.02


async def _service(sim: Simulator, events: list[DomainEvent]) -> CtiService:
    svc = CtiService(ami_settings(sim.port), events.append, clock=sim.clock.now)
    await svc.start()
    await svc.connection.wait_ready(5)
    return svc


@pytest.fixture
async def rig() -> AsyncIterator[tuple[Simulator, CtiService, list[DomainEvent]]]:
    sim = Simulator(recorded_config(), secret=SECRET, time_scale=SCALE)
    await sim.start()
    events: list[DomainEvent] = []
    svc = await _service(sim, events)
    yield sim, svc, events
    await svc.stop()
    await sim.stop()


def _caller_channel(sim: Simulator, queue: str) -> str:
    return next(name for name in sim.pbx.factory.channels
                if name.startswith(f"Local/{queue}@ccs-in-") and name.endswith(";2"))


def _kinds(events, linkedid, *kinds):
    return [e for e in events if getattr(e, "linkedid", None) == linkedid and e.kind in kinds]


async def test_when_the_agent_redirects_the_caller_to_a_survey_then_it_is_a_transfer(rig):
    sim, svc, events = rig
    task = sim.spawn(inbound_call(sim.pbx, "support", "+79120000051", "Caller", patience=60))
    (call,) = await until(lambda: [c for c in svc.tracker.calls() if c.state == "talking"], 5)
    await sim.clock.sleep(3)
    await svc.actions.redirect(_caller_channel(sim, "support"), "ccs-xfer", "survey")
    await asyncio.wait_for(task, 5)
    await until(lambda: _kinds(events, call.linkedid, "call_ended"), 5)
    (moved,) = _kinds(events, call.linkedid, "call_transferred")
    assert (moved.how, moved.target, moved.from_queue, moved.from_interface) == (
        "redirect", "survey@ccs-xfer", "support", "Local/1001@agents/n")
    (done,) = _kinds(events, call.linkedid, "agent_completed")
    assert done.interface == "Local/1001@agents/n" and 2.0 <= done.talk_time <= 4.0
    (ended,) = _kinds(events, call.linkedid, "call_ended")
    assert (ended.reason, ended.queue, ended.interface) == (
        "transfer", "support", "Local/1001@agents/n")
    assert not _kinds(events, call.linkedid, "call_abandoned")
    anna = [e.member for e in events if e.kind == "member_state_changed"
            and e.member.interface == "Local/1001@agents/n" and e.ts >= moved.ts]
    assert anna and anna[0].in_call is False  # free as soon as the caller was moved
    assert svc.tracker.calls() == ()


async def test_when_a_waiting_caller_is_redirected_then_it_left_by_redirect_and_did_not_abandon(
        rig):
    sim, svc, events = rig
    task = sim.spawn(inbound_call(sim.pbx, "outages", "+79120000052", "Caller", patience=60))
    (entry,) = await until(lambda: svc.tracker.queue("outages")
                           and svc.tracker.queue("outages").entries, 5)
    await svc.actions.redirect(_caller_channel(sim, "outages"), "ccs-xfer", "survey")
    await asyncio.wait_for(task, 5)
    await until(lambda: _kinds(events, entry.linkedid, "call_ended"), 5)
    (left,) = _kinds(events, entry.linkedid, "caller_left_queue")
    assert left.reason == "redirect"
    (moved,) = _kinds(events, entry.linkedid, "call_transferred")
    assert (moved.how, moved.target, moved.from_queue, moved.from_interface) == (
        "redirect", "survey@ccs-xfer", "outages", "")
    assert not _kinds(events, entry.linkedid, "call_abandoned")
    assert _kinds(events, entry.linkedid, "call_ended")[0].reason == "transfer"
    q = svc.tracker.queue("outages")
    assert (q.abandoned, q.timed_out, q.waiting) == (0, 0, 0)


def _ten_members() -> PbxConfig:
    return PbxConfig(queues=[QueueConfig(
        name="support", strategy="leastrecent", timeout=120, retry=1,
        members=[MemberConfig(interface=f"Local/{3001 + i}@agents/n", name=f"Agent {i}",
                              behaviour=AgentBehaviour(answer_after=None)) for i in range(10)])])


async def test_when_the_issue_s_ten_calls_are_scripted_then_the_tracker_sees_each_as_written():
    # Issue 10: 2 abandoned at 3 s and 40 s, 6 answered within 20 s, 1 answered at 35 s,
    # 1 transferred (answered at 5 s, redirected to the survey after 4 s of talk); one
    # Queue() timeout at 8 s besides, which is not an abandon.
    calls = [
        CallScript(number="+79120000101", answer_wait=None, abandon_after=3),
        CallScript(number="+79120000102", answer_wait=None, abandon_after=40),
        *(CallScript(number=f"+7912000020{i}", at=i, answer_wait=w, talk=5)
          for i, w in enumerate((2, 4, 6, 8, 10, 12))),
        CallScript(number="+79120000301", answer_wait=35, talk=5, agent="Local/3009@agents/n"),
        CallScript(number="+79120000401", answer_wait=5, talk=30, transfer_to="survey@ccs-xfer",
                   transfer_after=4),
        CallScript(number="+79120000501", answer_wait=None, qtimeout=8, abandon_after=12),
    ]
    # 1 PBX second = 50 ms: scheduling jitter on a loaded machine stays well under a second.
    sim = Simulator(_ten_members(), secret=SECRET, time_scale=0.05)
    await sim.start()
    events: list[DomainEvent] = []
    svc = await _service(sim, events)
    try:
        await asyncio.wait_for(play(sim, calls), 20)
        await until(lambda: len([e for e in events if e.kind == "call_ended"]) == 11, 5)
    finally:
        await svc.stop()
        await sim.stop()
    number = {e.linkedid: e.caller_number for e in events if e.kind == "call_offered"}
    assert sorted((number[e.linkedid], e.wait) for e in events if e.kind == "call_abandoned") == [
        ("+79120000101", 3.0), ("+79120000102", 40.0)]
    assert sorted((number[e.linkedid], e.hold_time) for e in events
                  if e.kind == "call_answered") == [
        ("+79120000200", 2.0), ("+79120000201", 4.0), ("+79120000202", 6.0),
        ("+79120000203", 8.0), ("+79120000204", 10.0), ("+79120000205", 12.0),
        ("+79120000301", 35.0), ("+79120000401", 5.0)]
    assert [(number[e.linkedid], e.how, e.target) for e in events
            if e.kind == "call_transferred"] == [("+79120000401", "redirect", "survey@ccs-xfer")]
    ended = {number[e.linkedid]: e.reason for e in events if e.kind == "call_ended"}
    assert ended["+79120000401"] == "transfer" and ended["+79120000501"] == "timeout"
    assert [number[e.linkedid] for e in events
            if e.kind == "caller_left_queue" and e.reason == "timeout"] == ["+79120000501"]
    by = {number[e.linkedid]: e.interface for e in events if e.kind == "call_answered"}
    assert by["+79120000301"] == "Local/3009@agents/n"
    talk = {number[e.linkedid]: e.talk_time for e in events if e.kind == "agent_completed"}
    # The redirected member's own share (the wire's TalkTime runs to the caller's hang-up).
    assert talk["+79120000401"] == pytest.approx(4.0, abs=1) and talk["+79120000301"] == 5.0
    q = svc.tracker.queue("support")
    assert (q.answered, q.abandoned, q.timed_out, q.waiting, q.talking) == (8, 2, 1, 0, 0)


def _role(channel: str | None) -> str:
    if not channel:
        return ""
    if "@ccs-in-" in channel:
        return "caller" if channel.endswith(";2") else "phone"
    return channel.split("/")[1].split("@")[0] + channel[-2:]  # e.g. 1017;1


def _story(messages, linkedid: str) -> list[tuple]:
    """What the tracker reads of a redirected call: queue events and bridge moves, with the
    place each names (the caller's new place shows from its BridgeLeave on)."""
    keep = ("QueueCallerJoin", "QueueCallerLeave", "AgentConnect", "AgentComplete",
            "BridgeEnter", "BridgeLeave")
    return [(m["Event"], _role(m.get("Channel")), m.get("Context"), m.get("Exten"),
             m.get("Queue", ""), m.get("Interface", ""), m.get("Reason", ""), "DestChannel" in m)
            for m in messages if m.get("Event") in keep and m.get("Linkedid") == linkedid]


async def test_when_a_talking_caller_is_redirected_into_another_queue_then_the_wire_is_recording_09s(
        raw_client):
    from .test_simulator_recordings import recorded_messages

    # Recording 09, first call: Taisia (frontdesk) answers after 1 s; 2 s into the talk an AMI
    # Redirect sends the caller to ccs-xfer,escalation (Queue(escalation)), where Ulyana answers
    # after 2 s; the caller hangs up 12 s after the IVR answered.
    config = PbxConfig(queues=[
        QueueConfig(name="frontdesk", members=[MemberConfig(
            interface="Local/1017@agents/n", name="Taisia Gromova",
            behaviour=AgentBehaviour(answer_after=1))]),
        QueueConfig(name="escalation", members=[MemberConfig(
            interface="Local/1018@agents/n", name="Ulyana Zaitseva",
            behaviour=AgentBehaviour(answer_after=2))])])
    sim = Simulator(config, secret=SECRET, time_scale=SCALE)
    await sim.start()
    try:
        client = await raw_client(sim.port)
        client.login()
        task = sim.spawn(inbound_call(sim.pbx, "frontdesk", "+79120000031", "Kirill Zotov",
                                      patience=12))
        await until(lambda: client.events("AgentConnect"), 5)
        await sim.clock.sleep(2)
        client.send(("Action", "Redirect"), ("Channel", _caller_channel(sim, "frontdesk")),
                    ("Context", "ccs-xfer"), ("Exten", "escalation"), ("Priority", "1"),
                    ("ActionID", "r"))
        await asyncio.wait_for(task, 5)
        await until(lambda: len(client.events("AgentComplete")) == 2
                    and len(client.events("BridgeLeave")) == 4, 5)
    finally:
        await sim.stop()
    mine = client.dicts()
    linkedid = next(m["Linkedid"] for m in mine if m.get("Event") == "QueueCallerJoin")
    assert client.answer("r")["Message"] == "Redirect successful"
    assert _story(mine, linkedid) == _story(recorded_messages("09_transfer"), "1795332903.70")
