"""Meter readings: validation (a pure function) and storage (one transaction per submission).

A reading is accepted only when it is plausible for its meter (README, "Meter readings"):

- a number, not negative, fewer integer digits than the meter's drum (``value < 10**digits``)
  and no more decimals than the meter shows;
- measured from a start: the previous accepted reading of the same meter and zone or, for the
  first one, the installation reading (``meter_act_readings``; a meter installed without one
  recorded started from zero). A meter with neither history nor installation data takes its
  first reading as its start: there is nothing to measure it from;
- not below the start, unless the drum rolled over: the consumption that implies must be less
  than ``rollover_max_share`` of the drum (the shorter way round) and plausible like any other;
- a plausible consumption: at most the meter's average monthly consumption times ``factor``,
  never less than the service's monthly floor (a low or zero average does not block an
  ordinary month), or the service's default cap without usable history; times the months since
  the start. The average comes from the meter's own accepted readings, else from the meter it
  replaced (its readings and removal reading): the premises' consumption is the same;
- consistent with the next later accepted reading, measured the same way;
- for an open billing period (no ``billing_periods`` row, or ``closed_at`` null). A second
  accepted reading for the same meter, zone and period supersedes the first.

Every submitted value is stored, rejected ones with their reason, never dropped or clamped
(the column is unconstrained ``numeric``). ``submit_reading`` locks the meter row
(``SELECT ... FOR UPDATE``) so that concurrent submissions for one meter serialise and the
partial unique index (one accepted reading per meter, zone, period) is never violated.
"""
from __future__ import annotations

import datetime as dt
import decimal
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import asyncpg

from state.settings import ReadingsSettings

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
    NOT_A_NUMBER = "not_a_number"
    TOO_MANY_DIGITS = "too_many_digits"
    TOO_MANY_DECIMALS = "too_many_decimals"
    BELOW_PREVIOUS = "below_previous"
    TOO_HIGH = "too_high"
    CONFLICTS_LATER = "conflicts_later"
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


def _decimals(values: Mapping[str, float]) -> dict[str, Decimal]:
    return {k: Decimal(str(v)) for k, v in values.items()}


def _default(name: str):
    return lambda: _decimals(getattr(ReadingsSettings(), name))


