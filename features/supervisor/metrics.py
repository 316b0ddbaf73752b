"""Live queue metrics for the supervisor board, kept incrementally (never polling the PBX).

- Waiting callers and the longest wait: the tracker's queue entries, read when a tile is built;
  the wait is ``now - joined`` with this object's clock, so it grows with no traffic at all.
- Agents per queue (logged in / ready / ringing / on call / wrap-up / not ready by reason): the
  agents' projector views (``AgentStateChanged``) for members that are agents, the tracker's
  member state for members that are not (a static member of queues.conf).
- Today's and the last hour's figures: folded from the legs the call recorder wrote (its
  listener), so they are the report's figures by construction (``formulas.py``). On start
  today's are rebuilt from ``queue_calls``; legs folded twice are recognised by (call_id, leg).
- Per agent: state and since (the view), calls answered today and AHT.
- A leg counts once it ends (so live == report at every moment); the calls being talked now
  are shown beside the figures (``QueueTile.talking``, from the tracker's queue visits).
- The last hour's chart (``QueueTile.last_hour_series``): the window's legs summed per
  5-minute bucket of entered_at, aligned to the clock, with the same formulas.
- The tile carries its queue's title and service level threshold (``queues.title`` and
  ``queues.service_level_seconds``, read at start: the reports read the same column, so live
  and report agree; a queue without a row has ``settings.sl_threshold``), its service level
  target and colour thresholds (settings); the board the pause reasons (``pause_reasons``).
  A changed threshold reaches the board when the metrics start again (a server restart or a
  handover of the PBX lease): today's and the last hour's figures are then refolded with it.

Public API (``QueueMetrics(pool, settings, tracker, directory, live=None, bus=bus,
recorder=recorder, clock=time.time, pause_reasons=())``; ``directory``: an ``AgentDirectory``, refreshed at start):
- ``await start()`` / ``await stop()`` (leader work, after the recorder's).
- ``fold(legs, wrapups)``: the recorder's listener (``start`` registers it).
- ``board() -> Board``, ``tile(queue) -> QueueTile``, ``agent_row(agent_id) -> AgentRow | None``,
  ``queue_names() -> list[str]``, ``today(queue) -> Figures``.
- ``add_listener(fn)``: ``fn(queues: set[str], agent_ids: set[int])`` after every change (called
  inline: it must be quick, e.g. mark dirty for a coalescing pusher).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import asyncpg

from cti.bus import EventBus
from cti.tracker.model import TALKING as _SEG_TALKING
from features.supervisor.board_schemas import (
    AgentCounts, AgentRow, Board, Choice, Figures, QueueTile, SeriesPoint, TileColours,
)
from features.supervisor.formulas import AgentSums, Leg, Sums, figures, service_level
from features.supervisor.settings import SupervisorSettings
from state.events import (
    AgentStateChanged, CallAbandoned, CallAnswered, CallEnded, CallerLeftQueue, CallOffered,
    DomainEvent, MemberAdded, MemberRemoved, MemberStateChanged, AgentRinging,
    AgentRingNoAnswer, AgentCompleted,
)
from state.repositories.agents import list_queues

log = logging.getLogger(__name__)

ChangeListener = Callable[[set[str], set[int]], None]
_QUEUE_EVENTS = (CallOffered, CallAnswered, CallAbandoned, CallerLeftQueue, AgentRinging,
                 AgentRingNoAnswer, AgentCompleted, MemberRemoved)
_WRAPUP_REASON = "wrap-up"
_LOGGED_OUT_REASON = "logged_out"


BUCKET_SECONDS = 300  # the last hour's chart: 5-minute buckets, aligned to the clock
_NO_LEGS = Sums()


class Window:
    """The sliding last hour of one queue: legs by their entered_at, and the same legs in
    clock-aligned buckets for the chart (kept as sums: a tile never walks the legs)."""

    def __init__(self) -> None:
        self.sums = Sums()
        self.legs: dict[tuple[str, int], Leg] = {}
        self._heap: list[tuple[float, str, int]] = []
        self.buckets: dict[int, Sums] = {}
        # A bucket's chart point is built again only when a leg lands in it: a tile pushed
        # several times a second rebuilds one point (the current bucket's), not twelve.
        self._points: dict[int, SeriesPoint] = {}

    def add(self, leg: Leg, threshold: float, short: float) -> None:
        key = (leg.call_id, leg.leg)
        if key in self.legs:
            return
        self.legs[key] = leg
        entered = leg.entered_at.timestamp()
        heapq.heappush(self._heap, (entered, leg.call_id, leg.leg))
        self.sums.add(leg, threshold, short)
        start = int(entered // BUCKET_SECONDS) * BUCKET_SECONDS
        self.buckets.setdefault(start, Sums()).add(leg, threshold, short)
        self._points.pop(start, None)

    def wrapup(self, key: tuple[str, int], seconds: float) -> None:
        leg = self.legs.get(key)
        if leg is not None and leg.wrapup is None:
            self.sums.add_wrapup(leg, seconds)
            self.legs[key] = replace(leg, wrapup=seconds)

    def expire(self, before: float, threshold: float, short: float) -> None:
        # A bucket is shown while it ends after the window's start (series(): the first shown
        # one starts at or after it), so its legs are all still here: it is dropped whole.
        for start in [b for b in self.buckets if b + BUCKET_SECONDS <= before]:
            del self.buckets[start]
            self._points.pop(start, None)
        dropped_max = False
        while self._heap and self._heap[0][0] < before:
            _, call_id, number = heapq.heappop(self._heap)
            leg = self.legs.pop((call_id, number), None)
            if leg is None:
                continue
            self.sums.add(leg, threshold, short, sign=-1)
            if leg.answered and self.sums.handle_max is not None \
                    and leg.handle >= self.sums.handle_max:
                dropped_max = True
        if dropped_max:
            handles = [leg.handle for leg in self.legs.values() if leg.answered]
            self.sums.handle_max = max(handles) if handles else None

    def series(self, now: float, length: float) -> list[SeriesPoint]:
        """The buckets of the last ``length`` seconds up to the one ``now`` is in (oldest
        first); every one starts at or after ``now - length``, so no leg of it has expired."""
        end = (int(now // BUCKET_SECONDS) + 1) * BUCKET_SECONDS
        count = max(1, int(length // BUCKET_SECONDS))
        points = []
        for start in range(end - count * BUCKET_SECONDS, end, BUCKET_SECONDS):
            point = self._points.get(start)
            if point is None:
                b = self.buckets.get(start) or _NO_LEGS
                point = SeriesPoint(
                    start=dt.datetime.fromtimestamp(start, dt.timezone.utc),
                    seconds=BUCKET_SECONDS, offered=b.offered, answered=b.answered,
                    abandoned=b.abandoned, service_level=service_level(b))
                if start in self.buckets:  # an empty one may fill later: not kept
                    self._points[start] = point
            points.append(point)
        return points


class QueueMetrics:
    def __init__(self, pool: asyncpg.Pool, settings: SupervisorSettings, tracker: Any,
                 directory: Any, live: Any = None, *, bus: EventBus[DomainEvent] | None = None,
                 recorder: Any = None, clock: Callable[[], float] = time.time,
                 pause_reasons: Sequence[str] = ()) -> None:
        self.pool = pool
        self.bus = bus
        self.recorder = recorder
        self.settings = settings
        self.tracker = tracker
        self.directory = directory
        self.live = live
        self.clock = clock
        self.pause_reasons = list(pause_reasons)
        self.zone = settings.zone()
        self._titles: dict[str, str] = {}
        self._thresholds: dict[str, int] = {}
        self._day: dt.date | None = None
        self._today: dict[str, Sums] = {}
        self._today_legs: dict[tuple[str, int], Leg] = {}
        self._agents_today: dict[int, AgentSums] = {}
        self._hour: dict[str, Window] = {}
        self._views: dict[int, dict[str, Any]] = {}
        self._listeners: list[ChangeListener] = []
        self._unsubscribe: Callable[[], None] | None = None
        self.folded = 0

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self, bus: EventBus[DomainEvent] | None = None, recorder: Any = None) -> None:
        bus = bus or self.bus
        recorder = recorder or self.recorder
        assert bus is not None, "the metrics need the bus (constructor or start)"
        if hasattr(self.directory, "refresh"):
            await self.directory.refresh()
        await self._load_queues()  # before any fold: a leg is counted with its queue's threshold
        # Listen first, then rebuild: a leg written in between is folded once (by its key).
        if recorder is not None:
            recorder.add_listener(self.fold)
        unsubscribe = bus.subscribe(self._on_event)
        assert callable(unsubscribe)
        self._unsubscribe = unsubscribe  # type: ignore[assignment]
        await self.rebuild()

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def add_listener(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    async def _load_queues(self) -> None:
        queues = await list_queues(self.pool)
        thresholds = {q.name: q.service_level_seconds for q in queues}
        if thresholds != self._thresholds:
            # Sums folded with the old thresholds would disagree with the report: refold.
            self._day, self._hour = None, {}
        self._titles = {q.name: q.title for q in queues}
        self._thresholds = thresholds

    def threshold(self, queue: str) -> int:
        """The queue's service level threshold, seconds (its ``queues`` row, else the
        settings' default)."""
        return self._thresholds.get(queue, self.settings.sl_threshold)

    async def rebuild(self) -> None:
        """Today's and the last hour's figures from ``queue_calls``; agent views from Redis."""
        now = self.clock()
        self._roll(now)
        assert self._day is not None
        since = min(self._day_start(self._day), now - self.settings.last_hour_seconds)
        rows = await self.pool.fetch(
            """SELECT call_id, leg, queue, entered_at, outcome, wait_seconds, talk_seconds,
                      wrapup_seconds, agent_id
               FROM queue_calls WHERE entered_at >= $1 ORDER BY entered_at, id""",
            dt.datetime.fromtimestamp(since, dt.timezone.utc))
        self.fold([Leg(r["call_id"], r["leg"], r["queue"], r["entered_at"], r["outcome"],
                       r["wait_seconds"], r["talk_seconds"], r["wrapup_seconds"], r["agent_id"])
                   for r in rows], [])
        if self.live is not None:
            for agent in self.directory.agents():
                if agent.id in self._views:
                    continue
                try:
                    view = await self.live.get_agent_view(agent.id)
                except Exception as exc:  # Redis down: the next AgentStateChanged fills it
                    log.warning("board: agent views not loaded (%s)", type(exc).__name__)
                    break
                if view is not None:
                    self._views[agent.id] = view

    # --- folding ---------------------------------------------------------------------------
    def fold(self, legs: Iterable[Leg], wrapups: Iterable[tuple[str, int, float]]) -> None:
        now = self.clock()
        self._roll(now)
        assert self._day is not None
        day_start = self._day_start(self._day)
        hour_start = now - self.settings.last_hour_seconds
        short = self.settings.short_abandon_seconds
        queues: set[str] = set()
        agents: set[int] = set()
        for leg in legs:
            threshold = self.threshold(leg.queue)
            entered = leg.entered_at.timestamp()
            key = (leg.call_id, leg.leg)
            if entered >= day_start and key not in self._today_legs:
                self._today_legs[key] = leg
                self._today.setdefault(leg.queue, Sums()).add(leg, threshold, short)
                if leg.agent_id is not None:
                    self._agents_today.setdefault(leg.agent_id, AgentSums()).add(leg)
                    agents.add(leg.agent_id)
                self.folded += 1
            if entered >= hour_start:
                self._hour.setdefault(leg.queue, Window()).add(leg, threshold, short)
            queues.add(leg.queue)
        for call_id, number, seconds in wrapups:
            key = (call_id, number)
            leg = self._today_legs.get(key)
            if leg is not None and leg.wrapup is None:
                self._today[leg.queue].add_wrapup(leg, seconds)
                self._today_legs[key] = replace(leg, wrapup=seconds)
                if leg.agent_id is not None and leg.answered:
                    self._agents_today.setdefault(leg.agent_id, AgentSums()).wrapup_sum += seconds
                    agents.add(leg.agent_id)
                queues.add(leg.queue)
            for name, window in self._hour.items():
                if key in window.legs:
                    window.wrapup(key, seconds)
                    queues.add(name)
        if queues or agents:
            self._changed(queues, agents)

    def _on_event(self, event: DomainEvent) -> None:
        if isinstance(event, _QUEUE_EVENTS):
            self._changed({event.queue}, set())  # type: ignore[attr-defined]
        elif isinstance(event, (MemberAdded, MemberStateChanged)):
            self._changed({event.member.queue}, set())
        elif isinstance(event, AgentStateChanged):
            self._views[event.agent_id] = event.view
            self._changed(set(event.view.get("queues") or ()) | self._queues_of(event.agent_id),
                          {event.agent_id})
        elif isinstance(event, CallEnded) and event.queue:
            self._changed({event.queue}, set())

    def _queues_of(self, agent_id: int) -> set[str]:
        agent = self.directory.cached(agent_id) if hasattr(self.directory, "cached") else None
        if agent is None or not agent.interface or self.tracker is None:
            return set()
        return {q.name for q in self.tracker.queue_map.values() if agent.interface in q.members}

    def _changed(self, queues: set[str], agents: set[int]) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(queues, agents)
            except Exception:
                log.exception("board: a change listener failed")

    def _roll(self, now: float) -> None:
        day = dt.datetime.fromtimestamp(now, self.zone).date()
        if day != self._day:
            self._day = day
            self._today, self._today_legs, self._agents_today = {}, {}, {}

    def _day_start(self, day: dt.date) -> float:
        return dt.datetime.combine(day, dt.time(0), tzinfo=self.zone).timestamp()

    # --- reading ---------------------------------------------------------------------------
    def queue_names(self) -> list[str]:
        names = set(self._today) | set(self._hour)
        if self.tracker is not None:
            names |= set(self.tracker.queue_map)
        return sorted(names)

    def today(self, queue: str | None = None) -> Figures:
        self._roll(self.clock())
        if queue is not None:
            return figures(self._today.get(queue, Sums()))
        total = Sums()
        for sums in self._today.values():
            total.merge(sums)
        return figures(total)

    def last_hour(self, queue: str) -> Figures:
        window = self._hour.get(queue)
        if window is None:
            return Figures()
        window.expire(self.clock() - self.settings.last_hour_seconds,
                      self.threshold(queue), self.settings.short_abandon_seconds)
        return figures(window.sums)

    def last_hour_series(self, queue: str) -> list[SeriesPoint]:
        now, length = self.clock(), self.settings.last_hour_seconds
        window = self._hour.get(queue)
        if window is None:
            window = Window()
        else:
            window.expire(now - length, self.threshold(queue),
                          self.settings.short_abandon_seconds)
        return window.series(now, length)

    def colours(self, queue: str) -> TileColours:
        s, threshold = self.settings, self.threshold(queue)
        return TileColours(
            sl_target=s.target_for(queue), sl_red_below=s.colour_sl_red_below,
            waiting_amber=s.colour_waiting_amber, waiting_red=s.colour_waiting_red,
            wait_amber=s.colour_wait_amber_seconds or float(threshold),
            wait_red=s.colour_wait_red_seconds or float(threshold * 3))

    def tile(self, queue: str) -> QueueTile:
        now = self.clock()
        waiting, since = 0, None
        q = self.tracker.queue_map.get(queue) if self.tracker is not None else None
        if q is not None:
            waiting = len(q.entries)
            since = min((e.joined for e in q.entries.values()), default=None)
        return QueueTile(
            name=queue, title=self._titles.get(queue), sl_threshold=self.threshold(queue),
            sl_target=self.settings.target_for(queue), colours=self.colours(queue),
            waiting=waiting, talking=self._talking(q),
            longest_wait_since=since, longest_wait=max(0.0, now - since) if since else 0.0,
            agents=self._counts(q), today=self.today(queue), last_hour=self.last_hour(queue),
            last_hour_series=self.last_hour_series(queue))

    def _talking(self, q: Any) -> int:
        """Calls of the queue an agent is talking on now (answered, their leg not ended: the
        figures count them once it ends)."""
        if q is None:
            return 0
        calls = self.tracker.call_map
        talking = set()
        for member in q.members.values():
            call = calls.get(member.talking_for) if member.talking_for else None
            if call is not None and any(seg.queue == q.name and seg.state == _SEG_TALKING
                                        for seg in call.segments.values()):
                talking.add(call.linkedid)
        return len(talking)

    def _counts(self, q: Any) -> AgentCounts:
        if q is None:
            return AgentCounts()
        counts = {"ready": 0, "ringing": 0, "on_call": 0, "wrap_up": 0, "not_ready": 0}
        reasons: dict[str, int] = {}
        for member in q.members.values():
            state, reason = self._member_state(q.name, member)
            if state == "logged_out":
                continue
            counts[state] += 1
            if state == "not_ready":
                reasons[reason or ""] = reasons.get(reason or "", 0) + 1
        return AgentCounts(logged_in=sum(counts.values()), not_ready_by_reason=reasons, **counts)

    def _member_state(self, queue: str, member: Any) -> tuple[str, str | None]:
        m = member.state
        agent = self.directory.agent_for_member(m.interface, m.state_interface)
        view = self._views.get(agent.id) if agent is not None else None
        if view is not None and queue in (view.get("queues") or ()):
            return str(view.get("state")), view.get("reason")
        # Not an agent of ours (or no view yet): what the PBX says of the member.
        if m.paused and m.paused_reason == _LOGGED_OUT_REASON:
            return "logged_out", None
        if member.talking_for or m.in_call:
            return "on_call", None
        if member.ringing_for:
            return "ringing", None
        if m.paused:
            if m.paused_reason == _WRAPUP_REASON:
                return "wrap_up", None
            return "not_ready", m.paused_reason or None
        return "ready", None

    def agent_row(self, agent_id: int) -> AgentRow | None:
        agent = self.directory.cached(agent_id)
        if agent is None:
            return None
        self._roll(self.clock())
        view = self._views.get(agent_id) or {}
        sums = self._agents_today.get(agent_id, AgentSums())
        since = view.get("since")
        return AgentRow(
            agent_id=agent_id, login=agent.login, full_name=agent.full_name,
            state=view.get("state") or "logged_out", reason=view.get("reason"),
            since=since, queues=list(view.get("queues") or []), calls_today=sums.answered,
            aht_today=sums.aht, call_id=view.get("call_id"))

    row = agent_row  # the name the board's notifier uses

    def board(self) -> Board:
        rows = (self.agent_row(agent_id) for agent_id in self.agent_ids())
        return self.board_head().model_copy(update={
            "queues": [self.tile(name) for name in self.queue_names()],
            "agents": [r for r in rows if r is not None]})

    def board_head(self) -> Board:
        """The board without its queues and agents (a snapshot writer adds them piece by
        piece: the whole board at once holds the loop for tens of milliseconds)."""
        now = self.clock()
        self._roll(now)
        assert self._day is not None
        return Board(
            generated_at=dt.datetime.fromtimestamp(now, dt.timezone.utc),
            day=self._day.isoformat(), timezone=self.settings.timezone,
            short_abandon_seconds=self.settings.short_abandon_seconds,
            pause_reasons=[Choice(code=code) for code in self.pause_reasons],
            queues=[], agents=[])

    def agent_ids(self) -> list[int]:
        """The agents the board lists (supervisors and admins take no calls), by id."""
        return sorted(a.id for a in self.directory.agents() if a.role == "agent")


async def wait_folded(metrics: QueueMetrics, count: int, timeout: float = 5.0) -> None:
    """Wait until ``count`` legs were folded into today (tests, benchmarks)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while metrics.folded < count and loop.time() < deadline:
        await asyncio.sleep(0.01)
