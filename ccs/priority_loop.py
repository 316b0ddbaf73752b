"""An event loop that reads the PBX's socket first and keeps its turns short.

Under load the server's loop is busy about three quarters of the time with hundreds of short
callbacks a turn (PostgreSQL and Redis replies, wrap-up timers, websocket writes, the board):
a turn takes ~10 ms, and an ``AgentCalled`` that arrives during one is read only after the
whole turn, however little of it concerns the pop (BENCHMARKS.md, issue 9). Neither uvloop nor
the standard library's loop can put one socket ahead of the rest: both run every ready callback
of a turn before they poll again.

:class:`PriorityLoop` is the standard library's selector loop with two changes:

- a turn stops running ready callbacks once ``budget`` seconds have gone (at least one runs);
  the rest run first in the next turn, in the same order, after a poll that does not block,
  so the loop polls for I/O about every ``budget`` seconds however much work is queued;
- the read callbacks of the file descriptors given to :meth:`prioritize_reader` (the AMI
  link's socket) go to the front of the ready queue instead of its end.

So the pop, which is handled inside the AMI socket's read (``features/agents/notifier.py``),
waits for the callback running when its bytes arrive, not for a whole turn. Nothing else
changes order: ready callbacks still run in the order they were queued, only across more turns.

Public API: ``PriorityLoop(budget=0.001)``, ``loop.prioritize_reader(fd)``,
``loop.unprioritize_reader(fd)`` (``cti/connection.py`` calls them when the loop has them).
"""
from __future__ import annotations

import asyncio
import heapq
import selectors
import time
from asyncio import base_events
from typing import Any

TURN_BUDGET = 0.001


class PriorityLoop(asyncio.SelectorEventLoop):
    def __init__(self, budget: float = TURN_BUDGET) -> None:
        super().__init__()
        self.budget = budget
        self._priority_fds: set[int] = set()
        self.cut_turns = 0  # turns that stopped at the budget with callbacks left

    def prioritize_reader(self, fd: int) -> None:
        self._priority_fds.add(fd)

    def unprioritize_reader(self, fd: int) -> None:
        self._priority_fds.discard(fd)

    def _process_events(self, event_list: list[tuple[Any, int]]) -> None:
        # BaseSelectorEventLoop._process_events, the prioritized readers put first.
        for key, mask in event_list:
            fileobj, (reader, writer) = key.fileobj, key.data
            if mask & selectors.EVENT_READ and reader is not None:
                if reader._cancelled:
                    self._remove_reader(fileobj)
                elif key.fd in self._priority_fds:
                    self._ready.appendleft(reader)
                else:
                    self._add_callback(reader)
            if mask & selectors.EVENT_WRITE and writer is not None:
                if writer._cancelled:
                    self._remove_writer(fileobj)
                else:
                    self._add_callback(writer)

    def _run_once(self) -> None:
        # BaseEventLoop._run_once (CPython 3.11-3.13) with the budget on running callbacks.
        scheduled = self._scheduled
        sched_count = len(scheduled)
        if (sched_count > base_events._MIN_SCHEDULED_TIMER_HANDLES and
                self._timer_cancelled_count / sched_count >
                base_events._MIN_CANCELLED_TIMER_HANDLES_FRACTION):
            kept = []
            for handle in scheduled:
                if handle._cancelled:
                    handle._scheduled = False
                else:
                    kept.append(handle)
            heapq.heapify(kept)
            self._scheduled = scheduled = kept
            self._timer_cancelled_count = 0
        else:
            while scheduled and scheduled[0]._cancelled:
                self._timer_cancelled_count -= 1
                handle = heapq.heappop(scheduled)
                handle._scheduled = False

        ready = self._ready
        timeout = None
        if ready or self._stopping:
            timeout = 0
        elif scheduled:
            timeout = min(max(0, scheduled[0]._when - self.time()),
                          base_events.MAXIMUM_SELECT_TIMEOUT)

        event_list = self._selector.select(timeout)
        self._process_events(event_list)
        event_list = None

        end_time = self.time() + self._clock_resolution
        while scheduled:
            handle = scheduled[0]
            if handle._when >= end_time:
                break
            handle = heapq.heappop(scheduled)
            handle._scheduled = False
            ready.append(handle)

        # Only the callbacks queued before this point, as asyncio's own loop; and no more of
        # them than fit in the budget: the rest wait at the front for the next turn.
        ntodo = len(ready)
        deadline = time.perf_counter() + self.budget
        for done in range(1, ntodo + 1):
            handle = ready.popleft()
            if handle._cancelled:
                continue
            handle._run()
            if done < ntodo and time.perf_counter() >= deadline:
                self.cut_turns += 1
                break
        handle = None

