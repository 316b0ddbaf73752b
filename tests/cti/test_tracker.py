"""Tracker behaviour on streams that are late, out of order, broken or unknown.

Events are taken from the 01_answered recording and reordered or altered, never made up.
"""
from __future__ import annotations

import inspect
import time

from cti.snapshot import PbxSnapshot
from cti.tracker import HANDLERS, Tracker

from .replay import RECORDED, FakeClock, messages, recorded, run

MSGS = messages(recorded("01_answered"))
AGI_RECORDED = RECORDED.parents[1] / "agi" / "asterisk-22-recorded"


def recorded_event(name: str, event: str) -> dict:
    return next(m for m in messages(AGI_RECORDED / f"{name}.ami.txt") if m.get("Event") == event)


def first(event: str, **match):
    return next(m for m in MSGS if m.get("Event") == event
                and all(m.get(k) == v for k, v in match.items()))


def until_event(event: str) -> list:
    i = next(i for i, m in enumerate(MSGS) if m.get("Event") == event)
    return MSGS[:i + 1]


def test_when_tracker_is_inspected_then_apply_is_synchronous_and_table_is_complete():
    assert not inspect.iscoroutinefunction(Tracker.apply)
    for name in ("Newchannel", "Hangup", "QueueCallerJoin", "AgentCalled", "AgentComplete",
                 "QueueMemberPause", "QueueMemberPaused", "OriginateResponse", "Shutdown"):
        assert name in HANDLERS


def test_when_hangup_arrives_for_unknown_channel_then_nothing_happens():
    tracker, events = run([first("Hangup", Cause="16")])
    assert events == [] and tracker.calls() == () and tracker.rejected == 0


def test_when_bridge_leave_comes_before_bridge_enter_then_no_state_is_invented():
    leave = first("BridgeLeave")
    tracker, events = run([leave])
    # a BridgeLeave for an unknown channel does not create the channel
    assert tracker.channels == {} and events == []


def test_when_agent_complete_arrives_after_the_call_ended_then_nothing_is_resurrected():
    complete = first("AgentComplete")
    tracker, events = run(MSGS + [complete])
    assert tracker.calls() == () and tracker.late_events == 1
    assert [e.kind for e in events].count("agent_completed") == 1


def test_when_agent_complete_lacks_caller_fields_then_it_is_matched_by_member_channel():
    complete = {k: v for k, v in first("AgentComplete").items()
                if not k.startswith(("Channel", "Uniqueid", "Linkedid", "CallerID", "ChanVar"))}
    msgs = [complete if m.get("Event") == "AgentComplete" else m for m in MSGS]
    tracker, events = run(msgs)
    done = [e for e in events if e.kind == "agent_completed"]
    assert [(e.interface, e.reason, e.linkedid) for e in done] == [
        ("Local/1001@agents/n", "caller", "1795332795.0")]
    assert tracker.calls() == ()


def test_when_stream_starts_mid_call_then_channels_are_adopted_and_cleaned_up():
    start = next(i for i, m in enumerate(MSGS) if m.get("Event") == "AgentConnect")
    tracker, events = run(MSGS[start:])
    assert tracker.calls() == () and tracker.channels == {}
    assert [e.kind for e in events if e.kind == "call_ended"] == ["call_ended"]


def test_when_events_are_unknown_or_fields_garbled_then_they_are_counted_not_fatal():
    join = dict(first("QueueCallerJoin"))
    join["Position"] = "not-a-number"
    status = dict(first("QueueMemberStatus"))
    status["Status"] = ["2", "3"]
    weird = [{"Event": "SomethingNew", "Foo": "bar"}, {"Response": "Success"}, {}, {"Event": 5}]
    tracker, events = run(until_event("OriginateResponse") + weird + [join, status])
    assert tracker.ignored >= 4
    offered = [e for e in events if e.kind == "call_offered"]
    assert offered and offered[0].position == 0


