"""Target selection: the accounts a ``TargetFilter`` picks, as parameterised SQL.

Every value is a bind parameter; only fixed SQL fragments chosen by which conditions are set are
joined into the text. Debt conditions drive the query from ``balances`` (a debtor selection out
of millions of accounts reads the debtors, not every account).

The preview counts the matched accounts and how many the contact rules would skip, each under
its first reason in this order: ``no_phone``, ``opted_out``, ``protected``, ``over_limits``
(a cap or the minimum gap, as of now), ``outside_hours`` (the consumer's calling window is closed
right now); plus counts by city and by months overdue and a sample.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from campaigns.localtime import Calendar, zone, zone_names
from campaigns.models import Campaign, TargetFilter
from campaigns.settings import CampaignSettings

# The planner's estimates for these joins run to millions of rows, and JIT then spends seconds
# compiling a query that runs in a fraction of that: off for the selection's queries.
NO_JIT = "SET LOCAL jit = off"

SKIP_REASONS = ("no_phone", "opted_out", "protected", "over_limits", "outside_hours")
OVERDUE_BUCKETS = ("0", "1", "2", "3-5", "6-11", "12+")


class _Params:
    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


@dataclass
class Query:
    """``SELECT <columns> FROM <source> WHERE <conditions>`` of one filter."""
    params: _Params
    source: str
    conditions: list[str] = field(default_factory=list)

    def where(self) -> str:
        return " AND ".join(self.conditions) if self.conditions else "true"


def build(target: TargetFilter, *, relax_has_phone: bool = False) -> Query:
    """The filter as SQL over ``accounts a`` joined to ``d`` (debt, months overdue).

    ``relax_has_phone``: keep accounts without a phone (the preview counts them as skipped)."""
    p = _Params()
    t = target
    if t.min_debt is not None or t.min_months_overdue is not None:
        inner = ["true"]
        if t.service is not None:
            inner.append(f"b.service = {p(t.service)}")
        if t.min_debt is not None and t.min_debt > 0:
            inner.append("b.debt > 0")  # the partial index of debtors
        having = []
        if t.min_debt is not None:
            having.append(f"sum(b.debt) >= {p(t.min_debt)}")
        if t.min_months_overdue is not None:
            having.append(f"max(b.months_overdue) >= {p(t.min_months_overdue)}")
        source = (
            "(SELECT b.account_id, sum(b.debt) AS debt, max(b.months_overdue) AS months "
            f"FROM balances b WHERE {' AND '.join(inner)} GROUP BY b.account_id "
            f"HAVING {' AND '.join(having)}) d JOIN accounts a ON a.id = d.account_id")
    else:
        service = f" AND b.service = {p(t.service)}" if t.service is not None else ""
        source = (
            "accounts a CROSS JOIN LATERAL (SELECT coalesce(sum(b.debt), 0) AS debt, "
            "coalesce(max(b.months_overdue), 0) AS months FROM balances b "
            f"WHERE b.account_id = a.id{service}) d")
    q = Query(p, source)
    c = q.conditions
    if t.city is not None:
        c.append(f"a.city = ANY({p(t.city)}::text[])")
    if t.street is not None:
        c.append(f"a.street = ANY({p(t.street)}::text[])")
    if t.house is not None:
        c.append(f"a.house = ANY({p(t.house)}::text[])")
    # Only numeric apartments compare; the CASE keeps the cast from seeing "12а".
    apartment = "(CASE WHEN a.apartment ~ '^[0-9]{1,9}$' THEN a.apartment::bigint END)"
    if t.apartment_from is not None:
        c.append(f"{apartment} >= {p(t.apartment_from)}")
    if t.apartment_to is not None:
        c.append(f"{apartment} <= {p(t.apartment_to)}")
    has_phone = "EXISTS (SELECT 1 FROM account_phones ap WHERE ap.account_id = a.id)"
    if t.has_phone is True and not relax_has_phone:
        c.append(has_phone)
    elif t.has_phone is False:
        c.append(f"NOT {has_phone}")
    if t.account_status is not None:
        c.append(f"a.status = ANY({p(t.account_status)}::text[])")
    if t.service is not None:
        status = (f" AND s.status = ANY({p(t.service_status)}::text[])"
                  if t.service_status is not None else "")
        c.append("EXISTS (SELECT 1 FROM account_services s WHERE s.account_id = a.id "
                 f"AND s.service = {p(t.service)}{status})")
    if t.no_payment_since is not None:
        c.append("NOT EXISTS (SELECT 1 FROM payments y WHERE y.account_id = a.id "
                 f"AND y.paid_on >= {p(t.no_payment_since)})")
    if t.outage_id is not None:
        # A null house in outage_addresses means the whole street.
        c.append("EXISTS (SELECT 1 FROM outage_addresses oa "
                 f"WHERE oa.outage_id = {p(t.outage_id)} AND oa.city = a.city "
                 "AND oa.street = a.street AND (oa.house IS NULL OR oa.house = a.house))")
    if t.from_campaign is not None:
        outcomes = (f" AND t.outcome = ANY({p(t.from_outcomes)}::text[])"
                    if t.from_outcomes is not None else "")
        c.append("EXISTS (SELECT 1 FROM campaign_attempts t WHERE t.account_id = a.id "
                 f"AND t.campaign_id = {p(t.from_campaign)}{outcomes})")
    return q


async def count(conn: asyncpg.Connection, target: TargetFilter, *,
                relax_has_phone: bool = False) -> int:
    """How many accounts the filter picks; ``relax_has_phone`` as in ``build`` (the preview's
    and the start's rule: ``matched`` counts accounts without a phone, then skips them)."""
    q = build(target, relax_has_phone=relax_has_phone)
    async with conn.transaction(readonly=True):
        await conn.execute(NO_JIT)
        return await conn.fetchval(f"SELECT count(*) FROM {q.source} WHERE {q.where()}",
                                   *q.params.values)


async def account_ids(conn: asyncpg.Connection, target: TargetFilter) -> list[int]:
    """The ids of the matched accounts, in id order."""
    q = build(target)
    async with conn.transaction():
        await conn.execute(NO_JIT)
        rows = await conn.fetch(f"SELECT a.id FROM {q.source} WHERE {q.where()} ORDER BY a.id",
                                *q.params.values)
    return [r[0] for r in rows]


# --- the targets with their numbers and skip reasons (preview and start) -------------------
def targets_cte(q: Query, campaign_type: str) -> str:
    """CTEs ``m`` (matched accounts), ``ph`` (their numbers: count and the callable ones, best
    first: mobiles, home, work lines, older links first) and ``k`` (``m`` with ``phones``,
    ``callable`` and ``skip``: no_phone, opted_out, protected or null). Set-based: hash joins
    over the selection, not a sub-query per account (a 100,000-account selection)."""
    scope = q.params(campaign_type)
    return f"""
    m AS MATERIALIZED (
        SELECT a.id, a.consumer_id, a.number, a.city, a.street, a.house, a.apartment,
               a.timezone, d.debt, d.months
        FROM {q.source} WHERE {q.where()}
    ),
    ph AS (
        SELECT ap.account_id, count(*) AS phones,
               coalesce(array_agg(p.e164 ORDER BY CASE ap.kind WHEN 'mobile' THEN 0
                                                 WHEN 'home' THEN 1 ELSE 2 END, p.id)
                        FILTER (WHERE o.phone IS NULL), '{{}}') AS callable
        FROM m JOIN account_phones ap ON ap.account_id = m.id
        JOIN phones p ON p.id = ap.phone_id
        LEFT JOIN (SELECT DISTINCT phone FROM opt_outs WHERE phone IS NOT NULL
                   AND scope IN ('all', {scope})) o ON o.phone = p.e164
        GROUP BY ap.account_id
    ),
    k AS (
        SELECT m.*, coalesce(ph.phones, 0) AS phones, coalesce(ph.callable, '{{}}') AS callable,
               CASE WHEN ph.phones IS NULL THEN 'no_phone'
                    WHEN cardinality(ph.callable) = 0 OR oc.consumer_id IS NOT NULL
                        THEN 'opted_out'
                    WHEN pc.consumer_id IS NOT NULL THEN 'protected' END AS skip
        FROM m LEFT JOIN ph ON ph.account_id = m.id
        LEFT JOIN (SELECT DISTINCT consumer_id FROM opt_outs WHERE consumer_id IS NOT NULL
                   AND scope IN ('all', {scope})) oc ON oc.consumer_id = m.consumer_id
        LEFT JOIN (SELECT DISTINCT b.consumer_id FROM account_protection pr
                   JOIN accounts b ON b.id = pr.account_id) pc ON pc.consumer_id = m.consumer_id
    )"""


def _limits_cte(q: Query, spec: Campaign, settings: CampaignSettings, now: datetime) -> str:
    """CTE ``lim``: the accounts of ``m`` over a cap or inside the minimum gap as of ``now``
    (their consumer's dials and any dial of their numbers, in their local days)."""
    p = q.params
    s = settings
    if spec.type == "outage_alert" and not s.outage_alerts_obey_caps:
        return "lim AS (SELECT NULL::bigint AS account_id WHERE false)"
    now_p = p(now)
    since = f"{now_p}::timestamptz - interval '33 days'"
    local_today = f"({now_p}::timestamptz AT TIME ZONE x.timezone)::date"
    local_day = "(x.dialled_at AT TIME ZONE x.timezone)::date"
    if s.cap_window == "calendar":
        week = f"date_trunc('week', {local_today})::date"
        month = f"date_trunc('month', {local_today})::date"
    else:
        week = f"{local_today} - 6"
        month = f"({local_today} - interval '1 month' + interval '1 day')::date"
    counted = f"(x.result IS NULL OR x.result = ANY({p(list(s.cap_counts_results))}::text[]))"
    reaching = (f"(x.result IS NULL OR NOT x.result = "
                f"ANY({p(list(s.gap_ignores_results))}::text[]))")
    return f"""lim AS (
        SELECT x.account_id FROM (
            SELECT m.id AS account_id, m.timezone, c.id, c.dialled_at, c.result
            FROM m JOIN contact_log c ON c.consumer_id = m.consumer_id
            WHERE c.dialled_at > {since}
            UNION
            SELECT m.id, m.timezone, c.id, c.dialled_at, c.result
            FROM m JOIN account_phones ap ON ap.account_id = m.id
            JOIN phones p ON p.id = ap.phone_id JOIN contact_log c ON c.phone = p.e164
            WHERE c.dialled_at > {since}
        ) x
        GROUP BY x.account_id, x.timezone
        HAVING count(*) FILTER (WHERE {counted} AND {local_day} = {local_today})
                   >= {p(s.daily_cap)}
            OR count(*) FILTER (WHERE {counted} AND {local_day} >= {week}) >= {p(s.weekly_cap)}
            OR count(*) FILTER (WHERE {counted} AND {local_day} >= {month})
                   >= {p(s.monthly_cap)}
            OR count(*) FILTER (WHERE {reaching} AND x.dialled_at >
                   {now_p}::timestamptz - {p(s.min_gap_minutes)} * interval '1 minute') > 0
    )"""


def open_zones(calendar: Calendar, campaign_type: str, now: datetime) -> list[str]:
    """Every known zone whose calling window is open at ``now`` (about 600 zones: cheaper
    than asking the accounts table which zones it uses)."""
    result = []
    for name in zone_names():
        local = now.astimezone(zone(name))
        start, end = calendar.window(local.date(), campaign_type)
        if start <= local.time() < end:
            result.append(name)
    return result


@dataclass(frozen=True)
class Preview:
    matched: int
    callable_now: int
    skipped: dict[str, int]
    by_city: list[dict[str, Any]]
    by_overdue: dict[str, int]
    sample: list[dict[str, Any]]


_BUCKET = """CASE WHEN k.months <= 0 THEN '0' WHEN k.months = 1 THEN '1' WHEN k.months = 2
    THEN '2' WHEN k.months < 6 THEN '3-5' WHEN k.months < 12 THEN '6-11' ELSE '12+' END"""


def preview_sql(spec: Campaign, settings: CampaignSettings, calendar: Calendar, now: datetime,
                sample_size: int | None = None) -> tuple[str, list[Any]]:
    """The preview's one query and its parameters."""
    zones = open_zones(calendar, spec.type, now)
    q = build(spec.target, relax_has_phone=True)
    targets = targets_cte(q, spec.type)
    limits = _limits_cte(q, spec, settings, now)
    open_p = q.params(zones)
    limit = q.params(settings.preview_sample_size if sample_size is None else sample_size)
    sql = f"""
    WITH {targets}, {limits},
    t AS MATERIALIZED (
        SELECT k.*, {_BUCKET} AS bucket,
               coalesce(k.skip, CASE WHEN lim.account_id IS NOT NULL THEN 'over_limits'
                                     WHEN NOT k.timezone = ANY({open_p}::text[])
                                         THEN 'outside_hours' END) AS reason
        FROM k LEFT JOIN lim ON lim.account_id = k.id
    )
    SELECT (SELECT coalesce(json_object_agg(reason, n), '{{}}') FROM
              (SELECT reason, count(*) AS n FROM t WHERE reason IS NOT NULL GROUP BY reason) s)
               AS skipped,
           (SELECT coalesce(json_agg(x ORDER BY x.total DESC, x.city), '[]') FROM
              (SELECT city, count(*) AS total, count(*) FILTER (WHERE reason IS NULL)
                      AS callable
               FROM t GROUP BY city) x) AS by_city,
           (SELECT coalesce(json_object_agg(bucket, n), '{{}}') FROM
              (SELECT bucket, count(*) AS n FROM t GROUP BY bucket) b) AS by_overdue,
           (SELECT coalesce(json_agg(x), '[]') FROM
              (SELECT number AS account, city, street, house, apartment, timezone,
                      debt::text AS debt, months AS months_overdue, reason AS skip
               FROM t ORDER BY reason IS NOT NULL, id LIMIT {limit}) x) AS sample,
           (SELECT count(*) FROM t) AS matched
    """
    return sql, q.params.values


async def preview(conn: asyncpg.Connection, spec: Campaign, settings: CampaignSettings,
                  calendar: Calendar, now: datetime, *, sample_size: int | None = None,
                  timeout: float = 120.0) -> Preview:
    """Count, skip breakdown, counts by city and months overdue, and a sample (callable
    accounts first), all as of ``now``."""
    sql, params = preview_sql(spec, settings, calendar, now, sample_size)
    async with conn.transaction(readonly=True):
        await conn.execute(NO_JIT)
        row = await conn.fetchrow(sql, *params, timeout=timeout)
    skipped = {reason: 0 for reason in SKIP_REASONS}
    skipped.update(json_value(row["skipped"]))
    by_overdue = {bucket: 0 for bucket in OVERDUE_BUCKETS}
    by_overdue.update(json_value(row["by_overdue"]))
    matched = row["matched"]
    return Preview(matched=matched, callable_now=matched - sum(skipped.values()),
                   skipped=skipped, by_city=json_value(row["by_city"]), by_overdue=by_overdue,
                   sample=json_value(row["sample"]))


def json_value(value: Any) -> Any:
    # Pools of this project decode json themselves; a bare connection returns text.
    if isinstance(value, str):
        return json.loads(value)
    return value
