"""What only the lease holder runs for the agents: the projector, the wrap-up timers, the start
of a wrap-up on each ``AgentCompleted``, the reading of the agents' stream, and the re-apply of
intents once it becomes the leader.

Public API: ``build_readiness(pool, redis, keys, cti, bus, settings, is_leader) ->
ReadinessParts(service, leader, projector, directory, stream)`` wires everything below;
``AgentsLeader(service, projector, stream, timers, bus)``:
- ``await start()`` (the lease's ``on_acquired``): rebuild the views from the tracker, load the
  wrap-up deadlines, follow the bus and the stream, ask for one re-apply of the intents.
- ``await stop()`` (``on_lost`` and shutdown).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis

from cti.bus import EventBus
from cti.service import CtiService
from features.agents.directory import AgentDirectory
from features.agents.intent import IntentStore
from features.agents.projector import Projector
from features.agents.service import AgentService
from features.agents.settings import AgentsSettings
from features.agents.state_log import StateLog
from features.agents.stream import AgentEventStream
from features.agents.wrapup import WrapUpStore, WrapUpTimers
from state.events import AgentCompleted, DomainEvent, WrapUpChanged
from state.live import LiveState
from state.redis_keys import RedisKeys

log = logging.getLogger(__name__)


class AgentsLeader:
    def __init__(self, service: AgentService, projector: Projector, stream: AgentEventStream,
                 timers: WrapUpTimers, bus: EventBus[DomainEvent], *,
                 block_ms: int = 1000) -> None:
        self.service = service
        self.projector = projector
        self.stream = stream
        self.timers = timers
        self.bus = bus
        self._block_ms = block_ms
        self._tasks: set[asyncio.Task] = set()
        self._unsubscribe = None
        self.running = False

    async def start(self) -> None:
        # First: putting the PBX back as agents want it must not wait for the views.
        self.service.request_reapply()
        # From where the previous leader stopped: what a follower added while the lease moved
        # (a refused pause, a wrap-up extended) is still shown.
        after = await self.stream.start_id()
        await self.projector.start(self.bus)
        self.timers.load(await self.service.wrapups.all())
        self._unsubscribe = self.bus.subscribe(self._on_bus)
        self._spawn(self._read_stream(after), "agents-stream")
        cti = self.service.cti
        if cti is not None:
            cti.add_resync_listener(self.projector.request_rebuild)
        self.running = True

    async def stop(self) -> None:
        self.running = False
        cti = self.service.cti
        if cti is not None:
            cti.remove_resync_listener(self.projector.request_rebuild)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.timers.close()
        await self.projector.stop()

    def _on_bus(self, event: DomainEvent) -> None:
        if isinstance(event, AgentCompleted):
            self._spawn(self._start_wrapup(event), "agents-wrapup-start")

    async def _start_wrapup(self, event: AgentCompleted) -> None:
        started = False
        try:
            started = await self.service.start_wrapup(event.interface, event.queue,
                                                      event.linkedid)
        finally:
            if not started:  # the projector showed it at once: take it back
                agent = self.service.directory.agent_for_interface(event.interface)
                if agent is not None:
                    self.projector.submit(WrapUpChanged(ts=event.ts, agent_id=agent.id))

    async def _read_stream(self, after: str) -> None:
        while True:
            try:
                after, events = await self.stream.read(after, self._block_ms)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down: try again; the stream keeps the entries
                log.warning("agents stream read failed: %s", type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            for event in events:
                self.projector.submit(event)
                if isinstance(event, WrapUpChanged):
                    self.timers.on_event(event)
            if events:
                with contextlib.suppress(Exception):  # Redis down: the next batch saves it
                    await self.stream.save_cursor(after)

    def _spawn(self, coro, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s failed: %s", task.get_name(), type(task.exception()).__name__)


@dataclass
class ReadinessParts:
    """Everything of readiness one server process needs (see ``build_readiness``)."""

    service: AgentService
    leader: AgentsLeader
    projector: Projector
    directory: AgentDirectory
    stream: AgentEventStream


def build_readiness(pool: asyncpg.Pool, redis: aioredis.Redis, keys: RedisKeys,
                    cti: CtiService | None, bus: EventBus[DomainEvent], settings: AgentsSettings,
                    is_leader: Callable[[], bool]) -> ReadinessParts:
    """The wiring in one call (for plugin.py): put ``parts.service`` under
    ``features.agents.http.AGENT_SERVICE``, call ``http.setup_routes(app)``, and run
    ``parts.leader.start`` / ``parts.leader.stop`` as the lease holder's work."""
    live = LiveState(redis, keys)
    directory = AgentDirectory(pool)
    stream = AgentEventStream(redis, keys.agents_stream(), settings.stream_maxlen,
                              cursor_key=keys.agents_stream_cursor())
    wrapups = WrapUpStore(pool)
    service = AgentService(cti, directory, IntentStore(pool), wrapups, settings, stream.add,
                           live, is_leader=is_leader)
    service.attach()
    if cti is None:  # no PBX: nothing to project; the service answers pbx-unavailable
        projector = Projector(_NoTracker(), live, directory, StateLog(pool), wrapups,
                              bus.publish, pending_timeout=settings.pending_timeout)
    else:
        projector = Projector(cti.tracker, live, directory, StateLog(pool), wrapups,
                              bus.publish, pending_timeout=settings.pending_timeout,
                              wrapup_seconds=settings.wrapup_for)
    timers = WrapUpTimers(service.finish_wrapup)
    return ReadinessParts(service, AgentsLeader(service, projector, stream, timers, bus),
                          projector, directory, stream)


class _NoTracker:
    queue_map: dict = {}
