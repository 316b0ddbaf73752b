import datetime as dt
import json
from decimal import Decimal

import pytest

from state.cards import (
    SQL_CARD_BY_ACCOUNT,
    SQL_CARDS_BY_PHONE,
    CardCache,
    card_by_account,
    cards_by_phone,
)
from state.redis_keys import RedisKeys


async def fill_account(pool, account_id: int) -> dict[str, int]:
    """Services, balances, a two-zone meter with history, appeals and calls for one account."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO account_services (account_id, service, status, tariff) VALUES
               ($1, 'electricity', 'active', 'двухзонный'),
               ($1, 'heating', 'restricted', NULL)""",
            account_id,
        )
        await conn.execute(
            """INSERT INTO balances (account_id, service, period, balance, debt, penalty,
                                     months_overdue) VALUES
               ($1, 'electricity', '2026-10-01', -1520.35, 1520.35, 12.10, 2),
               ($1, 'heating', '2026-10-01', -999999999999.99, 999999999999.99, 0.01, 5)""",
            account_id,
        )
        meter_id = await conn.fetchval(
            """INSERT INTO meters (account_id, service, serial, zones, digits, decimals,
                                   verification_due)
               VALUES ($1, 'electricity', $2, '{day,night}', 6, 1, '2030-01-01') RETURNING id""",
            account_id, f"SN-{account_id}",
        )
        removed_id = await conn.fetchval(
            """INSERT INTO meters (account_id, service, serial, digits, removed_on)
               VALUES ($1, 'cold_water', $2, 5, '2025-01-01') RETURNING id""",
            account_id, f"OLD-{account_id}",
        )
        await conn.execute(
            """INSERT INTO readings (meter_id, zone, period, value, source, status,
                                     reject_reason) VALUES
               ($1, 'day', '2026-09-01', 1000.5, 'ivr', 'accepted', NULL),
               ($1, 'day', '2026-10-01', 1100.5, 'agent', 'accepted', NULL),
               ($1, 'day', '2026-11-01', 99999.9, 'ivr', 'rejected', 'too_high'),
               ($1, 'day', '2026-10-01', 1090.0, 'ivr', 'superseded', NULL),
               ($1, 'night', '2026-09-01', 400.0, 'cabinet', 'accepted', NULL)""",
            meter_id,
        )
        for i, status in enumerate(["closed", "resolved", "new", "closed", "in_progress"]):
            await conn.execute(
                """INSERT INTO appeals (account_id, type, topic, status, channel, created_at)
                   VALUES ($1, 'complaint', $2, $3, 'phone', now() - make_interval(days => $4))""",
                account_id, f"topic {i}", status, 10 - i,
            )
        for i in range(3):
            await conn.execute(
                """INSERT INTO interactions (call_id, direction, phone, account_id, started_at,
                                             ivr_context)
                   VALUES ($1, 'inbound', '+79120000000', $2, now() - make_interval(hours => $3),
                           $4)""",
                f"call-{account_id}-{i}", account_id, i, {"intent": "balance", "step": i},
            )
        await conn.execute(
            """INSERT INTO payments (account_id, service, paid_on, amount) VALUES
               ($1, 'electricity', '2026-10-15', 500.00)""",
            account_id,
        )
        await conn.execute(
            """INSERT INTO charges (account_id, service, period, amount, volume) VALUES
               ($1, 'electricity', '2026-10-01', 820.40, 150.000)""",
            account_id,
        )
    return {"meter": meter_id, "removed_meter": removed_id}


async def test_when_account_has_everything_then_card_shows_it_all(state_pool, rows):
    phone = rows.phone()
    account = await rows.account(phones=(phone,))
    ids = await fill_account(state_pool, account["id"])

    card = await card_by_account(state_pool, account["number"])

    assert card is not None
    assert card.account.number == account["number"]
    assert card.account.timezone == "Asia/Yekaterinburg"
    assert card.consumer.full_name == "Иванов Иван Иванович"
    assert [p.e164 for p in card.phones] == [phone]
    assert {(s.service, s.status, s.unit) for s in card.services} == {
        ("electricity", "active", "kWh"),
        ("heating", "restricted", "Gcal"),
    }
    assert card.total_debt == Decimal("1000000001520.34")
    assert card.total_penalty == Decimal("12.11")
    assert card.max_months_overdue == 5
    assert [m.id for m in card.meters] == [ids["meter"]]
    last = card.meters[0].last_readings
    assert set(last) == {"day", "night"}
    assert last["day"].value == Decimal("1100.5") and last["day"].status == "accepted"
    assert last["night"].period == dt.date(2026, 9, 1)
    statuses = [a.status for a in card.appeals]
    assert statuses == ["in_progress", "new", "closed", "resolved", "closed"]
    assert card.open_appeals == 2
    assert [i.ivr_context["step"] for i in card.interactions] == [0, 1, 2]
    assert card.payments[0].amount == Decimal("500.00")
    assert card.charges[0].volume == Decimal("150.000")
    assert card.outages == []


