"""The in-process event bus (cti/bus.py)."""
from __future__ import annotations

import asyncio

from cti.bus import EventBus
from cti.tracker import Tracker

from .replay import messages, recorded


async def test_when_subscriber_is_slow_then_oldest_events_are_dropped_and_counted():
    bus: EventBus[int] = EventBus(maxsize=3)
    sub = bus.queue()
    for i in range(10):
        bus.publish(i)
    assert sub.dropped == 7
    got = [await sub.__anext__() for _ in range(3)]
    assert got == [7, 8, 9]
    sub.close()


async def test_when_tracker_publishes_then_async_subscriber_receives_in_order():
    bus = EventBus()
    sub = bus.queue()
    seen = []
    unsubscribe = bus.subscribe(seen.append)
    tracker = Tracker(bus.publish)

    async def consume():
        return [e async for e in sub]

    recording = await asyncio.to_thread(messages, recorded("01_answered"))
    task = asyncio.create_task(consume(), name="consume")
    for m in recording:
        tracker.apply(m)
    sub.close()
    got = await task
    assert got == seen and got[-1].kind == "member_state_changed"
    unsubscribe()
    bus.publish(got[0])
    assert len(seen) == len(got)


def test_when_a_callback_raises_then_other_subscribers_still_get_the_event():
    bus: EventBus[str] = EventBus()
    seen = []

    def broken(_e):
        raise RuntimeError("consumer bug")

    bus.subscribe(broken)
    bus.subscribe(seen.append)
    bus.publish("x")
    assert seen == ["x"] and bus.status()["callback_errors"] == 1


async def test_when_a_subscription_accepts_few_kinds_then_other_traffic_never_pushes_them_out():
    from cti.bus import EventBus

    bus: EventBus[int] = EventBus()
    evens = bus.queue(maxsize=3, accept=lambda n: n % 2 == 0)
    everything = bus.queue(maxsize=3)
    bus.publish(2)
    for n in range(1, 1000, 2):  # a flood of odd numbers
        bus.publish(n)
    assert evens.get_nowait() == 2 and evens.dropped == 0
    assert everything.dropped == 498
