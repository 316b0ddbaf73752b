"""Callback commitments: "we will call you back with the answer" (the service standard of the
network companies: within 4 hours), recorded by the agent from the card.

Lifecycle (table ``callbacks``, migration 0008): ``open`` when recorded (due in
``callback_due_minutes`` unless the agent gives ``due_in_minutes``) -> dialled (click-to-call
from the dialler's phone; the first dial's time is kept: it is what "in time" measures) ->
``done`` with an outcome from ``callback_outcomes``. Overdue: open past ``due_at``. Kept in time:
done, and the first call back (or the closing, when it was closed without a dial) at or before
``due_at``. An agent sees, dials and closes their own; a supervisor or admin any.

``CallbackStore(pool, settings, on_change)``; ``on_change()`` runs after every change (the
board pushes the open list).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import asyncpg

from agent_api.errors import ApiError, Conflict, Forbidden, NotFound
from features.supervisor.board_schemas import Callback
from features.supervisor.schemas import CallbackOutcomeRequest, CallbackRequest
from features.supervisor.settings import SupervisorSettings
from state.phones import InvalidPhone, normalize_phone
from state.repositories.accounts import get_account

STAFF = ("supervisor", "admin")

_SELECT = """
SELECT c.id, a.number AS account, c.phone, c.agent_id, c.created_at, c.due_at, c.note,
       c.status, c.outcome, c.call_id, c.dialled_at
  FROM callbacks c LEFT JOIN accounts a ON a.id = c.account_id
"""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _callback(row: asyncpg.Record, now: dt.datetime) -> Callback:
    return Callback(**dict(row), overdue=row["status"] == "open" and row["due_at"] < now)


class CallbackStore:
    def __init__(self, pool: asyncpg.Pool, settings: SupervisorSettings,
                 on_change: Callable[[], Awaitable[None]] | None = None) -> None:
        self._pool = pool
        self._settings = settings
        self._on_change = on_change

    def listen(self, on_change: Callable[[], Awaitable[None]]) -> None:
        self._on_change = on_change

    async def create(self, agent_id: int, body: CallbackRequest,
                     now: dt.datetime | None = None) -> Callback:
        now = now or _now()
        try:
            phone = normalize_phone(body.phone)
        except InvalidPhone as exc:
            raise ApiError(str(exc), {"field": "phone"}) from exc
        account_id = None
        if body.account is not None:
            account = await get_account(self._pool, body.account)
            if account is None:
                raise NotFound("no such account")
            account_id = account.id
        minutes = body.due_in_minutes or self._settings.callback_due_minutes
        row_id = await self._pool.fetchval(
            "INSERT INTO callbacks (phone, account_id, call_id, agent_id, note, created_at, "
            "due_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            phone, account_id, body.call_id, agent_id, body.note, now,
            now + dt.timedelta(minutes=minutes))
        await self._changed()
        return await self._get(row_id, now)

    async def list(self, *, status: str | None = "open", agent_id: int | None = None,
                   now: dt.datetime | None = None, limit: int = 1000) -> list[Callback]:
        """By due time (the most urgent first); ``agent_id``: only that agent's."""
        now = now or _now()
        rows = await self._pool.fetch(
            _SELECT + " WHERE ($1::text IS NULL OR c.status = $1) "
            "AND ($2::bigint IS NULL OR c.agent_id = $2) ORDER BY c.due_at, c.id LIMIT $3",
            status, agent_id, limit)
        return [_callback(r, now) for r in rows]

    async def get_for(self, callback_id: int, actor_id: int, actor_role: str) -> Callback:
        """The commitment, if the actor may act on it (their own, or any for staff)."""
        callback = await self._get(callback_id, _now())
        if actor_role not in STAFF and callback.agent_id != actor_id:
            raise Forbidden("this callback is not yours")
        return callback

    async def dialled(self, callback_id: int, call_id: str,
                      now: dt.datetime | None = None) -> None:
        # The first dial is what "kept in time" measures; a later redial keeps it.
        await self._pool.execute(
            "UPDATE callbacks SET dialled_at = COALESCE(dialled_at, $2), dial_call_id = $3 "
            "WHERE id = $1", callback_id, now or _now(), call_id)
        await self._changed()

    async def close(self, callback_id: int, actor_id: int, actor_role: str,
                    body: CallbackOutcomeRequest, now: dt.datetime | None = None) -> Callback:
        now = now or _now()
        if body.outcome not in self._settings.callback_outcomes:
            raise ApiError("unknown callback outcome",
                           {"allowed": self._settings.callback_outcomes})
        await self.get_for(callback_id, actor_id, actor_role)
        closed = await self._pool.fetchval(
            "UPDATE callbacks SET status = 'done', outcome = $2, outcome_comment = $3, "
            "closed_at = $4, closed_by = $5 WHERE id = $1 AND status = 'open' RETURNING id",
            callback_id, body.outcome, body.comment, now, actor_id)
        if closed is None:
            raise Conflict("the callback is already closed", {"error": "callback-closed"})
        await self._changed()
        return await self._get(callback_id, now)

    async def counts(self, start: dt.datetime, end: dt.datetime,
                     now: dt.datetime | None = None) -> dict[str, int]:
        """Of the commitments recorded in [start, end): all, closed, kept in time, still open
        past their due time."""
        row = await self._pool.fetchrow(
            "SELECT count(*) AS total, "
            "count(*) FILTER (WHERE status = 'done') AS done, "
            "count(*) FILTER (WHERE status = 'done' "
            "                 AND COALESCE(dialled_at, closed_at) <= due_at) AS kept_in_time, "
            "count(*) FILTER (WHERE status = 'open' AND due_at < $3) AS overdue_open "
            "FROM callbacks WHERE created_at >= $1 AND created_at < $2",
            start, end, now or _now())
        return dict(row)

    async def _get(self, callback_id: int, now: dt.datetime) -> Callback:
        row = await self._pool.fetchrow(_SELECT + " WHERE c.id = $1", callback_id)
        if row is None:
            raise NotFound("no such callback")
        return _callback(row, now)

    async def _changed(self) -> None:
        if self._on_change is not None:
            await self._on_change()
