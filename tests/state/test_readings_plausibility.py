"""Which readings are plausible: first readings of new meters, rollovers, later periods, the cap.

The storage tests run ``submit_reading`` against PostgreSQL with hand-made meter histories; the
rule tests call ``validate_reading`` directly.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from state.readings import (
    MeterSpec,
    ReadingLimits,
    RejectReason,
    average_monthly,
    submit_reading,
    validate_reading,
)

LIMITS = ReadingLimits()
PERIOD = dt.date(2026, 5, 1)


def month(offset: int) -> dt.date:
    index = PERIOD.year * 12 + PERIOD.month - 1 + offset
    return dt.date(index // 12, index % 12 + 1, 1)


async def new_meter(
    pool: asyncpg.Pool,
    account_id: int,
    *,
    digits: int = 5,
    service: str = "electricity",
    installed_on: dt.date | None = None,
    removed_on: dt.date | None = None,
    replaces: int | None = None,
) -> int:
    import uuid

    return await pool.fetchval(
        """INSERT INTO meters (account_id, service, serial, digits, installed_on, removed_on,
                               replaces_meter_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
        account_id, service, uuid.uuid4().hex[:12], digits, installed_on, removed_on, replaces,
    )


async def history(pool: asyncpg.Pool, meter_id: int, values: dict[int, str]) -> None:
    """Accepted readings by month offset from PERIOD: ``{-3: "5000"}``."""
    for offset, value in values.items():
        await pool.execute(
            """INSERT INTO readings (meter_id, zone, period, value, source, status)
               VALUES ($1, 'total', $2, $3, 'file', 'accepted')""",
            meter_id, month(offset), Decimal(value),
        )


async def act_reading(pool: asyncpg.Pool, meter_id: int, act: str, value: str) -> None:
    await pool.execute(
        "INSERT INTO meter_act_readings (meter_id, zone, act, value) VALUES ($1, 'total', $2, $3)",
        meter_id, act, Decimal(value),
    )


async def submit(pool: asyncpg.Pool, meter_id: int, value: str, period: dt.date = PERIOD,
                 limits: ReadingLimits = LIMITS):
    return await submit_reading(pool, meter_id=meter_id, zone="total", period=period,
                                value=Decimal(value), source="ivr", limits=limits)


# --- first reading of a new or replacement meter -------------------------------------------
async def test_when_meter_installed_a_week_ago_reads_99999_then_rejected_and_12_is_no_rollover(
    state_pool, rows
):
    account = await rows.account()
    meter = await new_meter(state_pool, account["id"], installed_on=PERIOD + dt.timedelta(days=2))
    wrong = await submit(state_pool, meter, "99999")
    assert (wrong.status, wrong.reason) == ("rejected", RejectReason.TOO_HIGH)
    right = await submit(state_pool, meter, "12")
    assert (right.status, right.consumption) == ("accepted", Decimal(12))


async def test_when_installation_reading_is_recorded_then_first_reading_is_measured_from_it(
    state_pool, rows
):
    account = await rows.account()
    meter = await new_meter(state_pool, account["id"], installed_on=month(-1))
    await act_reading(state_pool, meter, "installed", "45000")
    below = await submit(state_pool, meter, "120")
    assert (below.status, below.reason) == ("rejected", RejectReason.BELOW_PREVIOUS)
    right = await submit(state_pool, meter, "45210")
    assert (right.status, right.consumption) == ("accepted", Decimal(210))


async def test_when_replacement_meter_then_old_meter_history_with_removal_reading_sets_the_cap(
    state_pool, rows
):
    account = await rows.account()
    old = await new_meter(state_pool, account["id"], digits=6, removed_on=month(0))
    await history(state_pool, old, {-4: "20000", -3: "20100", -2: "20200", -1: "20300"})
    await act_reading(state_pool, old, "removed", "20400")
    new = await new_meter(state_pool, account["id"], installed_on=month(0), replaces=old)
    await act_reading(state_pool, new, "installed", "3")
    # The premises used 100 a month: 900 in a month is not plausible, 103 is.
    assert (await submit(state_pool, new, "903")).reason is RejectReason.TOO_HIGH
    assert (await submit(state_pool, new, "103")).consumption == Decimal(100)


async def test_when_replacement_meter_has_no_installation_date_then_the_removal_date_counts(
    state_pool, rows
):
    account = await rows.account()
    old = await new_meter(state_pool, account["id"], removed_on=month(-1) + dt.timedelta(days=20))
    new = await new_meter(state_pool, account["id"], replaces=old)
    assert (await submit(state_pool, new, "50000")).reason is RejectReason.TOO_HIGH
    assert (await submit(state_pool, new, "180")).consumption == Decimal(180)


async def test_when_meter_has_no_installation_data_nor_history_then_first_reading_is_its_start(
    state_pool, rows
):
    account = await rows.account()
    meter = await new_meter(state_pool, account["id"])
    first = await submit(state_pool, meter, "81234")
    assert (first.status, first.consumption) == ("accepted", None)


# --- rollovers ---------------------------------------------------------------------------
async def test_when_4_digit_meter_goes_from_5000_to_4000_then_no_rollover_is_assumed(
    state_pool, rows
):
    account = await rows.account()
    meter = await new_meter(state_pool, account["id"], digits=4)
    await history(state_pool, meter, {-3: "5000"})
    stored = await submit(state_pool, meter, "4000")
    assert (stored.status, stored.reason) == ("rejected", RejectReason.BELOW_PREVIOUS)


