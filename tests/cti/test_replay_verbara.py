"""The verbara-sdk Asterisk 22.9.0 captures: the queue-shapes verdict table of the README."""
from __future__ import annotations

from collections import Counter

from .replay import VERBARA, messages, run


def test_when_queue_shapes_replay_then_connects_and_abandons_match_the_table():
    tracker, events = run(messages(VERBARA / "queue-shapes-asterisk-22.9.0.raw"))
    # Table: L P P2 PI PD A AO F T O connect (10); XC AX X1 X2 X3 O abandon (6).
    assert len([e for e in events if e.kind == "call_answered"]) == 10
    assert len([e for e in events if e.kind == "call_abandoned"]) == 6
    offered = Counter(e.queue for e in events if e.kind == "call_offered")
    assert sum(offered.values()) == 16
    assert offered["q-noans"] == 4  # X1, X2, X3, O's first visit
    transfers = [e for e in events if e.kind == "call_transferred"]
    assert [t.how for t in transfers] == ["blind"]
    assert tracker.calls() == () and tracker.member_channels == {}
    for q in tracker.queues():
        assert (q.waiting, q.talking) == (0, 0)


def test_when_queue_reload_replays_then_requeued_callers_are_answered_once_each():
    tracker, events = run(messages(VERBARA / "queue-reload-asterisk-22.9.0.raw"))
    answered = [e for e in events if e.kind == "call_answered"]
    assert len(answered) == 4 and {e.hold_time for e in answered} == {10.0}
    assert len([e for e in events if e.kind == "call_abandoned"]) == 3
    assert len([e for e in events if e.kind == "call_offered"]) == 7
    assert tracker.calls() == ()
    assert tracker.queue("q-late").waiting == 0


def test_when_snapshots_are_taken_mid_wait_then_resync_finds_the_model_already_right():
    from cti.snapshot import PbxSnapshot
    from cti.tracker import Tracker

    from .replay import FakeClock

    msgs = messages(VERBARA / "queue-reload-asterisk-22.9.0.raw")
    events: list = []
    tracker = Tracker(events.append, clock=FakeClock())
    checked = 0
    for m in msgs:
        tracker.apply(m)
        action = m.get("ActionID", "")
        if m.get("Event") != "QueueStatusComplete" or not action.endswith("-qs"):
            continue
        prefix = action[: -len("qs")]
        lists = [x for x in msgs if x.get("ActionID") in (prefix + "st", action) and "Event" in x]
        snap = PbxSnapshot.from_messages(lists)
        waiting = {(e.queue, e.uniqueid) for e in snap.entries}
        assert {(q.name, e.uniqueid) for q in tracker.queues() for e in q.entries} == waiting
        changes = tracker.resync(snap)
        assert [e for e in changes if e.kind in ("call_ended", "call_offered",
                                                 "caller_left_queue")] == []
        checked += 1
    assert checked == 5
    assert tracker.calls() == ()
