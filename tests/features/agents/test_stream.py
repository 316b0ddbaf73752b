"""The agents' stream across a change of leader."""
from __future__ import annotations

from features.agents.stream import AgentEventStream
from state.events import ReadinessFailed, ReadinessRequested
from state.redis_keys import RedisKeys

KEYS = RedisKeys("streamtest")


def _stream(redis_client) -> AgentEventStream:
    return AgentEventStream(redis_client, KEYS.agents_stream(),
                            cursor_key=KEYS.agents_stream_cursor())


async def test_when_an_entry_is_added_while_the_lease_moves_then_the_next_leader_reads_it(
        redis_client):
    first = _stream(redis_client)
    await first.add(ReadinessRequested(ts=1.0, agent_id=7, state="not_ready", reason="lunch"))
    after, events = await first.read("0-0", block_ms=10)
    assert [e.kind for e in events] == ["readiness_requested"]
    await first.save_cursor(after)  # the first leader handled it, then died
    await first.add(ReadinessFailed(ts=2.0, agent_id=7, state="not_ready", reason="lunch",
                                    error="pbx-refused", message="Interface not found"))
    second = _stream(redis_client)  # the next leader, another process
    _, events = await second.read(await second.start_id(), block_ms=10)
    assert [(e.kind, e.agent_id) for e in events] == [("readiness_failed", 7)]


async def test_when_no_leader_ever_ran_then_the_first_one_starts_at_the_end(redis_client):
    stream = _stream(redis_client)
    await stream.add(ReadinessRequested(ts=1.0, agent_id=3, state="ready"))
    _, events = await stream.read(await stream.start_id(), block_ms=10)
    assert events == []
