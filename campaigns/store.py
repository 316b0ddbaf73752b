"""Campaigns in PostgreSQL: create, read, state changes, freezing targets into attempts, progress
and the results CSV.

States: ``created`` -> ``running`` (start) <-> ``paused``; ``running``/``paused`` -> ``stopped``
(a person), ``finished`` (no attempt left), ``expired`` (its message is no longer valid);
``created`` -> ``stopped`` (cancelled before start). stopped, finished and expired are final.
Every change is one transaction that locks the campaign row first, so two supervisors (or a
supervisor and the pacer) never interleave a start and a stop.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from campaigns import selection
from campaigns.localtime import zone
from campaigns.models import Campaign, StoredCampaign

TRANSITIONS: dict[str, frozenset[str]] = {
    "created": frozenset({"running", "stopped"}),
    "running": frozenset({"paused", "stopped", "finished", "expired"}),
    "paused": frozenset({"running", "stopped", "expired", "finished"}),
    "stopped": frozenset(),
    "finished": frozenset(),
    "expired": frozenset(),
}
ACTIVE_ATTEMPT_STATES = ("queued", "retry_wait", "dialing", "answered")
OUTCOMES = ("confirmed", "operator", "opted_out", "heard", "hung_up", "machine", "busy",
            "no_answer", "congestion", "failed")


class CampaignError(Exception):
    """A request the campaign's state does not allow; ``code`` is the API's error id."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class CampaignNotFound(CampaignError):
    def __init__(self) -> None:
        super().__init__("campaign-not-found", "no such campaign")


CAMPAIGN_COLUMNS = ("id, state, state_reason, spec::text AS spec, created_by, created_at, "
                    "started_at, finished_at, cloned_from, state_since")


def stored_campaign(row: asyncpg.Record) -> StoredCampaign:
    """A ``campaigns`` row (``CAMPAIGN_COLUMNS``) as a StoredCampaign."""
    spec = row["spec"]
    return StoredCampaign(
        id=row["id"], state=row["state"],
        spec=(Campaign.model_validate_json(spec) if isinstance(spec, str)
              else Campaign.model_validate(spec)),
        state_reason=row["state_reason"], created_by=row["created_by"],
        created_at=row["created_at"], started_at=row["started_at"],
        finished_at=row["finished_at"], cloned_from=row["cloned_from"],
        state_since=row["state_since"])


async def create(conn: asyncpg.Connection, spec: Campaign, *, created_by: int | None = None,
                 cloned_from: int | None = None) -> StoredCampaign:
    row = await conn.fetchrow(
        f"""INSERT INTO campaigns (name, type, spec, outage_id, scenario, stage, created_by,
                                   cloned_from)
            VALUES ($1, $2, $3::text::jsonb, $4, $5, $6, $7, $8) RETURNING {CAMPAIGN_COLUMNS}""",
        spec.name, spec.type, spec.model_dump_json(), spec.outage_id, spec.scenario,
        spec.stage, created_by, cloned_from)
    return stored_campaign(row)


async def get(conn: asyncpg.Connection, campaign_id: int, *, lock: bool = False
              ) -> StoredCampaign | None:
    row = await conn.fetchrow(
        f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1{' FOR UPDATE' if lock else ''}",
        campaign_id)
    return stored_campaign(row) if row else None


async def list_campaigns(conn: asyncpg.Connection, *, states: list[str] | None = None,
                         limit: int = 200) -> list[StoredCampaign]:
    rows = await conn.fetch(
        f"""SELECT {CAMPAIGN_COLUMNS} FROM campaigns
            WHERE $1::text[] IS NULL OR state = ANY($1::text[])
            ORDER BY id DESC LIMIT $2""", states, limit)
    return [stored_campaign(r) for r in rows]


@dataclass(frozen=True)
class Summary:
    """The counts the campaign list shows (a cheap part of Progress, for many campaigns)."""
    total: int
    dialled: int
    answered: int
    confirmed: int
    operator: int
    opted_out: int
    failed: int
    remaining: int


