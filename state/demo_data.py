"""Demo staff: the queues and agents of the recorded Asterisk set, and a supervisor.

Queues, member interfaces (``Local/1001@agents/n``) and agent names follow
``tests/data/ami/asterisk-22-recorded/config/queues.conf`` and its README, so the PBX
simulator, the recordings and the demo database agree. Passwords are never built in: the caller
passes them (the demo command may print the one it chose). Hashes are bcrypt.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg
import bcrypt


@dataclass(frozen=True)
class DemoQueue:
    name: str
    title: str
    service_level_seconds: int


@dataclass(frozen=True)
class DemoAgent:
    extension: str
    full_name: str
    queues: tuple[tuple[str, int], ...]  # (queue, penalty)

    @property
    def login(self) -> str:
        return f"agent{self.extension}"

    @property
    def interface(self) -> str:
        return f"Local/{self.extension}@agents/n"


DEMO_QUEUES: tuple[DemoQueue, ...] = (
    DemoQueue("support", "Техническая поддержка", 20),
    DemoQueue("billing", "Начисления и оплата", 20),
    DemoQueue("outages", "Аварии и отключения", 30),
    DemoQueue("meters", "Приборы учёта", 20),
    DemoQueue("readings", "Показания", 20),
    DemoQueue("common", "Общие вопросы", 20),
    DemoQueue("debt", "Задолженность", 15),
    DemoQueue("frontdesk", "Первая линия", 20),
    DemoQueue("escalation", "Старший специалист", 20),
)

DEMO_AGENTS: tuple[DemoAgent, ...] = (
    DemoAgent("1001", "Anna Ivanova", (("support", 0),)),
    DemoAgent("1002", "Boris Orlov", (("support", 0),)),
    DemoAgent("1003", "Vera Sokolova", (("billing", 0),)),
    DemoAgent("1004", "Gleb Morozov", (("billing", 0),)),
    DemoAgent("1005", "Daria Volkova", (("outages", 0),)),
    DemoAgent("1006", "Egor Lebedev", (("outages", 0),)),
    DemoAgent("1007", "Zhanna Kozlova", (("meters", 0),)),
    DemoAgent("1008", "Ilya Novikov", (("meters", 0),)),
    DemoAgent("1009", "Kira Popova", (("readings", 0),)),
    DemoAgent("1010", "Lev Fedorov", (("readings", 1),)),
    DemoAgent("1011", "Maria Pavlova", (("readings", 0),)),
    DemoAgent("1012", "Nikita Semenov", (("common", 0),)),
    DemoAgent("1013", "Olga Egorova", (("common", 0),)),
    DemoAgent("1014", "Pavel Kuznetsov", (("debt", 0),)),
    DemoAgent("1015", "Raisa Titova", (("debt", 0),)),
    DemoAgent("1016", "Semyon Belov", (("debt", 0),)),
    DemoAgent("1017", "Taisia Gromova", (("frontdesk", 0),)),
    DemoAgent("1018", "Ulyana Zaitseva", (("escalation", 0),)),
)
SUPERVISOR_LOGIN = "supervisor"
SUPERVISOR_NAME = "Supervisor"


def hash_password(password: str, rounds: int = 12) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def _keep_or_hash(existing: str | None, password: str, rounds: int) -> str:
    # Re-running the demo setup must not churn hashes (a new salt each time) when nothing changed.
    if existing and bcrypt.checkpw(password.encode(), existing.encode()):
        return existing
    return hash_password(password, rounds)


async def install_demo_staff(
    pool: asyncpg.Pool,
    agent_password: str,
    supervisor_password: str | None = None,
    *,
    bcrypt_rounds: int = 12,
) -> int:
    """Create or refresh demo queues, agents, their queue memberships and the supervisor.

    Idempotent. Returns the number of staff accounts (agents and supervisor) in place.
    """
    if not agent_password:
        raise ValueError("the demo agent password must not be empty")
    supervisor_password = supervisor_password or agent_password
    loop = asyncio.get_running_loop()
    async with pool.acquire() as conn:
        existing = dict(await conn.fetch("SELECT login, password_hash FROM agents"))
    people = [(a.login, a.full_name, "agent", a.interface, agent_password) for a in DEMO_AGENTS]
    people.append((SUPERVISOR_LOGIN, SUPERVISOR_NAME, "supervisor", None, supervisor_password))
    # bcrypt is deliberately slow: hash in a thread so the event loop keeps serving.
    hashes = await loop.run_in_executor(
        None,
        lambda: [
            _keep_or_hash(existing.get(login), pw, bcrypt_rounds) for login, _, _, _, pw in people
        ],
    )

    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            """INSERT INTO queues (name, title, service_level_seconds) VALUES ($1, $2, $3)
               ON CONFLICT (name) DO UPDATE SET title = EXCLUDED.title,
                   service_level_seconds = EXCLUDED.service_level_seconds""",
            [(q.name, q.title, q.service_level_seconds) for q in DEMO_QUEUES],
        )
        await conn.executemany(
            """INSERT INTO agents (login, full_name, role, password_hash, interface)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (login) DO UPDATE SET full_name = EXCLUDED.full_name,
                   role = EXCLUDED.role, password_hash = EXCLUDED.password_hash,
                   interface = EXCLUDED.interface, active = true""",
            [
                (login, name, role, h, iface)
                for (login, name, role, iface, _), h in zip(people, hashes)
            ],
        )
        await conn.executemany(
            """INSERT INTO agent_queues (agent_id, queue_name, penalty)
               SELECT id, $2, $3 FROM agents WHERE login = $1
               ON CONFLICT (agent_id, queue_name) DO UPDATE SET penalty = EXCLUDED.penalty""",
            [(a.login, q, p) for a in DEMO_AGENTS for q, p in a.queues],
        )
    return len(people)
