"""PostgreSQL log of readiness changes: one row per (agent, state, reason) stretch.

Public API (``StateLog(pool)``):
- ``await record(agent_id, state, reason, at)``: closes the agent's open row at ``at`` and opens
  a new one, in one transaction (a no-op when the open row already has this state and reason).
- ``await time_in_states(day, tz="UTC", agent_id=None) -> list[TimeInState]``: seconds each agent
  spent in each state (and reason) during one calendar day in time zone ``tz``; a stretch that
  crosses midnight counts on both days for its part, an open stretch counts up to now.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class TimeInState:
    agent_id: int
    state: str
    reason: str
    seconds: float


# Close the open stretch unless it already has this state and reason, and open the new one
# from the same instant (never before the closed one began).
_RECORD = """
WITH open AS (
    SELECT id, state, reason, started_at FROM agent_state_log
    WHERE agent_id = $1 AND ended_at IS NULL FOR UPDATE),
closed AS (
    UPDATE agent_state_log l SET ended_at = greatest($4, o.started_at)
    FROM open o
    WHERE l.id = o.id AND (o.state, o.reason) IS DISTINCT FROM ($2::text, $3::text)
    RETURNING l.ended_at)
INSERT INTO agent_state_log (agent_id, state, reason, started_at)
SELECT $1, $2, $3, coalesce((SELECT max(ended_at) FROM closed), $4)
WHERE NOT EXISTS (SELECT 1 FROM open WHERE state = $2 AND reason = $3)
RETURNING id"""


class StateLog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(self, agent_id: int, state: str, reason: str | None,
                     at: dt.datetime) -> bool:
        """True when a new stretch was opened. One statement (its own transaction): it runs
        on every state change of every agent, a few per call."""
        opened = await self._pool.fetchval(_RECORD, agent_id, state, reason or "", at)
        return opened is not None

    async def time_in_states(self, day: dt.date, tz: str = "UTC",
                             agent_id: int | None = None) -> list[TimeInState]:
        rows = await self._pool.fetch(
            """WITH bounds AS (
                   SELECT ($1::date::timestamp AT TIME ZONE $2) AS day_start,
                          (($1::date + 1)::timestamp AT TIME ZONE $2) AS day_end)
               SELECT l.agent_id, l.state, l.reason,
                      sum(extract(epoch FROM
                          least(coalesce(l.ended_at, now()), b.day_end)
                          - greatest(l.started_at, b.day_start)))::float8 AS seconds
               FROM agent_state_log l, bounds b
               WHERE l.started_at < b.day_end
                 AND coalesce(l.ended_at, now()) > b.day_start
                 AND ($3::bigint IS NULL OR l.agent_id = $3)
               GROUP BY l.agent_id, l.state, l.reason
               ORDER BY l.agent_id, l.state, l.reason""", day, tz, agent_id)
        return [TimeInState(r["agent_id"], r["state"], r["reason"], r["seconds"]) for r in rows]

    async def history(self, agent_id: int) -> list[tuple[str, str, dt.datetime, dt.datetime | None]]:
        rows = await self._pool.fetch(
            """SELECT state, reason, started_at, ended_at FROM agent_state_log
               WHERE agent_id = $1 ORDER BY started_at, id""", agent_id)
        return [(r["state"], r["reason"], r["started_at"], r["ended_at"]) for r in rows]