SQL_SUMMARIES = """
SELECT campaign_id, count(*) AS total,
       count(*) FILTER (WHERE tries > 0) AS dialled,
       count(*) FILTER (WHERE answered_at IS NOT NULL) AS answered,
       count(*) FILTER (WHERE outcome = 'confirmed') AS confirmed,
       count(*) FILTER (WHERE outcome = 'operator') AS operator,
       count(*) FILTER (WHERE outcome = 'opted_out') AS opted_out,
       count(*) FILTER (WHERE state = 'done' AND outcome IN ('busy', 'no_answer', 'congestion',
                                                              'failed')) AS failed,
       count(*) FILTER (WHERE state IN ('queued', 'retry_wait', 'dialing', 'answered'))
           AS remaining
FROM campaign_attempts WHERE campaign_id = ANY($1::bigint[])
GROUP BY campaign_id
"""
_NOTHING = Summary(0, 0, 0, 0, 0, 0, 0, 0)


async def summaries(conn: asyncpg.Connection, campaign_ids: list[int]
                    ) -> dict[int, Summary]:
    """Each campaign's counts in one grouped read (a campaign never started: zeros); the same
    counts as ``progress`` gives for one."""
    rows = await conn.fetch(SQL_SUMMARIES, campaign_ids)
    found = {r["campaign_id"]: Summary(**{k: r[k] for k in Summary.__dataclass_fields__})
             for r in rows}
    return {i: found.get(i, _NOTHING) for i in campaign_ids}


async def _locked(conn: asyncpg.Connection, campaign_id: int) -> StoredCampaign:
    campaign = await get(conn, campaign_id, lock=True)
    if campaign is None:
        raise CampaignNotFound()
    return campaign


async def set_state(conn: asyncpg.Connection, campaign_id: int, state: str, *,
                    reason: str | None = None, now: datetime | None = None) -> StoredCampaign:
    """Move the campaign to ``state`` (one transaction); CampaignError if not allowed. A final
    state cancels the attempts not yet dialled (those in flight finish and keep their outcome).
    The pacer applies the rules' campaign actions with it: pause -> ``paused``, stop ->
    ``stopped``, expire -> ``expired``."""
    async with conn.transaction():
        current = await _locked(conn, campaign_id)
        if state == current.state:
            return current
        if state not in TRANSITIONS[current.state]:
            raise CampaignError("campaign-state",
                                f"a {current.state} campaign cannot become {state}")
        row = await conn.fetchrow(
            f"""UPDATE campaigns SET state = $2, state_reason = $3,
                       updated_at = coalesce($4, now()), state_since = coalesce($4, now()),
                       run_since = CASE WHEN $2 = 'running' THEN coalesce($4, now())
                                        ELSE run_since END,
                       finished_at = CASE WHEN $2 IN ('stopped', 'finished', 'expired')
                                          THEN coalesce($4, now()) END
                WHERE id = $1 RETURNING {CAMPAIGN_COLUMNS}""",
            campaign_id, state, reason, now)
        if state in ("stopped", "finished", "expired"):
            await conn.execute(
                """UPDATE campaign_attempts SET state = 'cancelled', next_at = NULL,
                          updated_at = coalesce($2, now())
                   WHERE campaign_id = $1 AND state IN ('queued', 'retry_wait')""",
                campaign_id, now)
    return stored_campaign(row)


