"""What a supervisor's board reads from the tracker (issue 10), held to the Asterisk 22
recordings: waits that advance with the clock, members in a call, answered counts across a
resync, talking calls rebuilt after a cold start of this server, timeouts told from abandons."""
from __future__ import annotations

from cti.snapshot import PbxSnapshot
from cti.tracker import Tracker

from .replay import FakeClock, list_answer, messages, recorded, run


def _join_index(msgs) -> int:
    return next(i for i, m in enumerate(msgs) if m.get("Event") == "QueueCallerJoin")


def test_when_a_caller_waits_without_traffic_then_the_longest_wait_grows_with_the_clock():
    msgs = messages(recorded("01_answered"))
    clock = FakeClock()
    tracker = Tracker(lambda e: None, clock=clock)
    i = _join_index(msgs)
    for m in msgs[: i + 1]:
        tracker.apply(m)
    joined = float(msgs[i]["Timestamp"])
    clock.t = joined + 1.0
    first = tracker.queue("support")
    clock.t = joined + 3.0  # two seconds later, no event in between
    later = tracker.queue("support")
    assert (first.entries[0].wait, later.entries[0].wait) == (1.0, 3.0)
    assert later.entries[0].joined == joined == later.longest_wait_since
    assert (first.longest_wait, later.longest_wait) == (1.0, 3.0)
    # A reader may also ask for a given moment.
    assert tracker.queue("support", now=joined + 10.0).longest_wait == 10.0


def test_when_resync_rebuilds_a_waiting_caller_then_the_wait_counts_from_its_join_on_this_clock():
    msgs = messages(recorded("06_status_lists"))
    snap = PbxSnapshot.from_messages(list_answer(msgs, "06_status_lists-6"))
    clock = FakeClock()
    clock.t = 5000.0
    tracker = Tracker(lambda e: None, clock=clock)
    tracker.apply(msgs[_join_index(msgs)])  # an event stamped by the PBX came before
    tracker.resync(snap)
    clock.t = 5002.0
    # QueueEntry Wait 3 and 2 at the snapshot: 5 and 4 s two seconds later.
    assert [e.wait for e in tracker.queue("common").entries] == [5.0, 4.0]


def test_when_a_member_answers_then_it_is_in_call_until_its_part_ends():
    events: list = []
    msgs = messages(recorded("01_answered"))
    tracker = Tracker(events.append, clock=FakeClock())
    connect = next(i for i, m in enumerate(msgs) if m.get("Event") == "AgentConnect")
    complete = next(i for i, m in enumerate(msgs) if m.get("Event") == "AgentComplete")
    for m in msgs[: connect + 1]:
        tracker.apply(m)
    anna = next(m for m in tracker.members() if m.interface == "Local/1001@agents/n")
    assert anna.state.in_call is True
    changed = [e for e in events if e.kind == "member_state_changed"]
    assert changed[-1].member.interface == "Local/1001@agents/n" and changed[-1].member.in_call
    for m in msgs[connect + 1: complete + 1]:
        tracker.apply(m)
    anna = next(m for m in tracker.members() if m.interface == "Local/1001@agents/n")
    assert anna.state.in_call is False
    assert [e.member.in_call for e in events if e.kind == "member_state_changed"
            and e.member.interface == "Local/1001@agents/n"][-1] is False


def _status_lists(msgs):
    cut = next(i for i, m in enumerate(msgs) if m.get("ActionID") == "06_status_lists-11"
               and m.get("Event") == "StatusComplete")
    snap = PbxSnapshot.from_messages(
        list_answer(msgs, "06_status_lists-6") + list_answer(msgs, "06_status_lists-10")
        + list_answer(msgs, "06_status_lists-11"))
    return cut, snap


def test_when_resync_comes_while_a_call_talks_then_it_stays_answered_once():
    # Recording 06: Nikita (1012) talks to the first caller while the lists are taken;
    # QueueParams says Completed 0 (Asterisk counts a call when it ends).
    msgs = messages(recorded("06_status_lists"))
    cut, snap = _status_lists(msgs)
    tracker, _ = run(msgs[: cut + 1])
    assert tracker.queue("common").answered == 1
    tracker.resync(snap)
    assert tracker.queue("common").answered == 1
    tracker, _ = run(msgs[cut + 1:], tracker)
    assert tracker.queue("common").answered == 1  # and not again when it ends


def test_when_the_server_starts_cold_mid_call_then_resync_rebuilds_the_call_with_queue_and_agent():
    msgs = messages(recorded("06_status_lists"))
    cut, snap = _status_lists(msgs)
    events: list = []
    clock = FakeClock()
    clock.t = 1795332850.0
    tracker = Tracker(events.append, clock=clock)  # nothing seen before the lists
    changes = tracker.resync(snap)
    assert tracker.queue("common").answered == 1
    assert not [e for e in changes if e.kind == "call_started"]
    (answered,) = [e for e in changes if e.kind == "call_answered"]
    assert (answered.queue, answered.interface, answered.rebuilt) == (
        "common", "Local/1012@agents/n", True)
    assert answered.linkedid == "1795332843.24"
    offered = [e for e in changes if e.kind == "call_offered"]
    assert len(offered) == 2 and all(e.rebuilt for e in offered)
    (talking,) = [c for c in tracker.calls() if c.state == "talking"]
    assert (talking.queue, talking.interface) == ("common", "Local/1012@agents/n")
    seen = len(events)
    tracker, _ = run(msgs[cut + 1:], tracker)
    after = events[seen:]
    assert not [e for e in after if e.kind == "call_started"]
    done = [e for e in after if e.kind in ("agent_completed", "call_ended")
            and e.linkedid == "1795332843.24"]
    assert [(e.kind, e.queue, e.interface, e.reason, e.talk_time) for e in done] == [
        ("agent_completed", "common", "Local/1012@agents/n", "caller", 12.0),
        ("call_ended", "common", "Local/1012@agents/n", "caller", 12.0),
    ]
    assert tracker.calls() == () and tracker.member_channels == {}


def test_when_queue_times_out_then_it_is_a_timeout_and_a_hang_up_while_waiting_is_an_abandon():
    # Recording 08: Elena's Queue() times out at 7 s (QueueCallerAbandon, no HangupRequest
    # before it; the dialplan goes on); Alexey hangs up at 24 s (HangupRequest first).
    tracker, events = run(messages(recorded("08_concurrent")))
    number = {e.linkedid: e.caller_number for e in events if e.kind == "call_offered"}
    assert [(number[e.linkedid], e.wait) for e in events if e.kind == "call_abandoned"] == [
        ("+79120000021", 24.0)]
    left = {number[e.linkedid]: e.reason for e in events if e.kind == "caller_left_queue"}
    assert (left["+79120000025"], left["+79120000021"]) == ("timeout", "")
    q = tracker.queue("debt")
    assert (q.abandoned, q.timed_out) == (1, 1)
