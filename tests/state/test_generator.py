"""The data generator against a real PostgreSQL: determinism, sizes, invariants, demo rows."""

from __future__ import annotations

import re
import zoneinfo

import pytest

from state.generator import KNOWN_ACCOUNTS, KNOWN_OUTAGE, GeneratorError, generate, pools
from state.generator.params import COLUMNS
from state.generator.people import valid_inn
from state.phones import normalize_phone
from tests.state.conftest import GEN_ACCOUNTS, GEN_TODAY

FEMALE_FIRST = set(pools.FEMALE_NAMES)
MALE_FIRST = {m[0] for m in pools.MALE_NAMES}
FEMALE_SURNAMES = {f for _, f in pools.SURNAMES}
MALE_SURNAMES = {m for m, _ in pools.SURNAMES}


async def dump(pool) -> dict[str, list[tuple]]:
    """Every generated column of every table, in a stable order (ids of serials excluded)."""
    out = {}
    async with pool.acquire() as conn:
        for table, columns in COLUMNS.items():
            cols = ", ".join(f"{c}::text" for c in columns)
            rows = await conn.fetch(f"SELECT {cols} FROM {table} ORDER BY {cols}")
            out[table] = [tuple(r) for r in rows]
    return out


async def test_when_same_seed_twice_then_data_are_identical_whatever_the_worker_count(fresh_db):
    _, first = await fresh_db()
    _, second = await fresh_db()
    await generate(first, 300, seed=5, today=GEN_TODAY, include_known=False, workers=0)
    await generate(second, 300, seed=5, today=GEN_TODAY, include_known=False, workers=1)
    a, b = await dump(first), await dump(second)
    assert all(a[t] for t in COLUMNS), "every table got rows"
    assert a == b


async def test_when_seed_differs_then_accounts_names_and_phones_differ(fresh_db):
    _, first = await fresh_db()
    _, second = await fresh_db()
    await generate(first, 200, seed=1, today=GEN_TODAY, include_known=False)
    await generate(second, 200, seed=2, today=GEN_TODAY, include_known=False)
    a, b = await dump(first), await dump(second)
    for table in ("accounts", "consumers", "phones", "appeals"):
        assert a[table] != b[table], table
    numbers_a = {r[1] for r in a["accounts"]}
    numbers_b = {r[1] for r in b["accounts"]}
    assert len(numbers_a & numbers_b) < 5


async def test_when_generated_then_sizes_follow_the_parameters(generated):
    pool, report = generated
    known = len(KNOWN_ACCOUNTS)
    async with pool.acquire() as conn:
        accounts = await conn.fetchval("SELECT count(*) FROM accounts")
        appeals = await conn.fetchval("SELECT count(*) FROM appeals")
        services = await conn.fetchval("SELECT count(*) FROM account_services")
        per_account = await conn.fetch(
            "SELECT count(*) AS n FROM account_services GROUP BY account_id"
        )
        periods = await conn.fetch("SELECT period, closed_at FROM billing_periods ORDER BY period")
    assert accounts == GEN_ACCOUNTS + known
    assert report.known_accounts == known
    assert report.rows["accounts"] == GEN_ACCOUNTS
    assert 2.4 * GEN_ACCOUNTS < appeals - known < 2.8 * GEN_ACCOUNTS
    assert {r["n"] for r in per_account} <= {1, 2, 3, 4}
    assert services == await _count(pool, "balances")
    assert [p["period"].isoformat() for p in periods] == [
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
        "2026-03-01",
    ]
    assert periods[-1]["closed_at"] is None and all(p["closed_at"] for p in periods[:-1])


async def _count(pool, table: str) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval(f"SELECT count(*) FROM {table}")


async def test_when_generated_then_every_account_has_a_consumer_and_a_valid_number(generated):
    pool, _ = generated
    async with pool.acquire() as conn:
        orphans = await conn.fetchval(
            "SELECT count(*) FROM accounts a LEFT JOIN consumers c ON c.id = a.consumer_id "
            "WHERE c.id IS NULL"
        )
        numbers = [r[0] for r in await conn.fetch("SELECT number FROM accounts")]
        lengths = {len(n) for n in numbers}
    assert orphans == 0
    assert all(re.fullmatch(r"[0-9]{8,12}", n) for n in numbers)
    assert len(lengths) >= 3


