"""In-process event bus between the synchronous tracker and async consumers.

``publish`` never blocks and never awaits: callbacks run inline (they must be quick), queue
subscribers get the event put into a bounded deque. When a subscriber falls behind, its oldest
events are dropped and counted (``Subscription.dropped``): a slow board must not hold up the
screen pop of the next call, and the newest state is the one worth keeping.
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

E = TypeVar("E")


class Subscription(Generic[E]):
    """An async iterator of events; ``close()`` (or ``async with``) ends it."""

    def __init__(self, bus: EventBus[E], maxsize: int,
                 accept: Callable[[E], bool] | None = None) -> None:
        self._bus = bus
        self._items: deque[E] = deque()
        self._maxsize = maxsize
        # Checked before buffering: a consumer of a few kinds keeps only those, so the rest of
        # the PBX's traffic can never push one of them out of its buffer.
        self.accept = accept
        self._wakeup = asyncio.Event()
        self._closed = False
        self.dropped = 0

    def _put(self, event: E) -> None:
        if len(self._items) >= self._maxsize:
            self._items.popleft()
            self.dropped += 1
        self._items.append(event)
        self._wakeup.set()

    def get_nowait(self) -> E | None:
        return self._items.popleft() if self._items else None

    def __len__(self) -> int:
        return len(self._items)

    def __aiter__(self) -> AsyncIterator[E]:
        return self

    async def __anext__(self) -> E:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._items.popleft()

    def close(self) -> None:
        self._closed = True
        self._wakeup.set()
        self._bus._unsubscribe(self)

    async def __aenter__(self) -> Subscription[E]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class EventBus(Generic[E]):
    def __init__(self, maxsize: int = 10_000) -> None:
        self._maxsize = maxsize
        self._callbacks: list[Callable[[E], None]] = []
        self._subs: list[Subscription[E]] = []
        self.published = 0
        self.callback_errors = 0

    def subscribe(self, callback: Callable[[E], None] | None = None,
                  maxsize: int | None = None,
                  accept: Callable[[E], bool] | None = None) -> Subscription[E] | Callable[[], None]:
        """With a callback: call it inline for every event; returns an unsubscribe function.
        Without: return a Subscription (async iterator) with its own bounded buffer; call it
        from inside the running event loop."""
        if callback is not None:
            self._callbacks.append(callback)
            return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None
        sub: Subscription[E] = Subscription(self, maxsize or self._maxsize, accept)
        self._subs.append(sub)
        return sub

    def queue(self, maxsize: int | None = None,
              accept: Callable[[E], bool] | None = None) -> Subscription[E]:
        """A Subscription; with ``accept``, only the events it accepts are buffered."""
        sub = self.subscribe(maxsize=maxsize, accept=accept)
        assert isinstance(sub, Subscription)
        return sub

    def publish(self, event: E) -> None:
        self.published += 1
        for callback in tuple(self._callbacks):
            try:
                callback(event)
            except Exception:  # one broken consumer must not stop the tracker or the others
                self.callback_errors += 1
                log.exception("event bus: subscriber callback failed")
        for sub in self._subs:
            if sub.accept is None or sub.accept(event):
                sub._put(event)

    def _unsubscribe(self, sub: Subscription[E]) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    def status(self) -> dict[str, object]:
        return {"published": self.published, "subscribers": len(self._subs) + len(self._callbacks),
                "dropped": sum(s.dropped for s in self._subs),
                "callback_errors": self.callback_errors}
