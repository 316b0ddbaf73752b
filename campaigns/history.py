"""Robocall outcomes written back to the consumer's history and the opt-out list.

A confirmed / operator / opted-out outcome becomes an outbound ``interactions`` row of the
account (``outcome`` ``robocall:<outcome>``, ``ivr_context.robocall`` naming the campaign), so
the next screen pop's card lists "robocall on 12.11: confirmed". The card cache is invalidated by
the interactions trigger (migration 0002), nothing to do here. Both writes are idempotent: a
replayed outcome (reconciliation after a crash) updates the same row and adds no second opt-out.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

import asyncpg

WRITTEN_BACK = frozenset({"confirmed", "operator", "opted_out"})
OptOutSource = Literal["robocall", "agent", "admin", "import"]

SQL_INTERACTION = """
INSERT INTO interactions AS i (call_id, direction, phone, account_id, queue_name, started_at,
                               answered_at, ended_at, outcome, ivr_context)
VALUES ($1, 'outbound', $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb)
ON CONFLICT (call_id, direction) DO UPDATE SET
    outcome = EXCLUDED.outcome,
    answered_at = coalesce(i.answered_at, EXCLUDED.answered_at),
    ended_at = coalesce(EXCLUDED.ended_at, i.ended_at),
    account_id = coalesce(i.account_id, EXCLUDED.account_id),
    ivr_context = i.ivr_context || EXCLUDED.ivr_context
RETURNING id
"""

SQL_OPT_OUT = """
INSERT INTO opt_outs (consumer_id, phone, scope, source, campaign_id, created_by)
SELECT $1, $2, $3, $4, $5, $6
WHERE NOT EXISTS (
    SELECT 1 FROM opt_outs o
    WHERE o.consumer_id IS NOT DISTINCT FROM $1 AND o.phone IS NOT DISTINCT FROM $2
      AND o.scope = $3)
RETURNING id
"""


async def record_outcome(
    conn: asyncpg.Connection, *, attempt_id: int, account_id: int, phone: str,
    campaign_id: int, campaign_name: str, campaign_type: str, outcome: str,
    started_at: datetime, answered_at: datetime | None = None,
    ended_at: datetime | None = None, call_id: str | None = None,
    queue: str | None = None, key: str | None = None,
) -> int | None:
    """Write a robocall outcome to the account's history (and the opt-out list for
    ``opted_out``); the interactions row id, or None for an outcome not written back.
    Call it in the transaction that stores the attempt's outcome."""
    if outcome not in WRITTEN_BACK:
        return None
    context = {"robocall": {"campaign_id": campaign_id, "campaign": campaign_name,
                            "type": campaign_type, "attempt_id": attempt_id,
                            "outcome": outcome, "key": key}}
    interaction_id = await conn.fetchval(
        SQL_INTERACTION, call_id or f"robocall-{attempt_id}", phone, account_id,
        queue if outcome == "operator" else None, started_at, answered_at, ended_at,
        f"robocall:{outcome}", json.dumps(context, ensure_ascii=False))
    if outcome == "opted_out":
        consumer_id = await conn.fetchval(
            "SELECT consumer_id FROM accounts WHERE id = $1", account_id)
        await record_opt_out(conn, consumer_id=consumer_id, phone=phone, source="robocall",
                             campaign_id=campaign_id)
    return interaction_id


async def record_opt_out(
    conn: asyncpg.Connection, *, consumer_id: int | None, phone: str | None,
    source: OptOutSource, campaign_id: int | None = None, scope: str = "all",
    created_by: int | None = None,
) -> int | None:
    """Add an opt-out honoured by every campaign (``scope`` all) or by one type; the new row's
    id, or None when the same opt-out already exists."""
    if consumer_id is None and phone is None:
        raise ValueError("an opt-out needs a consumer or a phone")
    return await conn.fetchval(SQL_OPT_OUT, consumer_id, phone, scope, source, campaign_id,
                               created_by)
