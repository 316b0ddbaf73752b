"""PostgreSQL log of readiness changes: one row per (agent, state, reason) stretch.

Public API (``StateLog(pool)``):
- ``await record(agent_id, state, reason, at)``: closes the agent's open row at ``at`` and opens
  a new one, in one transaction (a no-op when the open row already has this state and reason).
- ``submit(agent_id, state, reason, at)``: the same, written behind the caller (the projector):
  what is submitted while a write is under way goes in the next one, all of it in one round
  trip, in order. A failed write is tried again (every second) with what came meanwhile, so
  PostgreSQL down loses nothing the process holds; ``await flushed()`` waits until all is
  written (tests, shutdown), ``pending`` says how much is not; ``await pause()`` stops the
  writing and keeps what is not written for the next ``submit``.
- ``await time_in_states(day, tz="UTC", agent_id=None) -> list[TimeInState]``: seconds each agent
  spent in each state (and reason) during one calendar day in time zone ``tz``; a stretch that
  crosses midnight counts on both days for its part, an open stretch counts up to now.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass

import asyncpg

log = logging.getLogger(__name__)

_Row = tuple[int, str, str, dt.datetime]
_RETRY_SECONDS = 1.0


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
    def __init__(self, pool: asyncpg.Pool, *, retry_seconds: float = _RETRY_SECONDS) -> None:
        self._pool = pool
        self._retry_seconds = retry_seconds
        self._queued: list[_Row] = []
        self._writing = 0  # rows of the write under way
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        self.failures = 0

    @property
    def pending(self) -> int:
        return len(self._queued) + self._writing

    def submit(self, agent_id: int, state: str, reason: str | None, at: dt.datetime) -> None:
        self._queued.append((agent_id, state, reason or "", at))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write_queued(), name="agents-state-log")

    async def pause(self) -> None:
        """Stop writing (the leader's work stops); what is not written stays for the next
        ``submit``, ahead of it."""
        if self._writer is not None and not self._writer.done():
            log.warning("agent state log paused with %d changes not written", self.pending)
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def flushed(self) -> None:
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _write_queued(self) -> None:
        while self._queued:
            batch = self._queued
            self._queued, self._writing = [], len(batch)
            try:
                # One transaction, statements pipelined: each row sees the ones before it.
                await self._pool.executemany(_RECORD, batch)
                self.batches += 1
                continue
            except asyncio.CancelledError:
                self._queued[:0] = batch
                raise
            except Exception as exc:  # PostgreSQL down or restarting: kept, tried again
                self.failures += 1
                log.warning("agent state log not written (%d changes kept): %s",
                            len(batch), type(exc).__name__)
                self._queued[:0] = batch
            finally:
                self._writing = 0
            await asyncio.sleep(self._retry_seconds)

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
