"""Load on the pools and on login: nothing fails for want of a connection, bcrypt starves
nothing, failed logins are limited."""
import asyncio

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from ccs.app import create_app
from agent_api.app_keys import PASSWORDS
from tests.agent_api.conftest import login_token


@pytest.mark.parametrize("pools", [{}, {"redis": 4}, {"postgres": 2}],
                         ids=["default", "tiny-redis", "tiny-postgres"])
async def test_when_200_cards_are_asked_at_once_then_all_are_200(app_settings, make_agent,
                                                                make_account, pools, caplog):
    # Tiny pools: every request must wait its turn for a connection, none may fail for want of one.
    settings = app_settings.model_copy(update={
        "redis": app_settings.redis.model_copy(
            update={"max_connections": pools.get("redis", app_settings.redis.max_connections)}),
        "postgres": app_settings.postgres.model_copy(
            update={"pool_max": pools.get("postgres", app_settings.postgres.pool_max),
                    "pool_min": 1}),
    })
    server = TestServer(create_app(settings))
    await server.start_server()
    _, login = await make_agent()
    account = await make_account()
    # No client-side connection limit (aiohttp's default of 100 would queue half of them).
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        token = await login_token(_Client(session, server), login)
        headers = {"Authorization": f"Bearer {token}"}
        paths = [f"/api/cards/account/{account['number']}", f"/api/cards/phone/{account['phone']}"]

        async def one(i: int) -> int:
            async with session.get(server.make_url(paths[i % 2]), headers=headers) as response:
                await response.read()
                return response.status

        # Redis holds its answers for a moment, so every request holds its Redis connection at
        # once, as under a real burst: more than the pool has.
        pauser = aioredis.from_url(settings.redis.url)
        await pauser.execute_command("CLIENT", "PAUSE", "300", "ALL")
        await pauser.aclose()
        statuses = await asyncio.gather(*(one(i) for i in range(200)))
    await server.close()
    assert statuses == [200] * 200
    # ... and none of them went around the cache for want of a connection.
    assert not [r for r in caplog.records if r.name == "state.cards"]


class _Client:
    def __init__(self, session, server):
        self._session, self._server = session, server

    async def post(self, path, **kwargs):
        response = await self._session.post(self._server.make_url(path), **kwargs)
        await response.read()
        return response


async def _wrong_login(client, login, password="wrong-password"):
    return await client.post("/api/login", json={"login": login, "password": password})


async def test_when_a_login_fails_too_often_then_429_with_retry_after(aiohttp_client,
                                                                     app_settings, make_agent):
    client = await aiohttp_client(create_app(app_settings))
    _, login = await make_agent()
    limit = app_settings.auth.login_attempts_per_login
    for _ in range(limit):
        assert (await _wrong_login(client, login)).status == 401
    refused = await _wrong_login(client, login)
    assert refused.status == 429
    assert 0 < int(refused.headers["Retry-After"]) <= app_settings.auth.login_window
    body = await refused.json()
    assert body["error_id"] == "too-many-requests" and body["details"]["limit"] == "login"
    # Even the right password waits out the window: the guesser cannot tell it was right.
    assert (await _wrong_login(client, login, "s3cret-pass")).status == 429


async def test_when_one_address_fails_on_many_logins_then_429(aiohttp_client, app_settings,
                                                             make_agent):
    settings = app_settings.model_copy(update={"auth": app_settings.auth.model_copy(
        update={"login_attempts_per_address": 3})})
    client = await aiohttp_client(create_app(settings))
    _, login = await make_agent()
    # A success takes its attempt back: agents of one office behind one address are not locked.
    await login_token(client, login)
    for i in range(3):
        assert (await _wrong_login(client, f"nobody-{i}")).status == 401
    refused = await _wrong_login(client, "nobody-else")
    assert refused.status == 429
    assert (await refused.json())["details"]["limit"] == "address"


async def test_when_100_wrong_logins_arrive_at_once_then_the_default_executor_stays_free(
    aiohttp_client, app_settings
):
    app = create_app(app_settings)
    client = await aiohttp_client(app)
    checked = 0  # logins answered after their password was checked (the rest are refused early)

    async def wrong(i: int) -> int:
        nonlocal checked
        response = await _wrong_login(client, f"nobody-{i}")
        checked += response.status == 401
        return response.status

    storm = [asyncio.create_task(wrong(i)) for i in range(100)]
    # Wait until the checks are queued for their threads, then ask the loop's default
    # executor for a trivial job: it must not queue behind bcrypt.
    passwords = app[PASSWORDS]

    async def queued():
        while passwords.status()["in_flight"] < 10:
            await asyncio.sleep(0.005)

    await asyncio.wait_for(queued(), 30)
    await asyncio.get_running_loop().run_in_executor(None, lambda: None)
    checked_when_probe_ran = checked
    statuses = await asyncio.gather(*storm)
    assert checked_when_probe_ran <= 4, checked_when_probe_ran  # bcrypt queued ahead: ~20
    assert set(statuses) <= {401, 429, 503}
    assert statuses.count(401) <= app_settings.auth.login_attempts_per_address
