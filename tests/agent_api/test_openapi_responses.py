"""The success responses in GET /api/openapi.json: every operation documents its status and
body (a JSON schema, another media type, or none for 204), and the real bodies of a running
server (with the PBX simulator) are what the served document says.

A body is checked against its schema through the pydantic model the document was made from:
``jsonschema`` is no dependency of the project, so the test shows first that the served schema
is that model's (the component and every definition it refers to), then reads the body with the
model in strict mode and writes it back: a field added, dropped, renamed or of another type
than the model's fails (``check_body``; its own test below shows each)."""
from __future__ import annotations

import datetime as dt
import functools
import inspect
import json
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from agent_api.openapi import ResponseSchema, response_model
from ccs.app import create_app
from tests.agent_api.conftest import login_token
from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    PASSWORD, app_settings, make_account, make_agent, serve, settings, simulator,
)
from tests.helpers import until

# Operations whose success body has no schema in the document, and why.
EXCEPTIONS = {
    ("get", "/api/openapi.json"): "the document itself: its schema is OpenAPI 3.1's own "
                                  "(named in its description), not ours to restate",
}
# campaigns/http.py is H-CAMP's (issue 11): its operations are held to the rule once they
# document a success response, and tolerated until then.
UNDOCUMENTED_MODULES = {"campaigns.http"}


def handlers(app: web.Application) -> dict[tuple[str, str], Any]:
    return {(route.method.lower(), route.resource.canonical): route.handler
            for route in app.router.routes() if route.resource is not None}


def success(op: dict) -> tuple[str, dict]:
    codes = [code for code in op["responses"] if code.startswith("2")]
    assert len(codes) == 1, codes
    return codes[0], op["responses"][codes[0]]