async def test_when_limits_are_given_then_open_appeals_come_first(state_pool, rows):
    account = await rows.account()
    await fill_account(state_pool, account["id"])

    card = await card_by_account(state_pool, account["number"], appeals=2, interactions=1)

    assert card is not None
    assert [a.status for a in card.appeals] == ["in_progress", "new"]
    assert len(card.interactions) == 1


async def test_when_account_has_no_meters_or_appeals_then_lists_are_empty(state_pool, rows):
    account = await rows.account(apartment=None)

    card = await card_by_account(state_pool, account["number"])

    assert card is not None
    assert card.account.apartment is None
    for field in ("phones", "services", "balances", "charges", "payments", "meters",
                  "appeals", "interactions", "outages"):
        assert getattr(card, field) == [], field
    assert card.total_debt == Decimal("0")
    assert card.max_months_overdue == 0


async def test_when_account_number_is_unknown_then_none(state_pool):
    assert await card_by_account(state_pool, "000000000000") is None


async def test_when_two_accounts_share_a_phone_then_two_cards_active_first(state_pool, rows):
    phone = rows.phone()
    # A smaller number than the active one: the order must come from the status.
    closed = await rows.account(number="0" + rows.account_number()[1:], status="closed",
                                phones=(phone,))
    active = await rows.account(phones=(phone,))
    other = await rows.account(phones=(rows.phone(),))

    cards = await cards_by_phone(state_pool, phone)

    assert [c.account.number for c in cards] == [active["number"], closed["number"]]
    assert other["number"] not in {c.account.number for c in cards}
    assert all(phone in [p.e164 for p in c.phones] for c in cards)
    assert [c.account.number for c in await cards_by_phone(state_pool, phone, limit=1)] == [
        active["number"]
    ]


async def test_when_phone_is_unknown_then_no_cards(state_pool):
    assert await cards_by_phone(state_pool, "+79990000000") == []


async def test_when_outage_covers_whole_street_then_card_shows_it(state_pool, rows):
    account = await rows.account(house="7")
    street_wide = await rows.outage(account["city"], account["street"], None)
    this_house = await rows.outage(account["city"], account["street"], "7", service="heating")
    await rows.outage(account["city"], account["street"], "9")
    await rows.outage(account["city"], account["street"], None, restored=True)
    await rows.outage("Другой город", account["street"], None)

    card = await card_by_account(state_pool, account["number"])

    assert card is not None
    assert sorted(o.id for o in card.outages) == sorted([street_wide, this_house])
    assert all(o.restored_at is None for o in card.outages)


async def test_when_outage_lists_street_and_house_then_it_shows_once(state_pool, rows):
    account = await rows.account(house="3")
    outage_id = await rows.outage(account["city"], account["street"], None)
    await state_pool.execute(
        "INSERT INTO outage_addresses (outage_id, city, street, house) VALUES ($1, $2, $3, '3')",
        outage_id, account["city"], account["street"],
    )

    card = await card_by_account(state_pool, account["number"])

    assert card is not None and [o.id for o in card.outages] == [outage_id]


