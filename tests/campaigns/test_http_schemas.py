"""The campaign handlers' real answers validate against the response models they declare
(``documented(response=...)``, campaigns/schemas.py; the models forbid keys they do not name)."""
from __future__ import annotations

import json

from aiohttp import web
from pydantic import TypeAdapter

from agent_api.openapi import response_model, success_status
from ccs.app import create_app
from tests.campaigns.test_http import body, client_as, settings  # noqa: F401 (fixture)


def _handler(app: web.Application, method: str, path: str):
    for route in app.router.routes():
        if route.method == method and route.resource is not None \
                and route.resource.canonical == path:
            return route.handler
    raise AssertionError(f"no route {method} {path}")


async def test_when_the_campaign_handlers_answer_then_the_bodies_match_their_models(
        aiohttp_client, settings, world):  # noqa: F811
    await world.account(debts={"electricity": ("1500.50", 2)})
    await world.account(phones=0, debts={"heating": ("3000", 4)})
    outage = await world.pool.fetchval(
        "INSERT INTO outages (service, description, started_at) "
        "VALUES ('electricity', 'Авария', now()) RETURNING id")
    await world.pool.execute(
        "INSERT INTO outage_addresses (outage_id, city, street, house) "
        "VALUES ($1, $2, 'ул. Ленина', '1')", outage, world.city)
    number = await world.pool.fetchval(
        "SELECT number FROM accounts WHERE city = $1 ORDER BY id LIMIT 1", world.city)
    app = create_app(settings)
    client, auth = await client_as(aiohttp_client, app, world.pool, "supervisor")
    checked: list[str] = []

    async def call(method: str, route: str, path: str | None = None, **kw) -> dict | None:
        handler = _handler(app, method, route)
        response = await client.request(method, path or route, headers=auth, **kw)
        assert response.status == success_status(handler), (route, await response.text())
        checked.append(f"{method} {route}")
        if response.status == 204:
            return None
        documented = response_model(handler)
        assert documented is not None, f"{method} {route} declares no response model"
        model, many = documented
        text = await response.text()
        adapter = TypeAdapter(list[model] if many else model)
        # Strict (no coercion: a "3" for an int fails) and written back as it was read (a key
        # the model has not, or of another shape, fails).
        value = adapter.validate_json(text, strict=True)
        data = json.loads(text)
        assert adapter.dump_python(value, mode="json", exclude_unset=True) == data, route
        return data

    await call("GET", "/api/campaigns/templates")
    choices = await call("GET", "/api/campaigns/choices", f"/api/campaigns/choices?city="
                         f"{world.city}")
    assert choices and choices["outages"] and choices["streets"] == ["ул. Ленина"]
    preview = await call("POST", "/api/campaigns/preview", json=body(world))
    assert preview and preview["sample"] and preview["by_city"]
    one = "/api/campaigns/{id}"
    created = await call("POST", "/api/campaigns", json=body(world))
    assert created is not None
    path = f"/api/campaigns/{created['id']}"
    await call("POST", one + "/preview", path + "/preview")
    await call("POST", one + "/start", path + "/start")
    await call("GET", one, path)
    await call("GET", one + "/progress", path + "/progress")
    listed = await call("GET", "/api/campaigns", "/api/campaigns?state=running")
    assert listed and any(c["id"] == created["id"] for c in listed["campaigns"])
    await call("POST", one + "/pause", path + "/pause")
    await call("POST", one + "/stop", path + "/stop")
    await call("POST", one + "/clone", path + "/clone", json={"name": "Копия"})
    await call("POST", "/api/campaigns/scenario-counts", json={"city": [world.city]})
    await call("GET", "/api/campaigns/kill-switch")
    await call("PUT", "/api/campaigns/kill-switch", json={"engaged": False})
    await call("POST", "/api/campaigns/opt-outs", json={"account": number})
    protection = "/api/campaigns/protection/{account}"
    await call("PUT", protection, f"/api/campaigns/protection/{number}",
               json={"category": "in_hospital", "note": "до 12.12"})
    await call("DELETE", protection, f"/api/campaigns/protection/{number}")
    assert len(checked) == 18
