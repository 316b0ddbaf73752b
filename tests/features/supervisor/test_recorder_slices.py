"""A burst of events before the call recorder's next turn is applied a slice of time at a time
(features/loop_slices.py): the pops due meanwhile get the event loop between two slices, not
after the whole batch."""
from __future__ import annotations

import asyncio
import itertools
import time

from cti.bus import EventBus
from features.supervisor.records import CallRecorder
from features.supervisor.settings import SupervisorSettings
from state.events import AgentStateChanged, DomainEvent

SETTINGS = SupervisorSettings()  # built outside the loop: it looks its time zone up on disk


async def test_when_hundreds_of_events_wait_then_the_loop_runs_other_work_between_slices(
        sup_pool, sup_redis, sup_keys):
    bus: EventBus[DomainEvent] = EventBus()
    recorder = CallRecorder(sup_pool, sup_redis, sup_keys, SETTINGS,
                            lambda _interface: None, bus=bus)
    order: list[str] = []
    apply = recorder.book.apply

    def recorded_apply(event) -> None:  # the recorder's own book, counted as it applies
        order.append("event")
        spin = time.perf_counter() + 0.0001  # as an event of a busy call book would cost
        while time.perf_counter() < spin:
            pass
        apply(event)

    recorder.book.apply = recorded_apply  # type: ignore[method-assign]
    await recorder.start()

    async def other_work() -> None:
        while True:
            order.append("other")
            await asyncio.sleep(0)

    try:
        for i in range(300):  # all published before the recorder's next turn
            bus.publish(AgentStateChanged(ts=1.0, agent_id=i + 1, view={"state": "ready"}))
        other = asyncio.create_task(other_work())
        await recorder.idle()
        other.cancel()
    finally:
        await recorder.stop()
    assert order.count("event") == 300
    # Slices of half a millisecond: about five such events, not a count of them.
    longest = max(len(list(run)) for what, run in itertools.groupby(order) if what == "event")
    assert longest <= 15
