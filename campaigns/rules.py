"""The contact rules: may this attempt's phone be dialled now? Checked before every dial.

One query reads everything a decision needs (the consumer's time zone, protection, opt-outs,
the kill switch, the outage, the last month's dials of the consumer or of the number, across
all campaigns), so a
check costs one round trip and runs in the dialler's own transaction: a dial and the rows the
next check counts (``contact_log``) are serialised by that transaction.

The API (campaigns/pacer.py and dialer.py call it)::

    rules = await Rules.build(settings)            # once per application (holiday calendar)
    refusal = await rules.check(conn, attempt, campaign, now)
    refusals = await rules.check_many(conn, attempts, campaign, now)  # one round trip
    verdict = await rules.campaign_verdict(conn, campaign, now)

``attempt``: anything with ``account_id`` and either ``phone`` or ``phones`` + ``phone_index``
(attributes or mapping keys: an asyncpg Record of ``campaign_attempts`` works). ``campaign``:
``campaigns.models.StoredCampaign``. ``now``: an aware datetime.

What a refusal asks of the dialler:
- ``final``: this attempt can never be dialled: mark it ``skipped`` with ``skip_reason=reason``.
- ``phone_only``: only this phone is refused (it opted out): try the next phone; none left:
  skipped ``opted_out``.
- otherwise wait: back to ``queued``/``retry_wait`` with ``next_at = retry_at`` (None: no time
  is known, e.g. the kill switch or a paused campaign; leave it queued).
- ``campaign_action`` ("pause" | "stop" | "expire"): the whole campaign must change state
  (``store.set_state``), not only this attempt.

The kill switch lives in PostgreSQL (``campaign_kill_switch``), not Redis: it is read in the
same transaction as the dial (no dial can slip past an engaged switch), survives a Redis flush
or failover (a lost Redis key would silently re-enable dialling), and it records who set it.
``CampaignSettings.kill_switch`` is the deployment-wide static one.
"""
from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import asyncpg
from dateutil.relativedelta import relativedelta

from campaigns.localtime import Calendar, zone
from campaigns.models import StoredCampaign
from campaigns.settings import CampaignSettings

Reason = Literal["outside_hours", "daily_cap", "weekly_cap", "monthly_cap", "min_gap",
                 "opted_out", "protected", "kill_switch", "message_expired", "no_phone"]
CampaignAction = Literal["pause", "stop", "expire"]
FINAL_REASONS = frozenset({"opted_out", "protected", "no_phone", "message_expired"})


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: Reason
    retry_at: datetime | None = None
    final: bool = False
    phone_only: bool = False
    campaign_action: CampaignAction | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CampaignVerdict:
    """What must happen to a whole campaign now (``campaign_verdict``)."""
    action: CampaignAction
    reason: str  # outage_closed | end_passed | date_passed | window_end | kill_switch


SQL_FACTS = """
SELECT a.timezone, a.consumer_id,
       EXISTS (SELECT 1 FROM accounts b JOIN account_protection p ON p.account_id = b.id
               WHERE b.consumer_id = a.consumer_id) AS protected,
       EXISTS (SELECT 1 FROM opt_outs o WHERE o.consumer_id = a.consumer_id
               AND o.scope IN ('all', $2)) AS consumer_opted_out,
       EXISTS (SELECT 1 FROM opt_outs o WHERE o.phone = $3
               AND o.scope IN ('all', $2)) AS phone_opted_out,
       (SELECT engaged FROM campaign_kill_switch WHERE id) AS killed,
       (SELECT o.restored_at IS NOT NULL FROM outages o WHERE o.id = $4) AS outage_closed,
       (SELECT m.run_since FROM campaigns m WHERE m.id = $6) AS run_since,
       d.at, d.result
FROM accounts a
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(c.dialled_at ORDER BY c.dialled_at), '{}') AS at,
           coalesce(array_agg(c.result ORDER BY c.dialled_at), '{}') AS result
    FROM contact_log c
    -- The consumer's dials and any dial of this number (a family or a landlord shares it):
    -- the caps protect whoever answers.
    WHERE (c.consumer_id = a.consumer_id OR c.phone = $3) AND c.dialled_at > $5
) d
WHERE a.id = $1
"""

