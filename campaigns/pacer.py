"""The campaign pacer: leader work, one per PBX (features/leadership.py starts and stops it).

``start()``: follow the PBX's robocall events (recorder.py), wait for the AMI link's first
resync, reconcile every try left in flight by an earlier process (reconcile.py) and only then
dial. Every ``pacer_tick`` it dials, per running campaign, what its limits allow:

- agentless: at most ``pacing.max_channels`` calls at once and ``pacing.calls_per_second`` new
  calls a second (a token bucket);
- progressive: besides those, calls in flight at most ``ready agents of the target queue x
  calls_per_ready_agent`` minus listeners already waiting for an operator; when the share of
  operator requests abandoned passes ``operator_abandon_cap`` (after
  ``operator_abandon_min_requests``) it halves that (the counts are PostgreSQL's, recorder.py:
  a new leader's brake remembers what the old one counted). Ready agents are the tracker's
  members of the queue (the PBX's own view, the same one the agents' projector writes to
  Redis): not paused, not in a call, device not in use.

The contact rules are checked per call inside the claim's transaction (attempts.claim); a
paused or stopped campaign gets no dial after the change commits (the claim reads the
campaign's state FOR SHARE); the kill switch halts every claim; a campaign the rules say must
pause / stop / expire (window end, outage closed, message date passed) is changed here. A
campaign with nothing left to dial or in flight is finished.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import asyncpg

from campaigns import attempts, dialer, store
from campaigns.models import StoredCampaign
from campaigns.reconcile import DB_FAMILY, Reconciler
from campaigns.recorder import OutcomeRecorder
from campaigns.rules import Rules
from campaigns.settings import CampaignSettings

log = logging.getLogger(__name__)

SQL_RUNNING = """
SELECT id, state, spec, state_reason, created_by, created_at, started_at, finished_at,
       cloned_from
FROM campaigns WHERE state = 'running' ORDER BY id
"""
SQL_COUNTS = """
SELECT campaign_id,
       count(*) FILTER (WHERE state IN ('dialing', 'answered')) AS inflight,
       count(*) FILTER (WHERE state IN ('queued', 'retry_wait')) AS waiting
