"""Waiting without sleeping blind: poll a condition until it holds or time runs out; and busy
work that holds the event loop as a long callback would (blockbuster forbids ``time.sleep``)."""
from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def until(
    condition: Callable[[], T | Awaitable[T]], timeout: float = 5.0, interval: float = 0.02
) -> T:
    """Return the first truthy value of ``condition()``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = condition()
        if inspect.isawaitable(last):
            try:  # a check that hangs fails here, named, instead of at the suite's timeout
                last = await asyncio.wait_for(last, max(deadline - time.monotonic(), 0) + 5)
            except TimeoutError:
                raise AssertionError(f"the condition itself hung past {timeout}s") from None
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")
        await asyncio.sleep(interval)


def spin(seconds: float) -> None:
    """Hold the thread (and its event loop) for ``seconds`` of wall clock without sleeping."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass
