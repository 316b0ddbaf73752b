"""Test helpers: waiting without sleeping blind (poll a condition until it holds or time runs
out), and a database copied from a template."""
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


async def create_database_from(admin, name: str, template: str) -> None:
    """``CREATE DATABASE name TEMPLATE template``, retried while the template is still "being
    accessed by other users": the backend of the connection that migrated it exits a moment
    after the client has closed it (seen on a loaded machine)."""
    import asyncpg

    for attempt in range(50):
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            return
        except asyncpg.ObjectInUseError:
            if attempt == 49:
                raise
            await asyncio.sleep(0.1)
