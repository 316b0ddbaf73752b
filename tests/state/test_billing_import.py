"""Billing CSV import against a real PostgreSQL: apply, reject, refuse, idempotency, rollback."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from state.billing_import import ImportFailed, ImportRefused, import_billing

FIXTURES = Path(__file__).with_name("fixtures")
GOOD = FIXTURES / "billing_good.csv"
TABLES = (
    "consumers",
    "accounts",
    "phones",
    "account_phones",
    "account_services",
    "balances",
    "charges",
    "payments",
)


async def snapshot(pool) -> dict[str, list[tuple]]:
    """Every row of every table the import touches, with its xmin (changes when rewritten)."""
    out = {}
    async with pool.acquire() as conn:
        for table in TABLES:
            rows = await conn.fetch(
                f"SELECT xmin::text AS x, t::text AS row FROM {table} t ORDER BY 2"
            )
            out[table] = [tuple(r) for r in rows]
    return out


async def test_when_good_file_then_accounts_money_and_phones_are_applied(fresh_db):
    _, pool = await fresh_db("imp")
    report = await import_billing(pool, GOOD)
    assert (report.rows_read, report.rows_applied, report.rejected_count) == (5, 5, 0)
    async with pool.acquire() as conn:
        accounts = {
            r["number"]: r
            for r in await conn.fetch(
                "SELECT a.number, a.timezone, a.apartment, c.kind, c.full_name, c.inn "
                "FROM accounts a JOIN consumers c ON c.id = a.consumer_id"
            )
        }
        balance = await conn.fetchrow(
            "SELECT b.* FROM balances b JOIN accounts a ON a.id = b.account_id "
            "WHERE a.number = '2000000001' AND b.service = 'electricity'"
        )
        org_balance = await conn.fetchrow(
            "SELECT b.* FROM balances b JOIN accounts a ON a.id = b.account_id "
            "WHERE a.number = '2000000002'"
        )
        charges = await conn.fetchval("SELECT count(*) FROM charges")
        payments = dict(await conn.fetch("SELECT external_id, amount FROM payments"))
        phones = await conn.fetch(
            "SELECT p.e164, array_agg(a.number ORDER BY a.number) AS numbers FROM phones p "
            "JOIN account_phones ap ON ap.phone_id = p.id JOIN accounts a ON a.id = ap.account_id "
            "GROUP BY p.e164 ORDER BY p.e164"
        )
        status = await conn.fetchval(
            "SELECT status FROM account_services WHERE service = 'heating'"
        )
    assert set(accounts) == {"2000000001", "2000000002", "30000000003"}
    assert accounts["2000000002"]["full_name"] == 'ООО "Тепло; Свет"'
    assert accounts["2000000002"]["kind"] == "organisation"
    assert accounts["30000000003"]["kind"] == "person"
    assert accounts["30000000003"]["timezone"] == "Europe/Moscow"
    assert accounts["2000000001"]["timezone"] == "Asia/Tomsk"
    # The latest period wins for the balance.
    assert balance["period"].isoformat() == "2026-02-01"
    assert balance["balance"] == Decimal("-520.40")
    assert (org_balance["debt"], org_balance["penalty"], org_balance["months_overdue"]) == (
        Decimal("70000.00"),
        Decimal("945.00"),
        3,
    )
    assert charges == 5 and status == "restricted"
    assert payments == {
        "billing:2000000001:electricity:2026-01": Decimal("1480.00"),
        "billing:2000000001:electricity:2026-02": Decimal("1000.00"),
        "billing:2000000002:heating:2026-02": Decimal("10000.00"),
        "billing:30000000003:hot_water:2026-02": Decimal("800.00"),
    }
    assert [(r["e164"], r["numbers"]) for r in phones] == [
        ("+73812123456", ["2000000002"]),
        ("+79125550101", ["2000000001", "30000000003"]),
    ]


async def test_when_file_has_bad_rows_then_valid_rows_apply_and_bad_ones_are_reported(fresh_db):
    _, pool = await fresh_db("imp")
    report = await import_billing(pool, FIXTURES / "billing_bad_rows.csv")
    reasons = [(r.line, r.reason) for r in report.rejected]
    assert [line for line, _ in reasons] == [3, 4, 5, 6, 7, 8, 10, 11, 12, 13]
    assert reasons[0] == (3, "bad account number: 8-12 digits expected")
    assert reasons[1] == (4, "unknown service 'gas'")
    assert reasons[2] == (5, "non-numeric money in charged")
    assert reasons[3] == (6, "bad period: no such date")
    assert reasons[4][1].startswith("bad phone: ")
    assert reasons[5] == (8, "wrong column count: expected 19, got 14")
    assert reasons[6][1].startswith("duplicate of line 2")
    assert reasons[7] == (11, "negative debt")
    assert reasons[8] == (12, "unknown time zone 'Mars/Olympus'")
    assert reasons[9] == (13, "bad months_overdue: a whole number >= 0 expected")
    assert (report.rows_read, report.rows_applied, report.rejected_count) == (12, 2, 10)
    async with pool.acquire() as conn:
        numbers = {r[0] for r in await conn.fetch("SELECT number FROM accounts")}
        charge = await conn.fetchval(
            "SELECT amount FROM charges c JOIN accounts a "
            "ON a.id = c.account_id WHERE a.number = '2000000011'"
        )
    assert numbers == {"2000000011", "2000000017"}
    assert charge == Decimal("100.00")  # the duplicate on line 10 did not overwrite line 2


async def test_when_file_is_not_utf8_then_it_is_refused_whole_naming_the_line(fresh_db):
    _, pool = await fresh_db("imp")
    with pytest.raises(ImportRefused, match=r"line 4: not valid UTF-8"):
        await import_billing(pool, FIXTURES / "billing_broken_encoding.csv")
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM accounts") == 0
        assert await conn.fetchval("SELECT count(*) FROM consumers") == 0


async def test_when_header_lacks_columns_then_file_is_refused(fresh_db, tmp_path):
    _, pool = await fresh_db("imp")
    path = tmp_path / "no_service.csv"
    path.write_text(
        "account;full_name;city;street;house;period\n2000000001;А;Б;В;1;2026-01\n", encoding="utf-8"
    )
    with pytest.raises(ImportRefused, match="line 1: header lacks required column.*service"):
        await import_billing(pool, path)


async def test_when_same_file_imported_twice_then_nothing_changes(fresh_db):
    _, pool = await fresh_db("imp")
    await import_billing(pool, GOOD)
    before = await snapshot(pool)
    again = await import_billing(pool, GOOD)
    assert await snapshot(pool) == before
    assert again.rows_applied == 5
    assert set(again.changes.values()) == {0}


async def test_when_apply_fails_midway_then_database_is_left_untouched(fresh_db, tmp_path):
    _, pool = await fresh_db("imp")
    await import_billing(pool, GOOD)
    # A real database failure in the last steps: payments refuse every write.
    async with pool.acquire() as conn:
        await conn.execute("""
            CREATE FUNCTION refuse_payment() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'payments are frozen for this test'; END $$;
            CREATE TRIGGER payments_frozen BEFORE INSERT OR UPDATE ON payments
            FOR EACH ROW EXECUTE FUNCTION refuse_payment();""")
    before = await snapshot(pool)
    changed = GOOD.read_text(encoding="utf-8").replace("1520,40;1000", "1620,40;1600")
    changed += (
        "4000000004;person;Новая Нина Ивановна;;Томск;ул. Ленина;6;1;;;electricity;;"
        "2026-02;10;10;0;0;0;0\n"
    )
    path = tmp_path / "changed.csv"
    path.write_text(changed, encoding="utf-8")
    with pytest.raises(ImportFailed, match="payments are frozen"):
        await import_billing(pool, path)
    assert await snapshot(pool) == before


async def test_when_file_is_missing_then_import_is_refused(fresh_db, tmp_path):
    _, pool = await fresh_db("imp")
    with pytest.raises(ImportRefused, match="cannot be read"):
        await import_billing(pool, tmp_path / "absent.csv")
