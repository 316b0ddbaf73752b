"""The server's garbage-collector policy (ccs/heap.py): the young generations collected on a
clock, whatever CPython's allocation count says, and full collections only on their own clock."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import weakref

from ccs.heap import YoungCollector
from tests.helpers import until


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def _garbage_cycle() -> weakref.ref:
    node = Node()
    return weakref.ref(node)


async def _running(collector: YoungCollector) -> asyncio.Task:
    return asyncio.create_task(collector.run())


async def _stop(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_when_the_allocation_count_never_triggers_then_the_clock_still_frees_young_cycles():
    saved = gc.get_threshold()
    gc.set_threshold(1_000_000_000, 1, 100)  # CPython's own trigger out of reach
    task = await _running(YoungCollector(interval=0.02, full_every=3600))
    try:
        gone = _garbage_cycle()
        assert gone() is not None  # nothing collects it but a collection
        await until(lambda: gone() is None, timeout=2)
    finally:
        await _stop(task)
        gc.set_threshold(*saved)


async def test_full_collections_come_on_their_own_clock_only_and_the_thresholds_come_back():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    full: list[int] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    gc.callbacks.append(seen)
    collector = YoungCollector(interval=0.01, full_every=0.3)
    task = await _running(collector)
    try:
        await asyncio.sleep(0)  # the collector has started
        full.clear()
        # While it runs, allocation never starts a full collection by itself.
        assert gc.get_threshold()[2] >= 1_000_000
        junk = [[i] for i in range(50_000)]  # many times CPython's own count
        del junk
        await until(lambda: collector.collections >= 10, timeout=2)
        await until(lambda: collector.full_collections >= 1, timeout=2)
        assert len(full) == collector.full_collections
        # Most ticks are young and middle collections only.
        assert collector.collections > 5 * collector.full_collections
    finally:
        await _stop(task)
        gc.callbacks.remove(seen)
    assert gc.get_threshold() == (700, 10, 10)
    gc.set_threshold(*saved)