FROM campaign_attempts WHERE campaign_id = ANY($1::bigint[]) GROUP BY campaign_id
"""
STATE_OF_ACTION = {"pause": "paused", "stop": "stopped", "expire": "expired"}


@dataclass
class CampaignRun:
    campaign: StoredCampaign
    tokens: float = 1.0
    inflight: int = 0
    waiting: int = 0
    dialled: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    # Monotonic time before which no claim is tried: nothing was due at the last one (the
    # retries wait for their next_at), so the pacer does not ask PostgreSQL every tick.
    idle_until: float = 0.0


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Pacer:
    def __init__(self, pool: asyncpg.Pool, cti: Any, bus: Any, rules: Rules,
                 settings: CampaignSettings, *, on_change=None, now=utcnow,
                 may_dial: Callable[[], bool] | None = None) -> None:
        self.pool = pool
        # Asked before every claim and every Originate: whether this process surely still holds
        # the PBX's lease (features/leadership.py ``surely_held``), so a process that stalled
        # past its lease's expiry never dials beside the one that took over.
        self.may_dial = may_dial or (lambda: True)
        self.fenced = 0
        self.cti = cti  # cti.service.CtiService
        self.settings = settings
        self.rules = rules
        self.now = now
        self.lookup = attempts.CampaignLookup()
        self.recorder = OutcomeRecorder(pool, bus, self.lookup, on_change=self._finished,
                                        lapse=settings.operator_wait_lapse_seconds, now=now)
        self.reconciler = Reconciler(pool, cti, self.lookup, grace=settings.untraced_grace_seconds,
                                     now=now)
        self.on_change = on_change
        self.runs: dict[int, CampaignRun] = {}
        self.ready = False  # reconciled: dialling allowed
        self.killed = False
        self.originates = 0
        self.not_sent = 0
        self._task: asyncio.Task | None = None
        self._sends: set[asyncio.Task] = set()
        self._resynced = False

    # -- leader work --------------------------------------------------------------------
    async def start(self) -> None:
        await self.recorder.start()
        self.cti.add_resync_listener(self._on_resync)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="campaign-pacer")

    async def stop(self) -> None:
        self.cti.remove_resync_listener(self._on_resync)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._sends:
            await asyncio.gather(*self._sends, return_exceptions=True)
        await self.recorder.stop()
        self.ready = False

    def status(self) -> dict[str, Any]:
        return {"ready": self.ready, "killed": self.killed, "originates": self.originates,
                "campaigns": {cid: {"inflight": r.inflight, "waiting": r.waiting,
                                    "dialled": r.dialled, "refused": dict(r.refused)}
                              for cid, r in self.runs.items()},
                "operator": {cid: {"requests": o.requests, "answered": o.answered,
                                   "abandoned": o.abandoned, "lapsed": o.lapsed,
                                   "abandoned_share": o.abandoned_share}
                             for cid, o in self.recorder.operator.items()},
                "events_dropped": self.recorder.dropped}

    def _on_resync(self) -> None:
        self._resynced = True  # events may have been lost while the link was down

    def _finished(self, done: attempts.Finished) -> None:
        run = self.runs.get(done.campaign_id)
        if run is not None:
            run.inflight = max(0, run.inflight - 1)
        if self.on_change is not None:
            self.on_change(done)

    # -- the loop -----------------------------------------------------------------------
    async def _run(self) -> None:
        await self.cti.connection.wait_ready()
        while True:  # nothing new is dialled before every earlier try is settled
            try:
                await self.reconciler.settle(all_inflight=True)
                break
            except Exception:
                log.exception("reconciling robocalls failed; trying again")
                await asyncio.sleep(1.0)
        self.ready = True
        s = self.settings
        loop = asyncio.get_running_loop()
        last = loop.time()
        next_refresh = next_check = 0.0
        while True:
            now_mono = loop.time()
            elapsed, last = now_mono - last, now_mono
            try:
                if now_mono >= next_refresh:
                    await self._refresh()
                    next_refresh = now_mono + s.campaigns_refresh
                if self._resynced:  # the link was down: events may be lost, settle them all
                    self._resynced = False
                    await self.reconciler.settle(older_than=0.0)
                    next_check = now_mono + s.inflight_check_seconds
                elif now_mono >= next_check:  # the safety net (a dropped event, a DB error)
                    await self.reconciler.settle(older_than=s.inflight_check_seconds)
                    next_check = now_mono + s.inflight_check_seconds
                if not self.killed and self.cti.connection.logged_in:
                    for run in list(self.runs.values()):
                        await self._dial(run, elapsed)
            except asyncio.CancelledError:
                raise
            except Exception:  # PostgreSQL or AMI trouble: the next round tries again
                log.exception("campaign pacer round failed")
            await asyncio.sleep(s.pacer_tick)

    async def _refresh(self) -> None:
        async with self.pool.acquire() as conn:
            self.killed = await self.rules.kill_switch_engaged(conn)
            rows = await conn.fetch(SQL_RUNNING)
            campaigns = [attempts.stored_campaign(r) for r in rows]
            counts = {r["campaign_id"]: r for r in await conn.fetch(
                SQL_COUNTS, [c.id for c in campaigns])}
            # The brake's counts as PostgreSQL has them (the same after a leader change).
            await self.recorder.load_operator(conn, [c.id for c in campaigns])
            now = self.now()
            for campaign in campaigns:
                self.lookup.put(campaign)
                verdict = await self.rules.campaign_verdict(conn, campaign, now)
                if verdict is not None:
                    await self._set_state(conn, campaign.id, STATE_OF_ACTION[verdict.action],
                                          verdict.reason)
                    continue
                run = self.runs.get(campaign.id) or CampaignRun(campaign)
                run.campaign = campaign
                count = counts.get(campaign.id)
                run.inflight = count["inflight"] if count else 0
                run.waiting = count["waiting"] if count else 0
                self.runs[campaign.id] = run
                if run.inflight == 0 and run.waiting == 0:
                    await self._set_state(conn, campaign.id, "finished", "done")
        running = {c.id for c in campaigns}
        for cid in [cid for cid in self.runs if cid not in running]:
            del self.runs[cid]  # paused / stopped / finished: not one more dial

    async def _set_state(self, conn: asyncpg.Connection, campaign_id: int, state: str,
                         reason: str) -> None:
        self.runs.pop(campaign_id, None)
        try:
            if state == "finished":
                if not await store.finish_if_done(conn, campaign_id, now=self.now()):
                    return
            else:
                await store.set_state(conn, campaign_id, state, reason=reason, now=self.now())
        except store.CampaignError as exc:  # a person changed it meanwhile
            log.info("campaign %d not %s: %s", campaign_id, state, exc)
            return
        log.info("campaign %d %s (%s)", campaign_id, state, reason)
        if state == "finished":  # its AstDB entries are no longer needed
            with contextlib.suppress(Exception):
                await self.cti.connection.send({"Action": "DBDelTree", "Family": DB_FAMILY,
                                                "Key": str(campaign_id)})

    def _limit(self, run: CampaignRun) -> int:
        pacing = run.campaign.spec.pacing
        room = pacing.max_channels - run.inflight
        if pacing.mode == "progressive" and pacing.target_queue:
            ready = self._ready_agents(pacing.target_queue)
            ratio = pacing.calls_per_ready_agent
            stats = self.recorder.operator.get(run.campaign.id)
            waiting = 0
            if stats is not None:
                waiting = stats.waiting
                ended = stats.answered + stats.abandoned
                if (ended >= self.settings.operator_abandon_min_requests
                        and stats.abandoned_share > self.settings.operator_abandon_cap):
                    ratio /= 2
            room = min(room, math.floor(ready * ratio) - waiting - run.inflight)
        return max(0, min(room, int(run.tokens)))

    def _ready_agents(self, queue: str) -> int:
        tracked = self.cti.tracker.queue_map.get(queue)
        if tracked is None:
            return 0
        return sum(1 for m in tracked.members.values()
                   if not m.state.paused and not m.state.in_call and m.state.status == 1)

    async def _dial(self, run: CampaignRun, elapsed: float) -> None:
        rate = run.campaign.spec.pacing.calls_per_second
        run.tokens = min(run.tokens + rate * elapsed, max(1.0, rate * self.settings.pacer_tick * 2))
        limit = self._limit(run)
        loop = asyncio.get_running_loop()
        if limit <= 0 or loop.time() < run.idle_until or not self.may_dial():
            return
        now = self.now()
        # Claims of a few attempts each, side by side: a claim checks the rules one attempt
        # after another, so one big claim would be bound by PostgreSQL's round trips.
        size = max(1, math.ceil(limit / self.settings.claim_concurrency))
        parts = [min(size, limit - i) for i in range(0, limit, size)]
        results = await asyncio.gather(*(attempts.claim(self.pool, self.rules, run.campaign, n,
                                                        now) for n in parts))
        if sum(r.due for r in results) == 0:
            run.idle_until = loop.time() + self.settings.campaigns_refresh
        for result in results:
            await self._claimed(run, result)

    async def _claimed(self, run: CampaignRun, result: attempts.ClaimResult) -> None:
        for reason, n in result.refused.items():
            run.refused[reason] = run.refused.get(reason, 0) + n
        action = result.campaign_action
        if action is not None and action.campaign_action is not None:
            async with self.pool.acquire() as conn:
                await self._set_state(conn, run.campaign.id,
                                      STATE_OF_ACTION[action.campaign_action],
                                      action.detail or action.reason)
        if result.refused.get("kill_switch"):
            self.killed = True
        run.tokens -= len(result.claimed)
        run.inflight += len(result.claimed)
        run.dialled += len(result.claimed)
        for claimed in result.claimed:
            task = asyncio.get_running_loop().create_task(self._send(run, claimed))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)

    async def _send(self, run: CampaignRun, claimed: attempts.Claimed) -> None:
        if not self.may_dial():  # the lease may be another's by now: give the attempt back
            self.fenced += 1
            if await attempts.undo_claim(self.pool, claimed, self.now()):
                run.inflight = max(0, run.inflight - 1)
            return
        outcome = await dialer.send(self.cti.actions, claimed, run.campaign, self.settings)
        self.originates += outcome == dialer.SENT
        if outcome == dialer.NOT_SENT:
            self.not_sent += 1
            if await attempts.undo_claim(self.pool, claimed, self.now()):
                run.inflight = max(0, run.inflight - 1)
        elif outcome == dialer.REFUSED:
            async with self.pool.acquire() as conn:
                done = await attempts.finish(conn, claimed.attempt_id, claimed.try_no,
                                             "failed", self.now(), self.lookup)
            if done is not None:
                self._finished(done)

