"""Any order of a real call's events: never an exception, never a leaked call or entry."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from .replay import messages, recorded, run

EVENTS = {name: [m for m in messages(recorded(name)) if "Event" in m]
          for name in ("01_answered", "04_ring_no_answer", "09_transfer")}


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(EVENTS)), data=st.data())
def test_when_events_arrive_in_any_order_then_tracker_ends_clean(name, data):
    shuffled = data.draw(st.permutations(EVENTS[name]))
    tracker, _ = run(shuffled)
    assert tracker.rejected == 0
    # Every channel of these recordings hangs up; a hung-up channel is never adopted again.
    assert tracker.calls() == () and tracker.channels == {}
    assert tracker.member_channels == {}
    for q in tracker.queues():
        assert q.waiting == 0 and q.talking == 0
        assert all(m.ringing_for == "" and m.talking_for == "" for m in q.members)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_when_events_are_duplicated_then_counters_do_not_double(data):
    events = EVENTS["01_answered"]
    dup = data.draw(st.sampled_from([m for m in events if m["Event"] in (
        "AgentConnect", "AgentComplete", "QueueCallerJoin", "QueueCallerLeave", "Hangup")]))
    i = events.index(dup)
    tracker, out = run(events[: i + 1] + [dup] + events[i + 1:])
    assert tracker.queue("support").answered == 1
    assert [e.kind for e in out].count("call_ended") == 1
    assert [e.kind for e in out].count("agent_completed") == 1
    assert tracker.calls() == ()
