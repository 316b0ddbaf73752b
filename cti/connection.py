"""The AMI link to one PBX, on panoramisk's Manager and AMIProtocol.

What panoramisk 1.4 does not do and this module adds (each covered by a test over real TCP):
- reconnect forever: while the PBX is unreachable one cheap TCP connect every
  `reconnect_interval` (so the server is back within about that long of Asterisk opening its
  port), exponential backoff + jitter only after a refused login or a session that failed on its
  own, logging a refused login once per streak;
- after Login, wait for FullyBooted before the resync: Asterisk accepts logins while it boots
  and answers app_queue's actions "Invalid/unknown command" until app_queue is loaded
  (recording 08_ami_login_during_boot). Its FullyBooted starts the resync at once;
- a watchdog: Ping every `ping_interval`, close the link if no Pong within `ping_timeout`
  (panoramisk's own keep-alive never looks at the reply);
- actions pending when the link drops fail with LinkLost instead of being re-sent on the next
  FullyBooted (a re-sent Originate would dial the consumer twice);
- events are handed over synchronously in wire order (no ensure_future per callback), never raise,
  and are held back while a resync runs, then released in order;
- UTF-8 is decoded incrementally (a Cyrillic name split across TCP reads stays intact) and an
  unterminated frame larger than `max_frame` is dropped instead of growing memory.
"""
from __future__ import annotations

import asyncio
import codecs
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from panoramisk import Manager
from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from cti.errors import (
    ActionFailed, ActionTimeout, CtiError, LinkLost, LoginRefused, NotConnected,
)
from cti.resync import ResyncResult, collect_snapshot
from cti.settings import AmiSettings

log = logging.getLogger(__name__)

EventHandler = Callable[[dict[str, Any]], None]

# Session phases: no link; Login sent; logged in while Asterisk boots (waiting for FullyBooted);
# resyncing or live.
DOWN, LOGIN, BOOTING, LIVE = "down", "login", "booting", "live"
ResyncHandler = Callable[[ResyncResult], Awaitable[None] | None]


def _one_line(value: Any) -> Any:
    # A line break inside a value would let text (an agent's pause reason...) inject AMI headers.
    if isinstance(value, (list, tuple)):
        return [_one_line(v) for v in value]
    return str(value).replace("\r", " ").replace("\n", " ")


