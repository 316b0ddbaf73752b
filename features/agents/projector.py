"""The ONLY writer of agent live state in Redis: a projection of the tracker's model.

Each agent's ``AgentView`` is derived from the tracker's members of the agent's interface over
all queues (membership, pause and its reason, the call it rings or talks for), overlaid with what
only the server knows: a change asked for and not yet confirmed (``pending``), one the PBX
refused (``failed``, with its reason) and the wrap-up deadline. A pause made on the PBX console,
an autopause, a PBX restart all reach it the same way as a change asked for in the browser:
through the tracker's events. After each visible change the view is written to Redis, then the
state change is published on the bus (``AgentStateChanged``); if the state moved, it is logged in
PostgreSQL. Both writes go behind the projector, many changes per round trip (the views of a
burst in one MULTI, the latest of each agent; the publications after it, every change in order):
the next event never waits on Redis or PostgreSQL, so a busy PBX does not leave the views
seconds behind. A failed Redis write is tried again (newer views win) before anything of it
is published.

Public API (``Projector(tracker, live, directory, state_log, wrapups, publish,
pending_timeout=..., wrapup_seconds=settings.wrapup_for)``; without ``wrapup_seconds`` the
wrap-up shows only once its row exists, so the agent flashes "ready" for a moment after a call):
- ``await start(bus)`` / ``await stop()``: subscribe to the bus, rebuild every view from the
  tracker's model, then follow the events (the leader only).
- ``submit(event)``: hand over one of the service's events (read from the agents' stream).
- ``request_rebuild()``: rebuild all views (after a resync).
- ``await rebuild()``; ``view(agent_id) -> AgentView | None`` (the last one written here).
- ``derive(agent, tracker, overlay, now) -> AgentView`` (pure: what the view is).
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from cti.bus import EventBus
from cti.tracker import Tracker
from features.agents.directory import AgentDirectory
from features.agents.intent import LOGGED_OUT_REASON, WRAPUP_REASON
from features.agents.schemas import AgentView, Failed, Pending
from features.agents.state_log import StateLog
from features.agents.wrapup import WrapUpStore
from state.events import (
    AgentCompleted, AgentRinging, AgentRingNoAnswer, AgentStateChanged, CallAnswered, CallEnded,
    DomainEvent, MemberAdded, MemberRemoved, MemberStateChanged, ReadinessApplied,
    ReadinessFailed, ReadinessRequested, WrapUpChanged,
)
from state.live import LiveState
from state.models import Agent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Overlay:
    """What only the server knows about one agent."""

    pending: Pending | None = None
    applied: bool = False  # the service finished the actions of ``pending``
    failed: Failed | None = None
    wrapup_until: dt.datetime | None = None
    wrapup_extended: bool = False


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


def derive(agent: Agent, tracker: Tracker, overlay: Overlay, now: dt.datetime,
           since: dt.datetime | None = None) -> AgentView:
    interface = agent.interface or ""
    queues, paused_reasons, any_ready = [], [], False
    ringing = talking = ""
    for q in tracker.queue_map.values():
        member = q.members.get(interface)
        if member is None:
            continue
        state = member.state
        if state.paused and state.paused_reason == LOGGED_OUT_REASON:
            continue  # a static member that logged out
        queues.append(q.name)
        talking = talking or member.talking_for
        ringing = ringing or member.ringing_for
        if state.paused:
            paused_reasons.append(state.paused_reason)
        else:
            any_ready = True
    reason: str | None = None
    call_id: str | None = None
    if not queues:
        view_state = "logged_out"
    elif talking:
        view_state, call_id = "on_call", talking
    elif ringing:
        view_state, call_id = "ringing", ringing
    elif overlay.wrapup_until is not None or WRAPUP_REASON in paused_reasons:
        view_state = "wrap_up"
    elif any_ready:
        view_state = "ready"
    else:
        view_state = "not_ready"
        reason = next((r for r in paused_reasons if r), "") or None
    pending = overlay.pending
    return AgentView(
        agent_id=agent.id, state=view_state, reason=reason, since=since or now,
        queues=sorted(queues), pending=pending, failed=overlay.failed,
        wrapup_until=overlay.wrapup_until if view_state == "wrap_up" else None,
        wrapup_extended=overlay.wrapup_extended if view_state == "wrap_up" else False,
        call_id=call_id)


def _same_deadline(old: dt.datetime | None, new: dt.datetime | None) -> dt.datetime | None:
    """The wrap-up deadline shown, kept when the new one is the same to the second: the one
    shown at the call's end and the durable one written a moment later differ by milliseconds,
    which the agent's countdown cannot show (an extension is at least a second)."""
    if old is not None and new is not None and abs((new - old).total_seconds()) < 1:
        return old
    return new


