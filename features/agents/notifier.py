"""The one notifier: domain events -> Socket.IO emits to one agent's room.

Runs only in the process holding the PBX lease (see plugin.py), so each emit happens once;
``socketio.AsyncRedisManager`` carries it to whichever process holds the agent's socket.

Pop lifecycle (``features/agents/pops.py`` keeps the open pops):

- ``CallStarted``: the card is looked up by the caller's number while they are in the IVR.
- ``UserEventReceived`` ``CcsIdentified`` (our IVR, as soon as it knows the account): by that
  account, while the caller is still in the IVR.
- ``CallOffered``: by the account the IVR named (its channel variables), when it named one and
  no ``CcsIdentified`` did already, and the IVR's record of the call when its variables do not
  say it.
  These three only start lookups (no await): they are handled inside the publish, no lane.
- ``AgentRinging``: ``screen_pop`` to that agent (``transferred_from`` when the call was moved),
  from the facts ready in memory; the agent from the interface map (no PostgreSQL per ring).
  The emit goes first, Redis (for reconnects) after it. When the card is ready, the agent known
  and nothing of the call waits in its lane, the pop is put on the agent's sockets inside the
  publish itself (``PopRedisManager.emit_now``); otherwise the call's lane pops it.
- ``CallAnswered``: ``pop_update`` (answered) to the agent who answered (only what changed:
  ``call_id``, ``status``, ``answered_at``; a ``screen_pop`` instead when its ring's pop was
  lost), ``pop_closed``
  ``answered_elsewhere`` to every other agent it was ringing for (ringall).
- ``AgentRingNoAnswer``: ``pop_closed`` ``not_answered``.
- ``CallAbandoned`` / ``CallEnded`` while ringing: ``pop_closed`` ``caller_hung_up``.
- ``CallerLeftQueue`` of a Queue() timeout / a Redirect while ringing: ``pop_closed``
  ``queue_timeout`` / ``moved_elsewhere`` at once (the call goes on in the dialplan, so its
  ``CallEnded`` may come much later); other reasons (answered, hung up) are not notified.
- ``AgentCompleted`` / ``CallTransferred`` / ``CallEnded`` after the answer: ``pop_update``
  (``status`` ended, ``ended_at``, ``disposition``); the ended pop stays (the agent sets the
  disposition in wrap-up) until the agent's next pop.
- ``AgentStateChanged`` (the projector's): ``state`` ``{readiness: AgentView}``.

The notifier is a callback of the bus (:meth:`PopNotifier.on_event`, inline in the tracker's
publish) that keeps only :func:`notified` kinds and hands each to its lane at once: a lane's task
is created while the AMI chunk is still being read, so a ring costs no extra turn of the event
loop for a queue between the bus and the notifier (under load each turn is milliseconds). Events
of one call are handled in order, in that call's lane; different calls (and the ``state`` of
different agents) run side by side, so a slow card lookup of one call does not hold up the next
call's pop.
"""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import TypeAdapter

from features.agents.pop_schemas import Pop, PopClosed
from features.agents.pops import PopBuilder, PopStore, pop_wire, utc
from features.agents.socket_manager import JsonOnly
from state.events import (
    AgentCompleted, AgentRingNoAnswer, AgentRinging, AgentStateChanged, CallAbandoned, CallAnswered,
    IVR_IDENTIFIED, CallEnded, CallerLeftQueue, CallOffered, CallStarted, CallTransferred,
    UserEventReceived,
)
from state.json_text import json_text
from state.models import Agent

log = logging.getLogger(__name__)

NAMESPACE = "/agent"


def room_of(agent_id: int) -> str:
    return f"agent:{int(agent_id)}"


NOTIFIED = (CallStarted, CallOffered, AgentRinging, CallAnswered, AgentRingNoAnswer, CallAbandoned,
            CallerLeftQueue, CallTransferred, AgentCompleted, CallEnded, AgentStateChanged)

# CallerLeftQueue.reason -> the pop_closed reason; the other reasons (the answer, a hang-up,
# told by CallAnswered / CallAbandoned) leave nothing to close.
LEFT_QUEUE_CLOSES = {"timeout": "queue_timeout", "redirect": "moved_elsewhere"}


