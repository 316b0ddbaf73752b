"""Campaign REST through the whole application: supervisors and admins only."""
from __future__ import annotations

import uuid

import pytest
from pydantic import SecretStr

from ccs.app import create_app
from ccs.settings import Settings
from state.models import AgentIn
from state.repositories.agents import upsert_agent

PASSWORD = "pw-123456"


@pytest.fixture
def settings(campaign_dsn, redis_server) -> Settings:
    s = Settings()
    return s.model_copy(update={
        "postgres": s.postgres.model_copy(update={"dsn": campaign_dsn}),
        "redis": s.redis.model_copy(update={"url": redis_server.url,
                                             "key_prefix": f"t{uuid.uuid4().hex[:8]}"}),
        "auth": s.auth.model_copy(
            update={"secret_key": SecretStr("campaign-secret-0123456789-abcdef")}),
        "speech": s.speech.model_copy(update={"enabled": False}),
        "ivr": s.ivr.model_copy(update={"enabled": False}),
    })


async def client_as(aiohttp_client, app, pool, role: str):
    login = f"{role}-{uuid.uuid4().hex[:8]}"
    await upsert_agent(pool, AgentIn(login=login, full_name="Тест", role=role,
                                     password=PASSWORD), rounds=4)
    client = await aiohttp_client(app)
    response = await client.post("/api/login", json={"login": login, "password": PASSWORD})
    assert response.status == 200, await response.text()
    token = (await response.json())["token"]
    return client, {"Authorization": f"Bearer {token}"}


def body(world) -> dict:
    return {"name": "Долг, этап 1", "type": "debt_reminder",
            "message": [{"kind": "prompt", "name": "debt-reminder-1"}, {"kind": "amount"}],
            "target": {"city": [world.city], "min_debt": "1000"}}


async def test_when_supervisor_then_create_preview_start_pause_resume_stop_clone_csv(
        aiohttp_client, settings, world):
    await world.account(debts={"electricity": ("1500.50", 2)})
    await world.account(debts={"electricity": ("100", 2)})
    await world.account(phones=0, debts={"heating": ("3000", 4)})
    client, auth = await client_as(aiohttp_client, create_app(settings), world.pool,
                                   "supervisor")
    preview = await client.post("/api/campaigns/preview", json=body(world), headers=auth)
    assert preview.status == 200, await preview.text()
    data = await preview.json()
    assert data["matched"] == 2 and data["skipped"]["no_phone"] == 1

    created = await client.post("/api/campaigns", json=body(world), headers=auth)
    assert created.status == 201, await created.text()
    campaign = await created.json()
    one = f"/api/campaigns/{campaign['id']}"
    assert campaign["state"] == "created" and campaign["created_by"] is not None

    started = await client.post(one + "/start", headers=auth)
    assert started.status == 200 and (await started.json())["attempts"] == 2
    again = await client.post(one + "/start", headers=auth)
    assert again.status == 409 and (await again.json())["error_id"] == "campaign-state"
    assert (await (await client.post(one + "/pause", headers=auth)).json())["state"] == "paused"
    resumed = await client.post(one + "/resume", headers=auth)
    assert resumed.status in (200, 409)  # 409 campaign-window never: no window is set
    assert (await resumed.json())["state"] == "running"
    got = await (await client.get(one, headers=auth)).json()
    assert got["progress"]["total"] == 2 and got["progress"]["skipped"] == {"no_phone": 1}
    assert (await (await client.post(one + "/stop", headers=auth)).json())["state"] == "stopped"

    csv = await client.get(one + "/results.csv", headers=auth)
    assert csv.status == 200 and csv.content_type == "text/csv"
    assert (await csv.read()).decode("utf-8-sig").count("\r\n") == 3

    cloned = await client.post(one + "/clone", json={"name": "Повтор"}, headers=auth)
    assert cloned.status == 201
    assert (await cloned.json())["cloned_from"] == campaign["id"]
    listed = await (await client.get("/api/campaigns?state=created", headers=auth)).json()
    assert (await cloned.json())["id"] in [c["id"] for c in listed["campaigns"]]


async def test_when_agent_then_campaign_routes_forbidden(aiohttp_client, settings, world):
    client, auth = await client_as(aiohttp_client, create_app(settings), world.pool, "agent")
    for method, path in (("GET", "/api/campaigns"), ("POST", "/api/campaigns"),
                         ("POST", "/api/campaigns/preview"), ("POST", "/api/campaigns/1/start"),
                         ("GET", "/api/campaigns/1/results.csv"),
                         ("PUT", "/api/campaigns/kill-switch"),
                         ("PUT", "/api/campaigns/protection/12345678")):
        response = await client.request(method, path, json=body(world), headers=auth)
        assert response.status == 403, (method, path)


async def test_when_no_token_then_401(aiohttp_client, settings):
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/api/campaigns")).status == 401


async def test_when_admin_then_kill_switch_set_and_read(aiohttp_client, settings, world):
    client, auth = await client_as(aiohttp_client, create_app(settings), world.pool, "admin")
    try:
        put = await client.put("/api/campaigns/kill-switch", json={"engaged": True,
                                                                   "reason": "проверка"},
                               headers=auth)
        assert put.status == 200 and (await put.json())["engaged"] is True
        got = await (await client.get("/api/campaigns/kill-switch", headers=auth)).json()
        assert got["engaged"] is True and got["changed_by"] is not None
    finally:
        await world.pool.execute("UPDATE campaign_kill_switch SET engaged = false")