# --- start: freeze the targets ----------------------------------------------------------
async def start(conn: asyncpg.Connection, campaign_id: int, *, now: datetime,
                rules: Any = None, timeout: float = 600.0) -> int:
    """Freeze the campaign's targets into attempts (one per account, phones ranked) and set it
    running, in one transaction; returns the number of attempts. Accounts without a phone,
    opted out or protected are frozen as ``skipped`` with that reason (the results list them);
    caps and hours are the dialler's to check at each dial. With ``rules``, a campaign whose
    message is already invalid (outage closed, date or end passed) or whose daily window is
    closed does not start (CampaignError; nothing is frozen)."""
    async with conn.transaction():
        campaign = await _locked(conn, campaign_id)
        if campaign.state != "created":
            raise CampaignError("campaign-state", f"a {campaign.state} campaign cannot start")
        spec = campaign.spec
        q = selection.build(spec.target, relax_has_phone=True)
        targets = selection.targets_cte(q, spec.type)
        p = q.params
        sql = f"""
        WITH {targets},
        bs AS (
            SELECT b.account_id, jsonb_object_agg(b.service, round(b.debt * 100)::bigint)
                       AS by_service
            FROM balances b JOIN m ON m.id = b.account_id GROUP BY b.account_id
        )
        INSERT INTO campaign_attempts (campaign_id, account_id, consumer_id, phones, state,
                                       skip_reason, next_at, params, created_at, updated_at)
        SELECT {p(campaign_id)}, k.id, k.consumer_id, k.callable,
               CASE WHEN k.skip IS NULL THEN 'queued' ELSE 'skipped' END, k.skip,
               CASE WHEN k.skip IS NULL THEN {p(now)}::timestamptz END,
               jsonb_build_object(
                   'debt_kopecks', round(k.debt * 100)::bigint,
                   'debt_by_service', coalesce(bs.by_service, '{{}}'),
                   'city', k.city, 'street', k.street, 'house', k.house,
                   'apartment', k.apartment, 'timezone', k.timezone),
               {p(now)}::timestamptz, {p(now)}::timestamptz
        FROM k LEFT JOIN bs ON bs.account_id = k.id
        ORDER BY k.id
        ON CONFLICT (campaign_id, account_id) DO NOTHING
        """
        await conn.execute(selection.NO_JIT)
        # A start of 100,000 targets outlasts the pool's per-query timeout.
        status = await conn.execute(sql, *p.values, timeout=timeout)
        frozen = int(status.split()[-1])
        if rules is not None:
            verdict = await rules.campaign_verdict(conn, campaign, now, resuming=True)
            if verdict is not None:  # raised inside: the freeze is rolled back
                if verdict.action == "pause":
                    raise CampaignError("campaign-window", "the campaign's daily window is "
                                        "closed; start it inside the window")
                raise CampaignError("campaign-stale", f"the message is no longer valid "
                                    f"({verdict.reason})")
        await conn.execute(
            """UPDATE campaigns SET state = 'running', state_reason = NULL, started_at = $2,
                      run_since = $2, updated_at = $2, state_since = $2 WHERE id = $1""",
            campaign_id, now)
    return frozen


async def pause(conn: asyncpg.Connection, campaign_id: int, *, reason: str = "by_person",
                now: datetime | None = None) -> StoredCampaign:
    return await set_state(conn, campaign_id, "paused", reason=reason, now=now)


async def stop(conn: asyncpg.Connection, campaign_id: int, *, reason: str = "by_person",
               now: datetime | None = None) -> StoredCampaign:
    return await set_state(conn, campaign_id, "stopped", reason=reason, now=now)


async def resume(conn: asyncpg.Connection, campaign_id: int, rules: Any, *, now: datetime
                 ) -> StoredCampaign:
    """Resume a paused campaign unless its message went stale meanwhile (then it expires or
    stops instead and CampaignError says why): a person resumes, never the clock."""
    async with conn.transaction():
        campaign = await _locked(conn, campaign_id)
        if campaign.state != "paused":
            raise CampaignError("campaign-state", f"a {campaign.state} campaign cannot resume")
        verdict = await rules.campaign_verdict(conn, campaign, now, resuming=True)
        if verdict is None:
            return await set_state(conn, campaign_id, "running", now=now)
        if verdict.action != "pause":
            final = {"stop": "stopped", "expire": "expired"}[verdict.action]
            await set_state(conn, campaign_id, final, reason=verdict.reason, now=now)
    # Raised after the commit: the campaign stays stopped or expired.
    if verdict.action == "pause":
        raise CampaignError("campaign-window", "the campaign's daily window is closed")
    raise CampaignError("campaign-stale", f"the message is no longer valid ({verdict.reason}); "
                        f"the campaign is {final}")


async def clone(conn: asyncpg.Connection, campaign_id: int, *, created_by: int | None,
                name: str | None = None) -> StoredCampaign:
    source = await get(conn, campaign_id)
    if source is None:
        raise CampaignNotFound()
    data = source.spec.model_dump(mode="json")
    data["name"] = name or data["name"]
    return await create(conn, Campaign.model_validate(data), created_by=created_by,
                        cloned_from=campaign_id)


async def finish_if_done(conn: asyncpg.Connection, campaign_id: int, *,
                         now: datetime | None = None) -> bool:
    """Mark a running campaign finished when no attempt is left to dial or in flight."""
    left = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM campaign_attempts WHERE campaign_id = $1 "
        "AND state = ANY($2::text[]))", campaign_id, list(ACTIVE_ATTEMPT_STATES))
    if left:
        return False
    try:
        await set_state(conn, campaign_id, "finished", reason="done", now=now)
    except CampaignError:
        return False
    return True