@dataclass(frozen=True)
class ReadingLimits:
    """The plausibility rule's numbers; defaults are those of ``ReadingsSettings``."""

    factor: Decimal = Decimal(str(ReadingsSettings.model_fields["consumption_factor"].default))
    monthly_floors: Mapping[str, Decimal] = field(default_factory=_default("monthly_floors"))
    default_monthly_caps: Mapping[str, Decimal] = field(
        default_factory=_default("default_monthly_caps")
    )
    rollover_max_share: Decimal = Decimal(
        str(ReadingsSettings.model_fields["rollover_max_share"].default)
    )
    history_months: int = ReadingsSettings.model_fields["history_months"].default
    fallback_cap: Decimal = Decimal(3000)  # a service missing from default_monthly_caps

    @classmethod
    def from_settings(cls, settings: ReadingsSettings) -> ReadingLimits:
        return cls(
            factor=Decimal(str(settings.consumption_factor)),
            monthly_floors=_decimals(settings.monthly_floors),
            default_monthly_caps=_decimals(settings.default_monthly_caps),
            rollover_max_share=Decimal(str(settings.rollover_max_share)),
            history_months=settings.history_months,
        )

    def monthly_cap(self, service: str, average: Decimal | None) -> Decimal:
        if average is None:
            return self.default_monthly_caps.get(service, self.fallback_cap)
        return max(average * self.factor, self.monthly_floors.get(service, Decimal(0)))


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
    """Decimal places a meter must show for ``value`` (trailing zeros don't count); exact for
    any length, unlike ``normalize()``, which rounds to the context's 28 digits."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite values only reach here
    significant = "".join(map(str, digits)).rstrip("0")
    if not significant:
        return 0
    return max(0, -(exponent + len(digits) - len(significant)))


def average_monthly(
    history: list[tuple[dt.date, Decimal]], digits: int | None = None
) -> Decimal | None:
    """Mean monthly consumption from accepted readings ``(period, value)`` in period order.

    A step down is a drum rollover when the drum size (``digits``) is known: accepted readings
    were validated, so it cannot be a mistake. None when there is too little history (fewer than
    two readings a month apart), or a step down without ``digits``.
    """
    if len(history) < 2:
        return None
    months = months_between(history[0][0], history[-1][0])
    if months < 1:
        return None
    total = Decimal(0)
    for (_, before), (_, after) in zip(history, history[1:]):
        if after >= before:
            total += after - before
        elif digits is None:
            return None
        else:
            total += after + Decimal(10) ** digits - before
    return total / months


def _step(
    start: tuple[dt.date, Decimal], end: tuple[dt.date, Decimal], meter: MeterSpec,
    monthly_cap: Decimal, limits: ReadingLimits,
) -> Verdict:
    """Is going from ``start`` to ``end`` a plausible consumption, straight or rolled over?"""
    cap = monthly_cap * max(1, months_between(start[0], end[0]))
    if end[1] >= start[1]:
        consumption = end[1] - start[1]
        if consumption > cap:
            return Verdict(RejectReason.TOO_HIGH, consumption)
        return Verdict(None, consumption)
    drum = Decimal(10) ** meter.digits
    rolled = end[1] + drum - start[1]
    # Below the start: a rollover only the shorter way round the drum; the other way it is
    # far likelier a misread or mistyped digit than most of a drum consumed.
    if rolled < drum * limits.rollover_max_share and rolled <= cap:
        return Verdict(None, rolled, rolled_over=True)
    return Verdict(RejectReason.BELOW_PREVIOUS)


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
    following: tuple[dt.date, Decimal] | None = None,
) -> Verdict:
    """Decide whether ``value`` is a plausible reading; pure, no I/O.

    ``previous`` is the start (last accepted reading before ``period``, or the installation
    reading), ``following`` the first accepted reading after ``period``.
    """
    if value.is_nan():
        return Verdict(RejectReason.NOT_A_NUMBER)
    if value < 0:
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
    monthly_cap = limits.monthly_cap(meter.service, average)
    verdict = Verdict(None)
    if previous is not None:
        verdict = _step(previous, (period, value), meter, monthly_cap, limits)
        if not verdict.accepted:
            return verdict
    if following is not None and not _step((period, value), following, meter, monthly_cap,
                                           limits).accepted:
        return Verdict(RejectReason.CONFLICTS_LATER)
    return verdict


@dataclass(frozen=True)
class StoredReading:
    id: int
    status: str
    reason: RejectReason | None
    superseded_id: int | None = None
    consumption: Decimal | None = None


# PostgreSQL's numeric holds up to 131072 integer digits and 16383 decimals.
_PG_MAX_ADJUSTED = 131071
_PG_MAX_SCALE = 16383
_METER_SQL = """
SELECT id, service, digits, decimals, zones, removed_on IS NOT NULL AS removed, installed_on,
       replaces_meter_id
FROM meters WHERE id = $1 FOR UPDATE
"""
_PERIOD_SQL = "SELECT closed_at FROM billing_periods WHERE period = $1 FOR SHARE"
_HISTORY_SQL = """
SELECT period, value FROM readings
WHERE meter_id = $1 AND zone = $2 AND status = 'accepted' AND period < $3
ORDER BY period DESC LIMIT $4
"""
_FOLLOWING_SQL = """
SELECT period, value FROM readings
WHERE meter_id = $1 AND zone = $2 AND status = 'accepted' AND period > $3
ORDER BY period LIMIT 1
"""
# The meter's installation reading of the zone, and the meter it replaced with its removal.
_ACTS_SQL = """
SELECT (SELECT value FROM meter_act_readings
        WHERE meter_id = m.id AND zone = $2 AND act = 'installed') AS installed_value,
       o.id AS old_id, o.digits AS old_digits, o.removed_on AS old_removed_on,
       (SELECT value FROM meter_act_readings
        WHERE meter_id = o.id AND zone = $2 AND act = 'removed') AS old_removed_value