async def test_when_bad_bodies_or_unknown_campaign_then_clear_errors(
        aiohttp_client, settings, world):
    client, auth = await client_as(aiohttp_client, create_app(settings), world.pool,
                                   "supervisor")
    bad = {**body(world), "type": "sales"}
    assert (await client.post("/api/campaigns", json=bad, headers=auth)).status == 422
    no_queue = {**body(world), "options": {"operator_key": "0"}}
    response = await client.post("/api/campaigns", json=no_queue, headers=auth)
    assert response.status == 422 and "target_queue" in await response.text()
    missing = await client.post("/api/campaigns/999999999/start", headers=auth)
    assert missing.status == 404 and (await missing.json())["error_id"] == "campaign-not-found"


async def test_when_the_message_names_prompts_with_no_recording_then_create_is_refused(
        aiohttp_client, settings, world):
    client, auth = await client_as(aiohttp_client, create_app(settings), world.pool,
                                   "supervisor")
    before = await world.pool.fetchval("SELECT count(*) FROM campaigns")
    bad = {**body(world), "message": [
        {"kind": "prompt", "name": "debt-reminder-1"}, {"kind": "prompt", "name": "debt-intro"},
        {"kind": "amount"}, {"kind": "prompt", "name": "no-such-recording"},
        {"kind": "prompt", "name": "debt-intro"}]}
    for path in ("/api/campaigns", "/api/campaigns/preview"):
        response = await client.post(path, json=bad, headers=auth)
        assert response.status == 422, await response.text()
        error = await response.json()
        assert error["error_id"] == "unknown-prompt"
        assert "debt-intro, no-such-recording" in error["message"]
        assert error["details"]["unknown"] == ["debt-intro", "no-such-recording"]
        assert "debt-reminder-1" in error["details"]["known"]
    assert await world.pool.fetchval("SELECT count(*) FROM campaigns") == before


async def test_when_a_campaign_or_account_is_missing_then_the_error_has_the_one_shape(
        aiohttp_client, settings, world):
    client, auth = await client_as(aiohttp_client, create_app(settings), world.pool,
                                   "supervisor")
    missing = [await client.get("/api/campaigns/999999999", headers=auth),
               await client.post("/api/campaigns/999999999/pause", headers=auth),
               await client.put("/api/campaigns/protection/000000000000",
                                json={"category": "minor"}, headers=auth)]
    bodies = [await r.json() for r in missing]
    assert [r.status for r in missing] == [404, 404, 404]
    assert [b["error_id"] for b in bodies] == [
        "campaign-not-found", "campaign-not-found", "account-not-found"]
    for got in bodies:
        assert set(got) == {"error_id", "message", "details"} and got["details"] == {}
        assert isinstance(got["message"], str) and got["message"]


async def test_when_agent_records_opt_out_then_every_campaign_skips_it(
        aiohttp_client, settings, world):
    account = await world.account()
    number = await world.pool.fetchval("SELECT number FROM accounts WHERE id = $1", account["id"])
    client, auth = await client_as(aiohttp_client, create_app(settings), world.pool, "agent")
    first = await client.post("/api/campaigns/opt-outs", json={"account": number}, headers=auth)
    again = await client.post("/api/campaigns/opt-outs", json={"account": number}, headers=auth)
    both = await client.post("/api/campaigns/opt-outs",
                             json={"account": number, "phone": "+79120000000"}, headers=auth)
    bad_phone = await client.post("/api/campaigns/opt-outs", json={"phone": "12ab"},
                                  headers=auth)
    by_phone = await client.post("/api/campaigns/opt-outs",
                                 json={"phone": "8 (912) 000-00-01"}, headers=auth)
    assert (first.status, again.status, both.status, bad_phone.status) == (201, 200, 400, 400)
    assert by_phone.status == 201
    rows = await world.pool.fetch(
        "SELECT source, scope FROM opt_outs WHERE consumer_id = $1", account["consumer_id"])
    assert [tuple(r) for r in rows] == [("agent", "all")]
    assert await world.pool.fetchval(
        "SELECT count(*) FROM opt_outs WHERE phone = '+79120000001'") == 1


async def test_when_supervisor_flags_protection_then_set_and_cleared(
        aiohttp_client, settings, world):
    account = await world.account()
    number = await world.pool.fetchval("SELECT number FROM accounts WHERE id = $1", account["id"])
    client, auth = await client_as(aiohttp_client, create_app(settings), world.pool,
                                   "supervisor")
    path = f"/api/campaigns/protection/{number}"
    put = await client.put(path, json={"category": "in_hospital"}, headers=auth)
    assert put.status == 200
    assert await world.pool.fetchval(
        "SELECT category FROM account_protection WHERE account_id = $1", account["id"]) == \
        "in_hospital"
    assert (await client.delete(path, headers=auth)).status == 204
    assert (await client.delete(path, headers=auth)).status == 404
    assert (await client.put("/api/campaigns/protection/000000000000",
                             json={"category": "minor"}, headers=auth)).status == 404