async def test_when_generated_then_names_agree_in_gender_and_orgs_have_valid_inn(generated):
    pool, _ = generated
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT kind, full_name, inn FROM consumers WHERE id <= $1", GEN_ACCOUNTS
        )
    persons = [r for r in rows if r["kind"] == "person"]
    assert 0.88 < len(persons) / len(rows) < 0.97
    for r in persons:
        surname, first, patronymic = r["full_name"].split(" ")
        if first in FEMALE_FIRST:
            assert surname in FEMALE_SURNAMES and patronymic.endswith("на"), r["full_name"]
        else:
            assert first in MALE_FIRST, r["full_name"]
            assert surname in MALE_SURNAMES and patronymic.endswith("ич"), r["full_name"]
        assert re.fullmatch(r"[А-ЯЁ][а-яё-]+ [А-ЯЁ][а-яё]+ [А-ЯЁ][а-яё]+", r["full_name"])
    orgs = [r for r in rows if r["kind"] == "organisation"]
    assert orgs and all(valid_inn(r["inn"]) for r in orgs)
    assert {r["full_name"].split(" ")[0] for r in orgs} >= {"ООО", "ИП"}


async def test_when_generated_then_phones_are_e164_and_some_shared_some_missing(generated):
    pool, _ = generated
    async with pool.acquire() as conn:
        phones = [r[0] for r in await conn.fetch("SELECT e164 FROM phones")]
        sharing = [
            r[0] for r in await conn.fetch("SELECT count(*) FROM account_phones GROUP BY phone_id")
        ]
        without = await conn.fetchval(
            "SELECT count(*) FROM accounts a WHERE NOT EXISTS "
            "(SELECT 1 FROM account_phones p WHERE p.account_id = a.id)"
        )
    assert all(normalize_phone(p) == p for p in phones)
    assert max(sharing) in (2, 3) and sharing.count(2) + sharing.count(3) >= 5
    assert 0.05 * GEN_ACCOUNTS < without < 0.2 * GEN_ACCOUNTS


async def test_when_generated_then_money_is_consistent_and_debt_has_a_long_tail(generated):
    pool, _ = generated
    async with pool.acquire() as conn:
        negative = await conn.fetchval(
            "SELECT count(*) FROM balances WHERE debt < 0 OR penalty < 0 OR months_overdue < 0"
        )
        mismatched = await conn.fetchval(
            "SELECT count(*) FROM balances WHERE (debt > 0) <> (months_overdue > 0)"
        )
        share = await conn.fetchval("SELECT avg((debt > 0)::int) FROM balances")
        longest = await conn.fetchval("SELECT max(months_overdue) FROM balances")
        penalised = await conn.fetchval("SELECT count(*) FROM balances WHERE penalty > 0")
    assert negative == 0 and mismatched == 0
    assert 0.1 < share < 0.35
    assert longest >= 12 and penalised > 0


async def test_when_generated_then_accepted_readings_never_go_down_and_fit_the_meter(generated):
    pool, _ = generated
    async with pool.acquire() as conn:
        decreasing = await conn.fetchval(
            """SELECT count(*) FROM (
                   SELECT value < lag(value) OVER (PARTITION BY meter_id, zone ORDER BY period) AS down
                   FROM readings WHERE status = 'accepted') r WHERE down"""
        )
        too_long = await conn.fetchval(
            "SELECT count(*) FROM readings r JOIN meters m ON m.id = r.meter_id "
            "WHERE r.value >= 10 ^ m.digits"
        )
        wrong_zone = await conn.fetchval(
            "SELECT count(*) FROM readings r JOIN meters m ON m.id = r.meter_id "
            "WHERE NOT r.zone = ANY(m.zones)"
        )
        zones = {
            tuple(r[0])
            for r in await conn.fetch(
                "SELECT DISTINCT zones FROM meters WHERE service = 'electricity'"
            )
        }
        rejected = await conn.fetchval("SELECT count(*) FROM readings WHERE status = 'rejected'")
    assert decreasing == 0 and too_long == 0 and wrong_zone == 0
    assert {("total",), ("day", "night"), ("day", "night", "peak")} <= zones
    assert rejected > 0


