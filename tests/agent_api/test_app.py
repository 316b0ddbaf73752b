import pytest

from ccs.app import ConfigurationError, create_app
from agent_api.auth import Principal
from agent_api.app_keys import TOKENS


async def test_when_services_are_up_then_health_reports_ok(aiohttp_client, app_settings):
    client = await aiohttp_client(create_app(app_settings))
    response = await client.get("/health")
    body = await response.json()
    assert response.status == 200, body
    assert body["components"]["postgres"]["status"] == "ok"
    assert body["components"]["redis"]["status"] == "ok"


async def test_when_no_token_then_metrics_are_refused(aiohttp_client, app_settings):
    client = await aiohttp_client(create_app(app_settings))
    response = await client.get("/metrics")
    assert response.status == 401
    assert (await response.json())["error_id"] == "unauthorized"


async def test_when_token_is_forged_then_refused(aiohttp_client, app_settings):
    client = await aiohttp_client(create_app(app_settings))
    response = await client.get("/metrics", headers={"Authorization": "Bearer abc.def.ghi"})
    assert response.status == 401


async def test_when_token_is_valid_then_metrics_are_served(aiohttp_client, app_settings,
                                                           make_agent):
    app = create_app(app_settings)
    client = await aiohttp_client(app)
    agent_id, login = await make_agent("admin")
    token = app[TOKENS].issue(Principal(agent_id=agent_id, login=login, role="admin"))
    await client.get("/health")
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200
    assert "ccs_http_requests_total" in await response.text()


def test_when_secret_key_is_missing_then_create_app_refuses(app_settings):
    settings = app_settings.model_copy(update={"auth": app_settings.auth.model_copy(update={"secret_key": None})})
    with pytest.raises(ConfigurationError):
        create_app(settings)


async def test_when_redis_cannot_be_reached_then_startup_fails_and_postgres_is_closed(
    app_settings, tmp_path
):
    import redis.exceptions
    from aiohttp import web

    from agent_api.app_keys import PG_POOL

    broken = app_settings.model_copy(update={"redis": app_settings.redis.model_copy(
        update={"url": f"unix://{tmp_path}/no-such-redis.sock"})})
    app = create_app(broken)
    runner = web.AppRunner(app)
    with pytest.raises(redis.exceptions.ConnectionError):
        await runner.setup()
    # As web.run_app does after a failed start: clean up what did start. The PostgreSQL context
    # had finished its startup, so its cleanup runs and closes the pool.
    await runner.cleanup()
    assert app[PG_POOL].is_closing()