class _Protocol(AMIProtocol):
    max_frame = 4 << 20

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._text = ""
        self.discarded_frames = 0
        self.last_rx = time.monotonic()
        # The pop is handled inside this socket's reads: read it before other work where the
        # loop can (ccs/priority_loop.py).
        self._priority_fd = None
        sock = transport.get_extra_info("socket")
        prioritize = getattr(asyncio.get_running_loop(), "prioritize_reader", None)
        if prioritize is not None and sock is not None:
            self._priority_fd = sock.fileno()
            prioritize(self._priority_fd)

    def connection_lost(self, exc: Exception | None) -> None:
        if getattr(self, "_priority_fd", None) is not None:
            # File descriptors are reused: another socket may get this number next.
            asyncio.get_running_loop().unprioritize_reader(self._priority_fd)
            self._priority_fd = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.last_rx = time.monotonic()
        self._text += self._decoder.decode(data)
        frames = self._text.split("\r\n\r\n")
        self._text = frames.pop()
        if len(self._text) > self.max_frame:
            log.warning("AMI frame over %d bytes without terminator dropped", self.max_frame)
            self._text = ""
            self.discarded_frames += 1
        for raw in frames:
            try:
                self._handle_frame(raw.strip())
            except Exception:  # malformed input must never end the reader
                self.discarded_frames += 1
                log.exception("AMI frame could not be handled (%d bytes)", len(raw))

    def _handle_frame(self, raw: str) -> None:
        # Events are parsed into plain dicts (wire order, a repeated key becomes a list): building
        # panoramisk's case-insensitive Message per event costs ~6x more. Answers to actions
        # still go through panoramisk's Message and response matching.
        if raw.startswith(("Response: Follows", "Response: Fail")):
            message = Message.from_line(raw)
            if message is not None:
                self.handle_message(message)
            return
        fields: dict[str, Any] = {}
        for line in raw.split("\r\n"):
            key, sep, value = line.partition(": ")
            if not sep:
                continue
            if key in fields:
                prev = fields[key]
                fields[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
            else:
                fields[key] = value
        action_id = fields.get("ActionID")
        if "Response" in fields or (action_id is not None and action_id in self.responses):
            self.handle_message(Message(fields))
        elif "Event" in fields:
            if fields["Event"] == "Shutdown":
                self.connection_lost(None)
            self.factory.dispatch(fields)

    def close(self) -> None:
        # panoramisk would queue unanswered actions for re-sending; the connection fails them.
        self.responses.clear()
        if not self.closed:
            self.closed = True
            self.transport.close()


class _Manager(Manager):
    """panoramisk's Manager with its own connect/ping/dispatch machinery switched off."""

    def __init__(self, owner: AmiConnection, **config: Any) -> None:
        super().__init__(**config)
        self._owner = owner
        self.callbacks.clear()
        self.patterns.clear()

    def dispatch(self, event: Any) -> list[str]:
        self._owner._dispatch(event)
        return []

    def connection_lost(self, exc: Any) -> None:
        self._owner._link_lost(exc)


class AmiConnection:
    max_buffered = 200_000  # live events held back during one resync
    def __init__(self, settings: AmiSettings, *, on_event: EventHandler,
                 on_resync: ResyncHandler | None = None,
                 on_link_lost: Callable[[], None] | None = None,
                 host: str | None = None, port: int | None = None) -> None:
        self.settings = settings
        self.host = host or settings.host or "127.0.0.1"
        self.port = port or settings.port
        self._on_event = on_event
        self._on_resync = on_resync
        self._on_link_lost = on_link_lost
        self._manager = _Manager(self, host=self.host, port=self.port, encoding="utf8",
                                 forgetable_actions=("ping", "login"))
        self._protocol: _Protocol | None = None
        self._lost: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._pending: dict[str, Action] = {}
        self._originates: dict[str, asyncio.Future[Message]] = {}
        self._buffer: list[Mapping[str, Any]] | None = None
        self._resync_task: asyncio.Task | None = None
        self._resync_again = False
        self._phase = DOWN
        self._boot_seen = False
        self._probe_task: asyncio.Task | None = None
        self._session_failed = False
        self._session_ready = False
        self._boot_logged = False
        self.ready = asyncio.Event()
        # monotonic start of each recent connection attempt (status, tests, benchmarks)
        self.attempts: deque[float] = deque(maxlen=256)
        self.connected = False
        self.logged_in = False
        self.reconnects = 0
        self.resyncs = 0
        self.events_received = 0
        self.buffer_overflows = 0
        self.last_resync: float | None = None
        self.last_pong: float | None = None
        self.last_login_error: str | None = None

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ami-connection")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._protocol is not None:
            self._protocol.close()
        self._fail_pending(LinkLost("connection stopped"))

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until logged in and the first resync has been handed over."""
        async with asyncio.timeout(timeout):
            await self.ready.wait()

    def status(self) -> dict[str, Any]:
        horizon = self.settings.ping_interval + self.settings.ping_timeout
        stale = not self.logged_in or (self.last_pong is not None
                                       and time.monotonic() - self.last_pong > 2 * horizon)
        return {"connected": self.connected, "logged_in": self.logged_in,
                "last_resync": self.last_resync, "reconnects": self.reconnects,
                "resyncs": self.resyncs, "stale": stale, "last_login_error": self.last_login_error}

    async def _run(self) -> None:
        failures = 0      # link failures in a row (logged once per streak)
        refusals = 0      # refused logins in a row
        bad_sessions = 0  # sessions that logged in but failed before their resync, in a row
        refused_logged = False
        loop = asyncio.get_running_loop()
        next_attempt = loop.time()
        while True:
            delay = next_attempt - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            attempt = loop.time()
            self.attempts.append(time.monotonic())
            self._session_failed = self._session_ready = False
            refused = False
            try:
                await self._session()
            except LoginRefused as exc:
                refused = True
                refusals += 1
                if not refused_logged:  # once per streak: a wrong secret must not flood the log
                    log.error("AMI login refused by %s:%s: %s", self.host, self.port, exc)
                    refused_logged = True
            except (OSError, TimeoutError, CtiError) as exc:
                failures += 1
                level = logging.WARNING if failures == 1 else logging.DEBUG  # once per streak
                log.log(level, "AMI link to %s:%s failed: %s", self.host, self.port,
                        type(exc).__name__)
            except Exception:  # the reconnect loop must outlive any bug below it
                self._session_failed = True
                log.exception("AMI session failed unexpectedly")
            self.reconnects += 1
            if self._session_ready:
                failures = refusals = bad_sessions = 0
                refused_logged = False
            if refused:
                # A refused login is a configuration fault: asking again soon will not help.
                next_attempt = loop.time() + self._backoff(refusals)
            elif self._session_failed:
                bad_sessions += 1
                next_attempt = loop.time() + self._backoff(bad_sessions)
            else:
                # Unreachable or link lost: one cheap connect per interval, counted from the
                # last attempt's start, so a link lost after a long session is retried at once.
                next_attempt = attempt + self.settings.reconnect_interval

    def _backoff(self, streak: int) -> float:
        doubled = self.settings.reconnect_min * 2 ** min(streak - 1, 16)
        base = min(self.settings.reconnect_max, doubled)
        return base * random.uniform(0.5, 1.0)

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        self._lost = asyncio.Event()
        async with asyncio.timeout(self.settings.connect_timeout):
            _, protocol = await loop.create_connection(_Protocol, self.host, self.port)
        assert isinstance(protocol, _Protocol)
        protocol.factory = self._manager
        protocol.encoding = "utf8"
        protocol.log = log
        self._protocol = protocol
        self._manager.protocol = protocol
        self.connected = True
        watchdog: asyncio.Task | None = None
        self._phase, self._boot_seen, self._boot_logged = LOGIN, False, False
        # Events wait for the first snapshot; the FullyBooted that follows the Login among them.
        self._buffer = []
        try:
            login = await self.send({"Action": "Login", "Username": self.settings.username,
                                     "Secret": self.settings.secret.get_secret_value(),
                                     "Events": "on"})
            if not login.success:
                self.last_login_error = str(login.get("Message", "refused"))
                raise LoginRefused(self.last_login_error)
            self.last_login_error = None
            self.logged_in = True
            self.last_pong = time.monotonic()
            watchdog = loop.create_task(self._watchdog(protocol))
            if self._boot_seen:
                log.info("AMI logged in to %s:%s", self.host, self.port)
                self._start_resync()
            else:
                # Asterisk sends FullyBooted right after a Login only once it has booted.
                log.info("AMI logged in to %s:%s; waiting for Asterisk to finish booting",
                         self.host, self.port)
                self._boot_logged = True
                self._phase = BOOTING
                self._probe_later(self.settings.action_timeout)
            await self._lost.wait()
        finally:
            if watchdog is not None:
                watchdog.cancel()
            protocol.close()
            self._link_lost(None)

    def _probe_later(self, delay: float) -> None:
        """Resync after ``delay`` unless FullyBooted comes first: a user without the `system`
        read class never gets FullyBooted, and a module may be loaded after the boot."""
        async def probe() -> None:
            await asyncio.sleep(delay)
            if self._phase == BOOTING:
                self._start_resync()

        if self._probe_task is not None:
            self._probe_task.cancel()
        self._probe_task = asyncio.get_running_loop().create_task(probe())

    def _link_lost(self, exc: Any) -> None:
        if not self.connected:
            return
        if self.logged_in:
            log.warning("AMI link to %s:%s lost; reconnecting", self.host, self.port)
        self.connected = False
        self.logged_in = False
        self._phase = DOWN
        self.ready.clear()
        if self._probe_task is not None:
            self._probe_task.cancel()
            self._probe_task = None
        if self._resync_task is not None:
            self._resync_task.cancel()
            self._resync_task = None
        self._buffer = None
        self._fail_pending(LinkLost("AMI link lost before the answer"))
        if self._lost is not None:
            self._lost.set()
        if self._on_link_lost is not None:
            try:
                self._on_link_lost()
            except Exception:
                log.exception("link-lost handler failed")

    def _fail_pending(self, error: Exception) -> None:
        pending, self._pending = self._pending, {}
        for action in pending.values():
            if not action.future.done():
                action.future.set_exception(error)
        originates, self._originates = self._originates, {}
        for future in originates.values():
            if not future.done():
                future.set_exception(error)
        self._manager.awaiting_actions.clear()

    # -- actions --------------------------------------------------------------------------
    async def send(self, fields: Mapping[str, Any], *, timeout: float | None = None,
                   as_list: bool | None = False) -> Any:
        """Send one action; its answer (a Message, or the list for event-list actions)."""
        protocol = self._protocol
        logging_in = str(fields.get("Action", "")).lower() == "login"
        if protocol is None or protocol.closed or not self.connected or not (self.logged_in or logging_in):
            raise NotConnected("AMI link is down")
        action = Action({key: _one_line(value) for key, value in fields.items()}, as_list=as_list)
        self._pending[action.id] = action
        action.future.add_done_callback(lambda _f, key=action.id: self._pending.pop(key, None))
        protocol.send(action, as_list=as_list)
        try:
            async with asyncio.timeout(timeout or self.settings.action_timeout):
                return await asyncio.shield(action.future)
        except TimeoutError:
            protocol.responses.pop(action.id, None)
            action.future.cancel()
            raise ActionTimeout(f"{fields.get('Action')} got no answer") from None

    def expect_originate(self, action_id: str) -> asyncio.Future[Message]:
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._originates[action_id] = future
        future.add_done_callback(lambda _f: self._originates.pop(action_id, None))
        return future

    async def _watchdog(self, protocol: _Protocol) -> None:
        while not protocol.closed:
            await asyncio.sleep(self.settings.ping_interval)
            sent = time.monotonic()
            ping = asyncio.ensure_future(self.send({"Action": "Ping"}, timeout=self.settings.action_timeout))
            try:
                while True:
                    done, _ = await asyncio.wait({ping}, timeout=self.settings.ping_timeout)
                    if done:
                        ping.result()
                        self.last_pong = time.monotonic()
                        break
                    # A Pong queued behind a burst of events is late, not lost: only silence counts.
                    if protocol.last_rx < sent or time.monotonic() - protocol.last_rx > self.settings.ping_timeout:
                        log.warning("AMI silent for %.1fs: closing the link", self.settings.ping_timeout)
                        protocol.transport.abort()
                        return
            except ActionTimeout:
                log.warning("AMI Ping unanswered: closing the link")
                protocol.transport.abort()
                return
            except (LinkLost, NotConnected):
                return
            finally:
                if not ping.done():
                    ping.cancel()

    # -- events and resync ----------------------------------------------------------------
    def _dispatch(self, message: Mapping[str, Any]) -> None:
        try:
            self.events_received += 1
            name = message.get("Event", "")
            if name == "OriginateResponse":
                future = self._originates.get(message.get("ActionID", ""))
                if future is not None and not future.done():
                    future.set_result(message)
            elif name == "FullyBooted":
                self._on_fully_booted(message)
            if self._buffer is not None:
                if len(self._buffer) >= self.max_buffered:
                    # Too much happened during the resync: drop it, take a fresh snapshot after.
                    self._buffer.clear()
                    self._resync_again = True
                    self.buffer_overflows += 1
                self._buffer.append(message)
            else:
                self._on_event(message)
        except Exception:  # a handler bug must not stop the reader
            log.exception("AMI event handler failed on %s", message.get("Event"))

    def _on_fully_booted(self, message: Mapping[str, Any]) -> None:
        # Asterisk sends FullyBooted right after a Login on a booted PBX, and to every session
        # when a boot ends (a Login during the boot gets only that one). Either way: resync now.
        if self._phase == LOGIN:
            self._boot_seen = True  # the Login's own code starts the resync
        elif self._phase in (BOOTING, LIVE):
            if self._phase == BOOTING:
                log.info("Asterisk at %s:%s fully booted", self.host, self.port)
            self._start_resync()

    def _start_resync(self) -> None:
        self._phase = LIVE
        if self._probe_task is not None:
            self._probe_task.cancel()
            self._probe_task = None
        if self._resync_task is not None and not self._resync_task.done():
            self._resync_again = True
            return
        if self._buffer is None:
            self._buffer = []
        self._resync_task = asyncio.get_running_loop().create_task(self._resync())

    async def _resync(self) -> None:
        while True:
            self._resync_again = False
            try:
                result = await collect_snapshot(self.send, self.settings.action_timeout)
                if self._on_resync is not None:
                    outcome = self._on_resync(result)
                    if asyncio.iscoroutine(outcome):
                        await outcome
            except (LinkLost, NotConnected):
                return
            except ActionFailed as exc:
                if not _still_booting(exc):
                    self._fail_session(f"AMI resync failed: {exc}")
                    return
                # app_queue not loaded yet: Asterisk is still booting. Its FullyBooted starts
                # the resync again; the events meanwhile stay buffered.
                if self._resync_again:  # FullyBooted came while this answer was on its way
                    continue
                if not self._boot_logged:
                    log.info("AMI %s not available yet at %s:%s; waiting for FullyBooted",
                             exc.action, self.host, self.port)
                    self._boot_logged = True
                self._phase = BOOTING
                self._probe_later(self.settings.reconnect_interval)
                return
            except Exception:
                log.exception("AMI resync failed; closing the link to start over")
                self._fail_session(None)
                return
            if not self._resync_again:
                break
        self.resyncs += 1
        self._session_ready = True
        self.last_resync = time.time()
        buffered, self._buffer = self._buffer or [], None
        for message in buffered:
            try:
                self._on_event(message)
            except Exception:
                log.exception("AMI event handler failed on %s", message.get("Event"))
        self.ready.set()

    def _fail_session(self, message: str | None) -> None:
        """Our side cannot go on with this session: close it; the next one waits a backoff."""
        if message:
            log.error("%s; closing the link to start over", message)
        self._session_failed = True
        if self._protocol is not None:
            self._protocol.transport.abort()


def _still_booting(exc: ActionFailed) -> bool:
    # Asterisk 22 (manager.c) for an action whose module is not loaded (yet).
    return exc.message.lower().startswith("invalid/unknown command")
