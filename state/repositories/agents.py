"""Agents (operators), their passwords and queue memberships; queues."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import asyncpg
import bcrypt

from state.models import Agent, AgentCredentials, AgentIn, QueueDefinition, QueueMembership
from state.repositories.base import Queryable, transaction
from state.repositories.errors import (
    InterfaceTaken,
    PasswordRequired,
    PasswordTooLong,
    UnknownQueue,
)

DEFAULT_BCRYPT_ROUNDS = 12
_BCRYPT_MAX_BYTES = 72

_SELECT = """SELECT a.id, a.login, a.full_name, a.role, a.interface, a.active, a.password_hash,
    (SELECT coalesce(json_agg(json_build_object('queue', q.queue_name, 'penalty', q.penalty)
                              ORDER BY q.queue_name), '[]')::text
     FROM agent_queues q WHERE q.agent_id = a.id) AS queues
FROM agents a"""


def _agent(row: asyncpg.Record) -> Agent:
    data = dict(row)
    data.pop("password_hash", None)
    data["queues"] = json.loads(data["queues"])
    return Agent.model_validate(data)


async def hash_password(
    password: str, rounds: int = DEFAULT_BCRYPT_ROUNDS, *, executor: Executor | None = None
) -> str:
    """bcrypt hash, computed in ``executor`` (default: the loop's): at 12 rounds ~0.2 s of CPU.

    A server passes an executor of its own so that hashing cannot starve other blocking work.
    """
    secret = password.encode()
    if not secret:
        raise PasswordRequired("the password is empty")
    if len(secret) > _BCRYPT_MAX_BYTES:
        raise PasswordTooLong(f"the password is longer than {_BCRYPT_MAX_BYTES} bytes")
    salt = bcrypt.gensalt(rounds)
    loop = asyncio.get_running_loop()
    hashed = await loop.run_in_executor(executor, bcrypt.hashpw, secret, salt)
    return hashed.decode()


async def verify_password(
    credentials: AgentCredentials, password: str, *, executor: Executor | None = None
) -> bool:
    """True when ``password`` matches; never raises on junk input (a wrong password is False)."""
    secret = password.encode(errors="replace")
    if not secret or len(secret) > _BCRYPT_MAX_BYTES or b"\0" in secret:
        return False
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(
            executor, bcrypt.checkpw, secret, credentials.password_hash.encode()
        )
    except ValueError:  # a malformed stored hash
        return False


async def get_agent(conn: Queryable, agent_id: int) -> Agent | None:
    row = await conn.fetchrow(f"{_SELECT} WHERE a.id = $1", agent_id)
    return None if row is None else _agent(row)


async def get_agent_by_interface(conn: Queryable, interface: str) -> Agent | None:
    """The agent logged in on a phone interface (``PJSIP/101``), as AMI events name members."""
    row = await conn.fetchrow(f"{_SELECT} WHERE a.interface = $1", interface)
    return None if row is None else _agent(row)


async def get_agent_credentials(conn: Queryable, login: str) -> AgentCredentials | None:
    """For the login check only: the agent with its password hash."""
    row = await conn.fetchrow(f"{_SELECT} WHERE a.login = $1", login)
    if row is None:
        return None
    return AgentCredentials(agent=_agent(row), password_hash=row["password_hash"])


@dataclass(frozen=True)
class Session:
    """What a request's token is checked against: a token of another version is revoked."""

    active: bool
    role: str
    token_version: int


async def session_of(conn: Queryable, agent_id: int) -> Session | None:
    row = await conn.fetchrow(
        "SELECT active, role, token_version FROM agents WHERE id = $1", agent_id
    )
    return None if row is None else Session(row["active"], row["role"], row["token_version"])


async def revoke_sessions(conn: Queryable, agent_id: int) -> int | None:
    """Invalidate every token issued to the agent so far; returns the new version."""
    return await conn.fetchval(
        "UPDATE agents SET token_version = token_version + 1 WHERE id = $1 RETURNING token_version",
        agent_id,
    )


async def set_password_hash(conn: Queryable, agent_id: int, password_hash: str) -> bool:
    """Store a new password hash (see ``hash_password``) and revoke the agent's tokens."""
    status = await conn.execute(
        """UPDATE agents SET password_hash = $2, token_version = token_version + 1
           WHERE id = $1""",
        agent_id, password_hash,
    )
    return status.endswith(" 1")


async def set_agent_active(conn: Queryable, agent_id: int, active: bool) -> bool:
    """(De)activate an agent; deactivation revokes its tokens. False when no such agent."""
    status = await conn.execute(
        """UPDATE agents SET active = $2,
               token_version = token_version + CASE WHEN active AND NOT $2 THEN 1 ELSE 0 END
           WHERE id = $1""",
        agent_id, active,
    )
    return status.endswith(" 1")


async def get_agent_by_login(conn: Queryable, login: str) -> Agent | None:
    row = await conn.fetchrow(f"{_SELECT} WHERE a.login = $1", login)
    return None if row is None else _agent(row)


async def list_agents(conn: Queryable, *, active_only: bool = True,
                      pause: Callable[[], Awaitable[None]] | None = None) -> list[Agent]:
    """Every agent; ``pause`` is awaited after each one is built: 2,000 models are 15-20 ms of
    CPU on a busy server, too long for one step of an event loop that also pops calls."""
    rows = await conn.fetch(
        f"{_SELECT} WHERE a.active OR NOT $1 ORDER BY a.login", active_only
    )
    if pause is None:
        return [_agent(r) for r in rows]
    agents = []
    for row in rows:
        agents.append(_agent(row))
        await pause()
    return agents


async def upsert_agent(
    conn: Queryable,
    agent: AgentIn,
    *,
    rounds: int = DEFAULT_BCRYPT_ROUNDS,
    executor: Executor | None = None,
) -> Agent:
    """Create the agent or change it (by login). A new agent needs a password; for an existing
    one ``password=None`` keeps the old hash and ``queues=None`` keeps the memberships.
    A new password or a deactivation revokes the agent's tokens."""
    password_hash = (
        None if agent.password is None
        else await hash_password(agent.password, rounds, executor=executor)
    )
    try:
        async with transaction(conn) as tx:
            agent_id = await tx.fetchval(
                """UPDATE agents SET full_name = $2, role = $3, interface = $4, active = $5,
                                     password_hash = coalesce($6, password_hash),
                                     token_version = token_version + CASE
                                         WHEN $6::text IS NOT NULL OR (active AND NOT $5)
                                         THEN 1 ELSE 0 END
                   WHERE login = $1 RETURNING id""",
                agent.login, agent.full_name, agent.role, agent.interface, agent.active,
                password_hash,
            )
            if agent_id is None:
                if password_hash is None:
                    raise PasswordRequired("a new agent needs a password")
                agent_id = await tx.fetchval(
                    """INSERT INTO agents (login, full_name, role, interface, active,
                                           password_hash)
                       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
                    agent.login, agent.full_name, agent.role, agent.interface, agent.active,
                    password_hash,
                )
            if agent.queues is not None:
                await _set_queues(tx, agent_id, agent.queues)
            row = await tx.fetchrow(f"{_SELECT} WHERE a.id = $1", agent_id)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "agents_interface_key":
            raise InterfaceTaken("another agent uses this interface") from exc
        raise
    return _agent(row)


async def _set_queues(
    tx: asyncpg.Connection, agent_id: int, queues: list[QueueMembership]
) -> None:
    await tx.execute("DELETE FROM agent_queues WHERE agent_id = $1", agent_id)
    try:
        await tx.executemany(
            "INSERT INTO agent_queues (agent_id, queue_name, penalty) VALUES ($1, $2, $3)",
            [(agent_id, m.queue, m.penalty) for m in queues],
        )
    except asyncpg.ForeignKeyViolationError as exc:
        raise UnknownQueue("no such queue") from exc


async def list_queues(conn: Queryable) -> list[QueueDefinition]:
    rows = await conn.fetch("SELECT name, title, service_level_seconds FROM queues ORDER BY name")
    return [QueueDefinition.model_validate(dict(r)) for r in rows]


async def upsert_queue(conn: Queryable, queue: QueueDefinition) -> QueueDefinition:
    row = await conn.fetchrow(
        """INSERT INTO queues (name, title, service_level_seconds) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO UPDATE SET title = EXCLUDED.title,
               service_level_seconds = EXCLUDED.service_level_seconds
           RETURNING name, title, service_level_seconds""",
        queue.name, queue.title, queue.service_level_seconds,
    )
    return QueueDefinition.model_validate(dict(row))
