"""Packets written on the client's websocket at once (features/agents/socket_writes.py).

Real aiohttp server with the agents' Socket.IO server and client manager (real Redis), and a real
python-socketio client in a thread of its own (its own event loop), so it can receive while the
server's loop is held.
"""
from __future__ import annotations

import asyncio
import threading
import time

import pytest
from aiohttp import web

from features.agents.socket_manager import JsonOnly, JsonPacket, PopRedisManager
from features.agents.sockets import GuardedServer
from tests.helpers import until

NAMESPACE = "/agent"


class ThreadClient:
    """A Socket.IO client on its own event loop in a thread: every event with its receipt time."""

    def __init__(self) -> None:
        import socketio

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.client = socketio.AsyncClient()
        self.got: list[tuple[float, str, dict]] = []
        for event in ("screen_pop", "state", "pop_update"):
            self.client.on(event, self._handler(event), namespace=NAMESPACE)

    def _handler(self, event: str):  # noqa: ANN202
        def on(data: dict) -> None:
            self.got.append((time.perf_counter(), event, data))
        return on

    def connect(self, url: str, room: str) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.client.connect(
            url, namespaces=[NAMESPACE], auth={"room": room}, transports=["websocket"]),
            self.loop).result(10)

    def close(self) -> None:
        if not self.thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.client.disconnect(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
async def served(redis_server, aiohttp_server):
    manager = PopRedisManager(redis_server.url, channel="socket-writes")
    sio = GuardedServer(async_mode="aiohttp", client_manager=manager, serializer=JsonPacket,
                        logger=False, engineio_logger=False)

    @sio.on("connect", namespace=NAMESPACE)
    async def connect(sid, environ, auth):  # noqa: ANN001 (python-socketio's handler)
        await sio.enter_room(sid, auth["room"], namespace=NAMESPACE)

    app = web.Application()
    sio.attach(app)
    server = await aiohttp_server(app)
    client = ThreadClient()
    await asyncio.to_thread(client.connect, str(server.make_url("/")), "agent:1")
    await until(lambda: sio.websockets, timeout=5)
    await asyncio.sleep(0.2)  # the connect's own packets written: the socket's writer is idle
    try:
        yield sio, manager, client
    finally:
        await asyncio.to_thread(client.close)
        await sio.shutdown()
        listener = getattr(manager, "thread", None)  # its Redis listener task
        if isinstance(listener, asyncio.Task):
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        await manager.redis.aclose()


async def test_when_the_pop_is_emitted_then_it_is_on_the_wire_before_the_event_loop_turns(served):
    """The emit returns with the packet written: a loop held right after it (the rest of an
    AMI chunk, a garbage collection) does not hold the pop back. Through engine.io's queue
    the packet waits for its writer task, which the held loop cannot run."""
    sio, manager, client = served
    assert manager.emit_now("screen_pop", JsonOnly({"call": "c1", "card": {"name": "Иванов"}}),
                            namespace=NAMESPACE, to="agent:1")
    time.sleep(0.5)  # the server's loop held, as by a long callback
    released = time.perf_counter()
    await until(lambda: client.got, timeout=5)
    received, event, data = client.got[0]
    assert (event, data) == ("screen_pop", {"call": "c1", "card": {"name": "Иванов"}})
    assert received < released


async def test_when_an_update_is_emitted_then_it_is_written_at_once_too(served):
    sio, manager, client = served
    await manager.emit("pop_update", JsonOnly({"call": "c1", "status": "answered"}),
                       namespace=NAMESPACE, to="agent:1")
    time.sleep(0.5)
    released = time.perf_counter()
    await until(lambda: client.got, timeout=5)
    assert client.got[0][1:] == ("pop_update", {"call": "c1", "status": "answered"})
    assert client.got[0][0] < released


async def test_when_packets_are_queued_then_one_written_at_once_never_passes_them(served):
    """Mixed with emits that go through engine.io's queue (not JSON-only payloads), the ones
    that could be written at once wait their turn: the client gets every one in order."""
    sio, manager, client = served
    total = 400
    for n in range(total):
        if n % 3 == 0:
            await sio.emit("state", {"n": n}, to="agent:1", namespace=NAMESPACE)  # queued
        elif n % 3 == 1:
            assert manager.emit_now("screen_pop", JsonOnly({"n": n}), namespace=NAMESPACE,
                                    to="agent:1")
        else:
            await manager.emit("pop_update", JsonOnly({"n": n}), to="agent:1",
                               namespace=NAMESPACE)
        if n % 50 == 0:
            await asyncio.sleep(0)  # let the writer wake now and then, mid-burst
    await until(lambda: len(client.got) == total, timeout=10)
    assert [data["n"] for _, _, data in client.got] == list(range(total))


async def test_when_the_client_is_gone_then_the_emit_falls_back_and_nothing_fails(served):
    sio, manager, client = served
    await asyncio.to_thread(client.close)
    await until(lambda: not sio.websockets, timeout=5)
    # No socket left in the room: nothing to write, and no error.
    assert manager.emit_now("screen_pop", JsonOnly({"n": 1}), namespace=NAMESPACE, to="agent:1")
    await manager.emit("pop_update", JsonOnly({"n": 2}), to="agent:1", namespace=NAMESPACE)