@pytest.mark.parametrize("sql", [SQL_CARD_BY_ACCOUNT, SQL_CARDS_BY_PHONE], ids=["account", "phone"])
async def test_when_planning_the_card_then_no_table_is_scanned_sequentially(state_pool, sql):
    args = ["1234567890", 10, 10, 12, 5] if sql is SQL_CARD_BY_ACCOUNT else [
        "+79120000000", 10, 10, 12, 5, 10]
    async with state_pool.acquire() as conn, conn.transaction():
        # Small test tables make seq scans cheapest; forbid them to see that an index exists
        # for every part (a part without one still shows a Seq Scan, at a huge cost).
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    plan = plan if isinstance(plan, list) else json.loads(plan)
    scanned: list[str] = []

    def walk(node: dict) -> None:
        if node.get("Node Type") == "Seq Scan":
            scanned.append(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    assert scanned == []


async def test_when_card_is_cached_then_hit_until_invalidated(state_pool, rows, redis_client):
    account = await rows.account()
    cache = CardCache(redis_client, 60, keys=RedisKeys("cardtest"))
    assert await cache.get(account["number"]) is None

    first = await cache.card_by_account(state_pool, account["number"])
    assert first is not None
    assert await cache.get(account["number"]) == first
    assert 0 < await redis_client.ttl(f"cardtest:card:{account['number']}") <= 60

    # A change in PostgreSQL is not seen through the cache until the card is invalidated.
    await state_pool.execute(
        "UPDATE accounts SET apartment = '99' WHERE id = $1", account["id"]
    )
    assert (await cache.card_by_account(state_pool, account["number"])).account.apartment == "5"
    await cache.invalidate(account["number"])
    assert await cache.get(account["number"]) is None
    assert (await cache.card_by_account(state_pool, account["number"])).account.apartment == "99"


async def test_when_unknown_account_then_nothing_is_cached(state_pool, redis_client):
    cache = CardCache(redis_client, 60, keys=RedisKeys("cardtest"))
    assert await cache.card_by_account(state_pool, "000000000001") is None
    assert await redis_client.keys("cardtest:*") == []


async def test_when_phone_pop_uses_cache_then_missing_cards_are_built(state_pool, rows,
                                                                      redis_client):
    phone = rows.phone()
    a = await rows.account(phones=(phone,))
    b = await rows.account(phones=(phone,))
    cache = CardCache(redis_client, 60, keys=RedisKeys("cardtest"))
    await cache.card_by_account(state_pool, a["number"])

    cards = await cache.cards_by_phone(state_pool, phone)

    assert sorted(c.account.number for c in cards) == sorted([a["number"], b["number"]])
    assert await cache.get(b["number"]) is not None
    assert await cache.invalidate_all() == 2
    assert await cache.get(a["number"]) is None


async def test_when_cached_text_is_corrupt_then_it_is_a_miss(state_pool, rows, redis_client):
    account = await rows.account()
    keys = RedisKeys("cardtest")
    await redis_client.set(keys.card(account["number"]), "{not json")
    cache = CardCache(redis_client, 60, keys=keys)

    card = await cache.card_by_account(state_pool, account["number"])

    assert card is not None and card.account.number == account["number"]
    assert await cache.get(account["number"]) == card


async def test_when_card_is_serialised_then_money_keeps_its_cents(state_pool, rows):
    account = await rows.account()
    await fill_account(state_pool, account["id"])
    card = await card_by_account(state_pool, account["number"])

    data = json.loads(card.model_dump_json())

    assert data["total_debt"] == "1000000001520.34"
    assert data["balances"][0]["debt"] == "1520.35"
    assert data["appeals"][0]["is_open"] is True
    assert "password_hash" not in card.model_dump_json()


async def test_when_cache_is_built_from_settings_then_prefix_and_ttl_apply(state_pool, rows,
                                                                          redis_client):
    from state.settings import RedisSettings

    account = await rows.account()
    cache = CardCache.from_settings(
        redis_client, RedisSettings(key_prefix="tenant9", card_cache_ttl=7)
    )

    await cache.card_by_account(state_pool, account["number"])

    assert 0 < await redis_client.ttl(f"tenant9:card:{account['number']}") <= 7
    with pytest.raises(ValueError):
        CardCache(redis_client, 0)


async def test_when_card_tables_change_then_postgres_notifies_the_accounts(state_pool, rows):
    import asyncio

    from state.cards import CHANGES_CHANNEL

    account = await rows.account()
    other = await rows.account()
    payloads: asyncio.Queue[str] = asyncio.Queue()
    def heard(*args) -> None:
        payloads.put_nowait(args[-1])

    async with state_pool.acquire() as conn:
        await conn.add_listener(CHANGES_CHANNEL, heard)
        await state_pool.execute(
            "UPDATE balances SET debt = 1 WHERE account_id = $1", account["id"])  # no rows
        await state_pool.execute(
            "INSERT INTO appeals (account_id, type, topic, channel) "
            "VALUES ($1, 'q', 't', 'phone')", account["id"])
        await state_pool.execute(
            "UPDATE accounts SET apartment = '1' WHERE id = ANY($1::bigint[])",
            [account["id"], other["id"]])
        await rows.outage(account["city"], account["street"], None)
        seen = [await asyncio.wait_for(payloads.get(), 5) for _ in range(3)]
        await conn.remove_listener(CHANGES_CHANNEL, heard)
    assert seen[0] == account["number"]
    assert sorted(seen[1].split(",")) == sorted([account["number"], other["number"]])
    assert seen[2] == "*"