# The same facts for many (account, phone) pairs; ``ord`` is the pair's 1-based position.
SQL_FACTS_MANY = """
WITH g AS (
    SELECT (SELECT engaged FROM campaign_kill_switch WHERE id) AS killed,
           (SELECT o.restored_at IS NOT NULL FROM outages o WHERE o.id = $4) AS outage_closed,
           (SELECT m.run_since FROM campaigns m WHERE m.id = $6) AS run_since
)
SELECT x.ord, a.timezone, a.consumer_id, g.killed, g.outage_closed, g.run_since,
       EXISTS (SELECT 1 FROM accounts b JOIN account_protection p ON p.account_id = b.id
               WHERE b.consumer_id = a.consumer_id) AS protected,
       EXISTS (SELECT 1 FROM opt_outs o WHERE o.consumer_id = a.consumer_id
               AND o.scope IN ('all', $3)) AS consumer_opted_out,
       EXISTS (SELECT 1 FROM opt_outs o WHERE o.phone = x.phone
               AND o.scope IN ('all', $3)) AS phone_opted_out,
       d.at, d.result
FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS x(account_id, phone, ord)
JOIN accounts a ON a.id = x.account_id
CROSS JOIN g
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(c.dialled_at ORDER BY c.dialled_at), '{}') AS at,
           coalesce(array_agg(c.result ORDER BY c.dialled_at), '{}') AS result
    FROM contact_log c
    WHERE (c.consumer_id = a.consumer_id OR c.phone = x.phone) AND c.dialled_at > $5
) d
"""

SQL_KILL = "SELECT engaged FROM campaign_kill_switch WHERE id"
SQL_RUN_SINCE = "SELECT run_since FROM campaigns WHERE id = $1"
SQL_OUTAGE_CLOSED = "SELECT restored_at IS NOT NULL FROM outages WHERE id = $1"
SQL_REMAINING_ZONES = """
SELECT DISTINCT a.timezone FROM campaign_attempts t JOIN accounts a ON a.id = t.account_id
WHERE t.campaign_id = $1 AND t.state IN ('queued', 'retry_wait')
"""


def _field(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping) or hasattr(obj, "keys"):
        try:
            return obj[name]
        except KeyError:
            return default
    return getattr(obj, name, default)


def attempt_phone(attempt: Any) -> str | None:
    phone = _field(attempt, "phone")
    if phone:
        return phone
    phones = _field(attempt, "phones") or []
    index = _field(attempt, "phone_index", 0) or 0
    return phones[index] if 0 <= index < len(phones) else None


def _midnight(day: date, tz: Any) -> datetime:
    return datetime.combine(day, time(0), tz)