def _matches(view: AgentView, pending: Pending) -> bool:
    return view.state == pending.state and (pending.state != "not_ready"
                                            or view.reason == pending.reason)


class Projector:
    def __init__(self, tracker: Tracker, live: LiveState, directory: AgentDirectory,
                 state_log: StateLog, wrapups: WrapUpStore,
                 publish: Callable[[DomainEvent], None], *, pending_timeout: float = 10.0,
                 wrapup_seconds: Callable[[str], int] | None = None,
                 inbox_max: int = 100_000, retry_seconds: float = 0.5,
                 stop_timeout: float = 5.0) -> None:
        self.tracker = tracker
        self.live = live
        self.directory = directory
        self.state_log = state_log
        self.wrapups = wrapups
        self._publish = publish
        self.pending_timeout = pending_timeout
        # On AgentCompleted the wrap-up is shown at once (its row and pause follow), so the
        # agent never flashes "ready" between the call and the wrap-up.
        self._wrapup_seconds = wrapup_seconds
        self._overlay: dict[int, Overlay] = {}
        self._views: dict[int, AgentView] = {}
        # call id -> agents whose view shows that call (a call's end finds them without
        # walking every agent's view: thousands of views, a hundred calls ending a second).
        self._on_call: dict[str, set[int]] = {}
        # Bounded: when the projector falls this far behind it drops what comes and, once it has
        # caught up, rebuilds every view from the tracker (which is current), instead of
        # holding an unbounded backlog of events that are stale by the time they are applied.
        self._inbox: asyncio.Queue[DomainEvent | None] = asyncio.Queue(maxsize=inbox_max)
        self._overflowed = False
        self.dropped = 0
        self.rebuilds = 0
        self._task: asyncio.Task | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.writes = 0
        self.errors = 0
        # Written behind (see the module's docstring): the latest view of each agent not yet
        # in Redis, and the changes to publish once it is, in order.
        self._unwritten: dict[int, dict] = {}
        self._announce: list[tuple[float, int, dict]] = []
        self._writer: asyncio.Task[None] | None = None
        self._retry_seconds = retry_seconds
        self._stop_timeout = stop_timeout
        self.view_batches = 0

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self, bus: EventBus[DomainEvent]) -> None:
        # Subscribe before the rebuild so nothing falls between the two.
        unsubscribe = bus.subscribe(self.submit)
        assert callable(unsubscribe)
        self._unsubscribe = unsubscribe  # type: ignore[assignment]
        await self.rebuild()
        self._task = asyncio.create_task(self._run(), name="agents-projector")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # What the projector saw is stored before the lease goes to another process; what
        # cannot be (Redis or PostgreSQL away) must not be written later over the new
        # leader's: the writers stop, and what they hold waits for this process to lead again.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._stop_timeout):
                await self._views_written()
                await self.state_log.flushed()
        if self._writer is not None and not self._writer.done():
            log.warning("agents projector stopped with %d views not written to Redis",
                        len(self._unwritten))
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        await self.state_log.pause()

    def submit(self, event: DomainEvent) -> None:
        self._offer(event)

    def request_rebuild(self) -> None:
        self._offer(None)

    def _offer(self, item: DomainEvent | None) -> None:
        if not self._overflowed:
            try:
                self._inbox.put_nowait(item)
                return
            except asyncio.QueueFull:
                self._overflowed = True
                log.warning("agents projector fell %d events behind: rebuilding once caught up",
                            self._inbox.maxsize)
        self.dropped += 1

    def view(self, agent_id: int) -> AgentView | None:
        return self._views.get(agent_id)

    async def idle(self) -> None:
        """Wait until every event handed over so far is projected (tests, benchmarks)."""
        while not self._inbox.empty():
            await asyncio.sleep(0.005)
        await self._views_written()
        await self.state_log.flushed()

    async def _views_written(self) -> None:
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    # --- work ------------------------------------------------------------------------------
    async def rebuild(self) -> None:
        self.rebuilds += 1
        await self.directory.refresh()
        now = dt.datetime.now(dt.timezone.utc)
        wraps = {w.agent_id: w for w in await self.wrapups.all()}
        for agent_id, overlay in list(self._overlay.items()):
            self._overlay[agent_id] = replace(overlay, wrapup_until=None, wrapup_extended=False)
        for agent_id, wrap in wraps.items():
            if wrap.until > now:
                self._overlay[agent_id] = replace(self._overlay.get(agent_id, Overlay()),
                                                  wrapup_until=wrap.until,
                                                  wrapup_extended=wrap.extended)
        for agent in self.directory.agents():
            if agent.id not in self._views:
                stored = await self.live.get_agent_view(agent.id)
                if stored is not None:
                    with contextlib.suppress(ValueError):
                        self._keep_view(agent.id, AgentView.model_validate(stored))
            await self._project(agent)

    async def _run(self) -> None:
        while True:
            event = await self._inbox.get()
            try:
                if event is None:
                    await self.rebuild()
                else:
                    await self.apply(event)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis or PostgreSQL down: the next event or rebuild catches up
                self.errors += 1
                log.exception("agents projector: event %s not projected",
                              getattr(event, "kind", "rebuild"))
            if self._overflowed and self._inbox.empty():
                self._overflowed = False
                self._inbox.put_nowait(None)  # what was dropped is in the tracker: rebuild

    async def apply(self, event: DomainEvent) -> None:
        for agent in await self._agents_of(event):
            await self._project(agent)

    async def _agents_of(self, event: DomainEvent) -> list[Agent]:
        if isinstance(event, (MemberAdded, MemberStateChanged)):
            agent = self.directory.agent_for_member(event.member.interface,
                                                    event.member.state_interface)
            if agent is None:
                agent = await self.directory.find_interface(event.member.interface)
            return [agent] if agent else []
        if isinstance(event, (MemberRemoved, AgentRinging, AgentRingNoAnswer, CallAnswered,
                              AgentCompleted)):
            agent = self.directory.agent_for_interface(event.interface)
            if agent is not None and isinstance(event, AgentCompleted) and self._wrapup_seconds:
                seconds = self._wrapup_seconds(event.queue)
                if seconds > 0:
                    self._overlay[agent.id] = replace(
                        self._overlay.get(agent.id, Overlay()), wrapup_extended=False,
                        wrapup_until=dt.datetime.now(dt.timezone.utc)
                        + dt.timedelta(seconds=seconds))
            return [agent] if agent else []
        if isinstance(event, CallEnded):
            ids = set(self._on_call.get(event.linkedid, ()))
            agent = self.directory.agent_for_interface(event.interface) if event.interface else None
            if agent is not None:
                ids.add(agent.id)
            return [a for a in map(self.directory.cached, ids) if a is not None and a.interface]
        if isinstance(event, (ReadinessRequested, ReadinessFailed, ReadinessApplied,
                              WrapUpChanged)):
            self._overlay[event.agent_id] = self._overlaid(event)
            agent = self.directory.cached(event.agent_id) or await self.directory.get(
                event.agent_id)
            return [agent] if agent and agent.interface else []
        return []

    def _overlaid(self, event: DomainEvent) -> Overlay:
        overlay = self._overlay.get(getattr(event, "agent_id"), Overlay())
        if isinstance(event, ReadinessRequested):
            return replace(overlay, pending=Pending(state=event.state, reason=event.reason,
                                                    since=_utc(event.ts)),
                           applied=False, failed=None)
        if isinstance(event, ReadinessFailed):
            return replace(overlay, pending=None, applied=False, failed=Failed(
                state=event.state, reason=event.reason, error=event.error,
                message=event.message, at=_utc(event.ts)))
        if isinstance(event, ReadinessApplied):
            return replace(overlay, applied=True)
        assert isinstance(event, WrapUpChanged)
        if event.until is None:
            return replace(overlay, wrapup_until=None, wrapup_extended=False)
        return replace(overlay, wrapup_until=_utc(event.until), wrapup_extended=event.extended)

    async def _project(self, agent: Agent) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        overlay = self._overlay.get(agent.id, Overlay())
        view = derive(agent, self.tracker, overlay, now)
        if overlay.pending is not None and (
                _matches(view, overlay.pending)
                or (now - overlay.pending.since).total_seconds() > self.pending_timeout):
            overlay = replace(overlay, pending=None, applied=False)
            self._overlay[agent.id] = overlay
            view = view.model_copy(update={"pending": None})
        if view.pending is not None and view.state == "wrap_up" and overlay.wrapup_until:
            # During a wrap-up the agent's own requests wait for its end without a request
            # (service.set_readiness); one made now is the wrap-up ending, which the agent
            # does not wait on: the view moves on when the PBX confirms it.
            view = view.model_copy(update={"pending": None})
        old = self._views.get(agent.id)
        moved = old is None or (old.state, old.reason) != (view.state, view.reason)
        if not moved:
            assert old is not None
            view = view.model_copy(update={"since": old.since, "wrapup_until": _same_deadline(
                old.wrapup_until, view.wrapup_until)})
            if view == old:
                return
        self._keep_view(agent.id, view)
        self.writes += 1
        dumped = view.model_dump(mode="json")
        self._unwritten[agent.id] = dumped
        self._announce.append((now.timestamp(), agent.id, dumped))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write_views(), name="agents-views")
        if moved:
            self.state_log.submit(agent.id, view.state, view.reason, view.since)

    def _keep_view(self, agent_id: int, view: AgentView) -> None:
        old = self._views.get(agent_id)
        if old is not None and old.call_id and old.call_id != view.call_id:
            holders = self._on_call.get(old.call_id)
            if holders is not None:
                holders.discard(agent_id)
                if not holders:
                    del self._on_call[old.call_id]
        if view.call_id:
            self._on_call.setdefault(view.call_id, set()).add(agent_id)
        self._views[agent_id] = view

    async def _write_views(self) -> None:
        while self._unwritten:
            views, announce = self._unwritten, self._announce
            self._unwritten, self._announce = {}, []
            try:
                await self.live.put_agent_views(views)
            except asyncio.CancelledError:  # kept for the next writer
                self._keep_unwritten(views, announce)
                raise
            except Exception as exc:  # Redis down: kept, tried again
                self._keep_unwritten(views, announce)
                self.errors += 1
                log.warning("agent views not written to Redis (%d kept): %s", len(views),
                            type(exc).__name__)
                await asyncio.sleep(self._retry_seconds)
                continue
            self.view_batches += 1
            for ts, agent_id, view in announce:
                self._publish(AgentStateChanged(ts=ts, agent_id=agent_id, view=view))

    def _keep_unwritten(self, views: dict[int, dict],
                        announce: list[tuple[float, int, dict]]) -> None:
        self._unwritten = {**views, **self._unwritten}  # a newer view of an agent wins
        self._announce[:0] = announce
