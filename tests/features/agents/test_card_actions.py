"""From the card, over REST against the real server: search, appeal, disposition, click-to-call."""
from __future__ import annotations

import uuid

import aiohttp
import pytest

from cti.simulator import wire
from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    app_settings, make_account, serve, served,
    login, make_agent, server, settings, simulator,
)
from tests.helpers import until


async def _agent_http(base: str, pool, interface: str | None = None, role: str = "agent"):
    agent_id, name = await make_agent(pool, interface, role=role)
    http = aiohttp.ClientSession()
    token = await login(http, base, name)
    http.headers.update({"Authorization": f"Bearer {token}"})
    return agent_id, http


async def _call_of(pool, agent_id: int) -> str:
    call_id = f"test-{uuid.uuid4().hex[:12]}"
    await pool.execute(
        """INSERT INTO interactions (call_id, direction, phone, agent_id, queue_name, started_at,
                                     answered_at)
           VALUES ($1, 'inbound', '+79120000000', $2, 'support', now(), now())""",
        call_id, agent_id)
    return call_id


async def test_when_searching_by_account_phone_or_address_then_the_consumer_is_found(
    server, pg_pool, make_account
):
    account = await make_account()
    street = f"ул. Проверочная-{uuid.uuid4().int % 10**6:06d}"  # digits in the name, as in "8 Марта"
    await pg_pool.execute("UPDATE accounts SET street = $1 WHERE id = $2", street, account["id"])
    _, http = await _agent_http(server, pg_pool)
    async with http:
        for q in (account["number"], "8" + account["phone"][2:], f"{street.split()[1]} 5 12",
                  street.split()[1].upper(),
                  f"ул. {street.split()[1]}, д. 5, кв. 12"):
            async with http.get(f"{server}/api/cards/search", params={"q": q}) as response:
                assert response.status == 200, await response.text()
                results = (await response.json())["results"]
            assert [r["account"] for r in results] == [account["number"]], q
            assert results[0]["total_debt"] == "1520.30" and "кв. 12" in results[0]["address"]
        async with http.get(f"{server}/api/cards/search", params={"q": f"{street.split()[1]} 7"}) as response:
            assert (await response.json())["results"] == []
        async with http.get(f"{server}/api/cards/search", params={"q": "  "}) as response:
            assert response.status == 400


async def test_when_an_appeal_is_registered_on_the_agents_call_then_it_is_stored_with_the_call(
    server, pg_pool, make_account
):
    account = await make_account()
    agent_id, http = await _agent_http(server, pg_pool)
    other_id, other = await _agent_http(server, pg_pool)
    call_id = await _call_of(pg_pool, agent_id)
    body = {"account": account["number"], "call_id": call_id, "type": "complaint",
            "topic": "Нет света", "comment": "с утра", "priority": "high"}
    async with http, other:
        async with http.post(f"{server}/api/appeals", json=body) as response:
            assert response.status == 201, await response.text()
            appeal = await response.json()
        assert appeal["call_id"] == call_id and appeal["priority"] == "high"
        row = await pg_pool.fetchrow("SELECT * FROM appeals WHERE id = $1", appeal["id"])
        assert (row["call_id"], row["agent_id"], row["comment"], row["channel"]) == (
            call_id, agent_id, "с утра", "phone")

        async with other.post(f"{server}/api/appeals", json=body) as response:
            assert response.status == 403  # not the other agent's call
        async with http.post(f"{server}/api/appeals",
                             json={**body, "call_id": "no-such-call"}) as response:
            assert response.status == 404
        async with http.post(f"{server}/api/appeals", json={**body, "priority": "asap"}) as response:
            assert response.status == 422
        count = await pg_pool.fetchval("SELECT count(*) FROM appeals WHERE call_id = $1", call_id)
        assert count == 1


async def test_when_the_agent_sets_the_disposition_then_it_is_stored_on_their_call_only(
    server, pg_pool
):
    agent_id, http = await _agent_http(server, pg_pool)
    _, other = await _agent_http(server, pg_pool)
    call_id = await _call_of(pg_pool, agent_id)
    async with http, other:
        async with http.put(f"{server}/api/calls/{call_id}/disposition",
                            json={"disposition": "resolved", "comment": "всё ясно"}) as response:
            assert response.status == 200, await response.text()
        row = await pg_pool.fetchrow(
            "SELECT disposition, disposition_comment, disposition_at FROM interactions "
            "WHERE call_id = $1", call_id)
        assert row["disposition"] == "resolved" and row["disposition_comment"] == "всё ясно"
        assert row["disposition_at"] is not None
        async with http.put(f"{server}/api/calls/{call_id}/disposition",
                            json={"disposition": "whatever"}) as response:
            assert response.status == 400
        async with other.put(f"{server}/api/calls/{call_id}/disposition",
                             json={"disposition": "callback"}) as response:
            assert response.status == 403
        assert await pg_pool.fetchval(
            "SELECT disposition FROM interactions WHERE call_id = $1", call_id) == "resolved"


async def test_when_the_agent_clicks_to_call_then_the_pbx_rings_their_phone_for_the_number(
    server, pg_pool, simulator, make_account
):
    account = await make_account()
    agent_id, http = await _agent_http(server, pg_pool, "Local/1009@agents/n")
    async with http:
        async with http.post(f"{server}/api/calls/outbound",
                             json={"phone": "8 (912) 111-00-01", "account": account["number"]}) as response:
            assert response.status == 202, await response.text()
            call_id = (await response.json())["call_id"]
    # the agent's phone answers (its member behaviour), then the PBX dials the consumer
    dialled = await until(lambda: [c for c in simulator.pbx.factory.channels.values()
                                   if c.name.startswith("Local/79121110001@ccs-callee")],
                          timeout=5, interval=0.005)
    assert {c.linkedid for c in dialled} == {call_id}
    assert simulator.pbx.busy.get("Local/1009@agents/n") == "incall"
    action = next(a for a in simulator.pbx.originates if wire.first(a, "ChannelId") == call_id)
    assert wire.first(action, "Channel") == "Local/1009@agents/n"
    assert wire.first(action, "Exten") == "79121110001"
    row = await pg_pool.fetchrow(
        "SELECT direction, phone, agent_id, account_id FROM interactions WHERE call_id = $1",
        call_id)
    assert dict(row) == {"direction": "outbound", "phone": "+79121110001", "agent_id": agent_id,
                         "account_id": account["id"]}


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/api/cards/search?q=123456789", None),
    ("POST", "/api/appeals", {"account": "123456789", "type": "x", "topic": "y"}),
    ("PUT", "/api/calls/x/disposition", {"disposition": "resolved"}),
    ("POST", "/api/calls/outbound", {"phone": "89121110001"}),
])
async def test_when_a_supervisor_uses_the_card_actions_then_403(server, pg_pool, method, path, body):
    _, http = await _agent_http(server, pg_pool, role="supervisor")
    async with http:
        async with http.request(method, f"{server}{path}", json=body) as response:
            assert response.status == 403
