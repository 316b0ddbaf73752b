"""Wrap-up after each queue call: the agent is paused as ``wrap-up`` for the queue's wrap-up
time, may end it early or extend it once within a limit, then goes back to what they intend.

The deadline is a PostgreSQL row (``agent_wrapups``), so a server restarted mid wrap-up still
ends it on time; only the leader runs the timers (``WrapUpTimers``).

Public API:
- ``WrapUp`` (a row) with ``changed_event() -> WrapUpChanged``.
- ``WrapUpStore(pool)``: ``start``, ``get``, ``all``, ``end``, ``end_if_due``, ``extend``,
  ``set_then`` (see each).
- ``WrapUpTimers(finish)``: ``load(wrapups)``, ``schedule(agent_id, until)``, ``cancel(agent_id)``,
  ``on_event(WrapUpChanged)``, ``close()``; ``finish(agent_id)`` is awaited at each deadline
  (``AgentService.finish_wrapup``).
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from state.events import WrapUpChanged

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WrapUp:
    agent_id: int
    queue: str
    call_id: str
    started_at: dt.datetime
    until: dt.datetime
    extended: bool
    then_state: str
    then_reason: str

    def changed_event(self) -> WrapUpChanged:
        return WrapUpChanged(ts=dt.datetime.now(dt.timezone.utc).timestamp(),
                             agent_id=self.agent_id, until=self.until.timestamp(),
                             extended=self.extended, then_state=self.then_state,
                             then_reason=self.then_reason or None, call_id=self.call_id or None)


def _row(row: asyncpg.Record | None) -> WrapUp | None:
    if row is None:
        return None
    return WrapUp(row["agent_id"], row["queue"], row["call_id"], row["started_at"], row["until"],
                  row["extended"], row["then_state"], row["then_reason"])


_COLUMNS = "agent_id, queue, call_id, started_at, until, extended, then_state, then_reason"


class WrapUpStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def start(self, agent_id: int, queue: str, call_id: str, started_at: dt.datetime,
                    until: dt.datetime) -> WrapUp | None:
        """A new wrap-up, returning to what the agent intends (``agent_intents``, read in the
        same statement: one round trip per call, not two); a wrap-up still running (two calls
        in a row) keeps its return state. None, and nothing written, when the agent has no
        intent or intends to be logged out."""
        row = await self._pool.fetchrow(
            f"""WITH intent AS (
                    SELECT state, reason FROM agent_intents
                    WHERE agent_id = $1 AND state <> 'logged_out')
                INSERT INTO agent_wrapups ({_COLUMNS})
                SELECT $1, $2, $3, $4, $5, false, intent.state, intent.reason FROM intent
                ON CONFLICT (agent_id) DO UPDATE SET queue = EXCLUDED.queue,
                    call_id = EXCLUDED.call_id, started_at = EXCLUDED.started_at,
                    until = EXCLUDED.until, extended = false
                RETURNING {_COLUMNS}""",
            agent_id, queue, call_id, started_at, until)
        return _row(row)

    async def get(self, agent_id: int) -> WrapUp | None:
        return _row(await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM agent_wrapups WHERE agent_id = $1", agent_id))

    async def all(self) -> list[WrapUp]:
        rows = await self._pool.fetch(f"SELECT {_COLUMNS} FROM agent_wrapups")
        return [w for w in (_row(r) for r in rows) if w is not None]

    async def end(self, agent_id: int) -> WrapUp | None:
        return _row(await self._pool.fetchrow(
            f"DELETE FROM agent_wrapups WHERE agent_id = $1 RETURNING {_COLUMNS}", agent_id))

    async def end_if_due(self, agent_id: int, now: dt.datetime) -> WrapUp | None:
        return _row(await self._pool.fetchrow(
            f"DELETE FROM agent_wrapups WHERE agent_id = $1 AND until <= $2 RETURNING {_COLUMNS}",
            agent_id, now))

    async def extend(self, agent_id: int, seconds: int) -> WrapUp | None:
        """None when there is no wrap-up or it was already extended (once only)."""
        return _row(await self._pool.fetchrow(
            f"""UPDATE agent_wrapups SET until = until + make_interval(secs => $2),
                    extended = true
                WHERE agent_id = $1 AND NOT extended RETURNING {_COLUMNS}""",
            agent_id, float(seconds)))

    async def set_then(self, agent_id: int, state: str, reason: str) -> WrapUp | None:
        """What the agent goes back to at the end; None when no wrap-up is running."""
        return _row(await self._pool.fetchrow(
            f"""UPDATE agent_wrapups SET then_state = $2, then_reason = $3
                WHERE agent_id = $1 RETURNING {_COLUMNS}""", agent_id, state, reason))


class WrapUpTimers:
    """One sleeping task per agent in wrap-up; the leader's only."""

    def __init__(self, finish: Callable[[int], Awaitable[object]], retry: float = 2.0) -> None:
        self._finish = finish
        self.retry = retry
        self._tasks: dict[int, asyncio.Task] = {}
        self.finished = 0

    def load(self, wrapups: list[WrapUp]) -> None:
        for wrap in wrapups:
            self.schedule(wrap.agent_id, wrap.until)

    def schedule(self, agent_id: int, until: dt.datetime) -> None:
        self.cancel(agent_id)
        self._tasks[agent_id] = asyncio.get_running_loop().create_task(
            self._run(agent_id, until), name=f"wrapup:{agent_id}")

    def cancel(self, agent_id: int) -> None:
        task = self._tasks.pop(agent_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def on_event(self, event: WrapUpChanged) -> None:
        if event.until is None:
            self.cancel(event.agent_id)
        else:
            self.schedule(event.agent_id,
                          dt.datetime.fromtimestamp(event.until, dt.timezone.utc))

    async def _run(self, agent_id: int, until: dt.datetime) -> None:
        delay = (until - dt.datetime.now(dt.timezone.utc)).total_seconds()
        await asyncio.sleep(max(0.0, delay))
        self._tasks.pop(agent_id, None)
        try:
            if await self._finish(agent_id):
                self.finished += 1
        except Exception as exc:  # the row stays: try again shortly
            log.warning("ending the wrap-up of agent %s failed: %s", agent_id,
                        type(exc).__name__)
            self.schedule(agent_id, dt.datetime.now(dt.timezone.utc)
                          + dt.timedelta(seconds=self.retry))

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