def notified(event: Any) -> bool:
    """The kinds the notifier handles: its bus subscription buffers only these. Of the callers
    leaving a queue (one per call of every queue) only those whose pops it closes."""
    if isinstance(event, CallerLeftQueue):
        return event.reason in LEFT_QUEUE_CLOSES
    if isinstance(event, UserEventReceived):
        return event.name == IVR_IDENTIFIED
    return isinstance(event, NOTIFIED)


def lane_of(event: Any) -> str:
    """Events that must keep their order share a lane: a call's, or an agent's ``state``."""
    if isinstance(event, AgentStateChanged):
        return f"agent:{event.agent_id}"
    return f"call:{event.linkedid}"


class Emitter(Protocol):
    async def emit(self, event: str, data: Any = None, *, to: str | None = None,
                   namespace: str | None = None) -> None: ...


# (agent id, the answer, the agent's pop, the id of the account its card shows or None)
OnAnswered = Callable[[int, CallAnswered, Pop, int | None], Awaitable[None]]


def _shown_account_id(wire: dict) -> int | None:
    """The account id of the card in a pop's JSON (the in-memory pop keeps its card only
    there, features/agents/pops.py CallFacts)."""
    card = wire.get("card")
    account = card.get("account") if isinstance(card, dict) else None
    found = account.get("id") if isinstance(account, dict) else None
    return found if isinstance(found, int) else None


class Agents(Protocol):
    """Who a member interface pops at (features/agents/interface_map.py)."""

    async def get(self, interface: str) -> Agent | None: ...

    def known(self, interface: str) -> tuple[bool, Agent | None]: ...


@dataclass
class _Open:
    """A pop this notifier put out and has not closed: the model (its card shared with the
    call's facts) and the JSON the agent got."""

    pop: Pop
    wire: dict


_OPEN_CALLS_KEPT = 20_000  # calls whose open pops are kept in memory (older: from Redis)
# Events waiting in lanes: past this (PostgreSQL or Redis stuck for long at full traffic) new
# ones are dropped and counted rather than kept until memory runs out.
MAX_PENDING = 100_000


