"""The attempt table's lifecycle as the dialler drives it (migration 0009, ``campaign_attempts``).

    queued --claim--> dialing --answered--> answered --report--> done (final outcome)
                         \\--dial result----------------------> retry_wait (next_at) | queued on
                                                                 the next phone | done
Every change is one transaction that carries its timestamps. ``claim`` moves due attempts to
``dialing`` (``tries``+1, ``action_id``, ``dialled_at``, a ``contact_log`` row) after the contact
rules passed in that same transaction, and it is committed BEFORE the Originate leaves: a crash
after it leaves a row in ``dialing`` that ``reconcile.py`` settles with what the PBX says, and a
try is never originated twice (its ActionID names attempt and try). ``finish`` records a try's
outcome once: a second report of the same try (a duplicate event, a reconciliation racing the
live event) changes nothing.

Retries (the campaign's ``RetryRules``): a result is retried on the same phone after its delay
while that phone has had fewer than ``max_retries`` + 1 dials ending so; then the next phone is
tried (fallback), and with none left the attempt is done with that outcome. ``max_dials`` caps
the dials of an attempt over all phones. A retry is a new claim, so the rules hold for it too.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from campaigns import history
from campaigns import outcomes as oc
from campaigns.models import Campaign, StoredCampaign
from campaigns.rules import Refusal, Rules

INFLIGHT = ("dialing", "answered")

SQL_WAKE = """
UPDATE campaign_attempts SET state = 'queued', updated_at = $2
WHERE campaign_id = $1 AND state = 'retry_wait' AND next_at <= $2
"""
# FOR SHARE of the campaign row: a pause or stop (an UPDATE of that row) waits for a claim in
# progress, and no claim after it sees the campaign running.
SQL_RUNNING = "SELECT state FROM campaigns WHERE id = $1 FOR SHARE"
SQL_DUE = """
SELECT id, campaign_id, account_id, consumer_id, phones, phone_index, tries, params
FROM campaign_attempts
WHERE campaign_id = $1 AND state = 'queued' AND (next_at IS NULL OR next_at <= $2)
ORDER BY next_at NULLS FIRST, id
LIMIT $3
FOR UPDATE SKIP LOCKED
"""
SQL_CONSUMER_LOCKS = """
SELECT pg_advisory_xact_lock(4242, (c % 2147483647)::int)
FROM (SELECT DISTINCT c FROM unnest($1::bigint[]) AS c ORDER BY c) AS s
"""
SQL_DIAL = """
UPDATE campaign_attempts AS t
SET state = 'dialing', tries = t.tries + 1, action_id = d.action_id, dialled_at = $2,
    answered_at = NULL, next_at = NULL, updated_at = $2
FROM unnest($1::bigint[], $3::text[]) AS d(id, action_id)
WHERE t.id = d.id
"""
SQL_LOG = """
INSERT INTO contact_log (account_id, consumer_id, phone, campaign_id, attempt_id, dialled_at)
SELECT a, c, p, $4, i, $6
FROM unnest($1::bigint[], $2::bigint[], $3::text[], $5::bigint[]) AS d(a, c, p, i)
"""
SQL_SKIP = """
UPDATE campaign_attempts SET state = 'skipped', skip_reason = $2, finished_at = $3,
    updated_at = $3
WHERE id = $1
"""
SQL_NEXT_PHONE = """
UPDATE campaign_attempts SET phone_index = phone_index + 1, next_at = $2, updated_at = $2
WHERE id = $1
"""
SQL_WAIT = "UPDATE campaign_attempts SET next_at = $2, updated_at = $3 WHERE id = $1"
SQL_CAMPAIGN = """
SELECT id, state, spec, state_reason, created_by, created_at, started_at, finished_at,
       cloned_from
FROM campaigns WHERE id = $1
"""
# The attempt, locked, with the results of the earlier dials of its current phone (not this
# try's own contact_log row, the attempt's latest): one round trip.
SQL_LOCK_TRY = """
SELECT t.id, t.campaign_id, t.account_id, t.consumer_id, t.phones, t.phone_index, t.tries,
       t.state, t.dialled_at, t.answered_at,
       (SELECT coalesce(array_agg(c.result), '{}') FROM contact_log c
        WHERE c.attempt_id = t.id AND c.phone = t.phones[t.phone_index + 1]
          AND c.result IS NOT NULL
          AND c.id < (SELECT max(id) FROM contact_log WHERE attempt_id = t.id)) AS earlier
