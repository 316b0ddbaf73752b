"""A board flush of many rows is built a slice of time at a time (features/loop_slices.py):
every pop due meanwhile (an AMI chunk, a socket write) gets the event loop between two slices,
not after the whole flush."""
from __future__ import annotations

import asyncio
import itertools
import time
import uuid

import socketio

from features.supervisor.board_notifier import BoardNotifier, BoardSnapshot
from features.supervisor.board_schemas import AgentRow, Board


async def test_when_hundreds_of_rows_are_due_then_the_loop_runs_other_work_between_slices(
        redis_client):
    order: list[str] = []

    def row(agent_id: int) -> AgentRow:
        order.append("row")
        spin = time.perf_counter() + 0.0002  # a row that costs 0.2 ms, as a queue tile does
        while time.perf_counter() < spin:
            pass
        return AgentRow(agent_id=agent_id, login=f"a{agent_id}", full_name=f"Agent {agent_id}",
                        state="ready", queues=["support"])

    async def nothing() -> list:
        return []

    key = f"t{uuid.uuid4().hex[:8]}:supervisor:board"
    notifier = BoardNotifier(
        socketio.AsyncServer(async_mode="aiohttp"), BoardSnapshot(redis_client, key),
        board=Board, head=Board, queue_names=list, agent_ids=list, tile=lambda _: None,
        row=row, abandoned=nothing, callbacks=nothing, push_per_second=4)

    async def other_work() -> None:  # what else the loop has to run meanwhile
        while True:
            order.append("other")
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    try:
        await notifier._push([("agent", i) for i in range(1, 201)])
    finally:
        other.cancel()
    assert order.count("row") == 200
    # Slices of half a millisecond: two or three such rows, not a count of them.
    longest = max(len(list(run)) for what, run in itertools.groupby(order) if what == "row")
    assert longest <= 8
    assert notifier.pushes == 1  # still one frame for the whole flush
    assert len(await redis_client.hkeys(key)) == 200
    await redis_client.delete(key)
