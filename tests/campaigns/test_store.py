"""Campaign storage: start freezes attempts, state changes, clone, progress and the CSV."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from campaigns import store
from campaigns.models import Campaign
from campaigns.rules import Rules
from campaigns.settings import CampaignSettings

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=MSK).astimezone(timezone.utc)
RULES = Rules(CampaignSettings())


def spec(world, type_="debt_reminder", **extra) -> Campaign:
    return Campaign.model_validate({
        "name": "Напоминание", "type": type_,
        "message": [{"kind": "prompt", "name": "debt-intro"}, {"kind": "amount"}],
        "target": {"city": [world.city], "has_phone": None}, **extra})


async def test_when_started_then_one_attempt_per_account_with_ranked_phones(world):
    consumer = await world.account(phones=0)  # the consumer's second account gets the phones
    mobile, home, work = world.phone(), world.phone(), world.phone()
    ranked = await world.account(consumer_id=consumer["consumer_id"], phones=[],
                                 debts={"electricity": ("1234.56", 2)})
    async with world.pool.acquire() as conn:
        for e164, kind in ((work, "work"), (home, "home"), (mobile, "mobile")):
            phone_id = await conn.fetchval(
                "INSERT INTO phones (e164) VALUES ($1) RETURNING id", e164)
            await conn.execute("INSERT INTO account_phones (phone_id, account_id, kind) "
                               "VALUES ($1, $2, $3)", phone_id, ranked["id"], kind)
        campaign = await store.create(conn, spec(world), created_by=None)
        assert await store.start(conn, campaign.id, now=NOW) == 2
        rows = {r["account_id"]: r for r in await conn.fetch(
            "SELECT * FROM campaign_attempts WHERE campaign_id = $1", campaign.id)}
        again = await store.get(conn, campaign.id)
        with pytest.raises(store.CampaignError):
            await store.start(conn, campaign.id, now=NOW)
    assert again.state == "running" and again.started_at == NOW
    attempt = rows[ranked["id"]]
    assert attempt["phones"] == [mobile, home, work]
    assert attempt["state"] == "queued" and attempt["next_at"] == NOW
    assert attempt["params"]["debt_kopecks"] == 123456
    assert attempt["params"]["debt_by_service"] == {"electricity": 123456}
    assert rows[consumer["id"]]["state"] == "skipped"
    assert rows[consumer["id"]]["skip_reason"] == "no_phone"


async def test_when_started_then_opted_out_and_protected_frozen_as_skipped(world):
    opted = await world.account()
    phone_opted = await world.account(phones=2)
    protected = await world.account()
    async with world.pool.acquire() as conn:
        await conn.execute("INSERT INTO opt_outs (consumer_id, source) VALUES ($1, 'agent')",
                           opted["consumer_id"])
        await conn.execute("INSERT INTO opt_outs (phone, source) VALUES ($1, 'agent')",
                           phone_opted["phones"][0])
        await conn.execute("INSERT INTO account_protection (account_id, category) "
                           "VALUES ($1, 'minor')", protected["id"])
        campaign = await store.create(conn, spec(world))
        await store.start(conn, campaign.id, now=NOW)
        rows = {r["account_id"]: r for r in await conn.fetch(
            "SELECT * FROM campaign_attempts WHERE campaign_id = $1", campaign.id)}
        progress = await store.progress(conn, campaign.id, now=NOW)
    assert rows[opted["id"]]["skip_reason"] == "opted_out"
    assert rows[protected["id"]]["skip_reason"] == "protected"
    assert rows[phone_opted["id"]]["state"] == "queued"
    assert rows[phone_opted["id"]]["phones"] == phone_opted["phones"][1:]
    assert progress.total == 3 and progress.remaining == 1
    assert progress.skipped == {"opted_out": 1, "protected": 1}


async def test_when_paused_resumed_stopped_then_states_and_queued_cancelled(world):
    await world.account()
    await world.account()
    async with world.pool.acquire() as conn:
        campaign = await store.create(conn, spec(world))
        await store.start(conn, campaign.id, now=NOW)
        assert (await store.pause(conn, campaign.id)).state == "paused"
        assert (await store.resume(conn, campaign.id, RULES, now=NOW)).state == "running"
        stopped = await store.stop(conn, campaign.id)
        states = [r[0] for r in await conn.fetch(
            "SELECT state FROM campaign_attempts WHERE campaign_id = $1", campaign.id)]
        with pytest.raises(store.CampaignError) as error:
            await store.set_state(conn, campaign.id, "running")
    assert stopped.state == "stopped" and stopped.finished_at is not None
    assert states == ["cancelled", "cancelled"]
    assert error.value.code == "campaign-state"


async def test_when_resumed_after_outage_closed_then_stopped_not_resumed(world):
    await world.account()
    async with world.pool.acquire() as conn:
        outage_id = await conn.fetchval(
            "INSERT INTO outages (service, description, started_at) "
            "VALUES ('heating', 't', now()) RETURNING id")
        campaign = await store.create(conn, spec(world, "outage_alert", outage_id=outage_id))
        await store.start(conn, campaign.id, now=NOW)
        await store.pause(conn, campaign.id)
        await conn.execute("UPDATE outages SET restored_at = now() WHERE id = $1", outage_id)
        with pytest.raises(store.CampaignError) as error:
            await store.resume(conn, campaign.id, RULES, now=NOW)
        after = await store.get(conn, campaign.id)
    assert error.value.code == "campaign-stale"
    assert after.state == "stopped" and after.state_reason == "outage_closed"


async def test_when_resumed_after_reminder_date_then_expired(world):
    await world.account()
    message = [{"kind": "prompt", "name": "pay-by"}, {"kind": "date", "value": "2026-12-01"}]
    async with world.pool.acquire() as conn:
        campaign = await store.create(conn, spec(world, message=message))
        await store.start(conn, campaign.id, now=NOW)
        await store.pause(conn, campaign.id, reason="window_end")
        with pytest.raises(store.CampaignError):
            await store.resume(conn, campaign.id, RULES, now=NOW)
        assert (await store.get(conn, campaign.id)).state == "expired"


async def test_when_cloned_then_new_created_campaign_with_same_spec(world):
    async with world.pool.acquire() as conn:
        campaign = await store.create(conn, spec(world))
        clone = await store.clone(conn, campaign.id, created_by=None, name="Копия")
        listed = await store.list_campaigns(conn, states=["created"])
    assert clone.state == "created" and clone.cloned_from == campaign.id
    assert clone.spec.name == "Копия" and clone.spec.target == campaign.spec.target
    assert {campaign.id, clone.id} <= {c.id for c in listed}


async def test_when_results_csv_then_excel_friendly_rows(world):
    account = await world.account(street="ул. Ленина; корп. 2")
    async with world.pool.acquire() as conn:
        campaign = await store.create(conn, spec(world))
        await store.start(conn, campaign.id, now=NOW)
        await conn.execute(
            """UPDATE campaign_attempts SET state = 'done', outcome = 'confirmed', tries = 1,
                      dialled_at = $2, answered_at = $2, finished_at = $2, key_pressed = '1'
               WHERE campaign_id = $1""", campaign.id, NOW)
        data = await store.results_csv(conn, campaign.id, timezone="Europe/Moscow")
        progress = await store.progress(conn, campaign.id, now=NOW)
        assert await store.finish_if_done(conn, campaign.id)
    assert data.startswith("\ufeff".encode())
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == ";".join(store.CSV_COLUMNS)
    assert len(lines) == 2
    assert '"ул. Ленина; корп. 2"' in lines[1]
    assert account["phones"][0] in lines[1]
    assert ";done;confirmed;;1;1;02.12.2026 12:00:00;" in lines[1]
    assert progress.confirmed == 1 and progress.remaining == 0 and progress.dialled == 1


async def test_when_started_with_closed_outage_or_past_date_then_refused_nothing_frozen(world):
    await world.account()
    async with world.pool.acquire() as conn:
        outage_id = await conn.fetchval(
            "INSERT INTO outages (service, description, started_at, restored_at) "
            "VALUES ('heating', 't', now(), now()) RETURNING id")
        closed = await store.create(conn, spec(world, "outage_alert", outage_id=outage_id))
        dated = await store.create(conn, spec(world, message=[
            {"kind": "prompt", "name": "pay-by"}, {"kind": "date", "value": "2026-12-01"}]))
        windowed = await store.create(conn, spec(world, schedule={
            "window_start": "09:00", "window_end": "11:00"}))
        codes = []
        for campaign in (closed, dated, windowed):
            with pytest.raises(store.CampaignError) as error:
                await store.start(conn, campaign.id, now=NOW, rules=RULES)
            codes.append(error.value.code)
            assert (await store.get(conn, campaign.id)).state == "created"
            assert await conn.fetchval("SELECT count(*) FROM campaign_attempts "
                                       "WHERE campaign_id = $1", campaign.id) == 0
    assert codes == ["campaign-stale", "campaign-stale", "campaign-window"]


async def test_when_state_changes_then_state_since_is_its_moment_whoever_writes_it(world):
    await world.account()
    async with world.pool.acquire() as conn:
        made = await store.create(conn, spec(world))
        assert made.state_since == made.created_at
        await store.start(conn, made.id, now=NOW)
        assert (await store.get(conn, made.id)).state_since == NOW
        paused = await store.pause(conn, made.id, now=NOW.replace(minute=5))
        assert paused.state_since == NOW.replace(minute=5)
        # A writer that names no moment (the trigger): the change's own time.
        before = await conn.fetchval("SELECT now()")
        await conn.execute("UPDATE campaigns SET state = 'running' WHERE id = $1", made.id)
        assert (await store.get(conn, made.id)).state_since >= before
        # No state change, no new date.
        since = (await store.get(conn, made.id)).state_since
        await conn.execute("UPDATE campaigns SET state_reason = 'x' WHERE id = $1", made.id)
        assert (await store.get(conn, made.id)).state_since == since