# --- progress and results ---------------------------------------------------------------
@dataclass(frozen=True)
class Progress:
    total: int
    by_state: dict[str, int]
    by_outcome: dict[str, int]
    skipped: dict[str, int]
    dialled: int
    answered: int
    confirmed: int
    operator: int
    opted_out: int
    failed: int
    remaining: int
    done_last_10min: int
    estimated_finish: datetime | None


SQL_PROGRESS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE tries > 0) AS dialled,
       count(*) FILTER (WHERE answered_at IS NOT NULL) AS answered,
       count(*) FILTER (WHERE state = 'done' AND outcome IN ('busy', 'no_answer', 'congestion',
                                                              'failed')) AS failed,
       count(*) FILTER (WHERE state IN ('queued', 'retry_wait', 'dialing', 'answered'))
           AS remaining,
       count(*) FILTER (WHERE state IN ('done', 'skipped')
                        AND finished_at > $2::timestamptz - interval '10 minutes') AS recent,
       (SELECT coalesce(json_object_agg(state, n), '{}') FROM (SELECT state, count(*) AS n
            FROM campaign_attempts WHERE campaign_id = $1 GROUP BY state) s) AS by_state,
       (SELECT coalesce(json_object_agg(outcome, n), '{}') FROM (SELECT outcome, count(*) AS n
            FROM campaign_attempts WHERE campaign_id = $1 AND outcome IS NOT NULL
            GROUP BY outcome) o) AS by_outcome,
       (SELECT coalesce(json_object_agg(skip_reason, n), '{}') FROM (SELECT skip_reason,
            count(*) AS n FROM campaign_attempts WHERE campaign_id = $1 AND state = 'skipped'
            GROUP BY skip_reason) k) AS skipped
FROM campaign_attempts WHERE campaign_id = $1
"""


async def progress(conn: asyncpg.Connection, campaign_id: int, *, now: datetime) -> Progress:
    row = await conn.fetchrow(SQL_PROGRESS, campaign_id, now)
    by_outcome = {o: 0 for o in OUTCOMES}
    by_outcome.update(selection.json_value(row["by_outcome"]))
    remaining, recent = row["remaining"], row["recent"]
    eta = None
    if remaining and recent:
        eta = now + timedelta(seconds=600 * remaining / recent)
    return Progress(
        total=row["total"], by_state=selection.json_value(row["by_state"]), by_outcome=by_outcome,
        skipped=selection.json_value(row["skipped"]), dialled=row["dialled"],
        answered=row["answered"], confirmed=by_outcome["confirmed"],
        operator=by_outcome["operator"], opted_out=by_outcome["opted_out"],
        failed=row["failed"], remaining=remaining, done_last_10min=recent,
        estimated_finish=eta)


CSV_COLUMNS = ("account", "city", "street", "house", "apartment", "phone", "state", "outcome",
               "skip_reason", "tries", "key", "dialled_at", "answered_at", "finished_at")
SQL_RESULTS = """
SELECT a.number AS account, a.city, a.street, a.house, a.apartment,
       t.phones[t.phone_index + 1] AS phone, t.state, t.outcome, t.skip_reason, t.tries,
       t.key_pressed AS key, t.dialled_at, t.answered_at, t.finished_at
FROM campaign_attempts t JOIN accounts a ON a.id = t.account_id
WHERE t.campaign_id = $1 ORDER BY t.id
"""


async def results_csv(conn: asyncpg.Connection, campaign_id: int, *, timezone: str) -> bytes:
    """The attempts as CSV for Excel in Russia: `;`-separated, UTF-8 with BOM, a header row,
    times as dd.mm.yyyy hh:mm:ss in ``timezone``."""
    tz = zone(timezone)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    async with conn.transaction():
        async for row in conn.cursor(SQL_RESULTS, campaign_id, prefetch=2000):
            writer.writerow([_cell(row[c], tz) for c in CSV_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(value: Any, tz: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%d.%m.%Y %H:%M:%S")
    return str(value)


def as_dict(campaign: StoredCampaign) -> dict[str, Any]:
    return {"id": campaign.id, "state": campaign.state, "state_reason": campaign.state_reason,
            "spec": json.loads(campaign.spec.model_dump_json()),
            "created_by": campaign.created_by, "created_at": _iso(campaign.created_at),
            "started_at": _iso(campaign.started_at), "finished_at": _iso(campaign.finished_at),
            "cloned_from": campaign.cloned_from, "state_since": _iso(campaign.state_since)}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
