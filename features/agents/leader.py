"""What only the lease holder runs for the agents: the projector, the wrap-up timers, the start
of a wrap-up on each ``AgentCompleted``, the reading of the agents' stream, and the re-apply of
intents once it becomes the leader.

A wrap-up whose start fails (PostgreSQL or Redis away a moment) is tried again every ``retry``
seconds until it would be over, as the timers retry its end.

Public API (wired by ``features/agents/plugin.py``):
``AgentsLeader(service, projector, stream, timers, bus, *, block_ms, retry)``:
- ``await start()`` (the lease's ``on_acquired``): rebuild the views from the tracker, load the
  wrap-up deadlines, follow the bus and the stream, ask for one re-apply of the intents.
- ``await stop()`` (``on_lost`` and shutdown).
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from cti.bus import EventBus
from features.agents.projector import Projector
from features.agents.service import AgentService
from features.agents.stream import AgentEventStream
from features.agents.wrapup import WrapUpTimers
from state.events import AgentCompleted, DomainEvent, WrapUpChanged

log = logging.getLogger(__name__)


class AgentsLeader:
    def __init__(self, service: AgentService, projector: Projector, stream: AgentEventStream,
                 timers: WrapUpTimers, bus: EventBus[DomainEvent], *,
                 block_ms: int = 1000, retry: float = 2.0) -> None:
        self.service = service
        self.projector = projector
        self.stream = stream
        self.timers = timers
        self.bus = bus
        self._block_ms = block_ms
        self.retry = retry
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
        # This server's clock, not the event's (the PBX's clock may differ from ours).
        ended = dt.datetime.now(dt.timezone.utc)
        last_try = ended + dt.timedelta(seconds=self.service.settings.wrapup_for(event.queue))
        started = False
        try:
            while True:
                try:
                    started = await self.service.start_wrapup(event.interface, event.queue,
                                                              event.linkedid, ended_at=ended)
                    return
                except Exception as exc:  # PostgreSQL or Redis away a moment: try again
                    # Not retried, the agent would skip this wrap-up and be offered the next
                    # call at once while the desk shows wrap-up.
                    log.warning("starting a wrap-up failed: %s", type(exc).__name__)
                    if dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=self.retry) \
                            >= last_try:
                        return  # it would be over before the next try
                    await asyncio.sleep(self.retry)
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