FROM campaign_attempts t WHERE t.id = $1 FOR UPDATE OF t
"""
# One statement (atomic by itself): the attempt answered, and its dial's contact_log result.
SQL_ANSWERED = """
WITH a AS (
    UPDATE campaign_attempts SET state = 'answered', answered_at = $3, updated_at = $3
    WHERE id = $1 AND tries = $2 AND state = 'dialing'
    RETURNING id
), l AS (
    UPDATE contact_log SET result = 'answered'
    WHERE id = (SELECT max(id) FROM contact_log WHERE attempt_id = $1) AND EXISTS (SELECT 1 FROM a)
)
SELECT count(*) FROM a
"""
SQL_LOG_RESULT = """
UPDATE contact_log SET result = $2
WHERE id = (SELECT max(id) FROM contact_log WHERE attempt_id = $1)
"""
_LOG = """
WITH l AS (
    UPDATE contact_log SET result = $7
    WHERE id = (SELECT max(id) FROM contact_log WHERE attempt_id = $1)
)
"""
SQL_DONE = _LOG + """
UPDATE campaign_attempts
SET state = 'done', outcome = $2, last_result = $7, key_pressed = $3, finished_at = $4,
    answered_at = coalesce(answered_at, $5), updated_at = $4, next_at = $6
WHERE id = $1
"""
SQL_RETRY = _LOG + """
UPDATE campaign_attempts
SET state = $2, last_result = $7, key_pressed = $3, updated_at = $4, phone_index = $5,
    next_at = $6
WHERE id = $1
"""
SQL_UNDO = """
WITH gone AS (
    DELETE FROM contact_log WHERE id = (SELECT max(id) FROM contact_log WHERE attempt_id = $1)
)
UPDATE campaign_attempts SET state = 'queued', tries = tries - 1, action_id = NULL,
    dialled_at = NULL, updated_at = $3
