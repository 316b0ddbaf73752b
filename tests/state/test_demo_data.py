"""Demo queues, agents and supervisor: match the recordings, hash with bcrypt, idempotent."""

from __future__ import annotations

import re
from pathlib import Path

import bcrypt

from state.demo_data import DEMO_AGENTS, DEMO_QUEUES, install_demo_staff
from tests.conftest import CAPTURES

QUEUES_CONF = CAPTURES / "asterisk-22-recorded" / "config" / "queues.conf"


def recorded_members() -> dict[str, set[tuple[str, str]]]:
    """queue -> {(interface, member name)} from the recordings' queues.conf."""
    out: dict[str, set[tuple[str, str]]] = {}
    queue = None
    for line in Path(QUEUES_CONF).read_text().splitlines():
        if m := re.fullmatch(r"\[(\w+)\]", line.strip()):
            queue = m[1]
            if queue != "general":
                out[queue] = set()
        elif m := re.fullmatch(r"member => ([^,]+),\d+,(.+)", line.strip()):
            out[queue].add((m[1], m[2]))
    return out


def test_when_compared_with_recorded_config_then_queues_and_members_agree():
    recorded = recorded_members()
    assert {q.name for q in DEMO_QUEUES} == set(recorded)
    for queue, members in recorded.items():
        ours = {(a.interface, a.full_name) for a in DEMO_AGENTS if queue in dict(a.queues)}
        assert members <= ours, queue


async def test_when_installed_twice_then_staff_exists_once_with_working_passwords(fresh_db):
    _, pool = await fresh_db("demo")
    assert await install_demo_staff(pool, "agent-pass", "boss-pass", bcrypt_rounds=4) == 19
    async with pool.acquire() as conn:
        first = {r["login"]: dict(r) for r in await conn.fetch("SELECT * FROM agents")}
    assert await install_demo_staff(pool, "agent-pass", "boss-pass", bcrypt_rounds=4) == 19
    async with pool.acquire() as conn:
        second = {r["login"]: dict(r) for r in await conn.fetch("SELECT * FROM agents")}
        memberships = await conn.fetchval("SELECT count(*) FROM agent_queues")
        queues = await conn.fetchval("SELECT count(*) FROM queues")
    assert first == second  # same ids, same hashes: nothing churned
    agent = second["agent1001"]
    assert agent["interface"] == "Local/1001@agents/n" and agent["full_name"] == "Anna Ivanova"
    assert bcrypt.checkpw(b"agent-pass", agent["password_hash"].encode())
    assert not bcrypt.checkpw(b"boss-pass", agent["password_hash"].encode())
    boss = second["supervisor"]
    assert boss["role"] == "supervisor" and boss["interface"] is None
    assert bcrypt.checkpw(b"boss-pass", boss["password_hash"].encode())
    assert memberships == sum(len(a.queues) for a in DEMO_AGENTS) and queues == 9


async def test_when_password_changes_then_hash_is_replaced(fresh_db):
    _, pool = await fresh_db("demo")
    await install_demo_staff(pool, "old-pass", bcrypt_rounds=4)
    await install_demo_staff(pool, "new-pass", bcrypt_rounds=4)
    async with pool.acquire() as conn:
        stored = await conn.fetchval("SELECT password_hash FROM agents WHERE login = 'agent1005'")
    assert bcrypt.checkpw(b"new-pass", stored.encode())
