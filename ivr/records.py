"""The call's row in ``interactions``: written when the IVR takes the call, completed at its end.

Inserted first so that a call that drops at any point still leaves a row; the end merges the
IVR's context into ``ivr_context`` (the CTI side may have written the same call and direction,
hence the upsert) and sets outcome and end time only if nobody set them yet.
"""
from __future__ import annotations

import datetime as dt
import json

import asyncpg

from ivr.call import CallContext

__all__ = ["record_start", "record_end"]


async def record_start(db: asyncpg.Pool, ctx: CallContext) -> None:
    await db.execute(
        """INSERT INTO interactions AS i (call_id, direction, phone, started_at, answered_at,
                                          ivr_context)
           VALUES ($1, 'inbound', $2, $3, $3, $4::text::jsonb)
           ON CONFLICT (call_id, direction) DO UPDATE SET
               phone = coalesce(i.phone, EXCLUDED.phone),
               ivr_context = i.ivr_context || EXCLUDED.ivr_context""",
        ctx.call_id,
        ctx.caller,
        ctx.started_at,
        json.dumps({"ivr": ctx.to_json()}, ensure_ascii=False),
    )


async def record_end(db: asyncpg.Pool, ctx: CallContext, ended_at: dt.datetime) -> None:
    await db.execute(
        """UPDATE interactions SET
               account_id = coalesce(account_id, $2),
               queue_name = coalesce(queue_name, $3),
               outcome = coalesce(outcome, $4),
               ended_at = CASE WHEN $3::text IS NULL THEN coalesce(ended_at, $5) ELSE ended_at END,
               ivr_context = ivr_context || $6::text::jsonb
           WHERE call_id = $1 AND direction = 'inbound'""",
        ctx.call_id,
        ctx.account.id if ctx.account else None,
        ctx.queue,
        ctx.outcome,
        ended_at,
        json.dumps({"ivr": ctx.to_json()}, ensure_ascii=False),
    )
