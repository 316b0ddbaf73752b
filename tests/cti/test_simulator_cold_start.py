"""This server starts while the PBX (the simulator, over TCP) is in the middle of a queue call:
the resync rebuilds the call with its queue and member, and its end is reported in full."""
from __future__ import annotations

import asyncio

from cti.service import CtiService
from cti.simulator import Simulator
from cti.simulator.originate import inbound_call
from cti.simulator.presets import recorded_config
from state.events import DomainEvent
from tests.helpers import until

from .conftest import SECRET, ami_settings


async def test_when_the_server_starts_during_a_talking_call_then_its_end_has_queue_agent_and_talk():
    sim = Simulator(recorded_config(), secret=SECRET, time_scale=0.02)
    await sim.start()
    events: list[DomainEvent] = []
    sent: list[dict] = []  # the AgentComplete fields the PBX wrote on the wire
    sim.observers.append(lambda name, body: sent.append(dict(body))
                         if name == "AgentComplete" else None)
    svc = CtiService(ami_settings(sim.port), events.append, clock=sim.clock.now)
    try:
        # Anna (support) answers after 2 s; the caller hangs up 10 s after the IVR answered.
        task = sim.spawn(inbound_call(sim.pbx, "support", "+79120000061", "Caller",
                                      patience=10))
        await until(lambda: sim.pbx.busy.get("Local/1001@agents/n") == "incall", 5)
        await svc.start()
        await svc.connection.wait_ready(5)
        q = svc.tracker.queue("support")
        assert (q.talking, q.answered) == (1, 1)
        (call,) = svc.tracker.calls()
        assert (call.state, call.queue, call.interface) == (
            "talking", "support", "Local/1001@agents/n")
        await asyncio.wait_for(task, 5)
        await until(lambda: [e for e in events if e.kind == "call_ended"], 5)
    finally:
        await svc.stop()
        await sim.stop()
    assert not [e for e in events if e.kind == "call_started"]
    (answered,) = [e for e in events if e.kind == "call_answered"]
    assert answered.rebuilt and answered.interface == "Local/1001@agents/n"
    (done,) = [e for e in events if e.kind == "agent_completed"]
    (ended,) = [e for e in events if e.kind == "call_ended"]
    assert (done.queue, done.interface, done.reason) == ("support", "Local/1001@agents/n", "caller")
    # The PBX's own talk time (AgentComplete TalkTime), not 0 and not the time since the resync.
    (wire,) = sent
    assert done.talk_time == float(wire["TalkTime"]) >= 5.0
    assert (ended.queue, ended.interface, ended.reason, ended.talk_time) == (
        "support", "Local/1001@agents/n", "caller", done.talk_time)
    anna = [e.member for e in events if e.kind in ("member_added", "member_state_changed")
            and e.member.interface == "Local/1001@agents/n"]
    assert anna[0].in_call is True and anna[-1].in_call is False
