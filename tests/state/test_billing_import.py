"""Billing CSV import against a real PostgreSQL: apply, reject, refuse, idempotency, rollback."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from state.billing_import import ImportFailed, ImportRefused, import_billing
from state.billing_parse import (
    _blocks,
    _fast_service_part,
    _fast_service_pattern,
    _service_part,
)

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


SERVICES = frozenset({"electricity", "heating", "hot_water", "cold_water"})
# Mostly valid values (so that the fast path is taken), with odd ones mixed in.
_money_text = st.one_of(
    st.from_regex(r"-?[0-9]{1,5}(?:[.,][0-9]{1,2})?", fullmatch=True),
    st.from_regex(r"-?[0-9٣]{1,13}(?:[.,][0-9]{1,3})?", fullmatch=True),
)
_service_fields = st.tuples(
    st.sampled_from(sorted(SERVICES) * 3 + ["gas", "Heating"]),
    st.sampled_from(["", "active", "restricted", "suspended", "disconnected", "closed"]),
    st.one_of(
        st.from_regex(r"20[0-9]{2}-(0[1-9]|1[0-2])", fullmatch=True),
        st.from_regex(r"(19|20|21)[0-9]{2}-[0-9]{2}(-[0-9]{2})?", fullmatch=True),
    ),
    *(st.one_of(st.just(""), _money_text) for _ in range(5)),
    st.from_regex(r"-?[0-9]{0,5}", fullmatch=True),
)


@settings(max_examples=400, deadline=None)
@given(_service_fields)
def test_when_service_columns_take_the_fast_path_then_they_stage_as_full_validation_does(fields):
    fast = _fast_service_pattern(SERVICES).fullmatch("\t".join(fields))
    try:
        slow = _service_part(list(fields), SERVICES)
    except ValueError:
        slow = None
    if fast is not None:
        assert _fast_service_part(fast) == slow
    else:
        # Declined: invalid, or a form left to the full validation (a day, non-ASCII digits).
        day = "-" in fields[2][5:]
        assert slow is None or day or any(not f.isascii() for f in fields)


async def content(pool) -> dict[str, list[tuple]]:
    """The imported rows without ids and xmin (two databases number them alike only by luck)."""
    async with pool.acquire() as conn:
        return {
            "accounts": [
                tuple(r)
                for r in await conn.fetch(
                    "SELECT a.number, c.full_name, a.city, a.apartment FROM accounts a "
                    "JOIN consumers c ON c.id = a.consumer_id ORDER BY 1"
                )
            ],
            "charges": [
                tuple(r)
                for r in await conn.fetch(
                    "SELECT a.number, c.service, c.period, c.amount FROM charges c "
                    "JOIN accounts a ON a.id = c.account_id ORDER BY 1, 2, 3"
                )
            ],
        }


def mixed_file(tmp_path) -> tuple[Path, int]:
    """Bad rows, then good ones with a quoted line break among them; and a block size for
    which a block (not the first) ends inside that quoted field."""
    bad = (FIXTURES / "billing_bad_rows.csv").read_text(encoding="utf-8")
    good = GOOD.read_text(encoding="utf-8").splitlines(keepends=True)[1:]
    quoted = (
        '4000000001;person;"Иванова\nМария";;Томск;ул. Ленина;1;2;;;heating;;2026-02;5;5;0;0;0;0\n'
    )
    path = tmp_path / "mixed.csv"
    path.write_text(bad + "".join(good[:2]) + quoted + "".join(good[2:]), encoding="utf-8")
    data = path.read_bytes()
    inside = data.index("Иванова\n".encode()) + len("Иванова\n".encode())
    for size in range(100, 400):
        raw = io.BytesIO(data)
        raw.readline()
        ends = [offset + len(block) for offset, block in _blocks(raw, size)]
        if inside in ends[1:]:
            return path, size
    raise AssertionError("no block size cuts inside the quoted field")


async def test_when_parsed_in_worker_processes_then_result_is_as_in_one_thread(fresh_db, tmp_path):
    path, cut_inside_quotes = mixed_file(tmp_path)
    _, one_pool = await fresh_db("imp")
    one = await import_billing(one_pool, path, workers=0)
    for block_bytes in (cut_inside_quotes, 1 << 20):
        _, many_pool = await fresh_db("imp")
        many = await import_billing(many_pool, path, workers=2, block_bytes=block_bytes)
        assert many.rejected == one.rejected and len(one.rejected) == 10
        assert (many.rows_read, many.rows_applied, many.changes) == (
            one.rows_read,
            one.rows_applied,
            one.changes,
        )
        assert await content(many_pool) == await content(one_pool)
    assert ("4000000001", "Иванова\nМария", "Томск", "2") in (await content(one_pool))["accounts"]


async def test_when_parsed_in_worker_processes_then_broken_encoding_names_the_line(fresh_db):
    _, pool = await fresh_db("imp")
    with pytest.raises(ImportRefused, match=r"line 4: not valid UTF-8"):
        await import_billing(
            pool, FIXTURES / "billing_broken_encoding.csv", workers=2, block_bytes=100
        )


async def test_when_a_duplicate_starts_a_run_of_rows_then_the_rest_of_the_run_still_applies(
    fresh_db, tmp_path
):
    # Line 4 repeats line 2's account, service and period (rejected), and line 5 repeats
    # line 4's account columns: the name and phone of line 5 must still reach the database.
    header = GOOD.read_text(encoding="utf-8").splitlines()[0]
    a = "5000000001;person;{name};;Томск;ул. Ленина;1;2;;{phone};{service};;2026-02;1;1;0;0;0;0"
    b = "5000000002;person;Бобров Олег;;Томск;ул. Ленина;1;3;;;electricity;;2026-02;1;1;0;0;0;0"
    rows = [
        a.format(name="Старое Имя", phone="+79130000001", service="electricity"),
        b,
        a.format(name="Новое Имя", phone="+79130000002", service="electricity"),
        a.format(name="Новое Имя", phone="+79130000002", service="heating"),
    ]
    path = tmp_path / "runs.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    _, pool = await fresh_db("imp")
    report = await import_billing(pool, path)
    assert [(r.line, r.reason[:17]) for r in report.rejected] == [(4, "duplicate of line")]
    async with pool.acquire() as conn:
        name = await conn.fetchval(
            "SELECT c.full_name FROM accounts a JOIN consumers c ON c.id = a.consumer_id "
            "WHERE a.number = '5000000001'"
        )
        phones = await conn.fetch(
            "SELECT p.e164 FROM account_phones ap JOIN phones p ON p.id = ap.phone_id "
            "JOIN accounts a ON a.id = ap.account_id WHERE a.number = '5000000001' ORDER BY 1"
        )
    assert name == "Новое Имя"
    assert [r[0] for r in phones] == ["+79130000001", "+79130000002"]


# --- first load: indexes dropped while empty tables fill, rebuilt before commit ------------
FIRST_LOAD = "first load: rebuild indexes"  # the report's phase that says the path was taken


async def schema(pool) -> dict[str, list[tuple]]:
    """Every index (name, definition, oid, validity) and constraint of the import's tables."""
    async with pool.acquire() as conn:
        indexes = await conn.fetch(
            """SELECT i.indexname, i.indexdef, c.oid::bigint, x.indisvalid
               FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname
                    AND c.relnamespace = 'public'::regnamespace
               JOIN pg_index x ON x.indexrelid = c.oid
               WHERE i.schemaname = 'public' AND i.tablename = ANY($1::text[]) ORDER BY 1""",
            list(TABLES),
        )
        constraints = await conn.fetch(
            """SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid),
                      conindid::regclass::text, convalidated
               FROM pg_constraint WHERE conrelid = ANY(SELECT oid FROM pg_class
                   WHERE relname = ANY($1::text[]) AND relnamespace = 'public'::regnamespace)
               ORDER BY 1, 2""",
            list(TABLES),
        )
    return {"indexes": [tuple(r) for r in indexes], "constraints": [tuple(r) for r in constraints]}