@given(digits=st.integers(4, 9), prev=st.integers(0, 10**9 - 1), drop=st.integers(1, 10**9))
def test_when_reading_is_below_previous_then_rollover_only_on_the_shorter_way_round(
    digits, prev, drop
):
    drum = 10**digits
    prev %= drum
    value = prev - drop % drum
    if value < 0:
        return
    verdict = validate_reading(
        Decimal(value), MeterSpec(1, "electricity", digits, 0), "total",
        previous=(month(-1), Decimal(prev)), period=PERIOD, average=None, period_open=True,
        limits=ReadingLimits(default_monthly_caps={"electricity": Decimal(10**10)}),
    )
    if value == prev:
        assert verdict.accepted
    elif verdict.accepted:
        assert verdict.rolled_over and verdict.consumption == value + drum - prev < drum / 2
    else:
        assert verdict.reason is RejectReason.BELOW_PREVIOUS and value + drum - prev >= drum / 2


def test_when_history_rolled_over_then_average_counts_the_rollover():
    values = [(month(-3), Decimal(9800)), (month(-2), Decimal(9900)), (month(-1), Decimal(0))]
    assert average_monthly(values, digits=4) == Decimal(100)


# --- later periods -------------------------------------------------------------------------
async def test_when_a_later_period_holds_a_lower_reading_then_the_earlier_one_is_rejected(
    state_pool, rows
):
    account = await rows.account()
    meter = await new_meter(state_pool, account["id"], digits=6)
    december, january = dt.date(2025, 12, 1), dt.date(2026, 1, 1)
    await state_pool.execute(
        """INSERT INTO readings (meter_id, zone, period, value, source, status)
           VALUES ($1, 'total', $2, 1000, 'file', 'accepted'),
                  ($1, 'total', $3, 1100, 'file', 'accepted')""",
        meter, dt.date(2025, 11, 1), january,
    )
    late = await submit(state_pool, meter, "2500", december)
    assert late.status == "rejected"
    assert late.reason is RejectReason.CONFLICTS_LATER
    fits = await submit(state_pool, meter, "1050", december)
    assert (fits.status, fits.consumption) == ("accepted", Decimal(50))


# --- the plausible consumption ---------------------------------------------------------------
def verdict_after(values: list[int], value: int, limits: ReadingLimits = LIMITS):
    """The verdict on ``value`` after a monthly history ``values`` ending last month."""
    points = [(month(i - len(values)), Decimal(v)) for i, v in enumerate(values)]
    return validate_reading(
        Decimal(value), MeterSpec(1, "electricity", 6, 0), "total", previous=points[-1],
        period=PERIOD, average=average_monthly(points), period_open=True,
        limits=limits,
    )


def test_when_average_is_zero_then_a_jump_of_thousands_is_too_high():
    assert verdict_after([500] * 6, 3400).reason is RejectReason.TOO_HIGH


def test_when_average_is_ten_then_a_plausible_150_is_accepted():
    assert verdict_after([500 + 10 * i for i in range(6)], 550 + 150).accepted


def test_when_limits_come_from_settings_then_the_floor_and_factor_are_used():
    from state.settings import ReadingsSettings

    limits = ReadingLimits.from_settings(
        ReadingsSettings(consumption_factor=2, monthly_floors={"electricity": 50})
    )
    history_ = [1000 + 100 * i for i in range(6)]  # 100 a month
    assert verdict_after(history_, 1500 + 200, limits).accepted
    assert verdict_after(history_, 1500 + 201, limits).reason is RejectReason.TOO_HIGH
    flat = [1000] * 6
    assert verdict_after(flat, 1050, limits).accepted
    assert not verdict_after(flat, 1051, limits).accepted


# --- values no meter shows -------------------------------------------------------------------
ODD_VALUES = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.integers(-(10**30), 10**30).map(Decimal),
    st.sampled_from([Decimal("1e11"), Decimal("99999999999.9999"), Decimal("-0"),
                     Decimal("1e-20000"), Decimal("1e200000"), Decimal("-1e200000"),
                     Decimal("0.0001"), Decimal("sNaN"), Decimal("0E-20000"),
                     Decimal("0E+200000"), Decimal("-Infinity")]),
)


@pytest.fixture(scope="module")
async def odd_meter(state_pool) -> int:
    from tests.state.conftest import Rows

    account = await Rows(state_pool).account()
    return await new_meter(state_pool, account["id"], digits=6)


@given(value=ODD_VALUES)
async def test_when_any_value_is_submitted_then_it_is_stored_with_a_verdict(
    state_pool, odd_meter, value
):
    stored = await submit_reading(state_pool, meter_id=odd_meter, zone="total", period=PERIOD,
                                  value=value, source="agent", limits=LIMITS)
    row = await state_pool.fetchrow(
        "SELECT status, reject_reason, value FROM readings WHERE id = $1", stored.id)
    assert row["status"] == stored.status
    assert (row["reject_reason"] is None) == (stored.status == "accepted")
    if stored.status == "accepted":
        assert 0 <= value < 10**6 and row["value"] == value
    elif value.is_finite() and abs(value.adjusted()) < 1000:
        assert row["value"] == value  # kept as given, never rounded or clamped
