"""The tracker fed by the simulator reaches the same verdicts as when fed by the real Asterisk
recordings (tests/cti/replay.py and the tracker's own event keys are reused, not copied)."""
from __future__ import annotations

from collections import Counter

import asyncio

import pytest

from .replay import messages, recorded, run
from .test_replay_recorded import key
from .test_simulator_recordings import replay


def verdicts(events) -> Counter:
    """Event keys without what differs between two runs by nature: ids, whole-second times."""
    out = Counter()
    for e in events:
        k = key(e)
        if k[0] in ("call_started", "pbx_booted"):
            continue
        if k[0] == "originate_result":
            k = (k[0], k[2])
        elif k[0] in ("call_answered", "agent_completed", "call_ended", "call_abandoned",
                      "agent_ring_no_answer"):
            k = tuple(v for v in k if not isinstance(v, float) and not isinstance(v, int))
        out[tuple(tuple(sorted(v.items())) if isinstance(v, dict) else v for v in k)] += 1
    return out


@pytest.mark.parametrize("name", ["01_answered", "02_agent_hangs_up", "03_abandon",
                                  "04_ring_no_answer", "05_member_management",
                                  "07_originate_outcomes"])
async def test_when_tracker_reads_the_simulator_then_verdicts_match_the_recording(
        sim, raw_client, name):
    client = await replay(sim, raw_client, name)
    sim_tracker, sim_events = run(client.messages())
    rec_tracker, rec_events = run(await asyncio.to_thread(messages, recorded(name)))
    assert verdicts(sim_events) == verdicts(rec_events)
    assert sim_tracker.calls() == ()
    for queue in rec_tracker.queues():
        if queue.name not in sim.pbx.queues:
            continue
        mine = sim_tracker.queue(queue.name)
        assert mine is not None
        assert (mine.waiting, mine.talking, mine.answered, mine.abandoned) == \
            (queue.waiting, queue.talking, queue.answered, queue.abandoned)
        assert {(m.interface, m.state.paused, m.state.calls_taken) for m in mine.members} == \
            {(m.interface, m.state.paused, m.state.calls_taken) for m in queue.members}
