"""Long loops in leader work, cut into slices of a fraction of a millisecond.

A board flush or a batch of the call recorder runs for tens of milliseconds at 100 calls/s;
as one step of its task it holds the event loop all that time, and every AMI chunk, pop and
socket write due meanwhile waits behind it. Counting items is no measure (a queue tile costs
about 13 times an agent row), so a slice is cut by the clock.

Public API: ``TimeSlice(budget=0.0005)``; ``await slice.pause_if_due()`` between items: yields
one turn of the loop once ``budget`` seconds of work have passed since the last yield.
"""
from __future__ import annotations

import asyncio
import time

SLICE_SECONDS = 0.0005


class TimeSlice:
    def __init__(self, budget: float = SLICE_SECONDS) -> None:
        self.budget = budget
        self.pauses = 0
        self._until = time.perf_counter() + budget

    async def pause_if_due(self) -> None:
        if time.perf_counter() >= self._until:
            await asyncio.sleep(0)
            self.pauses += 1
            self._until = time.perf_counter() + self.budget
