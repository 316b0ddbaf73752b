"""REST over a real socket: login, cards, refusals of bad and oversized input."""
import uuid

import pytest

from ccs.app import create_app
from state.models import AgentIn
from state.repositories.agents import upsert_agent


@pytest.fixture
async def agent(pg_pool):
    login = f"agent-{uuid.uuid4().hex[:8]}"
    await upsert_agent(pg_pool, AgentIn(login=login, full_name="Анна Иванова", password="s3cret-pass"), rounds=4)
    return login


@pytest.fixture
async def account(pg_pool):
    number = str(uuid.uuid4().int)[:12]
    async with pg_pool.acquire() as conn:
        consumer = await conn.fetchval(
            "INSERT INTO consumers (kind, full_name) VALUES ('person', 'Пётр Сидоров') RETURNING id")
        account_id = await conn.fetchval(
            """INSERT INTO accounts (number, consumer_id, city, street, house, apartment, timezone)
               VALUES ($1, $2, 'Омск', 'ул. Ленина', '5', '12', 'Asia/Omsk') RETURNING id""",
            number, consumer)
        phone = "+7912" + number[-7:]
        phone_id = await conn.fetchval(
            "INSERT INTO phones (e164) VALUES ($1) RETURNING id", phone)
        await conn.execute(
            "INSERT INTO account_phones (phone_id, account_id) VALUES ($1, $2)", phone_id, account_id)
        await conn.execute(
            """INSERT INTO balances (account_id, service, period, balance, debt, penalty, months_overdue)
               VALUES ($1, 'electricity', '2026-10-01', 1523.45, 1523.45, 12.10, 2)""", account_id)
    return number, phone


async def _login(client, login, password="s3cret-pass"):
    return await client.post("/api/login", json={"login": login, "password": password})


async def test_when_password_is_right_then_token_opens_the_card(aiohttp_client, app_settings, agent, account):
    client = await aiohttp_client(create_app(app_settings))
    response = await _login(client, agent)
    assert response.status == 200
    body = await response.json()
    assert "password_hash" not in str(body)
    headers = {"Authorization": f"Bearer {body['token']}"}
    number, phone = account
    card = await (await client.get(f"/api/cards/account/{number}", headers=headers)).json()
    assert card["account"]["number"] == number
    assert card["total_debt"] in ("1523.45", 1523.45)
    # the phone in a human shape is normalised before the lookup
    human = f"8 ({phone[2:5]}) {phone[5:8]}-{phone[8:10]}-{phone[10:]}"
    cards = await (await client.get(f"/api/cards/phone/{human}", headers=headers)).json()
    assert [c["account"]["number"] for c in cards] == [number]


async def test_when_password_is_wrong_or_login_unknown_then_401(aiohttp_client, app_settings, agent):
    client = await aiohttp_client(create_app(app_settings))
    assert (await _login(client, agent, "wrong")).status == 401
    unknown = await _login(client, "nobody-here")
    assert unknown.status == 401
    assert (await unknown.json())["error_id"] == "unauthorized"


async def test_when_card_is_asked_without_token_then_401(aiohttp_client, app_settings, account):
    client = await aiohttp_client(create_app(app_settings))
    assert (await client.get(f"/api/cards/account/{account[0]}")).status == 401


@pytest.mark.parametrize("body", [b"not json", b'{"login": 5}', b'{"login": "a", "password": "b", "x": 1}', b"[]"])
async def test_when_login_body_is_malformed_then_clear_4xx(aiohttp_client, app_settings, body):
    client = await aiohttp_client(create_app(app_settings))
    response = await client.post("/api/login", data=body, headers={"Content-Type": "application/json"})
    assert response.status in (400, 422)
    assert (await response.json())["error_id"] in ("bad-request", "invalid-request")


async def test_when_body_is_oversized_then_413(aiohttp_client, app_settings):
    client = await aiohttp_client(create_app(app_settings))
    response = await client.post("/api/login", data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                                 headers={"Content-Type": "application/json"})
    assert response.status == 413


async def test_when_lookups_are_malformed_or_unknown_then_clear_errors(aiohttp_client, app_settings, agent):
    client = await aiohttp_client(create_app(app_settings))
    token = (await (await _login(client, agent)).json())["token"]
    headers = {"Authorization": f"Bearer {token}"}
    bad = await client.get("/api/cards/account/12ab", headers=headers)
    assert bad.status == 400
    missing = await client.get("/api/cards/account/999999999999", headers=headers)
    assert missing.status == 404
    phone = await client.get("/api/cards/phone/hello", headers=headers)
    assert phone.status == 400


async def test_when_cards_are_looked_up_then_the_access_log_holds_no_phone_or_account(
    aiohttp_client, app_settings, agent, account, caplog
):
    from aiohttp.test_utils import TestServer

    from agent_api.access_log import RedactedAccessLogger

    server = TestServer(create_app(app_settings))
    await server.start_server(access_log_class=RedactedAccessLogger)  # as ccs serve runs it
    client = await aiohttp_client(server)
    token = (await (await _login(client, agent)).json())["token"]
    number, phone = account
    with caplog.at_level("INFO", logger="aiohttp.access"):
        for path in (f"/api/cards/account/{number}", f"/api/cards/phone/{phone}"):
            response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert response.status == 200
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "aiohttp.access")
    assert "/api/cards/account/{number}" in logged  # the route template, not the value
    assert number not in logged and phone[1:] not in logged
