"""Query strings: every parameter a handler takes is read by ``agent_api.bodies.read_query``
into a model that forbids unknown ones, and GET /api/openapi.json lists it (``in: query``).

The document is fetched over HTTP from the real application (every feature installed); the
scan of the source shows no handler reads ``request.query`` around ``read_query``."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from agent_api import bodies
from agent_api.bodies import query_fields
from agent_api.openapi import documented, query_model
from ccs.app import create_app
from tests.agent_api.conftest import login_token

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("agent_api", "features", "campaigns")
READER = (Path("agent_api/bodies.py"), "read_query")  # the one place allowed to read it

DAY_OR_TIME = {"type": "string"}
REPORT = {"from": (True, {"type": "string", "minLength": 1}),
          "to": (False, {"type": "string"}),
          "format": (False, {"type": "string", "enum": ["json", "csv"], "default": "json"})}
PERIOD = {"from": (False, DAY_OR_TIME), "to": (False, DAY_OR_TIME)}
STATES = ["created", "running", "paused", "stopped", "finished", "expired"]
# (method, path) -> {name: (required, schema)}, in the order the handler's model declares them.
EXPECTED: dict[tuple[str, str], dict[str, tuple[bool, dict]]] = {
    ("get", "/api/supervisor/audit"): PERIOD,
    ("get", "/api/reports/callbacks"): PERIOD,
    ("get", "/api/callbacks"): {
        "status": (False, {"type": "string", "enum": ["open", "done", "all"],
                           "default": "open"})},
    ("get", "/api/reports/queues"): REPORT,
    ("get", "/api/reports/queues.csv"): REPORT,
    ("get", "/api/reports/agents"): REPORT,
    ("get", "/api/reports/agents.csv"): REPORT,
    ("get", "/api/cards/search"): {"q": (False, {"type": "string", "default": ""})},
    ("get", "/api/campaigns"): {
        "state": (False, {"type": "array", "items": {"type": "string", "enum": STATES}})},
    ("get", "/api/campaigns/choices"): {
        "city": (False, {"type": "string", "minLength": 1, "maxLength": 200})},
}


async def _signed_in(aiohttp_client, app_settings, make_agent, role: str):
    app = create_app(app_settings)
    client = await aiohttp_client(app)
    _, login = await make_agent(role)
    headers = {"Authorization": f"Bearer {await login_token(client, login)}"}
    return app, client, headers


async def test_when_the_document_is_read_then_every_query_parameter_is_in_it(
        aiohttp_client, app_settings, make_agent):
    app, client, headers = await _signed_in(aiohttp_client, app_settings, make_agent, "agent")
    response = await client.get("/api/openapi.json", headers=headers)
    assert response.status == 200
    doc = await response.json()

    def query_params(method: str, path: str) -> list[dict]:
        return [p for p in doc["paths"][path][method].get("parameters", [])
                if p["in"] == "query"]

    for (method, path), params in EXPECTED.items():
        listed = query_params(method, path)
        assert [p["name"] for p in listed] == list(params), (method, path)
        for param in listed:
            required, schema = params[param["name"]]
            assert (param["required"], param["schema"]) == (required, schema), (path, param)
            assert param["description"], (path, param["name"])
            assert "422" in doc["paths"][path][method]["responses"], path
    state = query_params("get", "/api/campaigns")[0]
    assert (state["style"], state["explode"]) == ("form", False)  # one comma-separated value

    # Every route: the parameters listed are its model's, and a route with no model has none.
    with_models = set()
    for route in app.router.routes():
        path, method = route.resource.canonical, route.method.lower()
        if path not in doc["paths"] or method not in doc["paths"][path]:
            continue
        model = query_model(route.handler)
        names = [p["name"] for p in query_params(method, path)]
        assert names == (list(query_fields(model)[0]) if model else []), (method, path)
        if model is not None:
            with_models.add((method, path))
    assert set(EXPECTED) <= with_models
    assert not any("Query" in name for name in doc["components"]["schemas"])  # inline only


def query_reads(source: str, path: Path) -> list[str]:
    """Where the source reads the query string, except in ``read_query`` itself."""
    tree = ast.parse(source)
    allowed: set[int] = set()
    if path == READER[0]:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == READER[1]:
                allowed |= {id(inner) for inner in ast.walk(node)}
    readers = {"query", "query_string", "raw_query_string"}
    found = []
    for node in ast.walk(tree):
        if id(node) in allowed:
            continue
        if isinstance(node, ast.Attribute) and node.attr in readers:
            found.append(f"{path}:{node.lineno} .{node.attr}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "getattr" and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and node.args[1].value in readers):
            found.append(f"{path}:{node.lineno} getattr {node.args[1].value}")
    return found


def test_when_the_source_is_scanned_then_only_read_query_reads_the_query_string():
    found = []
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            found += query_reads(path.read_text(encoding="utf-8"), relative)
    assert found == [], "read the query with agent_api.bodies.read_query(request, Model)"


@pytest.mark.parametrize("line", [
    'request.query.get("status", "open")',
    'request.rel_url.query["city"]',
    'getattr(request, "query").get("q")',
    'request.query_string',
])
def test_when_a_handler_reads_the_query_by_hand_then_the_scan_finds_it(line):
    handler = f"async def handler(request):\n    return {line}\n"
    assert query_reads(handler, Path("features/x/http.py")) != []
    # Even in the module of read_query, only read_query itself may.
    assert query_reads(handler, READER[0]) != []
    assert query_reads(inspect.getsource(bodies.read_query), READER[0]) == []


def test_when_a_query_model_allows_unknown_parameters_then_documented_refuses_it():
    class Loose(BaseModel):
        model_config = ConfigDict(extra="ignore")
        q: str = ""

    with pytest.raises(TypeError, match="extra='forbid'"):
        documented(query=Loose)


async def test_when_a_report_has_an_unknown_or_repeated_parameter_then_422_names_it(
        aiohttp_client, app_settings, make_agent):
    _, client, headers = await _signed_in(aiohttp_client, app_settings, make_agent,
                                          "supervisor")
    reply = await client.get("/api/reports/queues", headers=headers,
                             params={"from": "2026-11-20", "fromat": "csv"})
    assert reply.status == 422
    body = await reply.json()
    assert body["error_id"] == "invalid-request"
    assert "unknown query parameter 'fromat'" in body["message"]
    assert [(e["type"], e["loc"]) for e in body["details"]["errors"]] == [
        ("extra_forbidden", ["fromat"])]

    reply = await client.get("/api/reports/agents.csv?from=2026-11-20&format=csv&format=json",
                             headers=headers)
    assert reply.status == 422
    body = await reply.json()
    assert body["error_id"] == "invalid-request"
    assert "'format' is given 2 times" in body["message"]

    # The ids clients switch on stay: a bad format, a missing start.
    for params, error_id in (({"from": "2026-11-20", "format": "xml"}, "invalid-format"),
                             ({"to": "2026-11-20"}, "invalid-interval")):
        reply = await client.get("/api/reports/queues", headers=headers, params=params)
        assert (reply.status, (await reply.json())["error_id"]) == (422, error_id), params


async def test_when_other_queries_are_wrong_then_they_answer_as_before(
        aiohttp_client, app_settings, make_agent):
    _, client, headers = await _signed_in(aiohttp_client, app_settings, make_agent,
                                          "supervisor")
    for url in ("/api/callbacks?status=late", "/api/campaigns?state=running,lost",
                "/api/campaigns/choices?city="):
        reply = await client.get(url, headers=headers)
        body = await reply.json()
        assert (reply.status, body["error_id"]) == (400, "bad-request"), (url, body)
        assert body["details"]["field"] in url, body
    reply = await client.get("/api/supervisor/audit?from=2026-11-20&page=2", headers=headers)
    assert reply.status == 422
    assert "'page'" in (await reply.json())["message"]


async def test_when_a_report_is_asked_as_csv_then_the_query_still_works(
        aiohttp_client, app_settings, make_agent):
    _, client, headers = await _signed_in(aiohttp_client, app_settings, make_agent,
                                          "supervisor")
    reply = await client.get("/api/reports/queues", headers=headers,
                             params={"from": "2026-11-20", "to": "2026-11-21", "format": "csv"})
    assert reply.status == 200, await reply.text()
    assert reply.headers["Content-Type"].startswith("text/csv")
    assert "queues_2026-11-20_2026-11-21.csv" in reply.headers["Content-Disposition"]
    raw = await reply.read()
    assert raw.startswith(b"\xef\xbb\xbfqueue;offered;answered")

    reply = await client.get("/api/reports/queues", headers=headers,
                             params={"from": "2026-11-20"})
    assert reply.status == 200
    assert (await reply.json())["from"] == "2026-11-20"

    reply = await client.get("/api/campaigns?state=created,running", headers=headers)
    assert reply.status == 200, await reply.text()
    assert isinstance((await reply.json())["campaigns"], list)
    reply = await client.get("/api/callbacks", headers=headers, params={"status": "all"})
    assert reply.status == 200, await reply.text()