class Rules:
    """The contact rules of one deployment (immutable; build once, share freely)."""

    @classmethod
    async def build(cls, settings: CampaignSettings) -> Rules:
        """Build off the event loop (the holiday calendar reads files)."""
        return await asyncio.get_running_loop().run_in_executor(None, cls, settings)

    def __init__(self, settings: CampaignSettings, calendar: Calendar | None = None) -> None:
        self.settings = settings
        self.calendar = calendar or Calendar(settings)
        self._campaign_zone_default = zone(settings.default_timezone)
        if self._campaign_zone_default is None:
            raise ValueError(f"unknown default_timezone {settings.default_timezone!r}")

    # --- the campaign as a whole -------------------------------------------------------
    def _schedule_refusal(self, campaign: StoredCampaign, now: datetime,
                          run_since: datetime | None) -> Refusal | None:
        sched = campaign.spec.schedule
        if sched.end is not None and now >= sched.end:
            return Refusal("message_expired", final=True, campaign_action="expire",
                           detail="end_passed")
        if sched.start is not None and now < sched.start:
            return Refusal("outside_hours", retry_at=sched.start, detail="before_start")
        tz = zone(sched.timezone) if sched.timezone else self._campaign_zone_default
        if sched.on_window_end == "pause" and run_since is not None:
            # A run lasts until its day's window closes (or the day ends): a person resumes
            # it, never the next morning's clock.
            day = run_since.astimezone(tz).date()
            run_end = (datetime.combine(day, sched.window_end, tz) if sched.window_end
                       else _midnight(day + timedelta(days=1), tz))
            if now >= run_end:
                return Refusal("outside_hours", campaign_action="pause", detail="window_end")
        if sched.window_start is None or sched.window_end is None:
            return None
        local = now.astimezone(tz)
        opening = datetime.combine(local.date(), sched.window_start, tz)
        closing = datetime.combine(local.date(), sched.window_end, tz)
        if local < opening:
            return Refusal("outside_hours", retry_at=opening, detail="campaign_window")
        if local >= closing:
            if sched.on_window_end == "pause":
                return Refusal("outside_hours", campaign_action="pause", detail="window_end")
            tomorrow = datetime.combine(local.date() + timedelta(days=1), sched.window_start, tz)
            return Refusal("outside_hours", retry_at=tomorrow, detail="campaign_window")
        return None

    async def campaign_verdict(
        self, conn: asyncpg.Connection, campaign: StoredCampaign, now: datetime, *,
        resuming: bool = False,
    ) -> CampaignVerdict | None:
        """Must the campaign stop, expire or pause now? (the pacer asks once per tick;
        ``resuming``: judged as a run that starts now, for a person's resume)"""
        _aware(now)
        spec = campaign.spec
        if spec.outage_id is not None and await conn.fetchval(SQL_OUTAGE_CLOSED, spec.outage_id):
            return CampaignVerdict("stop", "outage_closed")
        run_since = now if resuming else await conn.fetchval(SQL_RUN_SINCE, campaign.id)
        refusal = self._schedule_refusal(campaign, now, run_since)
        if refusal is not None and refusal.campaign_action is not None:
            return CampaignVerdict(refusal.campaign_action, refusal.detail)
        if spec.valid_until is not None:
            zones = [r[0] for r in await conn.fetch(SQL_REMAINING_ZONES, campaign.id)]
            if zones and all(
                (tz := zone(name)) is None or now.astimezone(tz).date() > spec.valid_until
                for name in zones
            ):
                return CampaignVerdict("expire", "date_passed")
        return None

    async def kill_switch_engaged(self, conn: asyncpg.Connection) -> bool:
        return self.settings.kill_switch or bool(await conn.fetchval(SQL_KILL))

    # --- one dial ----------------------------------------------------------------------
    async def check(
        self, conn: asyncpg.Connection, attempt: Any, campaign: StoredCampaign, now: datetime,
    ) -> Refusal | None:
        _aware(now)
        s = self.settings
        spec = campaign.spec
        if s.kill_switch:
            return Refusal("kill_switch", detail="settings")
        phone = attempt_phone(attempt)
        account_id = _field(attempt, "account_id")
        # A month back and two days of slack covers every cap window in any time zone.
        since = now - timedelta(days=33)
        row = await conn.fetchrow(SQL_FACTS, account_id, spec.type, phone, spec.outage_id,
                                  since, campaign.id)
        if row is None:
            return Refusal("no_phone", final=True, detail="account_gone")
        return self._decide(row, phone, campaign, now, list(row["at"]), list(row["result"]))

    async def check_many(
        self, conn: asyncpg.Connection, attempts: list[Any], campaign: StoredCampaign,
        now: datetime,
    ) -> list[Refusal | None]:
        """``check`` for many attempts in one round trip, decided in order as if each allowed
        one were dialled at ``now`` before the next is checked (two attempts of one consumer,
        or of one number, in a batch: the second meets the caps). The caller writes the
        allowed ones' ``contact_log`` rows in the same transaction."""
        _aware(now)
        if self.settings.kill_switch:
            return [Refusal("kill_switch", detail="settings") for _ in attempts]
        spec = campaign.spec
        phones = [attempt_phone(a) for a in attempts]
        rows = await conn.fetch(SQL_FACTS_MANY, [_field(a, "account_id") for a in attempts],
                                phones, spec.type, spec.outage_id, now - timedelta(days=33),
                                campaign.id)
        by_ord = {r["ord"]: r for r in rows}
        # Dials allowed earlier in this batch, by consumer and by number.
        dialled: dict[tuple[str, Any], list[int]] = {}
        results: list[Refusal | None] = []
        for index, phone in enumerate(phones):
            row = by_ord.get(index + 1)
            if row is None:
                results.append(Refusal("no_phone", final=True, detail="account_gone"))
                continue
            earlier = set(dialled.get(("consumer", row["consumer_id"]), ()))
            earlier.update(dialled.get(("phone", phone), ()))
            ats = list(row["at"]) + [now] * len(earlier)
            res = list(row["result"]) + [None] * len(earlier)
            refusal = self._decide(row, phone, campaign, now, ats, res)
            results.append(refusal)
            if refusal is None:
                dialled.setdefault(("consumer", row["consumer_id"]), []).append(index)
                dialled.setdefault(("phone", phone), []).append(index)
        return results

    def _decide(self, row: Any, phone: str | None, campaign: StoredCampaign, now: datetime,
                ats: list[datetime], results: list[str | None]) -> Refusal | None:
        s = self.settings
        spec = campaign.spec
        if row["killed"]:
            return Refusal("kill_switch", detail="runtime")
        if row["outage_closed"]:
            return Refusal("message_expired", final=True, campaign_action="stop",
                           detail="outage_closed")
        refusal = self._schedule_refusal(campaign, now, row["run_since"])
        if refusal is not None:
            return refusal
        if not phone:
            return Refusal("no_phone", final=True)
        if row["protected"]:
            return Refusal("protected", final=True)
        if row["consumer_opted_out"]:
            return Refusal("opted_out", final=True)
        if row["phone_opted_out"]:
            return Refusal("opted_out", final=True, phone_only=True)
        tz = zone(row["timezone"])
        if tz is None:
            # Never guess a consumer's local time: a wrong guess calls someone at night.
            return Refusal("outside_hours", detail="unknown_timezone")
        local = now.astimezone(tz)
        if spec.valid_until is not None and local.date() > spec.valid_until:
            return Refusal("message_expired", final=True, detail="date_passed")
        start, end = self.calendar.window(local.date(), spec.type)
        if not start <= local.time() < end:
            opening = self.calendar.next_opening(local, spec.type)
            return Refusal("outside_hours", retry_at=opening)
        if spec.type == "outage_alert" and not s.outage_alerts_obey_caps:
            return None
        return self._caps(ats, results, local)

    def _caps(self, ats: list[datetime], results: list[str | None],
              local: datetime) -> Refusal | None:
        s = self.settings
        tz = local.tzinfo
        counted = [at.astimezone(tz).date() for at, res in zip(ats, results)
                   if res is None or res in s.cap_counts_results]
        today = local.date()
        for reason, cap in (("daily_cap", s.daily_cap), ("weekly_cap", s.weekly_cap),
                            ("monthly_cap", s.monthly_cap)):
            if self._count(counted, reason, today) >= cap:
                return Refusal(reason, retry_at=self._cap_lifts(counted, today, tz))
        gap = timedelta(minutes=s.min_gap_minutes)
        reaching = [at for at, res in zip(ats, results)
                    if res is None or res not in s.gap_ignores_results]
        if gap and reaching:
            last = max(reaching)
            if local - last < gap:
                return Refusal("min_gap", retry_at=(last + gap).astimezone(tz))
        return None

    def _window_start(self, reason: str, day: date) -> date:
        if reason == "daily_cap":
            return day
        calendar = self.settings.cap_window == "calendar"
        if reason == "weekly_cap":
            return day - timedelta(days=day.weekday() if calendar else 6)
        return day.replace(day=1) if calendar else day - relativedelta(months=1) + timedelta(1)

    def _count(self, counted: list[date], reason: str, day: date) -> int:
        first = self._window_start(reason, day)
        return sum(1 for d in counted if first <= d <= day)

    def _cap_lifts(self, counted: list[date], today: date, tz: Any) -> datetime | None:
        """Local midnight of the first day on which every cap has room again."""
        s = self.settings
        caps = (("daily_cap", s.daily_cap), ("weekly_cap", s.weekly_cap),
                ("monthly_cap", s.monthly_cap))
        for ahead in range(1, 40):
            day = today + timedelta(days=ahead)
            if all(self._count(counted, reason, day) < cap for reason, cap in caps):
                return _midnight(day, tz)
        return None  # a cap of 0: never


def _aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")


async def check(conn: asyncpg.Connection, attempt: Any, campaign: StoredCampaign,
                now: datetime, *, rules: Rules | None = None) -> Refusal | None:
    """``Rules.check`` with the given rules (build one per application and pass it: without
    one, default rules are built per call, off the loop, holiday calendar included)."""
    rules = rules or await Rules.build(CampaignSettings())
    return await rules.check(conn, attempt, campaign, now)
