"""Agents (operators), their passwords and queue memberships; queues."""
from __future__ import annotations

import asyncio
import json

import asyncpg
import bcrypt

from state.models import Agent, AgentCredentials, AgentIn, Queue, QueueMembership
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


async def hash_password(password: str, rounds: int = DEFAULT_BCRYPT_ROUNDS) -> str:
    """bcrypt hash, computed in an executor: at 12 rounds it costs ~0.2 s of CPU."""
    secret = password.encode()
    if not secret:
        raise PasswordRequired("the password is empty")
    if len(secret) > _BCRYPT_MAX_BYTES:
        raise PasswordTooLong(f"the password is longer than {_BCRYPT_MAX_BYTES} bytes")
    salt = bcrypt.gensalt(rounds)
    loop = asyncio.get_running_loop()
    hashed = await loop.run_in_executor(None, bcrypt.hashpw, secret, salt)
    return hashed.decode()


async def verify_password(credentials: AgentCredentials, password: str) -> bool:
    """True when ``password`` matches; never raises on junk input (a wrong password is False)."""
    secret = password.encode()
    if not secret or len(secret) > _BCRYPT_MAX_BYTES:
        return False
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(
            None, bcrypt.checkpw, secret, credentials.password_hash.encode()
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


async def get_agent_by_login(conn: Queryable, login: str) -> Agent | None:
    row = await conn.fetchrow(f"{_SELECT} WHERE a.login = $1", login)
    return None if row is None else _agent(row)


async def list_agents(conn: Queryable, *, active_only: bool = True) -> list[Agent]:
    rows = await conn.fetch(
        f"{_SELECT} WHERE a.active OR NOT $1 ORDER BY a.login", active_only
    )
    return [_agent(r) for r in rows]


async def upsert_agent(
    conn: Queryable, agent: AgentIn, *, rounds: int = DEFAULT_BCRYPT_ROUNDS
) -> Agent:
    """Create the agent or change it (by login). A new agent needs a password; for an existing
    one ``password=None`` keeps the old hash and ``queues=None`` keeps the memberships."""
    password_hash = None if agent.password is None else await hash_password(agent.password, rounds)
    try:
        async with transaction(conn) as tx:
            agent_id = await tx.fetchval(
                """UPDATE agents SET full_name = $2, role = $3, interface = $4, active = $5,
                                     password_hash = coalesce($6, password_hash)
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


async def list_queues(conn: Queryable) -> list[Queue]:
    rows = await conn.fetch("SELECT name, title, service_level_seconds FROM queues ORDER BY name")
    return [Queue.model_validate(dict(r)) for r in rows]


async def upsert_queue(conn: Queryable, queue: Queue) -> Queue:
    row = await conn.fetchrow(
        """INSERT INTO queues (name, title, service_level_seconds) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO UPDATE SET title = EXCLUDED.title,
               service_level_seconds = EXCLUDED.service_level_seconds
           RETURNING name, title, service_level_seconds""",
        queue.name, queue.title, queue.service_level_seconds,
    )
    return Queue.model_validate(dict(row))
