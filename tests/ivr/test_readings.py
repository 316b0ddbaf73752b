"""Reading validation (pure, property-based) and storage (PostgreSQL, concurrent submissions)."""
from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

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
from tests.ivr.conftest import add_meter, add_reading, seed_account

LIMITS = ReadingLimits()
PERIOD = dt.date(2026, 5, 1)
PREV = dt.date(2026, 4, 1)


def meter(digits: int = 6, decimals: int = 0, service: str = "electricity") -> MeterSpec:
    return MeterSpec(id=1, service=service, digits=digits, decimals=decimals)


def check(value, m=None, previous=None, average=None, open_=True, zone="total"):
    return validate_reading(
        Decimal(value), m or meter(), zone, previous=previous, period=PERIOD, average=average,
        period_open=open_, limits=LIMITS,
    )


@given(
    digits=st.integers(4, 9),
    prev=st.integers(0, 10**9 - 1),
    consumption=st.integers(0, 3000),
)
def test_when_consumption_is_within_cap_then_accepted_even_across_rollover(
    digits, prev, consumption
):
    prev %= 10**digits
    value = (prev + consumption) % 10**digits
    verdict = check(value, meter(digits), previous=(PREV, Decimal(prev)))
    assert verdict.accepted
    assert verdict.consumption == consumption
    assert verdict.rolled_over == (prev + consumption >= 10**digits)


@given(digits=st.integers(4, 9), value=st.integers(0, 10**10))
def test_when_value_has_more_digits_than_the_drum_then_rejected(digits, value):
    verdict = check(value, meter(digits))
    assert verdict.accepted == (value < 10**digits)
    if not verdict.accepted:
        assert verdict.reason is RejectReason.TOO_MANY_DIGITS


@given(decimals=st.integers(0, 3), places=st.integers(0, 5), units=st.integers(1, 9999))
def test_when_value_has_more_decimals_than_the_meter_then_rejected(decimals, places, units):
    value = Decimal(units * 10 + 1).scaleb(-places)  # ends in 1: exactly `places` decimals
    verdict = check(value, meter(6, decimals))
    assert verdict.accepted == (places <= decimals)


@given(prev=st.integers(5000, 999_999), drop=st.integers(1, 4000))
def test_when_value_is_below_previous_without_plausible_rollover_then_rejected(prev, drop):
    # rollover consumption = 10**6 - drop > cap 3000 for every drop here
    verdict = check(prev - drop, meter(6), previous=(PREV, Decimal(prev)))
    assert verdict.reason is RejectReason.BELOW_PREVIOUS


def test_when_consumption_exceeds_history_times_factor_then_too_high():
    # average 100/month → cap 500 for one month
    assert check(1600, previous=(PREV, Decimal(1000)), average=Decimal(100)).accepted is False
    assert check(1500, previous=(PREV, Decimal(1000)), average=Decimal(100)).accepted is True
    assert check(1600, previous=(PREV, Decimal(1000)), average=Decimal(100)).reason is (
        RejectReason.TOO_HIGH
    )


def test_when_months_passed_since_previous_then_cap_scales():
    two_months_ago = (dt.date(2026, 3, 1), Decimal(1000))
    assert check(1900, previous=two_months_ago, average=Decimal(100)).accepted
    assert not check(2100, previous=two_months_ago, average=Decimal(100)).accepted


def test_when_period_closed_or_meter_removed_or_zone_unknown_then_rejected_with_reason():
    assert check(10, open_=False).reason is RejectReason.PERIOD_CLOSED
    removed = MeterSpec(id=1, service="electricity", digits=6, decimals=0, removed=True)
    assert check(10, removed).reason is RejectReason.METER_REMOVED
    assert check(10, zone="night").reason is RejectReason.UNKNOWN_ZONE
    assert check(-1).reason is RejectReason.NEGATIVE