async def test_when_generated_then_time_zones_are_real_and_cities_span_several(generated):
    pool, _ = generated
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT DISTINCT city, timezone FROM accounts")
    available = zoneinfo.available_timezones()
    assert all(r["timezone"] in available for r in rows)
    assert len({r["timezone"] for r in rows}) >= 6
    assert {c: tz for c, tz, *_ in pools.CITIES}["Новосибирск"] == "Asia/Novosibirsk"
    assert all({c: tz for c, tz, *_ in pools.CITIES}[r["city"]] == r["timezone"] for r in rows)


async def test_when_generated_then_appeals_have_coherent_statuses_and_dates(generated):
    pool, _ = generated
    async with pool.acquire() as conn:
        bad = await conn.fetchval(
            """SELECT count(*) FROM appeals WHERE due_at < created_at
                  OR (status IN ('closed', 'resolved', 'rejected')) <> (closed_at IS NOT NULL)
                  OR closed_at < created_at"""
        )
        types = {r[0] for r in await conn.fetch("SELECT DISTINCT type FROM appeals")}
        open_appeals = await conn.fetchval(
            "SELECT count(*) FROM appeals WHERE status IN ('new', 'in_progress')"
        )
    assert bad == 0
    assert {"Показания", "Перерасчёт", "Отключение", "Качество услуги"} <= types
    assert open_appeals > 0


async def test_when_demo_set_then_recorded_callers_find_their_accounts(generated):
    pool, _ = generated
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT a.number, p.e164 FROM accounts a
               JOIN account_phones ap ON ap.account_id = a.id JOIN phones p ON p.id = ap.phone_id
               WHERE a.number LIKE '1002003004%'"""
        )
        unknown = await conn.fetchval("SELECT count(*) FROM phones WHERE e164 = '+79120000013'")
        service, city, street, house = KNOWN_OUTAGE
        outage = await conn.fetchval(
            """SELECT count(*) FROM outages o JOIN outage_addresses x ON x.outage_id = o.id
               WHERE o.restored_at IS NULL AND o.service = $1 AND x.city = $2 AND x.street = $3
                 AND x.house = $4""",
            service,
            city,
            street,
            house,
        )
        debtor = await conn.fetchval(
            "SELECT b.months_overdue FROM balances b JOIN accounts a ON a.id = b.account_id "
            "WHERE a.number = '100200300499'"
        )
    pairs = {(r["number"], r["e164"]) for r in rows}
    assert ("100200300401", "+79120000001") in pairs
    assert ("100200300432", "+79120000032") in pairs
    assert {n for n, p in pairs if p == "+79120000005"} == {"100200300405", "100200300406"}
    assert unknown == 0 and outage == 1 and debtor >= 6


async def test_when_big_load_path_then_indexes_are_rebuilt_and_rows_loaded(fresh_db):
    _, pool = await fresh_db()
    query = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
    async with pool.acquire() as conn:
        before = [tuple(r) for r in await conn.fetch(query)]
    report = await generate(pool, 150, seed=3, today=GEN_TODAY, rebuild_indexes=True)
    async with pool.acquire() as conn:
        after = [tuple(r) for r in await conn.fetch(query)]
        appeals = await conn.fetchval("SELECT count(*) FROM appeals")
    assert after == before
    assert appeals == report.rows["appeals"] + report.known_accounts


async def test_when_database_already_has_accounts_then_generation_is_refused(generated):
    pool, _ = generated
    with pytest.raises(GeneratorError, match="already has accounts"):
        await generate(pool, 10, seed=1, today=GEN_TODAY)
