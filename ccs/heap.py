"""The garbage collector's policy for the server: its pauses stay off the screen pop.

CPython starts a young collection when the *net* count of new container objects passes a
threshold, and every freed container counts down, whatever its age. Under steady load, the
server frees old objects about as fast as it makes new ones (each Socket.IO session re-creates
its writer's and pinger's waiting coroutines at every packet and ping; each call frees what the
previous one left), so the count hovers while the young generation itself grows: at 100 calls/s
it held 40,000-160,000 objects when a collection finally came, a 27-72 ms pause every few
seconds (the loaded pops' p99, BENCHMARKS.md). ``YoungCollector`` collects it on a clock
instead, so each pause covers a tenth of a second's survivors (at 100 calls/s mostly under
5 ms, the longest 11 ms). A shorter clock does not make the pauses shorter: most of what a
collection scans is the young objects alive at that moment (every session's waiting writer and
pinger), not what the clock let pile up; at 43 ms the pauses' p99 stayed ~6 ms, twice as many.

Public API: ``settle_heap()`` once the server is up; ``YoungCollector(interval, full_every)``
with ``await run()`` (cancel to stop).
"""
from __future__ import annotations

import asyncio
import gc

GC_YOUNG_THRESHOLD = 10_000  # CPython's default is 700
GC_MIDDLE_THRESHOLD = 1  # CPython's default is 10
GC_OLD_THRESHOLD = 100  # CPython's default is 10


def settle_heap() -> None:
    """Everything alive once the server is up (modules, settings, the agents' maps, pools)
    stays alive: ``gc.freeze`` takes it out of every later collection, so a full collection
    scans only what came after (one took 178 ms at 100 calls/s with the default thresholds).

    The middle generation is collected after every second young collection instead of every
    eleventh: it holds the objects of the calls in progress (it frees nothing, it moves them
    on), and its pause grows with what it holds. The old generation's count is raised in step,
    so full collections come no more often than before."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, GC_MIDDLE_THRESHOLD, GC_OLD_THRESHOLD)


class YoungCollector:
    """Collects the young and middle generations every ``interval`` seconds, and all of them
    every ``full_every`` seconds. CPython's own young trigger stays on (a burst of allocations
    between two ticks is still collected at once); its trigger of full collections is moved
    out of reach while this runs, as each tick would otherwise count towards one: a full
    collection scans every object made since start-up (about 200 ms with 2,000 agents
    connected), so it comes on this clock, not whenever a count says."""

    # Not a tenth of a second: the event-loop lag probe's own period (agent_api/loop_lag.py),
    # which would then wake right behind every collection and report it as the loop's lag.
    def __init__(self, interval: float = 0.087, full_every: float = 600.0) -> None:
        self.interval = interval
        self.full_every = full_every
        self.collections = 0
        self.full_collections = 0

    async def run(self) -> None:
        young, middle, old = gc.get_threshold()
        gc.set_threshold(young, middle, 1_000_000_000)
        loop = asyncio.get_running_loop()
        next_full = loop.time() + self.full_every
        try:
            while True:
                await asyncio.sleep(self.interval)
                if loop.time() >= next_full:
                    gc.collect()
                    self.full_collections += 1
                    next_full = loop.time() + self.full_every
                else:
                    gc.collect(1)
                self.collections += 1
        finally:
            gc.set_threshold(young, middle, old)