async def test_when_the_document_is_read_then_every_operation_documents_its_success(
        aiohttp_client, app_settings, pg_pool):
    app = create_app(app_settings)
    client = await aiohttp_client(app)
    _, login = await make_agent(pg_pool, None)
    headers = {"Authorization": f"Bearer {await login_token(client, login, PASSWORD)}"}
    doc = await (await client.get("/api/openapi.json", headers=headers)).json()
    routes = handlers(app)
    checked = set()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            code, response = success(op)
            if (method, path) in EXCEPTIONS or (
                    code == "2XX" and inspect.unwrap(routes[(method, path)]).__module__
                    in UNDOCUMENTED_MODULES):
                continue
            assert code != "2XX", f"{method} {path}: no documented success response"
            content = response.get("content") or {}
            checked.add((method, path))
            if code == "204":
                assert not content, (method, path)
                continue
            assert content, f"{method} {path} answers {code} with no documented body"
            if "application/json" in content:
                schema = content["application/json"]["schema"]
                if schema.get("type") == "array":  # a list says so
                    schema = schema["items"]
                name = schema["$ref"].removeprefix("#/components/schemas/")
                assert name in doc["components"]["schemas"], (method, path, name)
    # The exceptions are still operations of the API (a stale entry is not an excuse).
    assert set(EXCEPTIONS) <= {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert {("get", "/health"), ("post", "/api/login"), ("post", "/api/logout"),
            ("get", "/api/cards/phone/{phone}"), ("get", "/api/supervisor/board"),
            ("get", "/api/reports/queues.csv"), ("get", "/metrics")} <= checked
    ops = doc["paths"]
    assert ops["/api/cards/phone/{phone}"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/ConsumerCard"}}
    assert set(ops["/api/reports/queues"]["get"]["responses"]["200"]["content"]) == {
        "application/json", "text/csv"}
    assert set(ops["/api/reports/queues.csv"]["get"]["responses"]["200"]["content"]) == {
        "text/csv"}
    assert set(ops["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
    # /health's 503 is its own body, not the error shape.
    assert ops["/health"]["get"]["responses"]["503"]["content"]["application/json"][
        "schema"] == {"$ref": "#/components/schemas/HealthReport"}
    assert "202" in ops["/api/agents/me/readiness"]["put"]["responses"]
    assert "201" in ops["/api/callbacks"]["post"]["responses"]
    # A response is the model as sent (serialisation): computed fields and aliases are in it.
    schemas = doc["components"]["schemas"]
    assert "total_debt" in schemas["ConsumerCard"]["required"]
    assert "from" in schemas["QueueReport"]["properties"]


# --- the real bodies ---------------------------------------------------------------------

def served_model(doc: dict, app: web.Application, method: str, path: str,
                 schema: dict) -> TypeAdapter:
    """The model of the route's body, once shown to be what the served schema is made of."""
    found = response_model(handlers(app)[(method, path)])
    assert found is not None, f"{method} {path} documents no response model"
    model, many = found
    if many:
        assert schema["type"] == "array", (method, path)
        schema = schema["items"]
    own = written_schema(model)
    # Compared with every reference resolved: the document may name a definition otherwise
    # (pydantic qualifies two models of one name).
    served = inline(schema, doc["components"]["schemas"])
    assert served == inline({k: v for k, v in own.items() if k != "$defs"},
                            own.get("$defs", {})), (method, path, model.__name__)
    return TypeAdapter(list[model] if many else model)


def inline(schema: Any, definitions: dict) -> Any:
    if isinstance(schema, dict):
        here = {k: inline(v, definitions) for k, v in schema.items() if k != "$ref"}
        if "$ref" in schema:
            name = schema["$ref"].removeprefix("#/components/schemas/")
            return {**inline(definitions[name], definitions), **here}
        return here
    if isinstance(schema, list):
        return [inline(v, definitions) for v in schema]
    return schema


@functools.cache
def written_schema(model: type[BaseModel]) -> dict:
    return model.model_json_schema(mode="serialization", schema_generator=ResponseSchema,
                                   ref_template="#/components/schemas/{model}")


def models_in(value: Any) -> Iterator[BaseModel]:
    if isinstance(value, BaseModel):
        yield value
        for name in type(value).model_fields:
            yield from models_in(getattr(value, name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from models_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from models_in(item)


def check_body(adapter: TypeAdapter, text: str) -> None:
    """Strict: no coercion (a "3" for an int fails); every key the schema requires is there,
    defaulted ones too; written back as it was read: a key the model has not, or has under
    another name, is missing from the copy and fails."""
    value = adapter.validate_json(text, strict=True)
    for model in models_in(value):
        required = set(written_schema(type(model)).get("required", ()))
        missing = [key for name, field in type(model).model_fields.items()
                   if (key := field.serialization_alias or field.alias or name) in required
                   and name not in model.model_fields_set]
        assert not missing, f"{type(model).__name__} without {missing}"
    again = adapter.dump_python(value, mode="json", by_alias=True, exclude_unset=True)
    assert again == json.loads(text), "the body is not its model's"


class Checker:
    def __init__(self, doc: dict, app: web.Application) -> None:
        self.doc, self.app = doc, app
        self.checked: set[tuple[str, str]] = set()

    async def __call__(self, method: str, path: str, response: aiohttp.ClientResponse,
                       ) -> Any:
        text = await response.text()
        code, documented = success(self.doc["paths"][path][method])
        assert str(response.status) == code, (method, path, response.status, text[:300])
        self.checked.add((method, path))
        content = documented.get("content") or {}
        if response.status == 204:
            assert not content and text == ""
            return None
        assert response.content_type in content, (method, path, response.content_type)
        if response.content_type != "application/json":
            return text
        schema = content["application/json"]["schema"]
        check_body(served_model(self.doc, self.app, method, path, schema), text)
        return json.loads(text)


async def test_when_the_server_answers_then_each_body_is_what_the_served_document_says(
        serve, pg_pool, make_account, simulator, aiohttp_server, settings):
    anna, anna_login = await make_agent(pg_pool, "Local/1001@agents/n")
    _, supervisor_login = await make_agent(pg_pool, None, role="supervisor")
    _, admin_login = await make_agent(pg_pool, None, role="admin")
    account = await make_account()
    # Today's calls for the board's figures and the abandoned list (the leader folds them in
    # at start, as after a restart).
    now = dt.datetime.now(dt.timezone.utc)
    caller = f"+7913{uuid.uuid4().int % 10**7:07d}"
    for outcome, number in (("answered", "+79130000001"), ("abandoned", caller)):
        answered = outcome == "answered"
        await pg_pool.execute(
            """INSERT INTO queue_calls (call_id, leg, queue, caller_number, entered_at,
                   answered_at, left_at, ended_at, agent_id, outcome, wait_seconds, talk_seconds)
               VALUES ($1, 1, 'support', $2, $3, $4, $5, $5, $6, $7, 4, $8)""",
            f"oa-{uuid.uuid4().hex[:8]}", number, now - dt.timedelta(seconds=20),
            now - dt.timedelta(seconds=16) if answered else None, now - dt.timedelta(seconds=16),
            anna if answered else None, outcome, 12.5 if answered else 0.0)
    base, app = await serve()
    http = aiohttp.ClientSession()
    try:
        async def token(login: str) -> dict[str, str]:
            async with http.post(f"{base}/api/login",
                                 json={"login": login, "password": PASSWORD}) as r:
                return {"Authorization": f"Bearer {(await r.json())['token']}"}

        agent, staff, admin = (await token(anna_login), await token(supervisor_login),
                               await token(admin_login))
        async with http.get(f"{base}/api/openapi.json", headers=agent) as r:
            check = Checker(await r.json(), app)
        async with http.post(f"{base}/api/login",
                             json={"login": anna_login, "password": PASSWORD}) as r:
            await check("post", "/api/login", r)

        async def call(method: str, path: str, headers: dict | None = None,
                       real: str | None = None, **kwargs: Any) -> Any:
            async with http.request(method, f"{base}{real or path}", headers=headers,
                                    **kwargs) as r:
                return await check(method.lower(), path, r)

        await call("GET", "/health")
        me = await call("GET", "/api/agents/me", agent)
        assert me["agent"]["id"] == anna
        number, phone = account["number"], account["phone"]
        card = await call("GET", "/api/cards/account/{number}", agent,
                          f"/api/cards/account/{number}")
        assert card["account"]["number"] == number and card["balances"]
        cards = await call("GET", "/api/cards/phone/{phone}", agent, f"/api/cards/phone/{phone}")
        assert [c["account"]["number"] for c in cards] == [number]
        found = await call("GET", "/api/cards/search", agent, params={"q": number})
        assert found["results"][0]["account"] == number
        await call("POST", "/api/appeals", agent, json={
            "account": number, "type": "Жалоба", "topic": "Счёт", "comment": "проверка"})

        view = await call("PUT", "/api/agents/me/readiness", agent,
                          json={"state": "not_ready", "reason": "lunch"})
        assert view["pending"]["state"] == "not_ready"
        await call("GET", "/api/agents/me/state", agent)
        await call("PUT", "/api/supervisor/agents/{agent_id}/readiness", staff,
                   f"/api/supervisor/agents/{anna}/readiness",
                   json={"state": "not_ready", "reason": "training"})
        audit = await call("GET", "/api/supervisor/audit", staff)
        assert any(e["target_agent_id"] == anna for e in audit["entries"])
        abandoned = await call("GET", "/api/supervisor/abandoned", staff)
        assert any(a["caller_number"] == caller for a in abandoned["abandoned"])

        callback = await call("POST", "/api/callbacks", agent, json={
            "phone": phone, "account": number, "note": "перезвонить"})
        assert (await call("GET", "/api/callbacks", agent))["callbacks"]
        await call("PUT", "/api/callbacks/{callback_id}/outcome", agent,
                   f"/api/callbacks/{callback['id']}/outcome", json={"outcome": "answer_given"})
        assert (await call("GET", "/api/reports/callbacks", staff))["total"] >= 1

        await reports(call, staff, dt.datetime.now(settings.supervisor.zone()).date())

        async def live_board() -> dict | None:
            board = await call("GET", "/api/supervisor/board", staff)
            return board if any(q["today"]["offered"] for q in board["queues"]) else None

        board = await until(live_board, timeout=10)
        assert board["agents"] and board["abandoned"]
        await call("GET", "/metrics", admin)

        # Another process of the same server (standby: the PBX lease is the first one's)
        # answers from the snapshot the leader keeps in Redis.
        second = await aiohttp_server(create_app(settings))
        other = str(second.make_url("")).rstrip("/")

        async def snapshot() -> dict | None:
            async with http.get(f"{other}/api/supervisor/board", headers=staff) as r:
                board = await check("get", "/api/supervisor/board", r)
            return board if board["queues"] else None

        board = await until(snapshot, timeout=10)
        assert any(q["today"]["offered"] for q in board["queues"])
        async with http.get(f"{other}/health") as r:
            health = await check("get", "/health", r)
        assert health["components"]["supervisor"]["state"] == "standby"

        await call("POST", "/api/logout", agent)
    finally:
        await http.close()
    assert check.checked >= {
        ("get", "/health"), ("post", "/api/login"), ("get", "/api/agents/me"),
        ("get", "/api/cards/account/{number}"), ("get", "/api/cards/phone/{phone}"),
        ("put", "/api/agents/me/readiness"), ("get", "/api/supervisor/board"),
        ("get", "/api/reports/queues"), ("get", "/api/reports/agents"),
        ("get", "/api/reports/queues.csv"), ("post", "/api/callbacks"),
        ("get", "/api/supervisor/abandoned"), ("post", "/api/logout")}


async def reports(call, staff: dict[str, str], today: dt.date) -> None:
    period = {"from": (today - dt.timedelta(days=1)).isoformat(), "to": today.isoformat()}
    report = await call("GET", "/api/reports/queues", staff, params=period)
    assert any(q["queue"] == "support" for q in report["queues"])
    await call("GET", "/api/reports/agents", staff, params=period)
    text = await call("GET", "/api/reports/queues.csv", staff, params=period)
    assert text.lstrip("\ufeff").startswith("queue;")
    await call("GET", "/api/reports/agents", staff, params={**period, "format": "csv"})
    await call("GET", "/api/reports/agents.csv", staff, params=period)


# --- the check itself fails on drift -------------------------------------------------------

class _Tile(BaseModel):
    name: str
    waiting: int = 0
    level: float | None = None
    at: dt.datetime


@pytest.mark.parametrize("body", [
    {"name": "support", "waiting": 0, "level": None, "at": "2026-12-03T10:00:00Z",
     "colour": "red"},                                                  # a key the model lacks
    {"waiting": 0, "level": None, "at": "2026-12-03T10:00:00Z"},       # a required key gone
    {"name": "support", "waiting": "0", "level": None, "at": "2026-12-03T10:00:00Z"},  # type
    {"name": "support", "waits": 0, "level": None, "at": "2026-12-03T10:00:00Z"},  # renamed
    {"name": "support", "waiting": 1.5, "level": None, "at": "2026-12-03T10:00:00Z"},
    {"name": "support", "level": None, "at": "2026-12-03T10:00:00Z"},  # a defaulted key gone
])
def test_when_a_body_drifts_from_its_model_then_the_check_fails(body):
    adapter = TypeAdapter(_Tile)
    check_body(adapter, json.dumps({"name": "support", "waiting": 2, "level": 0.5,
                                    "at": "2026-12-03T10:00:00Z"}))
    with pytest.raises((AssertionError, ValidationError)):
        check_body(adapter, json.dumps(body))
