"""The supervisors' audit trail: who did what, to whom, when, and how it went (PostgreSQL).

``AuditLog(pool, on_entry)``: ``await record(actor, action, ...) -> AuditEntry`` writes one row
after the action ran (its result is part of the row: ``ok`` or the error id) and hands the
entry to ``on_entry`` (the board pushes it as ``audit {entry}``); ``await between(from, to)``
reads them back. Phone numbers are never written in ``details`` (a target is an agent, a call
id or a record id).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from pydantic import BaseModel

log = logging.getLogger(__name__)


class AuditEntry(BaseModel):
    id: int
    at: dt.datetime
    actor_id: int | None
    actor_login: str
    action: str
    target_agent_id: int | None
    target: str | None
    details: dict[str, Any]
    result: str
    message: str | None


OnEntry = Callable[[AuditEntry], Awaitable[None]]

_COLUMNS = ("id, at, actor_id, actor_login, action, target_agent_id, target, details, result, "
            "message")


def _entry(row: asyncpg.Record) -> AuditEntry:
    details = row["details"]
    return AuditEntry(**{**dict(row), "details": json.loads(details)
                         if isinstance(details, str) else details})


class AuditLog:
    def __init__(self, pool: asyncpg.Pool, on_entry: OnEntry | None = None) -> None:
        self._pool = pool
        self._on_entry = on_entry

    def listen(self, on_entry: OnEntry) -> None:
        self._on_entry = on_entry

    async def record(self, *, actor_id: int, actor_login: str, action: str,
                     target_agent_id: int | None = None, target: str | None = None,
                     details: dict[str, Any] | None = None, result: str = "ok",
                     message: str | None = None) -> AuditEntry:
        row = await self._pool.fetchrow(
            f"INSERT INTO supervisor_audit (actor_id, actor_login, action, target_agent_id, "
            f"target, details, result, message) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8) "
            f"RETURNING {_COLUMNS}",
            actor_id, actor_login, action, target_agent_id, target,
            json.dumps(details or {}, ensure_ascii=False), result, message)
        entry = _entry(row)
        if self._on_entry is not None:
            try:
                await self._on_entry(entry)
            except Exception as exc:  # the row stands; only the board's live copy is late
                log.warning("audit entry not pushed: %s", type(exc).__name__)
        return entry

    async def between(self, start: dt.datetime, end: dt.datetime,
                      limit: int = 5000) -> list[AuditEntry]:
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM supervisor_audit WHERE at >= $1 AND at < $2 "
            f"ORDER BY at, id LIMIT $3", start, end, limit)
        return [_entry(r) for r in rows]
