"""The readiness REST routes over real HTTP: thin handlers, stable error ids, 202 + pending."""
from __future__ import annotations

import pytest
from aiohttp import web

from agent_api.app_keys import PG_POOL
from agent_api.auth import Principal, TokenIssuer, make_auth_middleware
from agent_api.errors import error_middleware
from features.agents.http import AGENT_SERVICE, setup_routes
from features.agents.settings import AgentsSettings
from tests.helpers import until

from .readiness_stack import (  # noqa: F401 (fixtures)
    actions, agents_db, agents_dsn, make_agent, member, sent_since, sim, stacks, view_is,
)

STATIC = "Local/1001@agents/n"
SECRET = "agents-http-secret-0123456789-abcdefghij"


@pytest.fixture
async def http(aiohttp_client, sim, stacks, agents_db):
    stack = await stacks(sim, settings=AgentsSettings(wrapup_seconds=0))
    tokens = TokenIssuer(SECRET, 3600)
    app = web.Application(middlewares=[error_middleware, make_auth_middleware(tokens)])
    app[PG_POOL] = agents_db
    app[AGENT_SERVICE] = stack.service
    setup_routes(app)
    client = await aiohttp_client(app)

    def auth(agent_id: int, role: str = "agent") -> dict[str, str]:
        token = tokens.issue(Principal(agent_id, f"a{agent_id}", role))
        return {"Authorization": f"Bearer {token}"}

    return client, auth, stack


async def test_when_agent_puts_not_ready_then_202_pending_and_the_state_follows(http, agents_db, sim):
    client, auth, stack = http
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    response = await client.put("/api/agents/me/readiness", headers=auth(agent_id),
                                json={"state": "not_ready", "reason": "lunch"})
    assert response.status == 202, await response.text()
    body = await response.json()
    assert body["pending"]["state"] == "not_ready" and body["pending"]["reason"] == "lunch"
    assert member(sim, "support", STATIC).reason == "lunch"

    async def shown():
        r = await client.get("/api/agents/me/state", headers=auth(agent_id))
        view = await r.json()
        return view if view["state"] == "not_ready" and view["pending"] is None else None

    view = await until(shown, timeout=5)
    assert view["reason"] == "lunch" and view["queues"] == ["support"]


async def test_when_supervisor_sets_readiness_then_409_no_phone_interface(http, agents_db):
    client, auth, _stack = http
    agent_id = await make_agent(agents_db, None, [], role="supervisor")
    response = await client.put("/api/agents/me/readiness", headers=auth(agent_id, "supervisor"),
                                json={"state": "ready"})
    assert response.status == 409
    body = await response.json()
    assert body["error_id"] == "no-phone-interface" and "phone interface" in body["message"]


@pytest.mark.parametrize("body", [
    {"state": "not_ready"},                       # a reason is required
    {"state": "ready", "reason": "lunch"},        # only not_ready takes one
    {"state": "on_call"},                         # the PBX decides that, not the agent
    {"state": "not_ready", "reason": "a\r\nAction: Originate"},  # no AMI header injection
])
async def test_when_readiness_body_is_invalid_then_422_and_pbx_untouched(http, agents_db, sim,
                                                                          body):
    client, auth, _stack = http
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    before = actions(sim)
    response = await client.put("/api/agents/me/readiness", headers=auth(agent_id), json=body)
    assert response.status == 422
    assert sent_since(sim, before, "queuepause", "queueadd") == {"queuepause": 0, "queueadd": 0}


async def test_when_reason_is_not_configured_then_422_unknown_pause_reason(http, agents_db):
    client, auth, _stack = http
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    response = await client.put("/api/agents/me/readiness", headers=auth(agent_id),
                                json={"state": "not_ready", "reason": "nap"})
    assert response.status == 422
    assert (await response.json())["error_id"] == "unknown-pause-reason"


async def test_when_no_wrap_up_runs_then_end_and_extend_say_so(http, agents_db):
    client, auth, _stack = http
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    end = await client.post("/api/agents/me/wrapup/end", headers=auth(agent_id))
    extend = await client.post("/api/agents/me/wrapup/extend", headers=auth(agent_id),
                               json={"seconds": 10})
    assert (end.status, (await end.json())["error_id"]) == (409, "no-wrap-up")
    assert (extend.status, (await extend.json())["error_id"]) == (409, "no-wrap-up")


async def test_when_no_pbx_is_configured_then_readiness_is_503_pbx_unavailable(aiohttp_client,
                                                                               agents_db):
    tokens = TokenIssuer(SECRET, 3600)
    app = web.Application(middlewares=[error_middleware, make_auth_middleware(tokens)])
    app[PG_POOL] = agents_db
    setup_routes(app)  # no service: the composition root found no PBX
    client = await aiohttp_client(app)
    agent_id = await make_agent(agents_db, STATIC, ["support"])
    token = tokens.issue(Principal(agent_id, "a", "agent"))
    response = await client.put("/api/agents/me/readiness", json={"state": "ready"},
                                headers={"Authorization": f"Bearer {token}"})
    assert response.status == 503
    assert (await response.json())["error_id"] == "pbx-unavailable"
