"""python-socketio's Redis client manager and packet, minus two costs the screen pop paid on
every emit (measured: a pop of a 6 KB card cost about 1 ms of CPU through
``AsyncRedisManager``, most of it in these two):

- ``Packet.data_is_binary`` walks every value of the payload looking for ``bytes``, twice per
  emit (once for the Redis publish, once for the local packet): a card is several hundred
  values. A payload wrapped in :class:`JsonOnly` (built from JSON, so it holds no bytes) skips
  the walk; any other payload is walked as before.
- Every process receives its own publications back and decodes them (JSON) only to drop them
  (``host_id`` is its own). :class:`PopRedisManager` drops them before decoding.
- Each publication was one Redis command awaited by the emit. :class:`PopRedisManager` queues
  them and a task sends what is queued in one pipeline, in order; the emit returns once this
  process's own sockets are served.
- The payload was encoded twice (the local packet, the Redis message) by the standard library's
  encoder, and the local packet went to each socket through a task of its own. A
  :class:`JsonOnly` payload is encoded once, by orjson (several times faster, and UTF-8 rather
  than escaped code points for the Cyrillic of a card), the text spliced into both, and handed to
  the room's sockets directly: written on the socket's websocket at once when its writer is
  idle (``features/agents/socket_writes.py``: engine.io's queue costs three turns of the event
  loop), else put on the socket's own queue; nothing waits.

Everything else (the message on the Redis channel, the delivery to other processes, rooms,
callbacks) is python-socketio's own; ``tests/features/agents/test_two_processes.py`` checks the
delivery across processes.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from features.agents.socket_writes import write_now
from state.json_text import json_text

log = logging.getLogger(__name__)


class JsonOnly(dict):
    """A payload known to hold no ``bytes`` (built from JSON): sent as a plain dict."""


class JsonPacket(socketio.packet.Packet):
    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        if isinstance(data, JsonOnly):
            return False
        return super().data_is_binary(data)


def _event_packet(namespace: str, event_text: str, encoded: str) -> eio_packet.Packet:
    """One Socket.IO EVENT packet, in its Engine.IO MESSAGE, from the encoded name and data."""
    head = str(sio_packet.EVENT) + ("" if namespace == "/" else namespace + ",")
    return eio_packet.Packet(eio_packet.MESSAGE, f"{head}[{event_text},{encoded}]")


class PopRedisManager(socketio.AsyncRedisManager):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._outbox: list[str] = []
        self._flusher: asyncio.Task[None] | None = None
        self.published = 0
        self.publish_errors = 0

    async def _publish(self, data: Any) -> None:
        """Queue the message for the other processes and return: a task publishes what is
        queued in one pipeline (one round trip for every emit of a loop iteration), in order.
        The emit's own process was served before this (``_handle_emit``)."""
        self._queue_text(self.json.dumps(data))

    def _queue_text(self, message: str) -> None:
        self._outbox.append(message)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush(), name="socketio-publish")

    async def _flush(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox, []
            for attempt in (1, 2):  # as python-socketio's own _publish: once more, then drop
                try:
                    if not self.connected:
                        self._redis_connect()
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for message in batch:
                            pipe.publish(self.channel, message)
                        await pipe.execute()
                    self.published += len(batch)
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.connected = False
                    if attempt == 2:
                        self.publish_errors += len(batch)
                        log.error("Socket.IO messages to other processes lost (%d): %s",
                                  len(batch), type(exc).__name__)

    async def emit(self, event: str, data: Any, namespace: str | None = None,
                   room: str | None = None, skip_sid: Any = None, callback: Any = None,
                   to: str | None = None, **kwargs: Any) -> None:
        if not isinstance(data, JsonOnly) or callback is not None or kwargs.get("ignore_queue"):
            await super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid,
                               callback=callback, to=to, **kwargs)
            return
        namespace = namespace or "/"
        room = to or room
        encoded = json_text(data)
        event_text = json_text(event)
        await self._deliver(namespace, room, skip_sid, event_text, encoded)
        self._queue_message(event_text, encoded, namespace, room, skip_sid)

    def emit_now(self, event: str, data: JsonOnly, *, namespace: str, to: str) -> bool:
        """:meth:`emit` without a suspension point, for the screen pop: the packet is put on
        the queue of each socket of the room in this process (what engine.io's own ``send``
        does once it has checked the socket, which is all it awaits) and the message for the
        other processes queued. False, with nothing sent, when a socket of the room is closing
        or its client stopped pinging: :meth:`emit` deals with those."""
        eio = self.server.eio
        sockets = []
        if namespace in self.rooms:
            for _sid, eio_sid in self.get_participants(namespace, to):
                sock = eio.sockets.get(eio_sid)
                if not self._open(sock):
                    return False
                sockets.append(sock)
        encoded = json_text(data)
        event_text = json_text(event)
        if sockets:
            eio_pkt = _event_packet(namespace, event_text, encoded)
            text = eio_pkt.encode()
            for sock in sockets:
                if not self._written(sock, text):
                    sock.queue.put_nowait(eio_pkt)
        self._queue_message(event_text, encoded, namespace, to, None)
        return True

    def _open(self, sock: Any) -> bool:
        """The engine.io socket is there, not closed, and its client still pinging."""
        return sock is not None and not sock.closed and not (
            sock.last_ping and time.time() - sock.last_ping > self.server.eio.ping_timeout)

    def _written(self, sock: Any, text: str) -> bool:
        """The encoded packet written on the socket's websocket at once (its writer idle)."""
        websockets = getattr(self.server, "websockets", None)
        websocket = websockets.get(sock.sid) if websockets else None
        if websocket is None:
            return False
        try:
            return write_now(sock, websocket, text)
        except Exception as exc:  # the connection is going: the queue's writer finds out
            log.info("websocket write declined: %s", type(exc).__name__)
            return False

    def _queue_message(self, event_text: str, encoded: str, namespace: str, room: Any,
                       skip_sid: Any) -> None:
        # AsyncPubSubManager.emit's message, spliced from the one encoding (host_id last:
        # _listen drops our own by that ending).
        self._queue_text(
            f'{{"method": "emit", "event": {event_text}, "data": [{encoded}], '
            f'"binary": false, "namespace": {json_text(namespace)}, "room": {json_text(room)}, '
            f'"skip_sid": {json_text(skip_sid)}, "callback": null, '
            f'"host_id": {json_text(self.host_id)}}}')

    async def _deliver(self, namespace: str, room: Any, skip_sid: Any, event_text: str,
                       encoded: str) -> None:
        """AsyncManager.emit without a callback, from the encoded payload: one Socket.IO EVENT
        packet for every socket of the room in this process."""
        if namespace not in self.rooms:
            return
        eio_pkt = _event_packet(namespace, event_text, encoded)
        text = eio_pkt.encode()
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        eio = self.server.eio
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            sock = eio.sockets.get(eio_sid)
            # A socket closing or past its ping timeout is left to engine.io's send (it closes it).
            if self._open(sock) and self._written(sock, text):
                continue
            await self.server._send_eio_packet(eio_sid, eio_pkt)

    async def _listen(self):  # type: ignore[override]
        # Our own messages end with our host id (the message dict's last key): dropped before
        # they are decoded. A message of another form is decoded and handled as before.
        own = f'"host_id": "{self.host_id}"}}'.encode()
        async for message in super()._listen():
            if isinstance(message, bytes) and message.endswith(own):
                continue
            yield message