def without_oids(shape: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    return {**shape, "indexes": [(n, d, valid) for n, d, _, valid in shape["indexes"]]}


async def test_when_first_load_into_empty_tables_then_every_index_and_constraint_is_rebuilt(
    fresh_db,
):
    _, pool = await fresh_db("imp")
    before = await schema(pool)
    report = await import_billing(pool, GOOD)
    assert FIRST_LOAD in report.timings
    after = await schema(pool)
    assert without_oids(after) == without_oids(before)
    # Built anew (not merely left alone), except the keys foreign keys point at.
    rebuilt = {
        n
        for (n, _, oid, _), (_, _, old, _) in zip(after["indexes"], before["indexes"])
        if oid != old
    }
    assert {
        "charges_pkey",
        "accounts_number_key",
        "phones_e164_key",
        "balances_debt_idx",
    } <= rebuilt
    assert "accounts_pkey" not in rebuilt
    # The rebuilt constraints hold.
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                "INSERT INTO accounts (number, consumer_id, city, street, house)"
                " SELECT number, consumer_id, city, street, house FROM accounts LIMIT 1"
            )
    # Tables are no longer empty: the next import takes the usual path.
    again = await import_billing(pool, GOOD)
    assert FIRST_LOAD not in again.timings
    assert set(again.changes.values()) == {0}


async def test_when_first_load_fails_after_indexes_were_dropped_then_schema_and_data_stay(
    fresh_db,
):
    _, pool = await fresh_db("imp")
    # Every phone becomes the same number: only rebuilding phones_e164_key at the end can notice.
    async with pool.acquire() as conn:
        await conn.execute("""
            CREATE FUNCTION same_phone() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN NEW.e164 := '+79990000000'; RETURN NEW; END $$;
            CREATE TRIGGER phones_same BEFORE INSERT ON phones
            FOR EACH ROW EXECUTE FUNCTION same_phone();""")
    shape, rows = await schema(pool), await snapshot(pool)
    with pytest.raises(ImportFailed, match="phones_e164_key"):
        await import_billing(pool, GOOD)
    assert await schema(pool) == shape
    assert await snapshot(pool) == rows
    # And a failure in the middle of the steps, after the drop, too.
    async with pool.acquire() as conn:
        await conn.execute("""
            DROP TRIGGER phones_same ON phones;
            CREATE FUNCTION refuse_charge() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'charges are frozen for this test'; END $$;
            CREATE TRIGGER charges_frozen BEFORE INSERT ON charges
            FOR EACH ROW EXECUTE FUNCTION refuse_charge();""")
    shape = await schema(pool)
    with pytest.raises(ImportFailed, match="charges are frozen"):
        await import_billing(pool, GOOD)
    assert await schema(pool) == shape
    assert await snapshot(pool) == rows
