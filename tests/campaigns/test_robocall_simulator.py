"""The simulated robocall callees held to real Asterisk 22 (recording 07_originate_outcomes):
per outcome the same events in the same order and the same OriginateResponse layout; plus what
the robocall context adds (the CcsRobocall UserEvent, AstDB read back with DBGet)."""
from __future__ import annotations

import pytest

from cti.actions import AmiActions, originate
from cti.connection import AmiConnection
from cti.simulator import Simulator
from cti.simulator.presets import recorded_config
from tests.cti.conftest import SECRET, ami_settings
from tests.cti.test_simulator_recordings import layout, recorded_layouts, recorded_messages
from tests.helpers import until

SHAPE = {"Newchannel", "LocalBridge", "DialBegin", "DialState", "DialEnd", "Newstate",
         "OriginateResponse", "UserEvent", "HangupRequest", "SoftHangupRequest", "Hangup"}
# recording 07's originates in order, and the last digit the simulator gives that behaviour
RECORDED_ORDER = ("answer", "busy", "congestion", "noanswer", "nosuchexten")
DIGIT = {"answer": "1", "busy": "6", "congestion": "8", "noanswer": "7", "nosuchexten": "9"}


def recorded_shapes() -> dict[str, list[str]]:
    shapes: list[list[str]] = []
    for message in recorded_messages("07_originate_outcomes"):
        if message.get("Message") == "Originate successfully queued":
            shapes.append([])
        elif shapes and message.get("Event") in SHAPE:
            shapes[-1].append(message["Event"])
    return dict(zip(RECORDED_ORDER, shapes))


@pytest.fixture
async def ami():
    sim = Simulator(recorded_config(), secret=SECRET, time_scale=0.02)
    await sim.start()
    events: list[dict] = []
    conn = AmiConnection(ami_settings(sim.port), on_event=lambda m: events.append(dict(m)))
    await conn.start()
    await conn.wait_ready(10)
    yield sim, conn, events
    await conn.stop()
    await sim.stop()


async def _call(conn, events, number: str, attempt: int) -> list[dict]:
    action = originate(f"Local/{number}@ccs-robocall-callee", context="ccs-robocall", exten="s",
                       caller_id='"Energosbyt" <88005550100>', timeout_ms=5000,
                       variables={"CCS_ATTEMPT": str(attempt), "CCS_TRY": "1",
                                  "CCS_CAMPAIGN": "3", "CCS_OPERATOR_KEY": "0"})
    start = len(events)
    await AmiActions(conn).run(action)

    def ended() -> bool:
        mine = [e for e in events[start:] if e.get("Event") == "Hangup"]
        return len(mine) == 2

    await until(ended, timeout=10)
    return events[start:]


async def test_when_robocall_callees_answer_or_fail_then_events_follow_asterisk_22(ami):
    sim, conn, events = ami
    recorded = recorded_shapes()
    for n, outcome in enumerate(RECORDED_ORDER, start=1):
        got = await _call(conn, events, f"7912000000{DIGIT[outcome]}", n)
        assert [e["Event"] for e in got if e.get("Event") in SHAPE] == recorded[outcome], outcome
        response = next(e for e in got if e.get("Event") == "OriginateResponse")
        assert response["ActionID"].startswith("ccs-originate-")
        assert response["Response"] == ("Success" if outcome == "answer" else "Failure")


async def test_when_a_robocall_is_answered_then_user_event_and_astdb_report_the_key(ami):
    sim, conn, events = ami
    got = await _call(conn, events, "79120000003", 77)
    response = next(e for e in got if e.get("Event") == "OriginateResponse")
    fields = {k: v for k, v in response.items() if k != "content"}  # panoramisk's own key
    assert layout(fields) in recorded_layouts()["OriginateResponse"]
    report = next(e for e in got if e.get("Event") == "UserEvent")
    assert (report["UserEvent"], report["Campaign"], report["Attempt"], report["Try"],
            report["Key"], report["Heard"]) == ("CcsRobocall", "3", "77", "1", "9", "yes")
    # The robocall channel carries CCS_ATTEMPT (manager.conf channelvars) ...
    assert "CCS_ATTEMPT=77" in report["ChanVariable"]
    # ... and the result stays in AstDB for a server that missed the event.
    answer = await conn.send({"Action": "DBGet", "Family": "ccs-robocall", "Key": "3/77-1"},
                             as_list=None)
    value = next(m for m in answer if m.get("Event") == "DBGetResponse")["Val"]
    assert value == "answered:9:yes:"
    missing = await conn.send({"Action": "DBGet", "Family": "ccs-robocall", "Key": "3/78-1"},
                              as_list=None)
    assert missing.get("Response") == "Error"
