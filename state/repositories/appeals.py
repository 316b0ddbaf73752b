"""Appeals (обращения)."""
from __future__ import annotations

from state.models import Appeal, NewAppeal
from state.repositories.base import Queryable

_COLUMNS = (
    "id, account_id, consumer_id, type, topic, priority, status, channel, operator_group, "
    "summary, created_at, due_at, closed_at"
)


async def insert_appeal(conn: Queryable, appeal: NewAppeal) -> Appeal:
    """Store an appeal; the consumer is taken from the account when not given."""
    row = await conn.fetchrow(
        f"""INSERT INTO appeals (account_id, consumer_id, type, topic, priority, status,
                                 channel, operator_group, summary, due_at)
            VALUES ($1, coalesce($2, (SELECT consumer_id FROM accounts WHERE id = $1)),
                    $3, $4, $5, $6, $7, $8, $9, $10)
            RETURNING {_COLUMNS}""",
        appeal.account_id,
        appeal.consumer_id,
        appeal.type,
        appeal.topic,
        appeal.priority,
        appeal.status,
        appeal.channel,
        appeal.operator_group,
        appeal.summary,
        appeal.due_at,
    )
    return Appeal.model_validate(dict(row))


async def appeals_of_account(conn: Queryable, account_id: int, limit: int = 20) -> list[Appeal]:
    """Open appeals first, then the newest."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM appeals WHERE account_id = $1
            ORDER BY status IN ('new', 'in_progress') DESC, created_at DESC LIMIT $2""",
        account_id,
        limit,
    )
    return [Appeal.model_validate(dict(r)) for r in rows]


async def insert_call_appeal(conn: Queryable, *, account_id: int, call_id: str | None,
                             agent_id: int | None, type: str, topic: str, comment: str | None,
                             priority: str) -> Appeal:
    """An appeal an agent registers from the card during a call (migration 0005: call_id,
    agent_id, comment); channel ``phone``."""
    row = await conn.fetchrow(
        f"""INSERT INTO appeals (account_id, consumer_id, type, topic, priority, channel,
                                 call_id, agent_id, comment)
            VALUES ($1, (SELECT consumer_id FROM accounts WHERE id = $1), $2, $3, $4, 'phone',
                    $5, $6, $7)
            RETURNING {_COLUMNS}""",
        account_id, type, topic, priority, call_id, agent_id, comment,
    )
    return Appeal.model_validate(dict(row))
