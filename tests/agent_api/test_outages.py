"""Redis or PostgreSQL stopped under a running server (private instances, really stopped and
started again): the server answers what it can, says 503 with a stable id for the rest, tells
the truth in /health, and recovers by itself."""
import asyncio
import uuid

import pytest
from aiohttp import web

from ccs.app import create_app
from agent_api.auth import ANY_ROLE, allow
from agent_api.app_keys import CARD_LISTENER, PG_POOL, REDIS
from ccs.localenv import LocalPostgres, LocalRedis
from state.db import migrate_sync
from state.models import AgentIn
from state.repositories.agents import upsert_agent
from tests.agent_api.conftest import login_token
from tests.helpers import until


@pytest.fixture
async def own_redis(services_dir):
    # The constructors resolve paths and find binaries (file system calls): off the loop.
    server = await asyncio.to_thread(LocalRedis, services_dir / f"redis-{uuid.uuid4().hex[:6]}")
    await asyncio.to_thread(server.start)
    yield server
    await asyncio.to_thread(server.stop)


@pytest.fixture
async def own_postgres(services_dir):
    server = await asyncio.to_thread(LocalPostgres, services_dir / f"pg-{uuid.uuid4().hex[:6]}",
                                     database="ccs_outage", fast_unsafe=True)
    await asyncio.to_thread(server.start)
    await asyncio.to_thread(migrate_sync, server.dsn)
    yield server
    await asyncio.to_thread(server.stop)


async def _health(client) -> tuple[int, dict]:
    response = await client.get("/health")
    return response.status, await response.json()


async def test_when_redis_stops_then_cards_come_from_postgres_and_all_recovers(
    aiohttp_client, app_settings, own_redis, make_agent, make_account
):
    settings = app_settings.model_copy(update={"redis": app_settings.redis.model_copy(
        update={"url": own_redis.url})})
    app = create_app(settings)

    @allow(*ANY_ROLE)
    async def needs_redis(request):  # like the readiness route, which needs a PBX besides
        return web.json_response({"value": await request.app[REDIS].get("anything")})

    app.router.add_get("/api/test/needs-redis", needs_redis)
    client = await aiohttp_client(app)
    _, login = await make_agent()
    cached, uncached = await make_account(), await make_account()
    headers = {"Authorization": f"Bearer {await login_token(client, login)}"}
    first = await client.get(f"/api/cards/account/{cached['number']}", headers=headers)
    assert first.status == 200

    await asyncio.to_thread(own_redis.stop)

    for account in (cached, uncached):
        by_account = await client.get(f"/api/cards/account/{account['number']}", headers=headers)
        assert by_account.status == 200
        assert (await by_account.json())["account"]["number"] == account["number"]
        by_phone = await client.get(f"/api/cards/phone/{account['phone']}", headers=headers)
        assert by_phone.status == 200 and len(await by_phone.json()) == 1
    me = await client.get("/api/agents/me", headers=headers)
    assert me.status == 200
    assert (await me.json())["readiness_unavailable"] is True
    needs = await client.get("/api/test/needs-redis", headers=headers)
    assert needs.status == 503
    assert (await needs.json())["error_id"] == "live-state-unavailable"
    status, body = await _health(client)
    assert status == 200 and body["status"] == "degraded"  # cards are still served
    assert body["components"]["redis"]["status"] == "fail"
    assert body["components"]["events"]["status"] == "degraded"
    assert body["components"]["postgres"]["status"] == "ok"
    # Logins go on, limited per process while Redis is away.
    await login_token(client, login)

    await asyncio.to_thread(own_redis.start)

    async def recovered():
        status, body = await _health(client)
        return status == 200 and body["status"] == "ok"

    await until(recovered, timeout=20, interval=0.2)
    me = await client.get("/api/agents/me", headers=headers)
    assert me.status == 200 and "readiness_unavailable" not in await me.json()


async def test_when_postgres_stops_then_503_database_unavailable_and_recovery(
    aiohttp_client, app_settings, own_postgres, make_account
):
    settings = app_settings.model_copy(update={"postgres": app_settings.postgres.model_copy(
        update={"dsn": own_postgres.dsn, "acquire_timeout": 2.0})})
    app = create_app(settings)
    client = await aiohttp_client(app)
    pool = app[PG_POOL]
    await upsert_agent(pool, AgentIn(login="outage", full_name="Анна", password="s3cret-pass"),
                       rounds=4)
    account = await make_account(pool)
    headers = {"Authorization": f"Bearer {await login_token(client, 'outage')}"}
    card_path = f"/api/cards/account/{account['number']}"

    await asyncio.to_thread(own_postgres.stop)

    for path in (card_path, "/api/agents/me"):
        response = await client.get(path, headers=headers)
        assert response.status == 503, path
        assert (await response.json())["error_id"] == "database-unavailable"
    status, body = await _health(client)
    assert status == 503 and body["components"]["postgres"]["status"] == "fail"

    await asyncio.to_thread(own_postgres.start)

    async def card_again():
        return (await client.get(card_path, headers=headers)).status == 200

    await until(card_again, timeout=20, interval=0.2)
    assert (await _health(client))[0] == 200
    # The card-change listener lost its connection too, and took up LISTEN again by itself.
    await until(lambda: app[CARD_LISTENER].listening, timeout=20, interval=0.2)