WHERE id = $1 AND tries = $2 AND state = 'dialing'
"""


@dataclass(frozen=True, slots=True)
class Claimed:
    """One try about to be originated."""
    attempt_id: int
    campaign_id: int
    try_no: int
    phone: str
    action_id: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ClaimResult:
    claimed: list[Claimed]
    refused: dict[str, int]  # reason -> attempts refused in this claim
    campaign_action: Refusal | None = None  # the whole campaign must pause / stop / expire
    halted: bool = False  # kill switch, campaign not running: nothing more this round
    due: int = 0  # attempts that were due (claimed, refused or left for the next claim)


def stored_campaign(row: asyncpg.Record) -> StoredCampaign:
    spec = row["spec"]
    if isinstance(spec, str):
        spec = json.loads(spec)
    return StoredCampaign(id=row["id"], state=row["state"], spec=Campaign.model_validate(spec),
                          state_reason=row["state_reason"], created_by=row["created_by"],
                          created_at=row["created_at"], started_at=row["started_at"],
                          finished_at=row["finished_at"], cloned_from=row["cloned_from"])


async def load_campaign(conn: asyncpg.Connection, campaign_id: int) -> StoredCampaign | None:
    row = await conn.fetchrow(SQL_CAMPAIGN, campaign_id)
    return stored_campaign(row) if row is not None else None


async def claim(pool: asyncpg.Pool, rules: Rules, campaign: StoredCampaign, limit: int,
                now: datetime) -> ClaimResult:
    """Due attempts of one campaign, at most ``limit``, that the rules let be dialled now:
    moved to ``dialing`` in ONE transaction with their ``contact_log`` rows."""
    claimed: list[Claimed] = []
    refused: dict[str, int] = {}
    action: Refusal | None = None
    halted = False
    async with pool.acquire() as conn, conn.transaction():
        if await conn.fetchval(SQL_RUNNING, campaign.id) != "running":
            return ClaimResult([], {}, None, True)
        await conn.execute(SQL_WAKE, campaign.id, now)
        rows = await conn.fetch(SQL_DUE, campaign.id, now, limit)
        if rows:
            # Claims run side by side: one consumer's dials are checked one claim at a time
            # (the second sees the first's contact_log row once it commits).
            await conn.execute(SQL_CONSUMER_LOCKS, [r["consumer_id"] for r in rows])
        logged: list[asyncpg.Record] = []
        # The rules of every due attempt in one round trip, each decided as if the allowed ones
        # before it were dialled (two accounts of one consumer: the second meets the caps).
        refusals = await rules.check_many(conn, rows, campaign, now) if rows else []
        for row, refusal in zip(rows, refusals):
            if refusal is None:
                try_no = row["tries"] + 1
                params = row["params"] if isinstance(row["params"], dict) else json.loads(
                    row["params"] or "{}")
                claimed.append(Claimed(row["id"], campaign.id, try_no,
                                       row["phones"][row["phone_index"]],
                                       oc.action_id(row["id"], try_no), params))
                logged.append(row)
                continue
            refused[refusal.reason] = refused.get(refusal.reason, 0) + 1
            if refusal.campaign_action is not None:
                action, halted = refusal, True
                claimed, logged = [], []  # the campaign changes state: nothing dialled now
                break
            if refusal.reason == "kill_switch":
                halted = True
                claimed, logged = [], []
                break
            await _refused(conn, row, refusal, now)
        if claimed:
            await conn.execute(SQL_LOG, [r["account_id"] for r in logged],
                               [r["consumer_id"] for r in logged], [c.phone for c in claimed],
                               campaign.id, [c.attempt_id for c in claimed], now)
            await conn.execute(SQL_DIAL, [c.attempt_id for c in claimed], now,
                               [c.action_id for c in claimed])
    return ClaimResult(claimed, refused, action, halted, due=len(rows))


async def _refused(conn: asyncpg.Connection, row: asyncpg.Record, refusal: Refusal,
                   now: datetime) -> None:
    if refusal.phone_only and row["phone_index"] + 1 < len(row["phones"]):
        await conn.execute(SQL_NEXT_PHONE, row["id"], now)
    elif refusal.final:
        await conn.execute(SQL_SKIP, row["id"], refusal.reason, now)
    else:
        # Wait until the rule lifts; with no known time, an hour (re-checked then).
        await conn.execute(SQL_WAIT, row["id"], refusal.retry_at or now + timedelta(hours=1),
                           now)


async def undo_claim(pool: asyncpg.Pool, claimed: Claimed, now: datetime) -> bool:
    """The Originate never left (no AMI link): back to queued as if never claimed."""
    async with pool.acquire() as conn, conn.transaction():
        result = await conn.execute(SQL_UNDO, claimed.attempt_id, claimed.try_no, now)
    return result.endswith(" 1")


SQL_REQUEUE = """
UPDATE campaign_attempts SET state = 'queued', last_result = 'failed', next_at = $3,
    updated_at = $3