def test_when_call_is_live_then_snapshot_views_are_immutable_and_current():
    tracker, _ = run(until_event("AgentConnect"))
    (call,) = tracker.calls()
    assert call.state == "talking" and call.queue == "support"
    assert dict(call.vars) == {"CCS_ACCOUNT": "100200300401", "CCS_INTENT": "readings"}
    q = tracker.queue("support")
    assert (q.waiting, q.talking, q.answered) == (0, 1, 1)
    try:
        q.waiting = 5  # type: ignore[misc]
    except AttributeError:
        pass
    assert tracker.queue("support").waiting == 0
    anna = next(m for m in q.members if m.interface == "Local/1001@agents/n")
    assert anna.talking_for == "1795332795.0"


def test_when_caller_waits_then_entry_shows_position_and_wait():
    i = next(i for i, m in enumerate(MSGS) if m.get("Event") == "QueueCallerJoin")
    tracker, _ = run(MSGS[: i + 2])
    (entry,) = tracker.queue("support").entries
    assert entry.position == 1 and entry.caller_number == "+79120000001"
    assert entry.wait >= 0


def test_when_link_is_lost_then_model_is_kept_but_stale_until_resync():
    tracker, _ = run(until_event("AgentConnect"))
    tracker.on_link_lost()
    assert tracker.status()["stale"] is True and len(tracker.calls()) == 1
    changes = tracker.resync(PbxSnapshot.from_messages([
        {"Event": "CoreShowChannelsComplete", "EventList": "Complete", "ListItems": "0"}]))
    # The member who talked is no longer in the call (InCall was set at AgentConnect).
    assert [(e.kind, getattr(e, "reason", "")) for e in changes] == [
        ("member_state_changed", ""), ("call_ended", "lost")]
    assert changes[0].member.in_call is False
    assert tracker.calls() == () and tracker.status()["stale"] is False
    assert tracker.queue("support").talking == 0


def test_when_no_timestamp_then_injected_clock_is_used():
    clock = FakeClock()
    clock.t = 42.0
    events = []
    tracker = Tracker(events.append, clock=clock)
    tracker.apply(recorded_event("08b_timestampevents_off", "UserEvent"))
    assert events[0].ts == 42.0


def test_when_events_come_with_or_without_timestamp_then_times_are_wall_clock_epoch():
    # 08c (timestampevents = yes): the UserEvent carries the PBX's Timestamp; 08b (off) has
    # none, and then the time of arrival on this server's wall clock is used, never monotonic.
    events = []
    tracker = Tracker(events.append)
    before = time.time()
    tracker.apply(recorded_event("08c_timestampevents_on", "UserEvent"))
    tracker.apply(recorded_event("08b_timestampevents_off", "UserEvent"))
    assert events[0].ts == 1796285229.061006
    assert before <= events[1].ts <= time.time()


def test_when_timestamp_is_garbage_then_wall_clock_is_used_instead():
    on = recorded_event("08c_timestampevents_on", "UserEvent")
    events = []
    tracker = Tracker(events.append)
    for stamp in ("inf", "nan", "1e999", "9" * 400, "-5", "12:00"):
        tracker.apply({**on, "Timestamp": stamp})
    assert len(events) == 6 and all(abs(e.ts - time.time()) < 60 for e in events)


def test_when_fullybooted_follows_each_login_then_pbx_booted_only_for_a_later_start():
    echo = recorded_event("08b_timestampevents_off", "FullyBooted")  # after Login, Uptime 7
    boot = recorded_event("08_ami_login_during_boot", "FullyBooted")  # broadcast, Uptime 0
    clock = FakeClock()
    events = []
    tracker = Tracker(events.append, clock=clock)
    clock.t = 1000.0
    tracker.apply(echo)                           # first contact: nothing to compare with
    clock.t = 1030.0
    tracker.apply({**echo, "Uptime": "37"})       # a re-login 30 s later: same start
    clock.t = 1030.9
    tracker.apply({**echo, "Uptime": "37"})       # whole seconds: the estimate moves a little
    assert [e.kind for e in events] == []
    clock.t = 1060.0
    tracker.apply(boot)                           # started at 1060, not 993: a restart
    clock.t = 1075.0
    tracker.apply({**echo, "Uptime": "15"})       # re-login after it
    assert [(e.kind, e.uptime) for e in events] == [("pbx_booted", 0.0)]