FROM meters m LEFT JOIN meters o ON o.id = m.replaces_meter_id
WHERE m.id = $1
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


def _storable(value: Decimal) -> Decimal:
    """The value as the column keeps it: itself, except beyond what PostgreSQL can hold at all
    (only ever rejected): an infinity of its sign, or rounded to 16383 decimals."""
    if value.is_nan():
        return Decimal("NaN")  # a signalling NaN is still not a number
    if value.is_infinite():
        return value
    if value.is_zero():
        return Decimal(0)  # 0E-20000 is zero too, and has no scale PostgreSQL could keep
    if value.adjusted() > _PG_MAX_ADJUSTED:
        return Decimal("Infinity").copy_sign(value)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > _PG_MAX_SCALE:
        exact = decimal.Context(prec=max(1, value.adjusted() + _PG_MAX_SCALE + 2),
                                Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
        return value.quantize(Decimal(1).scaleb(-_PG_MAX_SCALE), context=exact)
    return value


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
) -> StoredReading:
    """Validate and store one reading in its own transaction, rejected ones too, whatever the
    value (a 10^11 said to the IVR is a rejected reading, not an error)."""
    period = period.replace(day=1)
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await _submit(conn, meter_id, zone, period, value, source, limits,
                                 entered_by, call_id)
    return await _submit(db, meter_id, zone, period, value, source, limits, entered_by, call_id)


def _start(
    installed_on: dt.date | None, acts: asyncpg.Record, period: dt.date
) -> tuple[dt.date, Decimal] | None:
    """Where a meter without earlier accepted readings starts: its installation reading, or
    zero for a meter installed without one recorded. A replacement meter went in when the old
    one came out. None when nothing is known: the first reading becomes the start."""
    since = installed_on or acts["old_removed_on"]
    installed = acts["installed_value"]
    if installed is None and since is None:
        return None
    return (since or period).replace(day=1), installed if installed is not None else Decimal(0)


async def _replaced_average(
    conn: asyncpg.Connection, acts: asyncpg.Record, zone: str, period: dt.date, months: int
) -> Decimal | None:
    """The average monthly consumption of the meter this one replaced, up to its removal."""
    rows = await conn.fetch(_HISTORY_SQL, acts["old_id"], zone, period, months + 1)
    history = [(r["period"], r["value"]) for r in reversed(rows)]
    if acts["old_removed_value"] is not None and acts["old_removed_on"] is not None:
        removed_at = acts["old_removed_on"].replace(day=1)
        if not history or history[-1][0] < removed_at:
            history.append((removed_at, acts["old_removed_value"]))
    return average_monthly(history, acts["old_digits"])


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
        history_rows = await conn.fetch(_HISTORY_SQL, meter_id, zone, period,
                                        limits.history_months + 1)
        history = [(r["period"], r["value"]) for r in reversed(history_rows)]
        following = await conn.fetchrow(_FOLLOWING_SQL, meter_id, zone, period)
        average = average_monthly(history, meter.digits)
        previous = history[-1] if history else None
        if previous is None or (average is None and row["replaces_meter_id"] is not None):
            acts = await conn.fetchrow(_ACTS_SQL, meter_id, zone)
            if previous is None:
                previous = _start(row["installed_on"], acts, period)
            if average is None and acts["old_id"] is not None:
                average = await _replaced_average(conn, acts, zone, period,
                                                  limits.history_months)
        verdict = validate_reading(
            value, meter, zone,
            previous=previous,
            following=(following["period"], following["value"]) if following else None,
            period=period,
            average=average,
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
            _INSERT_SQL, meter_id, zone, period, _storable(value), source, status, reason,
            entered_by, call_id,
        )
    return StoredReading(new_id, status, verdict.reason, superseded_id, verdict.consumption)
