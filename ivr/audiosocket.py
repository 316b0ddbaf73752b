"""AudioSocket server: the caller's audio (and DTMF) from Asterisk's ``AudioSocket()`` application.

Wire format (Asterisk's res_audiosocket): 1 kind byte, a 16-bit big-endian payload length, the
payload. Kinds: 0x00 hangup, 0x01 call UUID (16 bytes, always the first frame), 0x03 one ASCII
DTMF digit, 0x10 signed linear 16-bit 8 kHz mono audio, 0xff error.

The flow registers the UUID it is about to pass to ``EXEC AudioSocket`` with :meth:`expect` and
gets an :class:`AudioSession`; when Asterisk connects with that UUID, frames are delivered to the
session as events through a bounded queue, so a slow recognizer pushes back on the TCP stream
instead of growing memory. A connection with an unknown UUID, an unknown kind, a payload larger
than ``max_frame_bytes`` (refused from its header alone, the payload is never read) or a
silent peer gets an error frame and a clean close; a truncated frame just closes. Each
connection is its own task, so one bad peer never stops the others.

Asterisk ends ``AudioSocket()`` with ``200 result=-1`` after 2 s without a frame in *either*
direction, and a caller leg without media (``transmit_silence = no``, a quiet trunk) sends none
(tests/data/agi/asterisk-22-recorded, 05). Frames from the server alone keep it going, so while
the flow listens (:meth:`AudioSession.keep_alive`) the server sends 20 ms of silence every 20 ms
whenever it is not sending audio of its own.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
import uuid
from dataclasses import dataclass

from ivr.tcp_server import ConnectionServer

__all__ = [
    "AudioSocketServer",
    "AudioSession",
    "Audio",
    "Dtmf",
    "Ended",
    "Kind",
    "ErrorCode",
    "encode_frame",
    "FRAME_20MS",
]

log = logging.getLogger(__name__)

FRAME_20MS = 320  # bytes of 8 kHz 16-bit mono in 20 ms: what Asterisk sends per frame
_SILENCE = bytes(FRAME_20MS)


class Kind:
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    SLIN = 0x10
    ERROR = 0xFF


class ErrorCode:
    """Payload byte of the error frames this server sends (application-specific codes)."""

    PROTOCOL = 0x01
    TOO_LARGE = 0x02
    UNKNOWN_CALL = 0x03
    TIMEOUT = 0x04


@dataclass(frozen=True)
class Audio:
    pcm: bytes


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class Ended:
    reason: str  # hangup, closed, error, protocol, too_large, truncated, timeout


Event = Audio | Dtmf | Ended


def encode_frame(kind: int, payload: bytes = b"") -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError("AudioSocket payload is at most 65535 bytes")
    return struct.pack(">BH", kind, len(payload)) + payload


class AudioSession:
    """One call's audio stream as the flow sees it."""

    def __init__(self, call_uuid: uuid.UUID, queue_frames: int) -> None:
        self.uuid = call_uuid
        self._events: asyncio.Queue[Event] = asyncio.Queue(maxsize=queue_frames)
        self._connected = asyncio.Event()
        self._closing = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._end_queued = False
        self._keep_alive = asyncio.Event()
        self._sending = False
        self.ended: Ended | None = None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def backlog_full(self) -> bool:
        """Frames wait unread: the server has stopped reading the socket (back-pressure)."""
        return self._events.full()

    async def wait_connected(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._connected.wait()
        return self._connected.is_set()

    async def next_event(self, timeout: float | None = None) -> Event:
        """The next frame event; an :class:`Ended` once the stream is over (then forever)."""
        if self.ended is not None and self._events.empty():
            return self.ended
        async with asyncio.timeout(timeout):
            event = await self._events.get()
        if isinstance(event, Ended):
            self.ended = event
        return event

    async def send_audio(self, pcm: bytes, *, pace: bool = True) -> None:
        """Send audio to the caller in 20 ms frames, paced in real time unless told not to."""
        if self._writer is None or self._writer.is_closing():
            return
        start = time.monotonic()
        self._sending = True
        try:
            for n, offset in enumerate(range(0, len(pcm), FRAME_20MS)):
                self._writer.write(encode_frame(Kind.SLIN, pcm[offset : offset + FRAME_20MS]))
                await self._writer.drain()
                if pace:
                    delay = start + (n + 1) * 0.02 - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
        finally:
            self._sending = False

    def keep_alive(self) -> None:
        """Send silence while the flow listens, so that Asterisk's 2 s inactivity timeout never
        ends the stream of a caller whose line sends no media (until :meth:`close`)."""
        self._keep_alive.set()

    def close(self) -> None:
        """Ask the server to send a hangup frame and close: ``AudioSocket()`` then returns."""
        self._closing.set()

    # --- server side -----------------------------------------------------------------

    def _attach(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._connected.set()

    async def _put(self, event: Event) -> None:
        if isinstance(event, Ended) and self._end_queued:
            return
        await self._events.put(event)
        if isinstance(event, Ended):
            self._end_queued = True

    def _put_end(self, event: Ended) -> None:
        """End marker for a stream the flow has stopped reading (it closed the session).

        Never blocks: with a full queue the oldest frame makes room, which nobody will read.
        """
        if self._end_queued:
            return
        self._end_queued = True
        while True:
            try:
                self._events.put_nowait(event)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self._events.get_nowait()


class AudioSocketServer(ConnectionServer):
    def __init__(
        self,
        *,
        max_frame_bytes: int = 8192,
        read_timeout: float = 5.0,
        queue_frames: int = 250,
    ) -> None:
        self._max_frame_bytes = max_frame_bytes
        self._read_timeout = read_timeout
        super().__init__()
        self._queue_frames = queue_frames
        self._pending: dict[uuid.UUID, AudioSession] = {}

    def expect(self, call_uuid: uuid.UUID | None = None) -> AudioSession:
        """Register a stream the flow is about to ask Asterisk for; returns its session."""
        call_uuid = call_uuid or uuid.uuid4()
        session = AudioSession(call_uuid, self._queue_frames)
        self._pending[call_uuid] = session
        return session

    def forget(self, session: AudioSession) -> None:
        self._pending.pop(session.uuid, None)
        session.close()

    def _connection_lost(self, exc: BaseException) -> None:
        log.info("AudioSocket connection lost: %s", exc)

    async def _read_frame(
        self, reader: asyncio.StreamReader, *, quiet_ok: bool = False
    ) -> tuple[int, bytes] | Ended:
        """One frame, or why there is none (then the connection must close).

        ``quiet_ok``: the peer may send nothing for a while (a line without media while the
        flow listens and keeps the stream alive); the flow's own turn limit bounds the wait.
        """
        try:
            async with asyncio.timeout(None if quiet_ok else self._read_timeout):
                header = await reader.readexactly(3)
                kind, length = struct.unpack(">BH", header)
                if length > self._max_frame_bytes:
                    return Ended("too_large")
                payload = await reader.readexactly(length) if length else b""
        except TimeoutError:
            return Ended("timeout")
        except asyncio.IncompleteReadError as exc:
            return Ended("closed" if not exc.partial and exc.expected == 3 else "truncated")
        except (ConnectionError, OSError):
            # A reset, e.g. Asterisk closing while our silence frames are still unread.
            return Ended("closed")
        return kind, payload

    async def _error_and_close(self, writer: asyncio.StreamWriter, code: int) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            writer.write(encode_frame(Kind.ERROR, bytes([code])))
            await writer.drain()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = await self._read_frame(reader)
        if isinstance(first, Ended) or first[0] != Kind.UUID or len(first[1]) != 16:
            reason = first.reason if isinstance(first, Ended) else "protocol"
            log.warning("AudioSocket connection without a call UUID (%s)", reason)
            if reason in ("protocol", "too_large", "timeout"):
                await self._error_and_close(writer, _CODES[reason])
            return
        session = self._pending.pop(uuid.UUID(bytes=first[1]), None)
        if session is None:
            log.warning("AudioSocket connection for a call nobody expects")
            await self._error_and_close(writer, ErrorCode.UNKNOWN_CALL)
            return
        session._attach(writer)
        reading = asyncio.create_task(self._pump(reader, writer, session), name="audiosocket-read")
        closing = asyncio.create_task(session._closing.wait(), name="audiosocket-close")
        keeping = asyncio.create_task(self._send_silence(writer, session),
                                      name="audiosocket-keepalive")
        try:
            await asyncio.wait({reading, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (keeping, reading, closing):
                task.cancel()
                # Whatever ended a task, the session must still get its end marker below.
                with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                    await task
            if closing.done() and not closing.cancelled() and session.ended is None:
                # The flow is done listening: a hangup frame makes AudioSocket() return.
                with contextlib.suppress(ConnectionError, OSError):
                    writer.write(encode_frame(Kind.HANGUP))
                    await writer.drain()
            session._put_end(Ended("closed"))

    async def _send_silence(self, writer: asyncio.StreamWriter, session: AudioSession) -> None:
        await session._keep_alive.wait()
        frame = encode_frame(Kind.SLIN, _SILENCE)
        with contextlib.suppress(ConnectionError, OSError):
            while not writer.is_closing():
                if not session._sending:
                    writer.write(frame)
                    await writer.drain()
                await asyncio.sleep(0.02)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, session: AudioSession
    ) -> None:
        while True:
            frame = await self._read_frame(reader, quiet_ok=session._keep_alive.is_set())
            if isinstance(frame, Ended):
                if frame.reason in ("too_large", "timeout"):
                    await self._error_and_close(writer, _CODES[frame.reason])
                await session._put(frame)
                return
            kind, payload = frame
            if kind == Kind.SLIN:
                if len(payload) % 2:
                    payload = payload[:-1]  # a sample split in half is noise, not an error
                await session._put(Audio(payload))
            elif kind == Kind.DTMF and len(payload) == 1 and chr(payload[0]) in _DTMF:
                await session._put(Dtmf(chr(payload[0])))
            elif kind == Kind.HANGUP:
                await session._put(Ended("hangup"))
                return
            elif kind == Kind.ERROR:
                log.warning("AudioSocket peer reported an error (%s)", payload.hex())
                await session._put(Ended("error"))
                return
            else:
                await self._error_and_close(writer, ErrorCode.PROTOCOL)
                await session._put(Ended("protocol"))
                return


_DTMF = frozenset("0123456789*#ABCD")
_CODES = {
    "protocol": ErrorCode.PROTOCOL,
    "too_large": ErrorCode.TOO_LARGE,
    "timeout": ErrorCode.TIMEOUT,
}
