"""The queue figures and their formulas: one place for the live board and the SQL reports.

Both fold the same legs (``queue_calls`` rows, see ``records.py``) into the same :class:`Sums`
(counts and sums: Python adds legs one by one, the reports' SQL ``aggregate_sql()`` sums them in
PostgreSQL), and both turn the sums into :class:`Figures` with :func:`figures`. So today's live
numbers and today's report agree by construction.

Definitions (a leg is a caller's visit to one queue; it belongs to the day of its entered_at):
- offered: legs entered.
- answered: legs an agent answered (outcome answered or transferred); transferred: the part of
  them the agent moved elsewhere (blind, attended, redirect).
- abandoned: the caller hung up while waiting; short_abandoned: abandoned with
  wait <= short_abandon_seconds (shown apart; they are in ``abandoned`` too).
- timeout: Queue() gave up; redirected: moved out of the queue before any answer.
- service level = answered with wait <= the queue's threshold / (offered - short_abandoned).
- ASA = mean wait of answered legs.
- average wait = mean wait of answered + abandoned + timeout legs (abandoned callers count).
- AHT = mean (talk + wrap-up) of answered legs (a wrap-up not yet ended counts 0);
  longest handle = max of the same; average wrap-up = mean wrap-up of answered legs.
- abandon rate = (abandoned - short_abandoned) / (offered - short_abandoned).
A ratio whose denominator is 0 is None (shown as "—").
A leg counts once it ends (the recorder writes its row then), live and in reports alike, so
both agree at every moment; the board shows the calls being talked apart (QueueTile.talking).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from features.supervisor.board_schemas import Figures

OUTCOMES = ("answered", "abandoned", "timeout", "transferred", "redirected")
ANSWERED = frozenset({"answered", "transferred"})


@dataclass(frozen=True, slots=True)
class Leg:
    """What the figures need of one recorded leg (a ``queue_calls`` row)."""

    call_id: str
    leg: int
    queue: str
    entered_at: dt.datetime
    outcome: str
    wait: float
    talk: float = 0.0
    wrapup: float | None = None
    agent_id: int | None = None
    caller_number: str = ""  # as the PBX gave it; "" when not known (legs read back for figures)

    @property
    def answered(self) -> bool:
        return self.outcome in ANSWERED

    @property
    def handle(self) -> float:
        return self.talk + (self.wrapup or 0.0)


@dataclass(slots=True)
class Sums:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    timeout: int = 0
    transferred: int = 0
    redirected: int = 0
    answered_in_threshold: int = 0
    waited: int = 0  # answered + abandoned + timeout
    wait_sum: float = 0.0
    answer_wait_sum: float = 0.0
    handle_sum: float = 0.0
    handle_max: float | None = None
    wrapup_sum: float = 0.0

    def add(self, leg: Leg, threshold: float, short_abandon: float, sign: int = 1) -> None:
        """Fold one leg in (``sign=-1``: take it out again; ``handle_max`` is then the caller's
        to recompute, see ``metrics.Window``)."""
        self.offered += sign
        if leg.answered:
            self.answered += sign
            self.answer_wait_sum += sign * leg.wait
            self.handle_sum += sign * leg.handle
            self.wrapup_sum += sign * (leg.wrapup or 0.0)
            if leg.wait <= threshold:
                self.answered_in_threshold += sign
            if leg.outcome == "transferred":
                self.transferred += sign
            if sign > 0 and (self.handle_max is None or leg.handle > self.handle_max):
                self.handle_max = leg.handle
        elif leg.outcome == "abandoned":
            self.abandoned += sign
            if leg.wait <= short_abandon:
                self.short_abandoned += sign
        elif leg.outcome == "timeout":
            self.timeout += sign
        elif leg.outcome == "redirected":
            self.redirected += sign
        if leg.outcome != "redirected":
            self.waited += sign
            self.wait_sum += sign * leg.wait

    def add_wrapup(self, leg: Leg, seconds: float) -> None:
        """The wrap-up of an answered leg already folded in has ended (``leg`` without it)."""
        if not leg.answered:
            return
        self.handle_sum += seconds
        self.wrapup_sum += seconds
        handle = leg.talk + seconds
        if self.handle_max is None or handle > self.handle_max:
            self.handle_max = handle

    def merge(self, other: Sums) -> None:
        for name in ("offered", "answered", "abandoned", "short_abandoned", "timeout",
                     "transferred", "redirected", "answered_in_threshold", "waited", "wait_sum",
                     "answer_wait_sum", "handle_sum", "wrapup_sum"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.handle_max is not None and (self.handle_max is None
                                             or other.handle_max > self.handle_max):
            self.handle_max = other.handle_max


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def service_level(s: Sums) -> float | None:
    return _ratio(s.answered_in_threshold, s.offered - s.short_abandoned)


def figures(s: Sums) -> Figures:
    base = s.offered - s.short_abandoned
    return Figures(
        offered=s.offered, answered=s.answered, abandoned=s.abandoned,
        short_abandoned=s.short_abandoned, timeout=s.timeout, transferred=s.transferred,
        redirected=s.redirected, answered_in_threshold=s.answered_in_threshold,
        service_level=service_level(s),
        asa=_ratio(s.answer_wait_sum, s.answered),
        avg_wait=_ratio(s.wait_sum, s.waited),
        aht=_ratio(s.handle_sum, s.answered),
        longest_handle=s.handle_max if s.answered else None,
        avg_wrapup=_ratio(s.wrapup_sum, s.answered),
        abandon_rate=_ratio(s.abandoned - s.short_abandoned, base))


def aggregate_sql(threshold: str, short_abandon: str, alias: str = "c") -> str:
    """The SELECT list summing legs of ``queue_calls {alias}`` into the columns of :class:`Sums`
    (``threshold`` and ``short_abandon`` are SQL expressions, e.g. parameters)."""
    a = alias
    answered = f"{a}.outcome IN ('answered', 'transferred')"
    handle = f"({a}.talk_seconds + coalesce({a}.wrapup_seconds, 0))"
    return f"""
        count(*)::int AS offered,
        count(*) FILTER (WHERE {answered})::int AS answered,
        count(*) FILTER (WHERE {a}.outcome = 'abandoned')::int AS abandoned,
        count(*) FILTER (WHERE {a}.outcome = 'abandoned'
                           AND {a}.wait_seconds <= {short_abandon})::int AS short_abandoned,
        count(*) FILTER (WHERE {a}.outcome = 'timeout')::int AS timeout,
        count(*) FILTER (WHERE {a}.outcome = 'transferred')::int AS transferred,
        count(*) FILTER (WHERE {a}.outcome = 'redirected')::int AS redirected,
        count(*) FILTER (WHERE {answered} AND {a}.wait_seconds <= {threshold})::int
            AS answered_in_threshold,
        count(*) FILTER (WHERE {a}.outcome <> 'redirected')::int AS waited,
        coalesce(sum({a}.wait_seconds) FILTER (WHERE {a}.outcome <> 'redirected'), 0)::float8
            AS wait_sum,
        coalesce(sum({a}.wait_seconds) FILTER (WHERE {answered}), 0)::float8 AS answer_wait_sum,
        coalesce(sum({handle}) FILTER (WHERE {answered}), 0)::float8 AS handle_sum,
        max({handle}) FILTER (WHERE {answered})::float8 AS handle_max,
        coalesce(sum(coalesce({a}.wrapup_seconds, 0)) FILTER (WHERE {answered}), 0)::float8
            AS wrapup_sum"""


SUM_COLUMNS = tuple(f.name for f in fields(Sums))


def sums_from_row(row) -> Sums:
    return Sums(**{name: row[name] for name in SUM_COLUMNS})


@dataclass(slots=True)
class AgentSums:
    """Per agent: answered legs and their handle time (calls today, AHT)."""

    answered: int = 0
    talk_sum: float = 0.0
    wrapup_sum: float = 0.0

    def add(self, leg: Leg) -> None:
        if leg.answered and leg.agent_id is not None:
            self.answered += 1
            self.talk_sum += leg.talk
            self.wrapup_sum += leg.wrapup or 0.0

    @property
    def aht(self) -> float | None:
        return _ratio(self.talk_sum + self.wrapup_sum, self.answered)
