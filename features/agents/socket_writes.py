"""A packet written to a client's websocket at once, when nothing is queued before it.

engine.io hands every packet to a socket's queue, and the socket's writer task takes it from
there: the queue's getter task, ``asyncio.wait_for``'s waiter and the writer each wake in a turn
of the event loop of their own, so a packet reaches the wire three turns after it was sent, each
turn behind everything else that became ready meanwhile. Measured on the screen-pop benchmark:
3-4 ms from the emit to the websocket when idle, 33 ms (p50) and 89 ms (p99) at 100 calls/s,
against 0.5 ms and 6 ms from the AMI chunk to the emit.

:func:`write_now` writes the packet on the websocket itself when the socket's writer is idle
(waiting on its empty queue: nothing is queued or on its way to the wire, so nothing it writes
later can pass the packet, and the packet cannot pass anything) and says False otherwise, when
the caller queues it as engine.io would. What it needs of engine.io (the socket's queue and its
upgrade flags; the websocket object of the socket, recorded by :class:`RecordingWebSocket` when
the driver is built for the socket) is checked, and anything missing makes it decline.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Generator
from typing import Any

from engineio.async_drivers.aiohttp import WebSocket as AiohttpWebSocket

log = logging.getLogger(__name__)


def websocket_driver(registry: dict[str, Any]) -> type[AiohttpWebSocket]:
    """engine.io's aiohttp websocket driver that records itself in ``registry`` under the
    engine.io session id while the websocket is open."""

    class RecordingWebSocket(AiohttpWebSocket):
        async def __call__(self, environ: dict) -> Any:
            # The handler is the socket's bound _websocket_handler: its socket is the owner.
            sock = getattr(self.handler, "__self__", None)
            sid = getattr(sock, "sid", None)
            if sid is not None:
                registry[sid] = self
            try:
                return await super().__call__(environ)
            finally:
                if sid is not None and registry.get(sid) is self:
                    del registry[sid]

    return RecordingWebSocket


def writer_idle(sock: Any) -> bool:
    """The socket's websocket writer waits on its empty queue: nothing sent before is still on
    its way (a packet stays in the queue until the writer wakes and takes it)."""
    queue = getattr(sock, "queue", None)
    getters = getattr(queue, "_getters", None)
    if queue is None or getters is None or not queue.empty():
        return False
    if not getattr(sock, "upgraded", False) or getattr(sock, "upgrading", True):
        return False
    return any(not waiter.done() for waiter in getters)


def write_now(sock: Any, websocket: Any, text: str) -> bool:
    """Write an encoded engine.io packet on the socket's websocket now; False (nothing written)
    when its writer is not idle or the websocket is not open."""
    response = getattr(websocket, "_sock", None)
    if response is None or response.closed or not writer_idle(sock):
        return False
    run_now(response.send_str(text))
    return True


def run_now(coro: Coroutine[Any, Any, Any]) -> asyncio.Task | None:
    """Run a coroutine up to its first suspension now, and the rest (if it suspends: flow
    control, a large compressed frame) in a task. aiohttp writes the frame before either."""
    try:
        first = coro.send(None)
    except StopIteration:
        return None
    task = asyncio.ensure_future(_finish(coro, first))
    task.add_done_callback(_log_failure)
    return task


async def _finish(coro: Coroutine[Any, Any, Any], first: Any) -> Any:
    return await _Resumed(coro, first)


class _Resumed:
    """Awaiting this goes on with a coroutine that already yielded ``first`` (a future the
    task then waits on), as ``yield from`` would have."""

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self.coro, self.first = coro, first

    def __await__(self) -> Generator[Any, Any, Any]:
        yielded = self.first
        while True:
            try:
                value = yield yielded
            except BaseException as exc:  # thrown in by the task (a cancel)
                try:
                    yielded = self.coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    yielded = self.coro.send(value)
                except StopIteration as stop:
                    return stop.value


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        # The connection went away mid-write: its socket's own reader sees that and closes it.
        log.info("websocket write failed: %s", type(task.exception()).__name__)
