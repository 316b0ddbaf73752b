"""A robocall outcome written back to the consumer's history: the next card shows it."""
from __future__ import annotations

from datetime import datetime, timezone

from campaigns import history
from campaigns.rules import Rules
from campaigns.models import Campaign, StoredCampaign
from campaigns.settings import CampaignSettings
from state.cards import card_by_account

AT = datetime(2026, 11, 12, 10, 0, tzinfo=timezone.utc)


async def number_of(world, account) -> str:
    return await world.pool.fetchval("SELECT number FROM accounts WHERE id = $1", account["id"])


async def record(conn, account, outcome, attempt_id=900_000_001, call_id=None):
    return await history.record_outcome(
        conn, attempt_id=attempt_id, account_id=account["id"], phone=account["phones"][0],
        campaign_id=None, campaign_name="Долг, этап 1", campaign_type="debt_reminder",
        outcome=outcome, started_at=AT, answered_at=AT, ended_at=AT, call_id=call_id, key="1")


async def test_when_confirmed_then_next_card_lists_the_robocall(world):
    account = await world.account()
    async with world.pool.acquire() as conn:
        first = await record(conn, account, "confirmed", call_id=f"rc-{account['id']}")
        # A replayed outcome (reconciliation after a crash) keeps one row.
        again = await record(conn, account, "confirmed", call_id=f"rc-{account['id']}")
        card = await card_by_account(conn, await number_of(world, account))
    assert first == again
    robocalls = [i for i in card.interactions if i.outcome == "robocall:confirmed"]
    assert len(robocalls) == 1
    assert robocalls[0].direction == "outbound" and robocalls[0].started_at == AT


async def test_when_heard_or_busy_then_not_written_back(world):
    account = await world.account()
    async with world.pool.acquire() as conn:
        assert await record(conn, account, "heard", attempt_id=900_000_002) is None
        assert await record(conn, account, "busy", attempt_id=900_000_003) is None
        card = await card_by_account(conn, await number_of(world, account))
    assert card.interactions == []


async def test_when_opted_out_then_history_and_opt_out_list_once(world):
    account = await world.account()
    async with world.pool.acquire() as conn:
        await record(conn, account, "opted_out", attempt_id=900_000_004)
        await record(conn, account, "opted_out", attempt_id=900_000_004)
        rows = await conn.fetch("SELECT consumer_id, phone, scope, source FROM opt_outs "
                                "WHERE consumer_id = $1", account["consumer_id"])
        card = await card_by_account(conn, await number_of(world, account))
        # Another campaign of another type refuses this consumer now.
        other = StoredCampaign(id=0, state="running", spec=Campaign.model_validate({
            "name": "Плановые работы", "type": "routine_notice",
            "message": [{"kind": "prompt", "name": "works"}]}))
        rules = await Rules.build(CampaignSettings())
        refusal = await rules.check(conn, {"account_id": account["id"],
                                           "phones": account["phones"], "phone_index": 0},
                                    other, datetime(2026, 12, 2, 10, tzinfo=timezone.utc))
    assert [tuple(r) for r in rows] == [
        (account["consumer_id"], account["phones"][0], "all", "robocall")]
    assert [i.outcome for i in card.interactions] == ["robocall:opted_out"]
    assert refusal.reason == "opted_out"


async def test_when_operator_then_history_names_the_queue(world):
    account = await world.account()
    async with world.pool.acquire() as conn:
        await history.record_outcome(
            conn, attempt_id=900_000_005, account_id=account["id"], phone=account["phones"][0],
            campaign_id=None, campaign_name="c", campaign_type="debt_reminder",
            outcome="operator", started_at=AT, queue="debt")
        row = await conn.fetchrow(
            "SELECT queue_name, outcome, ivr_context FROM interactions WHERE account_id = $1",
            account["id"])
    assert row["queue_name"] == "debt" and row["outcome"] == "robocall:operator"
    assert row["ivr_context"]["robocall"]["campaign"] == "c"
