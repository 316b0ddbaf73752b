"""Target selection: each condition shown by a small data set of its own, and the preview."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from campaigns import selection
from campaigns.localtime import Calendar
from campaigns.models import Campaign, TargetFilter
from campaigns.settings import CampaignSettings

SETTINGS = CampaignSettings()
CALENDAR = Calendar(SETTINGS)
MSK = ZoneInfo("Europe/Moscow")


async def ids(world, **conditions) -> set[int]:
    target = TargetFilter.model_validate({"city": [world.city], **conditions})
    async with world.pool.acquire() as conn:
        return set(await selection.account_ids(conn, target))


async def test_when_city_street_house_then_only_that_address(world):
    here = await world.account(street="ул. Мира", house="3")
    other_house = await world.account(street="ул. Мира", house="4")
    other_street = await world.account(street="ул. Труда", house="3")
    elsewhere = await world.account(street="ул. Мира", house="3", city="Иной")
    assert await ids(world) == {here["id"], other_house["id"], other_street["id"]}
    assert await ids(world, street=["ул. Мира"]) == {here["id"], other_house["id"]}
    assert await ids(world, street=["ул. Мира"], house=["3"]) == {here["id"]}
    assert elsewhere["id"] not in await ids(world, house=["3"])


async def test_when_apartment_range_then_numeric_apartments_inside_it(world):
    inside = await world.account(apartment="10")
    below = await world.account(apartment="3")
    lettered = await world.account(apartment="12а")
    none = await world.account(apartment=None)
    assert await ids(world, apartment_from=5, apartment_to=11) == {inside["id"]}
    assert await ids(world, apartment_to=9) == {below["id"]}
    assert {lettered["id"], none["id"]}.isdisjoint(await ids(world, apartment_from=0))


async def test_when_has_phone_then_with_without_or_both(world):
    with_phone = await world.account(phones=1)
    without = await world.account(phones=0)
    assert await ids(world) == {with_phone["id"]}  # the default: only the callable
    assert await ids(world, has_phone=False) == {without["id"]}
    assert await ids(world, has_phone=None) == {with_phone["id"], without["id"]}


async def test_when_account_status_then_closed_left_out_by_default(world):
    active = await world.account(status="active")
    closed = await world.account(status="closed")
    assert await ids(world) == {active["id"]}
    assert await ids(world, account_status=["closed", "suspended"]) == {closed["id"]}


async def test_when_service_and_status_then_accounts_having_it_so(world):
    heat_on = await world.account(services={"heating": "active"})
    heat_off = await world.account(services={"heating": "disconnected"})
    await world.account(services={"electricity": "active"})
    assert await ids(world, service="heating") == {heat_on["id"], heat_off["id"]}
    assert await ids(world, service="heating", service_status=["disconnected"]) == \
        {heat_off["id"]}


async def test_when_min_debt_then_total_over_services_or_the_one_service(world):
    at_least = await world.account(debts={"electricity": ("1000.00", 1)})
    just_below = await world.account(debts={"electricity": ("999.99", 1)})
    summed = await world.account(debts={"electricity": ("600.00", 1), "heating": ("400.00", 1)})
    assert await ids(world, min_debt="1000") == {at_least["id"], summed["id"]}
    assert await ids(world, min_debt="500", service="heating") == set()
    assert just_below["id"] in await ids(world, min_debt="999.99")


async def test_when_months_overdue_then_the_worst_service_counts(world):
    two = await world.account(debts={"electricity": ("100", 2), "heating": ("100", 0)})
    one = await world.account(debts={"electricity": ("5000", 1)})
    assert await ids(world, min_months_overdue=2) == {two["id"]}
    assert await ids(world, min_months_overdue=1, min_debt="1000") == {one["id"]}


async def test_when_no_payment_since_then_payers_after_it_left_out(world):
    paid_recently = await world.account(paid_on=date(2026, 11, 20))
    paid_long_ago = await world.account(paid_on=date(2026, 8, 1))
    never = await world.account()
    assert await ids(world, no_payment_since="2026-10-01") == {paid_long_ago["id"], never["id"]}
    assert paid_recently["id"] in await ids(world)


async def test_when_outage_then_its_addresses_whole_street_or_house(world):
    street = await world.account(street="ул. Садовая", house="1")
    street_other_house = await world.account(street="ул. Садовая", house="7")
    house = await world.account(street="ул. Лесная", house="2")
    await world.account(street="ул. Лесная", house="3")
    outage_id = await world.pool.fetchval(
        "INSERT INTO outages (service, description, started_at) "
        "VALUES ('cold_water', 't', now()) RETURNING id")
    await world.pool.executemany(
        "INSERT INTO outage_addresses (outage_id, city, street, house) VALUES ($1, $2, $3, $4)",
        [(outage_id, world.city, "ул. Садовая", None),
         (outage_id, world.city, "ул. Лесная", "2")])
    assert await ids(world, outage_id=outage_id) == \
        {street["id"], street_other_house["id"], house["id"]}


async def test_when_values_carry_sql_then_they_stay_values(world):
    await world.account(street="ул. О'Брайена")
    tricky = ["x'); DROP TABLE accounts; --", "ул. О'Брайена"]
    assert len(await ids(world, street=tricky)) == 1
    assert await world.pool.fetchval("SELECT count(*) > 0 FROM accounts")


def _campaign(world, **target) -> Campaign:
    return Campaign.model_validate({
        "name": "p", "type": "debt_reminder", "message": [{"kind": "prompt", "name": "x"}],
        "target": {"city": [world.city], **target}})


async def test_when_preview_then_skips_counted_under_first_reason(world):
    now = datetime(2026, 12, 2, 13, 0, tzinfo=MSK).astimezone(timezone.utc)  # a Wednesday
    ok = await world.account(debts={"electricity": ("1500", 1)})
    await world.account(phones=0)
    opted = await world.account(debts={"electricity": ("2500", 3)})
    phone_opted = await world.account(phones=2)  # one number opted out: still callable
    only_phone_opted = await world.account(phones=1)
    protected = await world.account()
    called_today = await world.account()
    # 13:00 in Moscow is 22:00 in Kamchatka: past a debt reminder's hours there.
    late = await world.account(timezone="Asia/Kamchatka")
    await world.pool.execute(
        "INSERT INTO opt_outs (consumer_id, source) VALUES ($1, 'agent')", opted["consumer_id"])
    await world.pool.executemany(
        "INSERT INTO opt_outs (phone, source) VALUES ($1, 'robocall')",
        [(phone_opted["phones"][0],), (only_phone_opted["phones"][0],)])
    await world.pool.execute(
        "INSERT INTO account_protection (account_id, category) VALUES ($1, 'bankrupt')",
        protected["id"])
    await world.dial(called_today, datetime(2026, 12, 2, 9, 0, tzinfo=MSK))
    async with world.pool.acquire() as conn:
        result = await selection.preview(conn, _campaign(world), SETTINGS, CALENDAR, now)
    assert result.matched == 8
    assert result.skipped == {"no_phone": 1, "opted_out": 2, "protected": 1, "over_limits": 1,
                              "outside_hours": 1}
    assert result.callable_now == 2
    assert result.by_city == [{"city": world.city, "total": 8, "callable": 2}]
    assert result.by_overdue == {"0": 6, "1": 1, "2": 0, "3-5": 1, "6-11": 0, "12+": 0}
    assert [s["skip"] for s in result.sample[:2]] == [None, None]
    assert {s["account"] for s in result.sample[:2]} == {
        await world.pool.fetchval("SELECT number FROM accounts WHERE id = $1", a["id"])
        for a in (ok, phone_opted)}
    assert len(result.sample) == 8
    assert {s["account"]: s["skip"] for s in result.sample}[await world.pool.fetchval(
        "SELECT number FROM accounts WHERE id = $1", late["id"])] == "outside_hours"


async def test_when_preview_sample_size_then_sample_capped(world):
    for _ in range(3):
        await world.account()
    async with world.pool.acquire() as conn:
        result = await selection.preview(conn, _campaign(world), SETTINGS, CALENDAR,
                                         datetime(2026, 12, 2, 9, tzinfo=timezone.utc),
                                         sample_size=2)
    assert result.matched == 3 and len(result.sample) == 2


def test_when_apartment_range_reversed_then_rejected():
    with pytest.raises(ValueError):
        TargetFilter(apartment_from=10, apartment_to=5)
