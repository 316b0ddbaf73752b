"""GET /api/openapi.json of the real application (every feature installed): one operation per
method and path the router serves, with the handler's roles and request body.

Left out, by design: HEAD (aiohttp adds one beside each GET), the Socket.IO endpoint
(/socket.io/) and the web pages and their assets (agent_api.http_static)."""
from __future__ import annotations

import inspect

from aiohttp import web

from agent_api.auth import ROLES, allow, declared_access
from ccs.app import create_app
from tests.agent_api.conftest import login_token


def served_routes(app: web.Application) -> dict[tuple[str, str], object]:
    routes = {}
    for route in app.router.routes():
        path = route.resource.canonical
        if route.method == "HEAD" or path.startswith("/socket.io/"):
            continue
        if inspect.unwrap(route.handler).__module__ == "agent_api.http_static":
            continue
        routes[(route.method.lower(), path)] = route.handler
    return routes


async def test_when_the_document_is_read_then_it_has_every_route_with_its_roles_and_body(
    aiohttp_client, app_settings, make_agent
):
    app = create_app(app_settings)

    @allow("admin")
    async def added_late(request: web.Request) -> web.Response:
        """A route added after the features: documented all the same."""
        return web.json_response({})

    app.router.add_get("/api/added-late/{thing}", added_late)
    client = await aiohttp_client(app)
    refused = await client.get("/api/openapi.json")
    assert refused.status == 401
    assert set(await refused.json()) == {"error_id", "message", "details"}  # the Error schema
    _, login = await make_agent("agent")
    headers = {"Authorization": f"Bearer {await login_token(client, login)}"}
    response = await client.get("/api/openapi.json", headers=headers)
    assert response.status == 200
    doc = await response.json()

    assert doc["openapi"].startswith("3.1")
    routes = served_routes(app)
    documented = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert documented == set(routes)
    assert {("get", "/api/supervisor/board"), ("post", "/api/campaigns"),
            ("put", "/api/agents/me/readiness"), ("get", "/metrics"),
            ("get", "/api/added-late/{thing}"), ("get", "/api/openapi.json")} <= documented

    for (method, path), handler in routes.items():
        op = doc["paths"][path][method]
        assert op["summary"], (method, path)
        access = declared_access(handler)
        assert access, f"{method} {path} declares no roles"
        if path != "/metrics":  # public to the middleware, checked in the handler (admin)
            assert op["x-roles"] == sorted(access), (method, path)
        assert set(op["x-roles"]) <= {*ROLES, "(public)"}
        assert op["responses"]["default"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"}
    assert doc["components"]["schemas"]["Error"]["required"] == ["error_id", "message", "details"]

    assert doc["paths"]["/metrics"]["get"]["x-roles"] == ["admin"]
    assert doc["paths"]["/health"]["get"]["x-roles"] == ["(public)"]
    assert doc["paths"]["/health"]["get"]["security"] == []
    late = doc["paths"]["/api/added-late/{thing}"]["get"]
    assert late["summary"] == "A route added after the features"
    assert late["parameters"] == [{"name": "thing", "in": "path", "required": True,
                                   "schema": {"type": "string"}}]

    def body(method: str, path: str) -> dict:
        schema = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
        name = schema["$ref"].rsplit("/", 1)[1]
        return doc["components"]["schemas"][name] | {"name": name}

    assert body("post", "/api/login")["name"] == "LoginRequest"
    assert {"login", "password"} <= set(body("post", "/api/login")["properties"])
    assert body("put", "/api/supervisor/agents/{agent_id}/readiness")["name"] == \
        "ForceReadinessRequest"
    assert body("post", "/api/campaigns")["name"] == "Campaign"
    assert body("post", "/api/campaigns/{id}/clone")["name"] == "CloneRequest"
    assert "requestBody" not in doc["paths"]["/api/supervisor/board"]["get"]
    # Every model a body refers to is in the document.
    text = (await response.text())
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in doc["components"]["schemas"], ref
