"""Every capture file, whole and with its head cut off (we joined a running PBX)."""
from __future__ import annotations

import pytest

from .replay import all_capture_files, capture_id, messages, run

FILES = all_capture_files()
CUTS = (0, 1, 3, 10, 25, 60)


def _ends_with_all_hangups(msgs) -> bool:
    opened = {m["Uniqueid"] for m in msgs if m.get("Event") == "Newchannel" and "Uniqueid" in m}
    closed = {m["Uniqueid"] for m in msgs if m.get("Event") == "Hangup" and "Uniqueid" in m}
    return bool(opened) and opened <= closed


def test_when_captures_are_listed_then_every_source_is_there():
    names = {capture_id(p).split("/")[0] for p in FILES}
    assert names == {"asterisk-22-recorded", "cacofonisk", "cacofonisk-release-0.4", "panoramisk",
                     "verbara-sdk"}
    assert len(FILES) >= 76


@pytest.mark.parametrize("path", FILES, ids=capture_id)
def test_when_head_of_capture_is_dropped_then_tracker_survives_and_leaks_nothing(path):
    msgs = messages(path)
    assert msgs, "a capture parses to at least one message"
    events_only = [m for m in msgs if "Event" in m]
    for cut in CUTS:
        if cut and cut >= len(events_only):
            break
        tail = events_only[cut:]
        tracker, _ = run(tail)
        assert tracker.rejected == 0
        if _ends_with_all_hangups(events_only):
            assert tracker.calls() == (), f"cut {cut}: calls left"
            assert tracker.channels == {} and tracker.member_channels == {}
            for q in tracker.queues():
                assert q.waiting == 0 and q.talking == 0, f"cut {cut}: {q.name}"
