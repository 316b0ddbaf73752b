"""Meter readings: validation (a pure function) and storage (one transaction per submission).

A reading is accepted only when it is plausible for its meter:

- not negative, fewer integer digits than the meter's drum (``value < 10**digits``) and no more
  decimals than the meter shows;
- not below the previous accepted reading of the same meter and zone, unless the drum rolled
  over (``value + 10**digits - previous`` is a plausible consumption). A replacement meter
  (``replaces_meter_id``) starts its own history: the old meter's readings are never compared;
- not above a plausible consumption: the average monthly consumption of this meter and zone
  times ``factor``, or the per-service default cap when there is no usable history, times the
  months since the previous reading;
- for an open billing period (no ``billing_periods`` row, or ``closed_at`` null). A second
  accepted reading for the same meter, zone and period supersedes the first.

Rejected readings are stored with their reason, never dropped. ``submit_reading`` locks the
meter row (``SELECT ... FOR UPDATE``) so that concurrent submissions for one meter serialise and
the partial unique index (one accepted reading per meter, zone, period) is never violated.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal

import asyncpg

__all__ = [
    "RejectReason",
    "MeterSpec",
    "ReadingLimits",
    "Verdict",
    "StoredReading",
    "MeterNotFound",
    "validate_reading",
    "average_monthly",
    "months_between",
    "submit_reading",
]


class RejectReason(enum.StrEnum):
    NEGATIVE = "negative"
    TOO_MANY_DIGITS = "too_many_digits"
    TOO_MANY_DECIMALS = "too_many_decimals"
    BELOW_PREVIOUS = "below_previous"
    TOO_HIGH = "too_high"
    PERIOD_CLOSED = "period_closed"
    UNKNOWN_ZONE = "unknown_zone"
    METER_REMOVED = "meter_removed"


class MeterNotFound(LookupError):
    pass


@dataclass(frozen=True)
class MeterSpec:
    id: int
    service: str
    digits: int
    decimals: int
    zones: tuple[str, ...] = ("total",)
    removed: bool = False


@dataclass(frozen=True)
class ReadingLimits:
    factor: Decimal = Decimal(5)
    default_monthly_caps: dict[str, Decimal] = field(
        default_factory=lambda: {
            "electricity": Decimal(3000),
            "heating": Decimal(10),
            "hot_water": Decimal(30),
            "cold_water": Decimal(50),
        }
    )
    fallback_cap: Decimal = Decimal(3000)

    @classmethod
    def from_settings(cls, factor: float, caps: dict[str, float]) -> ReadingLimits:
        return cls(
            factor=Decimal(str(factor)),
            default_monthly_caps={k: Decimal(str(v)) for k, v in caps.items()},
        )

    def monthly_cap(self, service: str, average: Decimal | None) -> Decimal:
        if average is not None and average > 0:
            return average * self.factor
        return self.default_monthly_caps.get(service, self.fallback_cap)


@dataclass(frozen=True)
class Verdict:
    reason: RejectReason | None
    consumption: Decimal | None = None
    rolled_over: bool = False

    @property
    def accepted(self) -> bool:
        return self.reason is None


def months_between(earlier: dt.date, later: dt.date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def decimals_of(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite values only reach here
    return max(0, -exponent)


def average_monthly(history: list[tuple[dt.date, Decimal]]) -> Decimal | None:
    """Mean monthly consumption from accepted readings ``(period, value)`` in period order.

    None when there is too little history (fewer than two readings a month apart) or it goes
    down (a rollover or a data error: better no estimate than a wrong one).
    """
    if len(history) < 2:
        return None
    (first_period, first_value), (last_period, last_value) = history[0], history[-1]
    months = months_between(first_period, last_period)
    if months < 1 or last_value < first_value:
        return None
    return (last_value - first_value) / months


def validate_reading(
    value: Decimal,
    meter: MeterSpec,
    zone: str,
    *,
    previous: tuple[dt.date, Decimal] | None,
    period: dt.date,
    average: Decimal | None,
    period_open: bool,
    limits: ReadingLimits,
) -> Verdict:
    """Decide whether ``value`` is a plausible reading; pure, no I/O."""
    if not value.is_finite() or value < 0:
        return Verdict(RejectReason.NEGATIVE)
    if zone not in meter.zones:
        return Verdict(RejectReason.UNKNOWN_ZONE)
    if meter.removed:
        return Verdict(RejectReason.METER_REMOVED)
    if value >= Decimal(10) ** meter.digits:
        return Verdict(RejectReason.TOO_MANY_DIGITS)
    if decimals_of(value) > meter.decimals:
        return Verdict(RejectReason.TOO_MANY_DECIMALS)
    if not period_open:
        return Verdict(RejectReason.PERIOD_CLOSED)
    if previous is None:
        return Verdict(None)
    prev_period, prev_value = previous
    months = max(1, months_between(prev_period, period))
    cap = limits.monthly_cap(meter.service, average) * months
    if value >= prev_value:
        consumption = value - prev_value
        if consumption > cap:
            return Verdict(RejectReason.TOO_HIGH, consumption)
        return Verdict(None, consumption)
    rolled = value + Decimal(10) ** meter.digits - prev_value
    if rolled <= cap:
        return Verdict(None, rolled, rolled_over=True)
    return Verdict(RejectReason.BELOW_PREVIOUS)


@dataclass(frozen=True)
class StoredReading:
    id: int
    status: str
    reason: RejectReason | None
    superseded_id: int | None = None
    consumption: Decimal | None = None


_STORABLE = Decimal(10) ** 11  # numeric(14, 3)
_METER_SQL = """
SELECT id, service, digits, decimals, zones, removed_on IS NOT NULL AS removed
FROM meters WHERE id = $1 FOR UPDATE
"""
_PERIOD_SQL = "SELECT closed_at FROM billing_periods WHERE period = $1 FOR SHARE"
_HISTORY_SQL = """
SELECT period, value FROM readings
WHERE meter_id = $1 AND zone = $2 AND status = 'accepted' AND period < $3
ORDER BY period DESC LIMIT $4
"""
_CURRENT_SQL = """
SELECT id FROM readings
WHERE meter_id = $1 AND zone = $2 AND period = $3 AND status = 'accepted'
"""
_INSERT_SQL = """
INSERT INTO readings (meter_id, zone, period, value, source, status, reject_reason, entered_by,
                      call_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id
"""


async def submit_reading(
    db: asyncpg.Pool | asyncpg.Connection,
    *,
    meter_id: int,
    zone: str,
    period: dt.date,
    value: Decimal,
    source: str,
    limits: ReadingLimits,
    entered_by: str | None = None,
    call_id: str | None = None,
    history_months: int = 12,
) -> StoredReading:
    """Validate and store one reading in its own transaction; rejected ones too.

    Raises ``ValueError`` for a value no column can hold (not finite, 11+ integer digits):
    that is not a reading at all, and storing a clamped number would misrepresent it.
    """
    if not value.is_finite() or abs(value) >= _STORABLE:
        raise ValueError("reading value out of storable range")
    period = period.replace(day=1)
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await _submit(conn, meter_id, zone, period, value, source, limits,
                                 entered_by, call_id, history_months)
    return await _submit(db, meter_id, zone, period, value, source, limits, entered_by, call_id,
                         history_months)


async def _submit(
    conn: asyncpg.Connection,
    meter_id: int,
    zone: str,
    period: dt.date,
    value: Decimal,
    source: str,
    limits: ReadingLimits,
    entered_by: str | None,
    call_id: str | None,
    history_months: int,
) -> StoredReading:
    async with conn.transaction():
        row = await conn.fetchrow(_METER_SQL, meter_id)
        if row is None:
            raise MeterNotFound(meter_id)
        meter = MeterSpec(
            id=row["id"], service=row["service"], digits=row["digits"],
            decimals=row["decimals"], zones=tuple(row["zones"]), removed=row["removed"],
        )
        closed_at = await conn.fetchval(_PERIOD_SQL, period)
        history_rows = await conn.fetch(_HISTORY_SQL, meter_id, zone, period, history_months + 1)
        history = [(r["period"], r["value"]) for r in reversed(history_rows)]
        verdict = validate_reading(
            value, meter, zone,
            previous=history[-1] if history else None,
            period=period,
            average=average_monthly(history),
            period_open=closed_at is None,
            limits=limits,
        )
        superseded_id = None
        if verdict.accepted:
            superseded_id = await conn.fetchval(_CURRENT_SQL, meter_id, zone, period)
            if superseded_id is not None:
                await conn.execute(
                    "UPDATE readings SET status = 'superseded' WHERE id = $1", superseded_id
                )
        status = "accepted" if verdict.accepted else "rejected"
        reason = verdict.reason.value if verdict.reason else None
        new_id = await conn.fetchval(
            _INSERT_SQL, meter_id, zone, period, value, source, status, reason,
            entered_by, call_id,
        )
    return StoredReading(new_id, status, verdict.reason, superseded_id, verdict.consumption)
