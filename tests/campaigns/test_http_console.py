"""What the campaign console reads besides the campaigns' own routes: the list's counts, the
state's date, the templates and the form's pickers (REST through the whole application)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from campaigns import scenarios, templates
from ccs.app import create_app
from tests.campaigns.test_http import body, client_as, settings  # noqa: F401 (fixture)


async def test_when_listed_then_each_campaign_carries_its_counts_and_state_date(
        aiohttp_client, settings, world):  # noqa: F811
    await world.account(debts={"electricity": ("1500", 2)})
    await world.account(debts={"electricity": ("2500", 3)})
    await world.account(phones=0, debts={"heating": ("3000", 4)})
    client, auth = await client_as(aiohttp_client, create_app(settings), world.pool,
                                   "supervisor")
    started = await (await client.post("/api/campaigns", json=body(world), headers=auth)).json()
    idle = await (await client.post("/api/campaigns", json=body(world), headers=auth)).json()
    assert (await client.post(f"/api/campaigns/{started['id']}/start", headers=auth)).status == 200
    await world.pool.execute(
        """UPDATE campaign_attempts SET state = 'done', outcome = 'confirmed', tries = 1,
                  answered_at = now(), finished_at = now()
           WHERE id = (SELECT min(id) FROM campaign_attempts
                       WHERE campaign_id = $1 AND state = 'queued')""", started["id"])

    listed = await client.get("/api/campaigns", headers=auth)
    assert listed.status == 200
    by_id = {c["id"]: c for c in (await listed.json())["campaigns"]}
    one = await (await client.get(f"/api/campaigns/{started['id']}", headers=auth)).json()
    summary = by_id[started["id"]]["summary"]
    assert summary == {k: one["progress"][k] for k in summary}  # the same counts as progress
    assert (summary["total"], summary["dialled"], summary["confirmed"],
            summary["remaining"]) == (3, 1, 1, 1)
    assert by_id[idle["id"]]["summary"]["total"] == 0
    # The state's date: when it started (not when it was created).
    since = datetime.fromisoformat(by_id[started["id"]]["state_since"])
    assert since > datetime.fromisoformat(by_id[started["id"]]["created_at"])
    assert by_id[idle["id"]]["state_since"] == by_id[idle["id"]]["created_at"]


async def test_when_templates_then_the_scenarios_stages_and_the_alerts_with_declared_prompts(
        aiohttp_client, settings, world):  # noqa: F811
    client, auth = await client_as(aiohttp_client, create_app(settings), world.pool,
                                   "supervisor")
    reply = await client.get("/api/campaigns/templates", headers=auth)
    assert reply.status == 200
    got = {t["id"]: t for t in (await reply.json())["templates"]}
    assert set(got) == {"debt_stage_1", "debt_stage_2", "outage_alert", "routine_notice"}
    for number in (1, 2):
        stage = scenarios.DEBT_SCENARIO.stage(number)
        template = got[f"debt_stage_{number}"]
        assert template["message"] == [p.model_dump(mode="json") for p in stage.message]
        assert template["target"]["min_debt"] == str(stage.min_debt)
        assert template["target"]["min_months_overdue"] == stage.min_months_overdue
        assert (template["scenario"], template["stage"]) == ("debt", number)
    # Every prompt a template or the scenario plays is a declared recording.
    assert templates.prompt_names() <= set(templates.ROBOCALL_PROMPTS)
    # Each template, named (and for the alert given an outage), is a campaign the API takes.
    outage = await world.pool.fetchval(
        "INSERT INTO outages (service, description, started_at) "
        "VALUES ('electricity', 'Авария', now()) RETURNING id")
    for template in got.values():
        spec = templates.as_campaign(template, f"Из шаблона {template['id']}", outage)
        made = await client.post("/api/campaigns", json=spec.model_dump(mode="json"),
                                 headers=auth)
        assert made.status == 201, await made.text()


async def test_when_choices_then_open_outages_cities_and_the_citys_streets(
        aiohttp_client, settings, world):  # noqa: F811
    await world.account(street="ул. Ленина")
    await world.account(street="ул. Мира")
    await world.account(street="ул. Мира", house="2")
    other = f"Город-{uuid.uuid4().hex[:8]}"
    await world.account(street="пр. Победы", city=other)
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    open_id = await world.pool.fetchval(
        "INSERT INTO outages (service, description, started_at) "
        "VALUES ('electricity', 'Авария на подстанции', $1) RETURNING id", start)
    closed_id = await world.pool.fetchval(
        "INSERT INTO outages (service, description, started_at, restored_at) "
        "VALUES ('heating', 'Ремонт', $1, now()) RETURNING id", start)
    await world.pool.executemany(
        "INSERT INTO outage_addresses (outage_id, city, street, house) VALUES ($1, $2, $3, $4)",
        [(open_id, world.city, "ул. Мира", None), (open_id, world.city, "ул. Ленина", "1"),
         (closed_id, world.city, "ул. Мира", None)])
    client, auth = await client_as(aiohttp_client, create_app(settings), world.pool,
                                   "supervisor")

    reply = await client.get("/api/campaigns/choices", params={"city": world.city},
                             headers=auth)
    assert reply.status == 200, await reply.text()
    data = await reply.json()
    assert data["streets"] == ["ул. Ленина", "ул. Мира"]
    assert {world.city, other} <= set(data["cities"])
    assert data["cities"] == sorted(data["cities"])
    outages = {o["id"]: o for o in data["outages"]}
    assert closed_id not in outages
    mine = outages[open_id]
    assert mine["address_count"] == 2 and mine["description"] == "Авария на подстанции"
    assert mine["addresses"] == f"{world.city}, ул. Ленина, 1; {world.city}, ул. Мира"
    assert datetime.fromisoformat(mine["started_at"]) == start
    without = await (await client.get("/api/campaigns/choices", headers=auth)).json()
    assert "streets" not in without and world.city in without["cities"]
    agent, agent_auth = await client_as(aiohttp_client, create_app(settings), world.pool,
                                        "agent")
    assert (await agent.get("/api/campaigns/choices", headers=agent_auth)).status == 403
