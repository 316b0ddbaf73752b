"""The contact rules at their edges, in the consumer's local time, over real PostgreSQL rows."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from campaigns.models import Campaign, StoredCampaign
from campaigns.rules import Rules
from campaigns.settings import CampaignSettings

MSK = ZoneInfo("Europe/Moscow")
NSK = ZoneInfo("Asia/Novosibirsk")
RULES = Rules(CampaignSettings())


def campaign(type_: str = "debt_reminder", **spec) -> StoredCampaign:
    message = spec.pop("message", [{"kind": "prompt", "name": "debt-intro"}])
    return StoredCampaign(id=0, state="running", spec=Campaign.model_validate(
        {"name": "t", "type": type_, "message": message, **spec}))


def attempt(account: dict, phone_index: int = 0) -> dict:
    return {"account_id": account["id"], "phones": account["phones"], "phone_index": phone_index}


def at(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(timezone.utc)


async def check(pool, account, when, camp=None, phone_index=0):
    async with pool.acquire() as conn:
        return await RULES.check(conn, attempt(account, phone_index), camp or campaign(), when)


@pytest.mark.parametrize("tz", [MSK, NSK], ids=["moscow", "novosibirsk"])
async def test_when_0759_local_then_outside_hours_and_0800_local_then_allowed(world, tz):
    account = await world.account(timezone=str(tz))
    refusal = await check(world.pool, account, at(tz, 2026, 12, 2, 7, 59))  # a Wednesday
    assert refusal is not None and refusal.reason == "outside_hours"
    assert refusal.retry_at == at(tz, 2026, 12, 2, 8, 0)
    assert not refusal.final
    assert await check(world.pool, account, at(tz, 2026, 12, 2, 8, 0)) is None


async def test_when_same_utc_moment_then_each_consumer_judged_in_own_zone(world):
    moscow = await world.account(timezone="Europe/Moscow")
    novosibirsk = await world.account(timezone="Asia/Novosibirsk")
    when = at(MSK, 2026, 12, 2, 21, 30)  # 01:30 next day in Novosibirsk
    assert await check(world.pool, moscow, when) is None
    refusal = await check(world.pool, novosibirsk, when)
    assert refusal.reason == "outside_hours"
    assert refusal.retry_at == at(NSK, 2026, 12, 3, 8, 0)


async def test_when_2200_local_on_workday_then_outside_hours(world):
    account = await world.account()
    assert await check(world.pool, account, at(MSK, 2026, 12, 2, 21, 59)) is None
    assert (await check(world.pool, account, at(MSK, 2026, 12, 2, 22, 0))).reason == \
        "outside_hours"


async def test_when_public_holiday_then_dayoff_hours_0900_to_2000(world):
    account = await world.account()
    # 4 November 2026 (Unity Day) is a Wednesday.
    refusal = await check(world.pool, account, at(MSK, 2026, 11, 4, 8, 30))
    assert refusal.reason == "outside_hours"
    assert refusal.retry_at == at(MSK, 2026, 11, 4, 9, 0)
    assert await check(world.pool, account, at(MSK, 2026, 11, 4, 9, 0)) is None
    assert (await check(world.pool, account, at(MSK, 2026, 11, 4, 20, 0))).reason == \
        "outside_hours"
    # The ordinary Wednesday after allows 08:30.
    assert await check(world.pool, account, at(MSK, 2026, 11, 11, 8, 30)) is None


async def test_when_holiday_evening_then_next_opening_is_next_workday_0800(world):
    account = await world.account()
    # Saturday 2 January 2027 20:30 -> a day-off morning: Sunday 09:00.
    refusal = await check(world.pool, account, at(MSK, 2027, 1, 2, 20, 30))
    assert refusal.retry_at == at(MSK, 2027, 1, 3, 9, 0)
    refusal = await check(world.pool, account, at(MSK, 2026, 12, 4, 22, 30))  # a Friday
    assert refusal.retry_at == at(MSK, 2026, 12, 5, 9, 0)  # Saturday: day-off hours


async def test_when_second_call_of_a_day_then_daily_cap_until_local_midnight(world):
    account = await world.account(timezone="Asia/Novosibirsk")
    await world.dial(account, at(NSK, 2026, 12, 2, 9, 0), "answered", campaign_id=None)
    refusal = await check(world.pool, account, at(NSK, 2026, 12, 2, 15, 0))
    assert refusal.reason == "daily_cap"
    assert refusal.retry_at == at(NSK, 2026, 12, 3, 0, 0)
    assert await check(world.pool, account, at(NSK, 2026, 12, 3, 8, 0)) is None


async def test_when_dial_result_unknown_then_it_counts_toward_the_cap(world):
    account = await world.account()
    await world.dial(account, at(MSK, 2026, 12, 2, 9, 0), None)
    assert (await check(world.pool, account, at(MSK, 2026, 12, 2, 15, 0))).reason == "daily_cap"


async def test_when_busy_dial_then_no_cap_but_min_gap_holds(world):
    account = await world.account()
    await world.dial(account, at(MSK, 2026, 12, 2, 9, 0), "busy")
    refusal = await check(world.pool, account, at(MSK, 2026, 12, 2, 10, 59))
    assert refusal.reason == "min_gap"
    assert refusal.retry_at == at(MSK, 2026, 12, 2, 11, 0)
    assert await check(world.pool, account, at(MSK, 2026, 12, 2, 11, 0)) is None


async def test_when_congestion_then_min_gap_not_started(world):
    account = await world.account()
    await world.dial(account, at(MSK, 2026, 12, 2, 9, 0), "congestion")
    assert await check(world.pool, account, at(MSK, 2026, 12, 2, 9, 10)) is None


async def test_when_last_call_late_yesterday_then_min_gap_spans_midnight(world):
    account = await world.account(timezone="Asia/Novosibirsk")
    rules = await Rules.build(CampaignSettings(min_gap_minutes=12 * 60))
    await world.dial(account, at(NSK, 2026, 12, 1, 21, 0), "answered")
    async with world.pool.acquire() as conn:
        refusal = await rules.check(conn, attempt(account), campaign(), at(NSK, 2026, 12, 2, 8, 0))
    assert refusal.reason == "min_gap" and refusal.retry_at == at(NSK, 2026, 12, 2, 9, 0)


async def test_when_two_calls_this_week_then_weekly_cap_until_oldest_drops_out(world):
    account = await world.account()
    await world.dial(account, at(MSK, 2026, 11, 30, 10, 0), "answered", campaign_id=None)
    await world.dial(account, at(MSK, 2026, 12, 1, 10, 0), "answered")
    refusal = await check(world.pool, account, at(MSK, 2026, 12, 2, 12, 0))
    assert refusal.reason == "weekly_cap"
    assert refusal.retry_at == at(MSK, 2026, 12, 7, 0, 0)
    assert await check(world.pool, account, at(MSK, 2026, 12, 7, 10, 0)) is None


async def test_when_calendar_weeks_then_monday_resets_the_weekly_cap(world):
    account = await world.account()
    rules = await Rules.build(CampaignSettings(cap_window="calendar"))
    await world.dial(account, at(MSK, 2026, 12, 3, 10, 0), "answered")  # Thursday
    await world.dial(account, at(MSK, 2026, 12, 4, 10, 0), "answered")  # Friday
    async with world.pool.acquire() as conn:
        refusal = await rules.check(conn, attempt(account), campaign(), at(MSK, 2026, 12, 5, 12))
        assert refusal.reason == "weekly_cap" and refusal.retry_at == at(MSK, 2026, 12, 7, 0, 0)
        assert await rules.check(conn, attempt(account), campaign(),
                                 at(MSK, 2026, 12, 7, 10)) is None


async def test_when_eight_calls_this_month_then_monthly_cap(world):
    account = await world.account()
    for day in (4, 7, 10, 13, 16, 19, 22, 25):
        await world.dial(account, at(MSK, 2026, 11, day, 10, 0), "answered")
    refusal = await check(world.pool, account, at(MSK, 2026, 12, 2, 12, 0))
    assert refusal.reason == "monthly_cap"
    # The rolling month of 4 December starts 5 November: the 4 November call drops out.
    assert refusal.retry_at == at(MSK, 2026, 12, 4, 0, 0)


async def test_when_consumer_called_on_another_account_then_caps_count_it(world):
    first = await world.account()
    second = await world.account(consumer_id=first["consumer_id"])
    await world.dial(first, at(MSK, 2026, 12, 2, 9, 0), "answered")
    assert (await check(world.pool, second, at(MSK, 2026, 12, 2, 15, 0))).reason == "daily_cap"


async def test_when_opted_out_in_one_campaign_then_every_campaign_refuses(world):
    from campaigns.history import record_opt_out

    account = await world.account()
    async with world.pool.acquire() as conn:
        await record_opt_out(conn, consumer_id=account["consumer_id"],
                             phone=account["phones"][0], source="robocall", campaign_id=None)
    for camp in (campaign("debt_reminder"), campaign("routine_notice")):
        refusal = await check(world.pool, account, at(MSK, 2026, 12, 2, 12), camp)
        assert refusal.reason == "opted_out" and refusal.final and not refusal.phone_only


async def test_when_only_the_phone_opted_out_then_refusal_is_for_that_phone(world):
    account = await world.account(phones=2)
    await world.pool.execute(
        "INSERT INTO opt_outs (phone, source) VALUES ($1, 'agent')", account["phones"][0])
    refusal = await check(world.pool, account, at(MSK, 2026, 12, 2, 12))
    assert refusal.reason == "opted_out" and refusal.phone_only
    assert await check(world.pool, account, at(MSK, 2026, 12, 2, 12), phone_index=1) is None


async def test_when_opt_out_scoped_to_a_type_then_other_types_still_call(world):
    account = await world.account()
    await world.pool.execute(
        "INSERT INTO opt_outs (consumer_id, scope, source) VALUES ($1, 'routine_notice', 'agent')",
        account["consumer_id"])
    assert (await check(world.pool, account, at(MSK, 2026, 12, 2, 12),
                        campaign("routine_notice"))).reason == "opted_out"
    assert await check(world.pool, account, at(MSK, 2026, 12, 2, 12)) is None


async def test_when_any_account_of_consumer_protected_then_never_called(world):
    first = await world.account()
    second = await world.account(consumer_id=first["consumer_id"])
    assert await check(world.pool, second, at(MSK, 2026, 12, 2, 12)) is None
    await world.pool.execute(
        "INSERT INTO account_protection (account_id, category) VALUES ($1, 'in_hospital')",
        first["id"])
    refusal = await check(world.pool, second, at(MSK, 2026, 12, 2, 12))
    assert refusal.reason == "protected" and refusal.final


async def test_when_no_phone_left_then_no_phone_final(world):
    account = await world.account(phones=1)
    refusal = await check(world.pool, account, at(MSK, 2026, 12, 2, 12), phone_index=1)
    assert refusal.reason == "no_phone" and refusal.final


async def test_when_kill_switch_engaged_then_every_dial_refused(world):
    account = await world.account()
    await world.pool.execute("UPDATE campaign_kill_switch SET engaged = true")
    try:
        refusal = await check(world.pool, account, at(MSK, 2026, 12, 2, 12))
        assert refusal.reason == "kill_switch" and not refusal.final
    finally:
        await world.pool.execute("UPDATE campaign_kill_switch SET engaged = false")
    assert await check(world.pool, account, at(MSK, 2026, 12, 2, 12)) is None
    async with world.pool.acquire() as conn:
        refusal = await (await Rules.build(CampaignSettings(kill_switch=True))).check(
            conn, attempt(account), campaign(), at(MSK, 2026, 12, 2, 12))
    assert refusal.reason == "kill_switch"


async def test_when_reminder_date_passed_locally_then_never_played(world):
    msk = await world.account()
    nsk = await world.account(timezone="Asia/Novosibirsk")
    camp = campaign(message=[{"kind": "prompt", "name": "pay-by"},
                             {"kind": "date", "value": "2026-12-02"}])
    when = at(MSK, 2026, 12, 2, 21, 0)  # 3 December 01:00 in Novosibirsk
    assert await check(world.pool, msk, when, camp) is None
    refusal = await check(world.pool, nsk, when, camp)
    assert refusal.reason == "message_expired" and refusal.final


async def test_when_outage_closed_then_alert_stops_the_campaign(world):
    account = await world.account()
    outage_id = await world.pool.fetchval(
        "INSERT INTO outages (service, description, started_at) "
        "VALUES ('electricity', 't', now()) RETURNING id")
    camp = campaign("outage_alert", outage_id=outage_id)
    when = at(MSK, 2026, 12, 2, 12)
    assert await check(world.pool, account, when, camp) is None
    await world.pool.execute("UPDATE outages SET restored_at = now() WHERE id = $1", outage_id)
    refusal = await check(world.pool, account, when, camp)
    assert refusal.reason == "message_expired" and refusal.campaign_action == "stop"
    async with world.pool.acquire() as conn:
        verdict = await RULES.campaign_verdict(conn, camp, when)
    assert verdict.action == "stop" and verdict.reason == "outage_closed"


async def test_when_outage_alert_then_own_window_any_day(world):
    account = await world.account()
    rules = await Rules.build(CampaignSettings(outage_start="07:00", outage_end="23:00"))
    outage_id = await world.pool.fetchval(
        "INSERT INTO outages (service, description, started_at) "
        "VALUES ('heating', 't', now()) RETURNING id")
    async with world.pool.acquire() as conn:
        # Saturday 07:30: a debt reminder waits for 09:00, the outage alert goes.
        when = at(MSK, 2026, 12, 5, 7, 30)
        assert await rules.check(conn, attempt(account), campaign(), when) is not None
        assert await rules.check(conn, attempt(account),
                                 campaign("outage_alert", outage_id=outage_id), when) is None


async def test_when_campaign_window_ends_then_campaign_pauses_not_continues(world):
    account = await world.account()
    camp = campaign(schedule={"window_start": "10:00", "window_end": "18:00",
                              "timezone": "Europe/Moscow"})
    refusal = await check(world.pool, account, at(MSK, 2026, 12, 2, 18, 0), camp)
    assert refusal.reason == "outside_hours" and refusal.campaign_action == "pause"
    refusal = await check(world.pool, account, at(MSK, 2026, 12, 2, 9, 0), camp)
    assert refusal.campaign_action is None and refusal.retry_at == at(MSK, 2026, 12, 2, 10, 0)
    async with world.pool.acquire() as conn:
        verdict = await RULES.campaign_verdict(conn, camp, at(MSK, 2026, 12, 2, 18, 1))
    assert verdict.action == "pause"


async def test_when_schedule_end_passed_then_campaign_expires(world):
    account = await world.account()
    camp = campaign(schedule={"end": "2026-12-02T12:00:00+03:00"})
    refusal = await check(world.pool, account, at(MSK, 2026, 12, 2, 12, 0), camp)
    assert refusal.reason == "message_expired" and refusal.campaign_action == "expire"


async def test_when_account_zone_unknown_then_refused_not_guessed(world):
    account = await world.account(timezone="Mars/Olympus")
    refusal = await check(world.pool, account, at(MSK, 2026, 12, 2, 12))
    assert refusal.reason == "outside_hours" and refusal.detail == "unknown_timezone"


def test_when_naive_now_then_value_error():
    with pytest.raises(ValueError):
        from campaigns.rules import _aware
        _aware(datetime(2026, 12, 2, 12))


def test_when_holidays_2026_then_decree_days_off():
    calendar = RULES.calendar
    for day in (date(2026, 1, 9), date(2026, 3, 9), date(2026, 5, 11), date(2026, 12, 31)):
        assert not calendar.is_working_day(day), day
    assert calendar.is_working_day(date(2026, 12, 30))
    assert calendar.window(date(2026, 12, 31), "debt_reminder")[0].hour == 9


async def test_when_transferred_working_saturday_then_weekday_hours(world):
    account = await world.account()
    # Saturday 27 April 2024 was a working day by decree (for the 29-30 April holidays).
    assert await check(world.pool, account, at(MSK, 2024, 4, 27, 8, 30)) is None
    assert (await check(world.pool, account, at(MSK, 2024, 5, 4, 8, 30))).reason == \
        "outside_hours"


async def test_when_number_shared_by_two_consumers_then_caps_count_the_number(world):
    shared = world.phone()
    first = await world.account(phones=[shared])
    second = await world.account(phones=[shared])  # another consumer, same landlord's phone
    await world.dial(first, at(MSK, 2026, 12, 2, 9, 0), "answered")
    assert (await check(world.pool, second, at(MSK, 2026, 12, 2, 15, 0))).reason == "daily_cap"


async def test_when_run_outlives_its_day_then_paused_not_resumed_next_morning(world):
    from campaigns import store

    account = await world.account()
    target = {"city": [world.city]}
    async with world.pool.acquire() as conn:
        plain = await store.create(conn, campaign(target=target).spec)
        windowed = await store.create(conn, campaign(target=target, schedule={
            "window_start": "10:00", "window_end": "18:00"}).spec)
        carried = await store.create(conn, campaign(target=target, schedule={
            "window_start": "10:00", "window_end": "18:00", "on_window_end": "continue"}).spec)
        for c in (plain, windowed, carried):
            await store.start(conn, c.id, now=at(MSK, 2026, 12, 2, 12, 0))
        plain, windowed, carried = [await store.get(conn, c.id)
                                    for c in (plain, windowed, carried)]
        assert await RULES.campaign_verdict(conn, plain, at(MSK, 2026, 12, 2, 21, 0)) is None
        verdict = await RULES.campaign_verdict(conn, plain, at(MSK, 2026, 12, 3, 9, 0))
        assert (verdict.action, verdict.reason) == ("pause", "window_end")
        refusal = await RULES.check(conn, attempt(account), windowed,
                                    at(MSK, 2026, 12, 3, 11, 0))
        assert refusal.campaign_action == "pause"
        assert await RULES.check(conn, attempt(account), carried,
                                 at(MSK, 2026, 12, 3, 11, 0)) is None
        # A person resumes it: the new run lasts the new day.
        await store.pause(conn, windowed.id, reason="window_end")
        await store.resume(conn, windowed.id, RULES, now=at(MSK, 2026, 12, 3, 11, 0))
        assert await RULES.check(conn, attempt(account), windowed,
                                 at(MSK, 2026, 12, 3, 11, 5)) is None


async def test_when_checked_in_a_batch_then_same_answers_and_in_batch_dials_count(world):
    plain = await world.account()
    sibling_a = await world.account()
    sibling_b = await world.account(consumer_id=sibling_a["consumer_id"])
    shared = world.phone()
    neighbour_a = await world.account(phones=[shared])
    neighbour_b = await world.account(phones=[shared])
    opted = await world.account()
    called = await world.account()
    late = await world.account(timezone="Asia/Kamchatka")
    await world.pool.execute("INSERT INTO opt_outs (consumer_id, source) VALUES ($1, 'agent')",
                             opted["consumer_id"])
    await world.dial(called, at(MSK, 2026, 12, 2, 9, 0))
    when = at(MSK, 2026, 12, 2, 13, 0)  # 22:00 in Kamchatka
    order = [plain, sibling_a, sibling_b, neighbour_a, neighbour_b, opted, called, late]
    async with world.pool.acquire() as conn:
        batch = await RULES.check_many(conn, [attempt(a) for a in order], campaign(), when)
        single = [await RULES.check(conn, attempt(a), campaign(), when) for a in order]
    reasons = [r.reason if r else None for r in batch]
    assert reasons == [None, None, "daily_cap", None, "daily_cap", "opted_out", "daily_cap",
                       "outside_hours"]
    # One by one (nothing dialled between): the same except the in-batch dials.
    assert [r.reason if r else None for r in single] == [
        None, None, None, None, None, "opted_out", "daily_cap", "outside_hours"]