WHERE id = $1 AND tries = $2 AND state = 'dialing'
RETURNING id
"""


async def requeue_untraced(conn: asyncpg.Connection, attempt_id: int, try_no: int,
                           at: datetime) -> bool:
    """A try the PBX has no trace of (no channel, no AstDB entry: its Originate never left, or
    never made a channel): nobody was reached, so the attempt is due again at once as a NEW
    try (this one stays in contact_log as ``failed``, which neither caps nor the gap count)."""
    async with conn.transaction():
        done = await conn.fetchval(SQL_REQUEUE, attempt_id, try_no, at)
        if done is not None:
            await conn.execute(SQL_LOG_RESULT, attempt_id, "failed")
    return done is not None


async def mark_answered(conn: asyncpg.Connection, attempt_id: int, try_no: int,
                        at: datetime) -> bool:
    """The try was answered (one statement, so one transaction)."""
    return bool(await conn.fetchval(SQL_ANSWERED, attempt_id, try_no, at))


@dataclass(frozen=True, slots=True)
class Finished:
    attempt_id: int
    campaign_id: int
    outcome: str
    state: str  # done | retry_wait | queued (next phone)
    final: bool


async def finish(conn: asyncpg.Connection, attempt_id: int, try_no: int | None,
                 result: str | oc.Report, at: datetime, campaigns: CampaignLookup, *,
                 on_final=None) -> Finished | None:
    """Record one try's outcome (one transaction): a dial result, or the listener's report
    (its outcome read with the campaign's keys). None: nothing changed (an unknown attempt, an
    older try, or this try already recorded)."""
    if isinstance(result, str) and result not in oc.OUTCOMES:
        raise ValueError(f"unknown outcome {result!r}")
    async with conn.transaction():
        row = await conn.fetchrow(SQL_LOCK_TRY, attempt_id)
        if row is None or row["state"] not in INFLIGHT:
            return None
        if try_no is not None and row["tries"] != try_no:
            return None
        campaign = await campaigns.get(conn, row["campaign_id"])
        if isinstance(result, oc.Report):
            key = result.key
            outcome = result.outcome(campaigns.keys_of(row["campaign_id"]))
        else:
            key, outcome = "", result
        answered = outcome not in (oc.BUSY, oc.NO_ANSWER, oc.CONGESTION, oc.FAILED)
        log_result = (oc.MACHINE if outcome == oc.MACHINE else "answered") if answered else outcome
        state, next_at, index = _after(row, outcome, log_result, at,
                                       campaign.spec if campaign else None)
        if state == "done":
            await conn.execute(SQL_DONE, attempt_id, outcome, key or None, at,
                               at if answered else None, None, log_result)
        else:
            await conn.execute(SQL_RETRY, attempt_id, state, key or None, at, index, next_at,
                               log_result)
        if state == "done" and outcome in oc.FINAL and campaign is not None:
            # history write-back (and the opt-out list)
            await history.record_outcome(
                conn, attempt_id=attempt_id, account_id=row["account_id"],
                phone=row["phones"][row["phone_index"]], campaign_id=campaign.id,
                campaign_name=campaign.spec.name, campaign_type=campaign.spec.type,
                outcome=outcome, started_at=row["dialled_at"] or at,
                answered_at=row["answered_at"] or (at if answered else None), ended_at=at,
                queue=campaign.spec.pacing.target_queue, key=key or None)
        if state == "done" and on_final is not None:
            await on_final(conn, row, outcome, at)
        return Finished(attempt_id, row["campaign_id"], outcome, state, state == "done")


def _after(row: asyncpg.Record, outcome: str, log_result: str, at: datetime,
           spec: Campaign | None) -> tuple[str, datetime | None, int]:
    """(state, next_at, phone_index) after a try that ended with ``outcome``."""
    if outcome in oc.FINAL or spec is None:
        return "done", None, row["phone_index"]
    rules = spec.retries
    rule = getattr(rules, outcome)
    if row["tries"] >= rules.max_dials:
        return "done", None, row["phone_index"]
    ended_so = 1 + sum(1 for r in row["earlier"] if r == log_result)
    if ended_so <= rule.max_retries:
        return "retry_wait", at + timedelta(minutes=rule.delay_minutes), row["phone_index"]
    if row["phone_index"] + 1 < len(row["phones"]):
        return "queued", at, row["phone_index"] + 1
    return "done", None, row["phone_index"]


class CampaignLookup:
    """Campaign specs by id (they do not change while a campaign runs); loaded on first use."""

    def __init__(self) -> None:
        self._by_id: dict[int, StoredCampaign] = {}

    def put(self, campaign: StoredCampaign) -> None:
        self._by_id[campaign.id] = campaign

    async def get(self, conn: asyncpg.Connection, campaign_id: int) -> StoredCampaign | None:
        found = self._by_id.get(campaign_id)
        if found is None:
            found = await load_campaign(conn, campaign_id)
            if found is not None:
                self._by_id[campaign_id] = found
        return found

    def keys_of(self, campaign_id: int) -> oc.Keys:
        campaign = self._by_id.get(campaign_id)
        if campaign is None:
            return oc.Keys()
        o = campaign.spec.options
        return oc.Keys(o.confirm_key, o.operator_key, o.opt_out_key)
