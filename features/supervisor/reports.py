"""Reports over ``queue_calls`` (and ``agent_state_log``) for any past day or interval, with the
board's formulas (``formulas.py``: the SQL sums legs into the same ``Sums`` the board folds).

Public API (``Reports(pool, settings)``):
- ``interval(from_, to) -> Interval``: ``YYYY-MM-DD`` days (``to`` included) in the settings'
  time zone, or ISO datetimes (without an offset: in that time zone); ``to`` must follow ``from``.
- ``await queues(interval) -> QueueReport`` (per queue and total),
  ``await agents(interval) -> AgentReport`` (answered legs, AHT, talk, wrap-up, time in state).
- ``queues_csv(report) -> bytes``, ``agents_csv(report) -> bytes``: ``;``-separated, decimal
  comma, UTF-8 with BOM (what Excel expects in a Russian locale), a header row.
A leg belongs to the interval of its ``entered_at``; its service level threshold is its queue's
``queues.service_level_seconds`` (read at each request; ``settings.sl_threshold`` for a queue
without a row), the live board's too.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass

import asyncpg
from pydantic import BaseModel, Field

from features.supervisor.board_schemas import Figures
from features.supervisor.formulas import Sums, aggregate_sql, figures, sums_from_row
from features.supervisor.settings import SupervisorSettings

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_DAYS = 400


class BadInterval(ValueError):
    """``from``/``to`` are missing, unreadable, reversed or too far apart."""


@dataclass(frozen=True)
class Interval:
    start: dt.datetime
    end: dt.datetime  # exclusive
    label_from: str
    label_to: str


class QueueFigures(BaseModel):
    queue: str
    figures: Figures


class QueueReport(BaseModel):
    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    timezone: str
    queues: list[QueueFigures]
    total: Figures

    model_config = {"populate_by_name": True}


class AgentFigures(BaseModel):
    agent_id: int
    login: str
    full_name: str
    answered: int
    aht: float | None
    talk: float
    wrapup: float
    time_in_state: dict[str, float]


class AgentReport(BaseModel):
    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    timezone: str
    agents: list[AgentFigures]

    model_config = {"populate_by_name": True}


def _moment(text: str, zone: dt.tzinfo, *, end: bool) -> dt.datetime:
    if _DAY.match(text):
        day = dt.date.fromisoformat(text)
        if end:
            day += dt.timedelta(days=1)
        return dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


class Reports:
    def __init__(self, pool: asyncpg.Pool, settings: SupervisorSettings) -> None:
        self.pool = pool
        self.settings = settings

    def interval(self, from_: str | None, to: str | None) -> Interval:
        zone = self.settings.zone()
        if not from_:
            raise BadInterval("`from` is required (YYYY-MM-DD or an ISO datetime)")
        to = to or from_
        try:
            start = _moment(from_, zone, end=False)
            end = _moment(to, zone, end=True)
        except ValueError as exc:
            raise BadInterval("`from` and `to` are YYYY-MM-DD or ISO datetimes") from exc
        if end <= start:
            raise BadInterval("`to` must come after `from`")
        if end - start > dt.timedelta(days=MAX_DAYS):
            raise BadInterval(f"an interval is at most {MAX_DAYS} days")
        return Interval(start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc),
                        from_, to)

    async def queue_sums(self, interval: Interval) -> dict[str, Sums]:
        # The threshold is the queue's row as it is now, as on the board (metrics.py).
        rows = await self.pool.fetch(
            f"""SELECT c.queue, {aggregate_sql(
                    "coalesce(q.service_level_seconds::float8, $3::float8)", "$4::float8")}
                FROM queue_calls c LEFT JOIN queues q ON q.name = c.queue
                WHERE c.entered_at >= $1 AND c.entered_at < $2
                GROUP BY c.queue ORDER BY c.queue""",
            interval.start, interval.end, float(self.settings.sl_threshold),
            float(self.settings.short_abandon_seconds))
        return {r["queue"]: sums_from_row(r) for r in rows}

    async def queues(self, interval: Interval) -> QueueReport:
        per_queue = await self.queue_sums(interval)
        total = Sums()
        for sums in per_queue.values():
            total.merge(sums)
        return QueueReport(
            from_=interval.label_from, to=interval.label_to, timezone=self.settings.timezone,
            queues=[QueueFigures(queue=q, figures=figures(s)) for q, s in per_queue.items()],
            total=figures(total))

    async def agents(self, interval: Interval) -> AgentReport:
        rows = await self.pool.fetch(
            """SELECT a.id, a.login, a.full_name,
                      count(c.id)::int AS answered,
                      coalesce(sum(c.talk_seconds), 0)::float8 AS talk,
                      coalesce(sum(coalesce(c.wrapup_seconds, 0)), 0)::float8 AS wrapup
               FROM agents a
               LEFT JOIN queue_calls c ON c.agent_id = a.id AND c.entered_at >= $1
                    AND c.entered_at < $2 AND c.outcome IN ('answered', 'transferred')
               WHERE a.role = 'agent'
               GROUP BY a.id ORDER BY a.id""", interval.start, interval.end)
        states = await self.pool.fetch(
            """SELECT l.agent_id, l.state,
                      sum(extract(epoch FROM least(coalesce(l.ended_at, now()), $2)
                                             - greatest(l.started_at, $1)))::float8 AS seconds
               FROM agent_state_log l
               WHERE l.started_at < $2 AND coalesce(l.ended_at, now()) > $1
               GROUP BY l.agent_id, l.state""", interval.start, interval.end)
        in_state: dict[int, dict[str, float]] = {}
        for r in states:
            if r["seconds"] > 0:
                in_state.setdefault(r["agent_id"], {})[r["state"]] = r["seconds"]
        return AgentReport(
            from_=interval.label_from, to=interval.label_to, timezone=self.settings.timezone,
            agents=[AgentFigures(
                agent_id=r["id"], login=r["login"], full_name=r["full_name"],
                answered=r["answered"],
                aht=(r["talk"] + r["wrapup"]) / r["answered"] if r["answered"] else None,
                talk=r["talk"], wrapup=r["wrapup"], time_in_state=in_state.get(r["id"], {}))
                for r in rows])


# --- CSV ----------------------------------------------------------------------------------

FIGURE_COLUMNS = tuple(Figures.model_fields)
STATES = ("ready", "not_ready", "ringing", "on_call", "wrap_up", "logged_out")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".replace(".", ",")
    return str(value)


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def queues_csv(report: QueueReport) -> bytes:
    rows = [[q.queue, *(getattr(q.figures, c) for c in FIGURE_COLUMNS)] for q in report.queues]
    rows.append(["total", *(getattr(report.total, c) for c in FIGURE_COLUMNS)])
    return _csv(["queue", *FIGURE_COLUMNS], rows)


def agents_csv(report: AgentReport) -> bytes:
    rows = [[a.agent_id, a.login, a.full_name, a.answered, a.aht, a.talk, a.wrapup,
             *(a.time_in_state.get(s, 0.0) for s in STATES)] for a in report.agents]
    return _csv(["agent_id", "login", "full_name", "answered", "aht", "talk", "wrapup",
                 *(f"time_{s}" for s in STATES)], rows)
