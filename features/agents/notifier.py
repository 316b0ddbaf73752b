"""The one notifier: domain events -> Socket.IO emits to one agent's room.

Runs only in the process holding the PBX lease (see plugin.py), so each emit happens once;
``socketio.AsyncRedisManager`` carries it to whichever process holds the agent's socket.

Pop lifecycle (``features/agents/pops.py`` keeps the open pops):

- ``CallOffered``: the card is looked up while the caller waits (the cache gets warm).
- ``AgentRinging``: ``screen_pop`` to that agent (``transferred_from`` when the call was moved).
- ``CallAnswered``: ``pop_update`` (answered) to the agent who answered, ``pop_closed``
  ``answered_elsewhere`` to every other agent it was ringing for (ringall).
- ``AgentRingNoAnswer``: ``pop_closed`` ``not_answered``.
- ``CallAbandoned`` / ``CallEnded`` while ringing: ``pop_closed`` ``caller_hung_up``.
- ``AgentCompleted`` / ``CallTransferred`` / ``CallEnded`` after the answer: ``pop_update``
  (ended); the ended pop stays (the agent sets the disposition in wrap-up) until the agent's
  next pop.
- ``AgentStateChanged`` (the projector's): ``state`` ``{readiness: AgentView}``.

Only these kinds reach the notifier (its bus subscription accepts only :func:`notified`,
before anything is buffered), so the member and queue traffic of a busy PBX cannot push a ringing event
out. Events of one call are handled in order, in that call's lane; different calls (and the
``state`` of different agents) run side by side, so a slow card lookup of one call does not
hold up the next call's pop.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from features.agents.pop_schemas import Pop, PopClosed
from features.agents.pops import PopBuilder, PopStore, utc
from state.events import (
    AgentCompleted, AgentRingNoAnswer, AgentRinging, AgentStateChanged, CallAbandoned, CallAnswered,
    CallEnded, CallOffered, CallTransferred,
)
from state.models import Agent

log = logging.getLogger(__name__)

NAMESPACE = "/agent"


def room_of(agent_id: int) -> str:
    return f"agent:{int(agent_id)}"


NOTIFIED = (CallOffered, AgentRinging, CallAnswered, AgentRingNoAnswer, CallAbandoned,
            CallTransferred, AgentCompleted, CallEnded, AgentStateChanged)


def notified(event: Any) -> bool:
    """The kinds the notifier handles: its bus subscription buffers only these."""
    return isinstance(event, NOTIFIED)


def lane_of(event: Any) -> str:
    """Events that must keep their order share a lane: a call's, or an agent's ``state``."""
    if isinstance(event, AgentStateChanged):
        return f"agent:{event.agent_id}"
    return f"call:{event.linkedid}"


class Emitter(Protocol):
    async def emit(self, event: str, data: Any = None, *, to: str | None = None,
                   namespace: str | None = None) -> None: ...


OnAnswered = Callable[[int, CallAnswered, Pop], Awaitable[None]]
AgentLookup = Callable[[str], Awaitable[Agent | None]]  # a member interface -> its agent


class AgentsByInterface:
    """Member interface -> agent (None: nobody to pop for), kept in memory for ``ttl`` seconds.

    A ring always asks ``lookup`` (PostgreSQL; the notifier runs it side by side with the card
    lookup, so it adds no wait) and stores the answer: the answer, no-answer and hang-up of
    that ring then name the same agent without a round trip, and a phone given to another agent
    pops at the new agent from its first ring on."""

    def __init__(self, lookup: AgentLookup, ttl: float = 10.0) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._by_interface: dict[str, tuple[Agent | None, float]] = {}
        self._interface_of: dict[int, str] = {}  # agent id -> the interface cached for it

    async def get(self, interface: str, *, fresh: bool = False) -> Agent | None:
        now = time.monotonic()
        hit = self._by_interface.get(interface)
        if not fresh and hit is not None and now - hit[1] < self._ttl:
            return hit[0]
        agent = await self._lookup(interface)
        if agent is not None:
            old = self._interface_of.get(agent.id)
            if old is not None and old != interface:  # the agent moved to another phone
                self._by_interface.pop(old, None)
            self._interface_of[agent.id] = interface
        self._by_interface[interface] = (agent, now)
        return agent

    def __len__(self) -> int:
        return len(self._by_interface)


class PopNotifier:
    def __init__(self, emitter: Emitter, builder: PopBuilder, store: PopStore,
                 agents: AgentsByInterface, *, on_answered: OnAnswered | None = None,
                 parallel_calls: int = 8) -> None:
        self._sio = emitter
        self._on_answered = on_answered
        self._builder = builder
        self._store = store
        self._agent_of = agents.get
        # Calls handled at once: each takes up to three pool connections (agent, card, IVR);
        # without a bound a burst would take the whole pool from wrap-ups and REST.
        self._call_slots = asyncio.Semaphore(parallel_calls)
        self._transferred: dict[str, str] = {}  # linkedid -> who had it before
        self._lanes: dict[str, deque[Any]] = {}  # lane -> its events not yet handled
        self._lane_tasks: set[asyncio.Task[None]] = set()
        self.emitted = 0
        self.errors = 0

    async def emit(self, agent_id: int, event: str, data: Any) -> None:
        await self._sio.emit(event, data, to=room_of(agent_id), namespace=NAMESPACE)
        self.emitted += 1

    async def run(self, events: Any) -> None:
        """Consume events until cancelled (or the source ends): each goes to its lane, which
        handles it after the lane's earlier events; one bad event never stops a lane."""
        try:
            async for event in events:
                self.dispatch(event)
        finally:
            tasks = list(self._lane_tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._lanes.clear()

    def dispatch(self, event: Any) -> None:
        key = lane_of(event)
        pending = self._lanes.get(key)
        if pending is not None:  # the lane's task is running: it takes this one after the rest
            pending.append(event)
            return
        self._lanes[key] = deque([event])
        task = asyncio.create_task(self._drain(key), name="notifier-lane")
        self._lane_tasks.add(task)
        task.add_done_callback(self._lane_tasks.discard)

    @property
    def pending(self) -> int:
        return sum(len(q) for q in self._lanes.values())

    async def _drain(self, key: str) -> None:
        pending = self._lanes[key]
        try:
            while pending:
                event = pending[0]
                try:
                    if isinstance(event, AgentStateChanged):  # an emit, no database
                        await self.handle(event)
                    else:
                        async with self._call_slots:
                            await self.handle(event)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # type only: a message may carry a phone or an account
                    self.errors += 1
                    log.warning("notifier: handling %s failed: %s", getattr(event, "kind", "?"),
                                type(exc).__name__)
                pending.popleft()
        finally:
            # No await between the last check and this: a new event either saw the lane (and
            # was taken above) or finds it gone and starts a new one.
            if self._lanes.get(key) is pending:
                del self._lanes[key]

    async def handle(self, event: Any) -> None:
        match event:
            case CallOffered():
                self._builder.prepare(event.linkedid, event.caller_number, event.vars)
            case AgentRinging():
                await self._ringing(event)
            case CallAnswered():
                await self._answered(event)
            case AgentRingNoAnswer():
                await self._close_one(event.interface, event.linkedid, "not_answered")
            case CallAbandoned():
                await self._caller_gone(event.linkedid)
            case CallTransferred():
                await self._transferred_away(event)
            case AgentCompleted():
                agent = await self._agent_of(event.interface)
                if agent is not None:
                    await self._end(agent.id, event.linkedid, event.ts)
            case CallEnded():
                await self._caller_gone(event.linkedid, ended_at=event.ts)
                self._builder.forget(event.linkedid)
                self._transferred.pop(event.linkedid, None)
            case AgentStateChanged():
                await self.emit(event.agent_id, "state", {"readiness": event.view})

    async def _ringing(self, event: AgentRinging) -> None:
        # Who rings and what the pop shows are independent lookups: side by side, not in turn.
        agent, pop = await asyncio.gather(
            self._agent_of(event.interface, fresh=True),
            self._builder.build(
                linkedid=event.linkedid, queue=event.queue, caller_number=event.caller_number,
                vars=event.vars, ringing_at=utc(event.ts),
                transferred_from=self._transferred.get(event.linkedid)))
        if agent is None:
            return  # a member no agent logs in as (a static test member): nobody to show it to
        # The agent first, the bookkeeping after: the pop is what the latency is measured on.
        await self.emit(agent.id, "screen_pop", pop.model_dump(mode="json"))
        await self._store.put(agent.id, pop)
        await self._store.drop_ended(agent.id)

    async def _answered(self, event: CallAnswered) -> None:
        agent = await self._agent_of(event.interface)
        holders = await self._store.agents_of(event.linkedid)
        for other, status in holders.items():
            if status == "ringing" and (agent is None or other != agent.id):
                await self._close(other, event.linkedid, "answered_elsewhere")
        if agent is None:
            return
        pop = await self._store.get(agent.id, event.linkedid)
        if pop is None:  # answered without a ringing pop (it was lost): pop it now
            pop = await self._builder.build(
                linkedid=event.linkedid, queue=event.queue, caller_number="", vars={},
                ringing_at=utc(event.ts - event.ring_time),
                transferred_from=self._transferred.get(event.linkedid))
        pop = pop.model_copy(update={"status": "answered", "answered_at": utc(event.ts)})
        await self._store.put(agent.id, pop)
        await self.emit(agent.id, "pop_update", pop.model_dump(mode="json"))
        if self._on_answered is not None:
            await self._on_answered(agent.id, event, pop)

    async def _close_one(self, interface: str, linkedid: str, reason: str) -> None:
        agent = await self._agent_of(interface)
        if agent is not None and (await self._store.agents_of(linkedid)).get(agent.id) == "ringing":
            await self._close(agent.id, linkedid, reason)

    async def _close(self, agent_id: int, linkedid: str, reason: str) -> None:
        await self._store.remove(agent_id, linkedid)
        closed = PopClosed(call_id=linkedid, reason=reason)  # type: ignore[arg-type]
        await self.emit(agent_id, "pop_closed", closed.model_dump(mode="json"))

    async def _caller_gone(self, linkedid: str, ended_at: float | None = None) -> None:
        for agent_id, status in (await self._store.agents_of(linkedid)).items():
            if status == "ringing":
                await self._close(agent_id, linkedid, "caller_hung_up")
            elif status == "answered" and ended_at is not None:
                await self._end(agent_id, linkedid, ended_at)

    async def _end(self, agent_id: int, linkedid: str, ts: float) -> None:
        pop = await self._store.get(agent_id, linkedid)
        if pop is None or pop.status == "ended":
            return
        if pop.status == "ringing":
            await self._close(agent_id, linkedid, "caller_hung_up")
            return
        pop = pop.model_copy(update={"status": "ended", "ended_at": utc(ts)})
        await self._store.put(agent_id, pop)
        await self.emit(agent_id, "pop_update", pop.model_dump(mode="json"))

    async def _transferred_away(self, event: CallTransferred) -> None:
        agent = await self._agent_of(event.from_interface) if event.from_interface else None
        self._transferred[event.linkedid] = (
            agent.full_name if agent is not None else (event.from_queue or event.from_interface))
        if agent is not None:
            await self._end(agent.id, event.linkedid, event.ts)


async def disposition_changed(emitter: Emitter, agent_id: int, pop: dict) -> None:
    """The agent's own pop (JSON) with its new disposition, from whichever process took it."""
    try:
        await emitter.emit("pop_update", pop, to=room_of(agent_id), namespace=NAMESPACE)
    except Exception as exc:  # the disposition is stored; the desktop shows it at reconnect
        log.warning("pop_update after a disposition not sent: %s", type(exc).__name__)
