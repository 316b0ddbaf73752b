"""The AMI TCP server of the PBX simulator: sessions, Login, actions, and fault controls for tests.

A fake of Asterisk 22 (named as such): it speaks the real AMI wire protocol over TCP.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, cast

from cti.simulator import wire
from cti.simulator.channels import Clock
from cti.simulator.originate import hangup_action, originate, redirect_action
from cti.simulator.pbx import Action, Pbx, PbxConfig
from cti.simulator.robocall import db_del_tree, db_get

log = logging.getLogger(__name__)

_LIST_AND_MEMBER_ACTIONS: dict[str, Callable[[Pbx, Action, Callable[[bytes], None]], None]] = {
    "queueadd": Pbx.queue_add, "queueremove": Pbx.queue_remove, "queuepause": Pbx.queue_pause,
    "queuepenalty": Pbx.queue_penalty, "setvar": Pbx.setvar, "getvar": Pbx.getvar,
    "queuestatus": Pbx.queue_status, "queuesummary": Pbx.queue_summary,
    "coreshowchannels": Pbx.core_show_channels, "status": Pbx.status,
    "hangup": hangup_action, "redirect": redirect_action,
    "dbget": db_get, "dbdeltree": db_del_tree,
}


# Actions of modules Asterisk loads late in its boot (app_queue): until FullyBooted they answer
# "Invalid/unknown command" (recording 08_ami_login_during_boot); Login, Ping and the core
# actions work from the moment the AMI port opens.
BOOT_LATE_ACTIONS = frozenset({
    "queueadd", "queueremove", "queuepause", "queuepenalty", "queuestatus", "queuesummary",
})
# Seconds from the AMI port opening to FullyBooted in recording 08 (580 ms -> 882 ms).
RECORDED_BOOT_TIME = 0.3


def _unknown_command(aid: str | None, action: dict) -> bytes:
    return wire.response(aid, f"Invalid/unknown command: {wire.first(action, 'Action')}. "
                         "Use Action: ListCommands to show available commands.", "Error")


class AmiSession(asyncio.Protocol):
    def __init__(self, sim: Simulator, generation: int) -> None:
        self.sim = sim
        self.generation = generation  # which listener accepted it (see Simulator._close_listener)
        self.reader = wire.FrameReader()
        self.transport: asyncio.Transport | None = None
        self.logged_in = False
        self.events: set[str] | bool = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: uvloop's transports (the server's loop, CCS_EVENT_LOOP) are
        # transports without deriving from asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)
        if self.generation != self.sim.generation:
            # Accepted by a listener that has since closed (a client that reconnected during
            # the Shutdown): the process it reached is gone, as on a real restart.
            self.transport.abort()
            return
        self.sim.sessions.add(self)
        transport.write(wire.BANNER)

    def connection_lost(self, exc: Exception | None) -> None:
        self.sim.sessions.discard(self)
        self.sim.pbx.listeners.discard(self)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing() and not self.sim.frozen:
            self.transport.write(data)

    def deliver(self, data: bytes, privilege: str) -> None:
        if self.events is True or (self.events and privilege.split(",")[0] in self.events):
            self.write(data)

    def data_received(self, data: bytes) -> None:
        if self.sim.frozen:
            return
        for action in self.reader.feed(data):
            try:
                self.handle(action)
            except Exception:  # a bad action must never take the simulator down
                log.exception("simulator failed on an action")
                self.write(wire.response(wire.first(action, "ActionID") or None,
                                         "Internal error", "Error"))

    def _set_events(self, value: str) -> None:
        value = value.strip().lower()
        if value in ("on", "yes", "true", "all"):
            self.events = True
        elif value in ("off", "no", "false", ""):
            self.events = False
        else:
            self.events = {part.strip() for part in value.split(",")}

    def handle(self, action: Action) -> None:
        name = wire.first(action, "Action").lower()
        aid = wire.first(action, "ActionID") or None
        if not name:
            self.write(wire.response(aid, "Missing action in request", "Error"))
            return
        if name == "login":
            self._login(action, aid)
            return
        if name == "logoff":
            self.write(wire.response(aid, "Thanks for all the fish.", "Goodbye"))
            if self.transport is not None:
                self.transport.close()
            return
        if not self.logged_in:
            self.write(wire.response(aid, "Permission denied", "Error"))
            return
        self.sim.actions_seen[name] = self.sim.actions_seen.get(name, 0) + 1
        if self.sim.booting and name in BOOT_LATE_ACTIONS:
            self.sim.refused_while_booting += 1
            self.write(_unknown_command(aid, action))
            return
        if name in self.sim.cut_on:  # fault control: the link dies before the answer is sent
            if name == "originate":
                self.sim.pbx.originates.append(action)
            if self.transport is not None:
                self.transport.abort()
            return
        if name == "ping":
            stamp = f"{self.sim.pbx.clock.now():.6f}"
            self.write(wire.frame([("Response", "Success"), *([("ActionID", aid)] if aid else []),
                                   ("Ping", "Pong"), ("Timestamp", stamp)]))
        elif name == "events":
            self._set_events(wire.first(action, "EventMask", "off"))
            state = "Off" if self.events is False else "On"
            self.write(wire.frame([("Response", "Success"), *([("ActionID", aid)] if aid else []),
                                   ("Events", state)]))
        elif name == "originate":
            peer = self.transport.get_extra_info("peername") if self.transport else None
            self.sim.originated_from.append((time.monotonic(), peer[1] if peer else 0, action))
            originate(self.sim.pbx, action, self.write, self.sim.tasks)
        elif name in _LIST_AND_MEMBER_ACTIONS:
            _LIST_AND_MEMBER_ACTIONS[name](self.sim.pbx, action, self.write)
        else:
            self.write(_unknown_command(aid, action))

    def _login(self, action: Action, aid: str | None) -> None:
        if (wire.first(action, "Username") != self.sim.username
                or wire.first(action, "Secret") != self.sim.secret):
            self.sim.failed_logins += 1
            self.write(wire.response(aid, "Authentication failed", "Error"))
            if self.transport is not None:  # Asterisk ends the session after a failed login.
                self.transport.close()
            return
        self.logged_in = True
        self.sim.logins += 1
        self._set_events(wire.first(action, "Events", "on"))
        self.write(wire.response(aid, "Authentication accepted"))
        pbx = self.sim.pbx
        # A Login during the boot gets no FullyBooted of its own, only the broadcast at the end.
        if not self.sim.booting:
            self.write(wire.event("FullyBooted", "system,all", None, [
                ("Uptime", self.sim.uptime()), ("LastReload", self.sim.uptime()),
                ("Status", "Fully Booted")]))
        if self.events is not False:
            pbx.listeners.add(self)


class Simulator:
    """Owns the listening socket and the PBX model; offers restart / drop / freeze / inject."""

    def __init__(self, config: PbxConfig, *, host: str = "127.0.0.1", port: int = 0,
                 username: str = "ccs", secret: str = "ccs-demo", time_scale: float = 1.0) -> None:
        self.config = config
        self.host = host
        self.port = port
        self.username = username
        self.secret = secret
        self.clock = Clock(time_scale)
        self.pbx = Pbx(config, self.clock)
        # Event observers (see pbx.Observer); kept across restarts.
        self.observers = self.pbx.observers
        self.process_started = time.time()
        self.sessions: set[AmiSession] = set()
        self.tasks: set[asyncio.Task] = set()
        self.frozen = False
        self.booting = False
        self.booted_at: float | None = None  # time.monotonic() of the last FullyBooted broadcast
        self.refused_while_booting = 0
        self.restarts = 0
        self.logins = 0
        self.failed_logins = 0
        self.actions_seen: dict[str, int] = {}
        self.cut_on: set[str] = set()  # lower-case action names that make the link drop unanswered
        # (monotonic time, client's TCP port, action) of the last Originates: which server
        # process dialled when (tests of the campaign pacer's take-over); bounded for the demo.
        self.originated_from: deque[tuple[float, int, Action]] = deque(maxlen=100_000)
        self.generation = 0  # bumped when the listener closes
        self._server: asyncio.Server | None = None

    async def start(self, *, boot_time: float | None = None) -> None:
        """Listen. With ``boot_time`` (wall seconds) the PBX first boots as recording 08 shows:
        logins are accepted at once, app_queue's actions are unknown, and FullyBooted is
        broadcast when the boot ends."""
        loop = asyncio.get_running_loop()
        self.booting = boot_time is not None
        generation = self.generation
        self._server = await loop.create_server(lambda: AmiSession(self, generation),
                                                self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        if boot_time is not None:
            self.spawn(self._boot(boot_time))

    async def stop(self) -> None:
        await self._close_listener()
        self.drop_connections()
        await self._cancel_tasks()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def drop_connections(self) -> None:
        """Reset every client connection (as a network failure would)."""
        for session in list(self.sessions):
            if session.transport is not None:
                session.transport.abort()

    def freeze(self, frozen: bool = True) -> None:
        """Keep TCP open but answer nothing and send nothing (a hung PBX or a dead route)."""
        self.frozen = frozen

    def inject(self, data: bytes) -> None:
        """Write raw bytes to every logged-in client (garbage, half frames, floods)."""
        for session in list(self.sessions):
            if session.logged_in:
                session.write(data)

    async def restart(self, config: PbxConfig | None = None, downtime: float = 0.2, *,
                      boot_time: float = RECORDED_BOOT_TIME, shutdown: bool = True) -> None:
        """`core restart now` (or, with ``shutdown=False``, a crash): Shutdown event, close,
        ``downtime`` PBX seconds with nothing listening (connects are refused), then a new
        process with fresh state that boots for ``boot_time`` wall seconds (see `start`)."""
        if shutdown:
            self.pbx.emit("Shutdown", "system,all", [("Shutdown", "Cleanly"), ("Restart", "True")])
            await asyncio.sleep(0.015 * self.clock.scale)
        await self._close_listener()
        for session in list(self.sessions):
            if session.transport is not None:
                if shutdown:
                    session.transport.close()
                else:
                    session.transport.abort()
        await self._cancel_tasks()
        self.config = config or self.config
        self.restarts += 1
        await self.clock.sleep(downtime)
        self.pbx = Pbx(self.config, self.clock)
        self.pbx.observers = self.observers
        self.process_started = time.time()
        await self.start(boot_time=boot_time)

    def uptime(self) -> str:
        """Asterisk's Uptime: whole wall-clock seconds since the process started (not PBX time,
        which tests run faster)."""
        return str(int(time.time() - self.process_started))

    async def _boot(self, boot_time: float) -> None:
        await asyncio.sleep(boot_time)
        self.booting = False
        self.booted_at = time.monotonic()
        # The broadcast's field order differs from the one after a Login (recordings 08, 10).
        self.pbx.emit("FullyBooted", "system,all", [
            ("Status", "Fully Booted"), ("Uptime", self.uptime()), ("LastReload", self.uptime())])

    async def _close_listener(self) -> None:
        # A connection the old listener accepted may reach connection_made only later; the new
        # generation makes it close then instead of living on beside the restarted PBX.
        self.generation += 1
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _cancel_tasks(self) -> None:
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
