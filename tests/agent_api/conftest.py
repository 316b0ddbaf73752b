import uuid

import pytest
from pydantic import SecretStr

from ccs.settings import Settings


@pytest.fixture
def app_settings(pg_dsn, redis_server) -> Settings:
    settings = Settings()
    return settings.model_copy(
        update={
            "postgres": settings.postgres.model_copy(update={"dsn": pg_dsn}),
            # A prefix per test: login counters and cached cards of one test never meet another's.
            "redis": settings.redis.model_copy(update={"url": redis_server.url,
                                                       "key_prefix": f"t{uuid.uuid4().hex[:8]}"}),
            "auth": settings.auth.model_copy(update={"secret_key": SecretStr("test-secret-key-0123456789-abcdefghij")}),
            # The Vosk model and the IVR ports are exercised by their own tests and the wiring test.
            "speech": settings.speech.model_copy(update={"enabled": False}),
            "ivr": settings.ivr.model_copy(update={"enabled": False}),
        }
    )


PASSWORD = "s3cret-pass"


@pytest.fixture
def make_agent(pg_pool):
    """Create an agent with a cheap hash; returns (id, login)."""
    import uuid

    from state.models import AgentIn
    from state.repositories.agents import upsert_agent

    async def make(role: str = "agent", password: str = PASSWORD) -> tuple[int, str]:
        login = f"{role}-{uuid.uuid4().hex[:8]}"
        agent = await upsert_agent(
            pg_pool, AgentIn(login=login, full_name="Анна Иванова", role=role, password=password),
            rounds=4)
        return agent.id, login

    return make


async def login_token(client, login: str, password: str = PASSWORD) -> str:
    response = await client.post("/api/login", json={"login": login, "password": password})
    assert response.status == 200, await response.text()
    return (await response.json())["token"]


@pytest.fixture
def make_account(pg_pool):
    """An account with a phone and an electricity balance; returns its ids and numbers."""
    import uuid

    async def make(pool=None) -> dict:
        pool = pool or pg_pool
        number = str(uuid.uuid4().int)[:12]
        async with pool.acquire() as conn:
            consumer = await conn.fetchval(
                "INSERT INTO consumers (kind, full_name) VALUES ('person', 'Пётр Сидоров') "
                "RETURNING id")
            account_id = await conn.fetchval(
                """INSERT INTO accounts (number, consumer_id, city, street, house, apartment)
                   VALUES ($1, $2, 'Омск', 'ул. Ленина', '5', '12') RETURNING id""",
                number, consumer)
            phone = "+7912" + number[-7:]
            phone_id = await conn.fetchval(
                """INSERT INTO phones (e164) VALUES ($1)
                   ON CONFLICT (e164) DO UPDATE SET e164 = EXCLUDED.e164 RETURNING id""", phone)
            await conn.execute(
                "INSERT INTO account_phones (phone_id, account_id) VALUES ($1, $2)",
                phone_id, account_id)
            await conn.execute(
                """INSERT INTO balances (account_id, service, period, balance, debt, penalty,
                                         months_overdue)
                   VALUES ($1, 'electricity', '2026-10-01', 1520.30, 1520.30, 0, 2)""",
                account_id)
        return {"id": account_id, "number": number, "phone": phone}

    return make
