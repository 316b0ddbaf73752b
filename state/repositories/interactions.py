"""Interactions: one row per call and direction, with what happened on it."""
from __future__ import annotations

import datetime as dt
import json

from state.models import Interaction, NewInteraction
from state.repositories.base import Queryable

# ivr_context goes through text both ways, so the functions work on connections with or without
# a jsonb codec.
_COLUMNS = (
    "id, call_id, direction, phone, account_id, agent_id, queue_name, started_at, answered_at, "
    "ended_at, outcome, ivr_context::text AS ivr_context"
)


def _interaction(row) -> Interaction:
    data = dict(row)
    data["ivr_context"] = json.loads(data["ivr_context"])
    return Interaction.model_validate(data)


async def insert_interaction(conn: Queryable, new: NewInteraction) -> Interaction:
    """Insert the call; a repeated insert of the same call and direction (after a reconnect or
    a resync) fills what was missing, merges ivr_context (newer keys win) and returns the row."""
    row = await conn.fetchrow(
        f"""INSERT INTO interactions AS i (call_id, direction, phone, account_id, agent_id,
                                           queue_name, started_at, answered_at, ivr_context)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb)
            ON CONFLICT (call_id, direction) DO UPDATE SET
                phone = coalesce(i.phone, EXCLUDED.phone),
                account_id = coalesce(i.account_id, EXCLUDED.account_id),
                agent_id = coalesce(i.agent_id, EXCLUDED.agent_id),
                queue_name = coalesce(i.queue_name, EXCLUDED.queue_name),
                answered_at = coalesce(i.answered_at, EXCLUDED.answered_at),
                ivr_context = i.ivr_context || EXCLUDED.ivr_context
            RETURNING {_COLUMNS}""",
        new.call_id,
        new.direction,
        new.phone,
        new.account_id,
        new.agent_id,
        new.queue_name,
        new.started_at,
        new.answered_at,
        json.dumps(new.ivr_context, ensure_ascii=False),
    )
    return _interaction(row)


async def update_interaction_outcome(
    conn: Queryable,
    call_id: str,
    direction: str,
    *,
    outcome: str | None = None,
    ended_at: dt.datetime | None = None,
    answered_at: dt.datetime | None = None,
    agent_id: int | None = None,
    account_id: int | None = None,
    queue_name: str | None = None,
) -> Interaction | None:
    """Set what is known now; a None argument leaves the stored value. None if no such call."""
    row = await conn.fetchrow(
        f"""UPDATE interactions SET
                outcome = coalesce($3, outcome),
                ended_at = coalesce($4, ended_at),
                answered_at = coalesce($5, answered_at),
                agent_id = coalesce($6, agent_id),
                account_id = coalesce($7, account_id),
                queue_name = coalesce($8, queue_name)
            WHERE call_id = $1 AND direction = $2
            RETURNING {_COLUMNS}""",
        call_id,
        direction,
        outcome,
        ended_at,
        answered_at,
        agent_id,
        account_id,
        queue_name,
    )
    return None if row is None else _interaction(row)


async def interactions_of_account(
    conn: Queryable, account_id: int, limit: int = 20
) -> list[Interaction]:
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM interactions WHERE account_id = $1
            ORDER BY started_at DESC LIMIT $2""",
        account_id,
        limit,
    )
    return [_interaction(r) for r in rows]


async def record_ivr_start(conn: Queryable, call_id: str, phone: str | None,
                           started_at: dt.datetime, ivr: dict) -> None:
    """The IVR took the call: the row exists from the first moment, so a call that drops at any
    point still leaves one. The CTI side may have written the same call and direction already,
    hence the upsert that merges ``ivr_context``."""
    await conn.execute(
        """INSERT INTO interactions AS i (call_id, direction, phone, started_at, answered_at,
                                          ivr_context)
           VALUES ($1, 'inbound', $2, $3, $3, $4::text::jsonb)
           ON CONFLICT (call_id, direction) DO UPDATE SET
               phone = coalesce(i.phone, EXCLUDED.phone),
               ivr_context = i.ivr_context || EXCLUDED.ivr_context""",
        call_id, phone, started_at, json.dumps({"ivr": ivr}, ensure_ascii=False),
    )


async def record_ivr_end(conn: Queryable, call_id: str, *, account_id: int | None,
                         queue: str | None, outcome: str | None, ended_at: dt.datetime,
                         ivr: dict) -> None:
    """The IVR is done with the call: merge its context, and set the outcome and the end time
    only if nobody set them yet (a call sent to a queue ends later, on the CTI side)."""
    await conn.execute(
        """UPDATE interactions SET
               account_id = coalesce(account_id, $2),
               queue_name = coalesce(queue_name, $3),
               outcome = coalesce(outcome, $4),
               ended_at = CASE WHEN $3::text IS NULL THEN coalesce(ended_at, $5) ELSE ended_at END,
               ivr_context = ivr_context || $6::text::jsonb
           WHERE call_id = $1 AND direction = 'inbound'""",
        call_id, account_id, queue, outcome, ended_at, json.dumps({"ivr": ivr}, ensure_ascii=False),
    )


async def ivr_context_of_call(conn: Queryable, call_id: str) -> dict | None:
    """The ``ivr_context`` of the inbound call (what the caller did in the IVR), or None."""
    text = await conn.fetchval(
        "SELECT ivr_context::text FROM interactions WHERE call_id = $1 AND direction = 'inbound'",
        call_id,
    )
    return None if text is None else json.loads(text)


async def agent_of_call(conn: Queryable, call_id: str) -> set[int] | None:
    """The agents a call belongs to (either direction); None when no such call is recorded."""
    rows = await conn.fetch("SELECT agent_id FROM interactions WHERE call_id = $1", call_id)
    if not rows:
        return None
    return {r["agent_id"] for r in rows if r["agent_id"] is not None}


async def call_disposition(conn: Queryable, call_id: str, agent_id: int) -> str | None:
    """The disposition the agent gave their call, or None (not set, or not their call)."""
    return await conn.fetchval(
        "SELECT disposition FROM interactions WHERE call_id = $1 AND agent_id = $2 "
        "AND disposition IS NOT NULL LIMIT 1", call_id, agent_id)


async def set_call_disposition(conn: Queryable, call_id: str, agent_id: int, disposition: str,
                               comment: str | None, at: dt.datetime) -> Interaction | None:
    """The agent's outcome of their call (migration 0005); None if the call is not theirs."""
    row = await conn.fetchrow(
        f"""UPDATE interactions SET disposition = $3, disposition_comment = $4,
                                    disposition_at = $5
            WHERE call_id = $1 AND agent_id = $2
            RETURNING {_COLUMNS}""",
        call_id, agent_id, disposition, comment, at,
    )
    return None if row is None else _interaction(row)
