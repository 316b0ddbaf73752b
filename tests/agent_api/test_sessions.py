"""Every route declares its roles; tokens die with logout, deactivation and password change."""
from aiohttp import web

from ccs.app import create_app
from agent_api.auth import declared_access
from tests.agent_api.conftest import login_token


def test_when_routes_are_walked_then_each_declares_its_roles(app_settings):
    app = create_app(app_settings)
    undeclared = [f"{r.method} {r.resource.canonical}" for r in app.router.routes()
                  if r.method != "HEAD" and declared_access(r.handler) is None]
    assert undeclared == []


async def test_when_a_route_declares_no_roles_then_everyone_is_refused(aiohttp_client,
                                                                      app_settings):
    async def forgotten(request):
        return web.json_response({"secret": True})

    app = create_app(app_settings)
    app.router.add_get("/api/forgotten", forgotten)
    client = await aiohttp_client(app)
    assert (await client.get("/api/forgotten")).status == 403


async def test_when_an_agent_calls_staff_or_admin_routes_then_403(aiohttp_client, app_settings,
                                                                 make_agent):
    client = await aiohttp_client(create_app(app_settings))
    _, login = await make_agent("agent")
    other_id, _ = await make_agent("agent")
    headers = {"Authorization": f"Bearer {await login_token(client, login)}"}
    metrics = await client.get("/metrics", headers=headers)
    assert metrics.status == 403
    assert (await metrics.json())["details"]["needs"] == ["admin"]
    assert (await client.post(f"/api/agents/{other_id}/deactivate", headers=headers)).status == 403
    assert (await client.get("/api/agents/me", headers=headers)).status == 200


async def test_when_agent_logs_out_then_its_token_is_401(aiohttp_client, app_settings, make_agent):
    client = await aiohttp_client(create_app(app_settings))
    _, login = await make_agent()
    headers = {"Authorization": f"Bearer {await login_token(client, login)}"}
    assert (await client.post("/api/logout", headers=headers)).status == 204
    refused = await client.get("/api/agents/me", headers=headers)
    assert refused.status == 401
    fresh = {"Authorization": f"Bearer {await login_token(client, login)}"}
    assert (await client.get("/api/agents/me", headers=fresh)).status == 200


async def test_when_admin_deactivates_an_agent_then_its_token_is_401(aiohttp_client, app_settings,
                                                                    make_agent):
    client = await aiohttp_client(create_app(app_settings))
    agent_id, login = await make_agent("agent")
    _, admin = await make_agent("admin")
    agent_headers = {"Authorization": f"Bearer {await login_token(client, login)}"}
    admin_headers = {"Authorization": f"Bearer {await login_token(client, admin)}"}
    assert (await client.get("/api/agents/me", headers=agent_headers)).status == 200
    deactivated = await client.post(f"/api/agents/{agent_id}/deactivate", headers=admin_headers)
    assert deactivated.status == 204
    assert (await client.get("/api/agents/me", headers=agent_headers)).status == 401
    again = await client.post("/api/login", json={"login": login, "password": "s3cret-pass"})
    assert again.status == 401


async def test_when_password_changes_then_old_tokens_are_401(aiohttp_client, app_settings,
                                                            make_agent):
    client = await aiohttp_client(create_app(app_settings))
    _, login = await make_agent()
    headers = {"Authorization": f"Bearer {await login_token(client, login)}"}
    wrong = await client.put("/api/agents/me/password", headers=headers,
                             json={"current": "not-it", "new": "n3w-password"})
    assert wrong.status == 401
    changed = await client.put("/api/agents/me/password", headers=headers,
                               json={"current": "s3cret-pass", "new": "n3w-password"})
    assert changed.status == 204
    assert (await client.get("/api/agents/me", headers=headers)).status == 401
    await login_token(client, login, "n3w-password")


async def test_when_upsert_changes_password_or_deactivates_then_old_tokens_are_401(
    aiohttp_client, app_settings, make_agent, pg_pool
):
    from state.models import AgentIn
    from state.repositories.agents import upsert_agent

    client = await aiohttp_client(create_app(app_settings))
    _, login = await make_agent()
    same = AgentIn(login=login, full_name="Анна Иванова")
    headers = {"Authorization": f"Bearer {await login_token(client, login)}"}
    await upsert_agent(pg_pool, same)  # a change without password or deactivation keeps it
    assert (await client.get("/api/agents/me", headers=headers)).status == 200
    await upsert_agent(pg_pool, same.model_copy(update={"password": "an0ther-pass"}), rounds=4)
    assert (await client.get("/api/agents/me", headers=headers)).status == 401
    headers = {"Authorization": f"Bearer {await login_token(client, login, 'an0ther-pass')}"}
    await upsert_agent(pg_pool, same.model_copy(update={"active": False}))
    assert (await client.get("/api/agents/me", headers=headers)).status == 401
