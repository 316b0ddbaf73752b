"""The staged debt scenario: data, not code; each stage reselects those still in debt."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from campaigns import scenarios, selection, store
from campaigns.models import Campaign
from campaigns.rules import Rules
from campaigns.settings import CampaignSettings

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
SCENARIO = scenarios.DEBT_SCENARIO
SETTINGS = CampaignSettings()
RULES = Rules(SETTINGS)


def base(world) -> Campaign:
    return Campaign.model_validate({
        "name": "Долги", "type": "debt_reminder",
        "message": [{"kind": "prompt", "name": "x"}], "target": {"city": [world.city]}})


async def attempt_accounts(conn, campaign_id: int) -> set[int]:
    return {r[0] for r in await conn.fetch(
        "SELECT account_id FROM campaign_attempts WHERE campaign_id = $1", campaign_id)}


async def test_when_debt_scenario_runs_then_each_stage_only_those_still_in_debt(world):
    stays = await world.account(debts={"electricity": ("2000", 2)})
    pays = await world.account(debts={"heating": ("1800", 3)})
    young = await world.account(debts={"electricity": ("1500", 1)})
    small = await world.account(debts={"electricity": ("999.99", 5)})
    async with world.pool.acquire() as conn:
        stage1 = await store.create(conn, scenarios.stage_campaign(SCENARIO, 1, base(world), None))
        assert stage1.spec.stage == 1 and stage1.spec.scenario == "debt"
        await store.start(conn, stage1.id, now=NOW)
        assert await attempt_accounts(conn, stage1.id) == {stays["id"], pays["id"], young["id"]}
        assert small["id"] not in await attempt_accounts(conn, stage1.id)

        # A new debtor after stage 1 is not a stage 2 target; the payer drops out.
        late = await world.account(debts={"electricity": ("5000", 4)})
        await conn.execute("UPDATE balances SET debt = 0, months_overdue = 0 "
                           "WHERE account_id = $1", pays["id"])
        await conn.execute("INSERT INTO payments (account_id, paid_on, amount) "
                           "VALUES ($1, $2, 1800)", pays["id"], date(2026, 12, 5))

        with pytest.raises(scenarios.StageNotDue):
            await scenarios.next_stage(conn, SCENARIO, stage1.id, now=NOW + timedelta(days=6))
        stage2 = await scenarios.next_stage(conn, SCENARIO, stage1.id, now=NOW + timedelta(7))
        assert stage2.state == "created" and stage2.spec.stage == 2
        assert stage2.spec.target.from_campaign == stage1.id
        assert stage2.spec.target.no_payment_since == NOW.date()
        await store.start(conn, stage2.id, now=NOW + timedelta(days=7))
        assert await attempt_accounts(conn, stage2.id) == {stays["id"]}
        assert late["id"] not in await attempt_accounts(conn, stage2.id)

        made = await scenarios.next_stage(conn, SCENARIO, stage2.id, now=NOW + timedelta(14))
        again = await scenarios.next_stage(conn, SCENARIO, stage2.id, now=NOW + timedelta(14))
        rows = await conn.fetch("SELECT account_id, phone, note FROM callbacks "
                                "WHERE account_id = ANY($1::bigint[])",
                                [stays["id"], pays["id"], young["id"], late["id"]])
        plain = await store.create(conn, base(world))
        with pytest.raises(store.CampaignError) as error:
            await scenarios.next_stage(conn, SCENARIO, plain.id, now=NOW)
        assert error.value.code == "not-a-stage"
    assert (made, again) == (1, 0)
    assert [(r["account_id"], r["phone"]) for r in rows] == [(stays["id"], stays["phones"][0])]
    assert "2000,00 руб., 2 мес." in rows[0]["note"]


async def test_when_stage_counts_then_later_stages_select_fewer(world):
    await world.account(debts={"electricity": ("2000", 2)})
    await world.account(debts={"electricity": ("1500", 1)})
    async with world.pool.acquire() as conn:
        counts = await scenarios.stage_counts(conn, SCENARIO, base(world).target)
        assert await selection.count(conn, base(world).target) == 2
    assert counts == {1: 2, 2: 1, 3: 1}


def test_when_scenario_is_data_then_it_round_trips_as_json():
    again = scenarios.Scenario.model_validate_json(SCENARIO.model_dump_json())
    assert again == SCENARIO
    assert [s.action for s in again.stages] == ["robocall", "robocall", "operator_list"]


async def test_when_an_account_has_no_phone_then_stage_counts_agree_with_the_preview(world):
    await world.account(debts={"electricity": ("2000", 2)})
    await world.account(phones=0, debts={"electricity": ("2500", 3)})
    stage_1 = Campaign.model_validate({
        "name": "Этап 1", "type": "debt_reminder", "message": [{"kind": "prompt", "name": "x"}],
        "target": scenarios.stage_target(SCENARIO.stage(1), base(world).target, None)})
    async with world.pool.acquire() as conn:
        counts = await scenarios.stage_counts(conn, SCENARIO, base(world).target)
        preview = await selection.preview(conn, stage_1, SETTINGS, RULES.calendar, NOW)
    assert preview.matched == 2 and preview.skipped["no_phone"] == 1
    assert counts[1] == preview.matched  # the account without a phone counts in both