@given(st.lists(st.integers(0, 500), min_size=2, max_size=12))
def test_when_history_grows_then_average_is_total_over_months(steps):
    values, total = [], 0
    for i, step in enumerate(steps):
        total += step
        values.append((dt.date(2025, 1, 1).replace(month=1 + i % 12, year=2025 + i // 12),
                       Decimal(total)))
    average = average_monthly(values)
    months = len(values) - 1
    assert average == (Decimal(total - steps[0]) / months)


async def test_when_second_reading_in_open_period_then_first_is_superseded(ivr_db):
    acc = await seed_account(ivr_db)
    m = await add_meter(ivr_db, acc.account_id)
    await add_reading(ivr_db, m, PREV, "1000")
    first = await submit_reading(ivr_db, meter_id=m, zone="total", period=PERIOD,
                                 value=Decimal(1100), source="ivr", limits=LIMITS)
    second = await submit_reading(ivr_db, meter_id=m, zone="total", period=PERIOD,
                                  value=Decimal(1150), source="agent", limits=LIMITS)
    assert second.superseded_id == first.id
    rows = await ivr_db.fetch(
        "SELECT value, status FROM readings WHERE meter_id = $1 AND period = $2 ORDER BY id",
        m, PERIOD,
    )
    assert [(r["value"], r["status"]) for r in rows] == [
        (Decimal(1100), "superseded"), (Decimal(1150), "accepted"),
    ]


async def test_when_replacement_meter_starts_low_then_old_meter_history_is_not_compared(ivr_db):
    acc = await seed_account(ivr_db)
    old = await add_meter(ivr_db, acc.account_id)
    await add_reading(ivr_db, old, PREV, "98000")
    new = await add_meter(ivr_db, acc.account_id, replaces=old)
    stored = await submit_reading(ivr_db, meter_id=new, zone="total", period=PERIOD,
                                  value=Decimal(12), source="ivr", limits=LIMITS)
    assert stored.status == "accepted"


async def test_when_many_submissions_race_then_exactly_one_accepted_per_period(ivr_db):
    acc = await seed_account(ivr_db)
    m = await add_meter(ivr_db, acc.account_id)
    await add_reading(ivr_db, m, PREV, "1000")
    results = await asyncio.gather(*(
        submit_reading(ivr_db, meter_id=m, zone="total", period=PERIOD,
                       value=Decimal(1000 + i), source="ivr", limits=LIMITS)
        for i in range(1, 9)
    ))
    assert all(r.status == "accepted" for r in results)
    statuses = await ivr_db.fetch(
        "SELECT status, count(*) AS n FROM readings WHERE meter_id = $1 AND period = $2"
        " GROUP BY status ORDER BY status", m, PERIOD,
    )
    assert [(r["status"], r["n"]) for r in statuses] == [("accepted", 1), ("superseded", 7)]


async def test_when_rejected_then_row_is_stored_with_reason(ivr_db):
    acc = await seed_account(ivr_db)
    m = await add_meter(ivr_db, acc.account_id, digits=4)
    stored = await submit_reading(ivr_db, meter_id=m, zone="total", period=PERIOD,
                                  value=Decimal("12345"), source="ivr", limits=LIMITS)
    row = await ivr_db.fetchrow("SELECT status, reject_reason, value FROM readings WHERE id = $1",
                                stored.id)
    assert dict(row) == {"status": "rejected", "reject_reason": "too_many_digits",
                         "value": Decimal("12345")}


async def test_when_value_is_far_beyond_any_drum_then_it_is_stored_rejected_as_given(ivr_db):
    # It used to raise ValueError and store nothing (issue 7): a caller's value is never lost.
    acc = await seed_account(ivr_db)
    m = await add_meter(ivr_db, acc.account_id)
    stored = await submit_reading(ivr_db, meter_id=m, zone="total", period=PERIOD,
                                  value=Decimal("1e20"), source="ivr", limits=LIMITS)
    row = await ivr_db.fetchrow("SELECT status, reject_reason, value FROM readings WHERE id = $1",
                                stored.id)
    assert dict(row) == {"status": "rejected", "reject_reason": "too_many_digits",
                         "value": Decimal("1e20")}


@pytest.mark.parametrize(
    ("keys", "value"),
    [("1250", Decimal("1250")), ("12*25", Decimal("12.25")), ("0*5", Decimal("0.5")),
     ("*", None), ("1*2*3", None), ("", None), ("12#", None)],
)
def test_when_keys_are_turned_into_a_value_then_star_is_the_decimal_point(keys, value):
    from ivr.flows.readings import keyed_value

    assert keyed_value(keys) == value