class PopNotifier:
    def __init__(self, emitter: Emitter, builder: PopBuilder, store: PopStore,
                 agents: Agents, *, on_answered: OnAnswered | None = None,
                 parallel_calls: int = 8) -> None:
        self._sio = emitter
        self._on_answered = on_answered
        self._builder = builder
        self._store = store
        self._agent_of = agents.get
        self._agent_known = agents.known
        # The manager's emit without a suspension point (socket_manager.PopRedisManager), when
        # the server has one: a ring whose card is ready is popped inside the bus's publish.
        self._emit_now = getattr(getattr(emitter, "manager", None), "emit_now", None)
        # Calls whose answer / hang-up is handled at once (each writes PostgreSQL or Redis).
        self._call_slots = asyncio.Semaphore(parallel_calls)
        self._transferred: dict[str, str] = {}  # linkedid -> who had it before
        self._lanes: dict[str, deque[Any]] = {}  # lane -> its events not yet handled
        self._lane_tasks: set[asyncio.Task[None]] = set()
        # linkedid -> agent id -> the open pop. Only the lease holder writes pops, so what it
        # put out is what Redis holds (the agent's disposition aside, read where shown); a new
        # holder starts empty and reads Redis for the calls it did not see.
        self._open: OrderedDict[str, dict[int, _Open]] = OrderedDict()
        self._pending = 0
        self.emitted = 0
        self.emitted_at_once = 0  # rings popped inside the publish (no lane, no loop turn)
        self.errors = 0
        self.dropped = 0

    async def emit(self, agent_id: int, event: str, data: dict) -> None:
        # Every payload here is JSON already: python-socketio need not search it for bytes.
        await self._sio.emit(event, JsonOnly(data), to=room_of(agent_id), namespace=NAMESPACE)
        self.emitted += 1

    def on_event(self, event: Any) -> None:
        """The bus's callback (inline, in the tracker's publish): the kinds the notifier
        handles go to their lanes now."""
        if notified(event):
            self.dispatch(event)

    async def stop(self) -> None:
        """Cancel the lanes and forget the open pops (Redis keeps them for the next leader);
        call once the bus no longer calls :meth:`on_event`."""
        tasks = list(self._lane_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._lanes.clear()
        self._pending = 0
        self._open.clear()

    def dispatch(self, event: Any) -> None:
        """Hand ``event`` to its lane, which handles it after the lane's earlier events; one
        bad event never stops a lane."""
        if isinstance(event, (CallStarted, CallOffered, UserEventReceived)):
            self._prepare(event)
            return
        if (isinstance(event, AgentRinging) and lane_of(event) not in self._lanes
                and self._ring_now(event)):
            return
        if self._pending >= MAX_PENDING:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 10_000 == 0:
                log.error("notifier: %d events dropped, %d waiting", self.dropped, self._pending)
            return
        self._pending += 1
        key = lane_of(event)
        pending = self._lanes.get(key)
        if pending is not None:  # the lane's task is running: it takes this one after the rest
            pending.append(event)
            return
        self._lanes[key] = deque([event])
        task = asyncio.get_running_loop().create_task(self._drain(key), name="notifier-lane")
        self._lane_tasks.add(task)
        task.add_done_callback(self._lane_tasks.discard)

    @property
    def pending(self) -> int:
        return self._pending

    async def _drain(self, key: str) -> None:
        pending = self._lanes[key]
        try:
            while pending:
                event = pending[0]
                try:
                    if isinstance(event, (AgentStateChanged, AgentRinging)):
                        # An emit, or lookups started or awaited (PopBuilder bounds them): a
                        # ring whose card is ready never waits for another call's work.
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
                self._pending -= 1
        finally:
            # No await between the last check and this: a new event either saw the lane (and
            # was taken above) or finds it gone and starts a new one.
            if self._lanes.get(key) is pending:
                del self._lanes[key]

    async def handle(self, event: Any) -> None:
        match event:
            case AgentRinging():
                await self._ringing(event)
            case CallAnswered():
                await self._answered(event)
            case AgentRingNoAnswer():
                await self._close_one(event.interface, event.linkedid, "not_answered")
            case CallAbandoned():
                await self._caller_gone(event.linkedid)
            case CallerLeftQueue():
                await self._left_queue(event)
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
                self._open.pop(event.linkedid, None)
            case AgentStateChanged():
                await self.emit(event.agent_id, "state", {"readiness": event.view})

    # --- the open pops: memory first, Redis for calls this process did not see ------------------
    def _remember(self, agent_id: int, pop: Pop, wire: dict) -> None:
        holders = self._open.get(pop.call_id)
        if holders is None:
            holders = self._open[pop.call_id] = {}
            while len(self._open) > _OPEN_CALLS_KEPT:
                self._open.popitem(last=False)
        holders[agent_id] = _Open(pop, wire)

    async def _holders(self, linkedid: str) -> dict[int, str]:
        holders = self._open.get(linkedid)
        if holders is not None:
            return {agent_id: o.pop.status for agent_id, o in holders.items()}
        return await self._store.agents_of(linkedid)

    async def _opened(self, agent_id: int, linkedid: str) -> _Open | None:
        holders = self._open.get(linkedid)
        if holders is not None and agent_id in holders:
            return holders[agent_id]
        pop = await self._store.get(agent_id, linkedid)
        return None if pop is None else _Open(pop, pop_wire(pop))

    async def _update(self, agent_id: int, opened: _Open, **changes: Any) -> _Open:
        pop = opened.pop.model_copy(update=changes)
        wire = {**opened.wire, **_DATES.dump_python(
            {k: v for k, v in changes.items()}, mode="json")}
        updated = _Open(pop, wire)
        self._remember(agent_id, pop, wire)
        return updated

    # --- the pop's lifecycle --------------------------------------------------------------------
    def _prepare(self, event: CallStarted | CallOffered | UserEventReceived) -> None:
        """Start the call's lookups (PopBuilder.prepare spawns them): nothing to wait for, so
        no lane; a ring that follows in the same AMI chunk finds its call's lane empty."""
        try:
            match event:
                case CallStarted():
                    # The caller is still in the IVR: the card by their number meanwhile.
                    self._builder.prepare(event.linkedid, event.caller_number, {}, ivr=False)
                case CallOffered():
                    self._builder.prepare(event.linkedid, event.caller_number, event.vars)
                case UserEventReceived() if event.name == IVR_IDENTIFIED:
                    linkedid = event.fields.get("Linkedid", "")
                    account = event.fields.get("Account", "")
                    if linkedid and account:
                        self._builder.prepare(linkedid, event.fields.get("CallerIDNum", ""),
                                              {"CCS_ACCOUNT": account}, ivr=False)
        except Exception as exc:  # type only: a message may carry a phone or an account
            self.errors += 1
            log.warning("notifier: handling %s failed: %s", event.kind, type(exc).__name__)

    def _ring_now(self, event: AgentRinging) -> bool:
        """Pop a ring at once, inside the publish, when nothing of its call waits in a lane and
        all it needs is in memory (the agent, the card); False: the lane pops it."""
        if self._emit_now is None:
            return False
        try:
            known, agent = self._agent_known(event.interface)
            if not known:
                return False
            if agent is None:
                return True  # a member no agent logs in as: nobody to show it to
            facts = self._builder.ready_now(event.linkedid, event.caller_number, event.vars)
            if facts is None:
                return False
            pop = self._builder.pop(facts, linkedid=event.linkedid, queue=event.queue,
                                    caller_number=event.caller_number,
                                    ringing_at=utc(event.ts),
                                    transferred_from=self._transferred.get(event.linkedid))
            wire = pop_wire(pop, facts)
            if not self._emit_now("screen_pop", JsonOnly(wire), namespace=NAMESPACE,
                                  to=room_of(agent.id)):
                return False
        except Exception as exc:  # nothing was sent: the lane tries (and reports) it again
            log.debug("pop at once not possible: %s", type(exc).__name__)
            return False
        self.emitted += 1
        self.emitted_at_once += 1
        try:
            self._keep_ringing(agent.id, pop, wire)
        except Exception as exc:  # the pop is out; a reconnect may miss it
            self.errors += 1
            log.warning("notifier: storing a pop failed: %s", type(exc).__name__)
        return True

    async def _ringing(self, event: AgentRinging) -> None:
        agent = await self._agent_of(event.interface)
        if agent is None:
            return  # a member no agent logs in as (a static test member): nobody to show it to
        pop, facts = await self._builder.build(
            linkedid=event.linkedid, queue=event.queue, caller_number=event.caller_number,
            vars=event.vars, ringing_at=utc(event.ts),
            transferred_from=self._transferred.get(event.linkedid))
        wire = pop_wire(pop, facts)
        # The agent first, the bookkeeping after: the pop is what the latency is measured on.
        await self.emit(agent.id, "screen_pop", wire)
        self._keep_ringing(agent.id, pop, wire)

    def _keep_ringing(self, agent_id: int, pop: Pop, wire: dict) -> None:
        """After a ring's pop went out: kept in memory, and in Redis for reconnects."""
        self._remember(agent_id, pop, wire)
        self._store.ring(agent_id, pop.call_id, _stored(wire))  # queued, not awaited

    async def _answered(self, event: CallAnswered) -> None:
        agent = await self._agent_of(event.interface)
        for other, status in (await self._holders(event.linkedid)).items():
            if status == "ringing" and (agent is None or other != agent.id):
                await self._close(other, event.linkedid, "answered_elsewhere")
        if agent is None:
            return
        opened = await self._opened(agent.id, event.linkedid)
        lost = opened is None
        if lost:  # answered without a ringing pop (it was lost): pop it now
            pop, facts = await self._builder.build(
                linkedid=event.linkedid, queue=event.queue, caller_number="", vars={},
                ringing_at=utc(event.ts - event.ring_time),
                transferred_from=self._transferred.get(event.linkedid))
            opened = _Open(pop, pop_wire(pop, facts))
        opened = await self._update(agent.id, opened, status="answered",
                                    answered_at=utc(event.ts))
        if lost:
            await self.emit(agent.id, "screen_pop", opened.wire)
        else:
            await self.emit(agent.id, "pop_update", _changed(opened.wire, "status", "answered_at"))
        self._store.put_json(agent.id, event.linkedid, "answered", _stored(opened.wire))
        if self._on_answered is not None:
            await self._on_answered(agent.id, event, opened.pop,
                                    _shown_account_id(opened.wire))

    async def _close_one(self, interface: str, linkedid: str, reason: str) -> None:
        agent = await self._agent_of(interface)
        if agent is not None and (await self._holders(linkedid)).get(agent.id) == "ringing":
            await self._close(agent.id, linkedid, reason)

    async def _close(self, agent_id: int, linkedid: str, reason: str) -> None:
        closed = PopClosed(call_id=linkedid, reason=reason)  # type: ignore[arg-type]
        await self.emit(agent_id, "pop_closed", closed.model_dump(mode="json"))
        holders = self._open.get(linkedid)
        if holders is not None:
            holders.pop(agent_id, None)
        self._store.forget(agent_id, linkedid)

    async def _caller_gone(self, linkedid: str, ended_at: float | None = None) -> None:
        for agent_id, status in (await self._holders(linkedid)).items():
            if status == "ringing":
                await self._close(agent_id, linkedid, "caller_hung_up")
            elif status == "answered" and ended_at is not None:
                await self._end(agent_id, linkedid, ended_at)

    async def _left_queue(self, event: CallerLeftQueue) -> None:
        reason = LEFT_QUEUE_CLOSES.get(event.reason)
        if reason is None:
            return
        # The call's lane keeps the tracker's order: a ring of the queue it goes to next comes
        # after this, so every pop still ringing now was for the queue it left.
        for agent_id, status in (await self._holders(event.linkedid)).items():
            if status == "ringing":
                await self._close(agent_id, event.linkedid, reason)

    async def _end(self, agent_id: int, linkedid: str, ts: float) -> None:
        opened = await self._opened(agent_id, linkedid)
        if opened is None or opened.pop.status == "ended":
            return
        if opened.pop.status == "ringing":
            await self._close(agent_id, linkedid, "caller_hung_up")
            return
        opened = await self._update(agent_id, opened, status="ended", ended_at=utc(ts))
        # The agent may have set the disposition during the call (from any process).
        disposition = await self._store.put_ended(agent_id, linkedid, _stored(opened.wire))
        await self.emit(agent_id, "pop_update",
                        {**_changed(opened.wire, "status", "ended_at"), "disposition": disposition})

    async def _transferred_away(self, event: CallTransferred) -> None:
        agent = await self._agent_of(event.from_interface) if event.from_interface else None
        self._transferred[event.linkedid] = (
            agent.full_name if agent is not None else (event.from_queue or event.from_interface))
        if agent is not None:
            await self._end(agent.id, event.linkedid, event.ts)


_DATES: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])


def _changed(wire: dict, *fields: str) -> dict:
    """A ``pop_update``: the call and the fields that changed. The desktop holds the rest (the
    ring's pop, or its state at connect); resending the card (~6 KB) at the answer and at the
    end was two encodings and two websocket writes of it per call for nothing."""
    return {"call_id": wire["call_id"], **{name: wire[name] for name in fields}}


def _stored(wire: dict) -> str:
    """The pop as PopStore keeps it: JSON without the disposition (kept in a field of its own)."""
    return json_text({k: v for k, v in wire.items() if k != "disposition"})


async def disposition_changed(emitter: Emitter, agent_id: int, pop: dict) -> None:
    """The agent's own pop (JSON) with its new disposition, from whichever process took it."""
    try:
        await emitter.emit("pop_update", JsonOnly(pop), to=room_of(agent_id),
                           namespace=NAMESPACE)
    except Exception as exc:  # the disposition is stored; the desktop shows it at reconnect
        log.warning("pop_update after a disposition not sent: %s", type(exc).__name__)
