"""Robocall events from the PBX (the tracker's bus) into the attempt table.

``OriginateResult`` (ActionID ``ccs-robocall-<attempt>-<try>``) marks a try answered or ends it
with its dial result; ``UserEvent(CcsRobocall)`` ends an answered try with the listener's
outcome (outcomes.py reads both). Each write is one transaction (attempts.py). Events of one
attempt are handled in order (one worker per attempt, chosen by its id); different attempts in
parallel on ``workers`` connections, so the table keeps up with hundreds of calls a second.

It also follows the listeners who asked for an operator: the robocall channel's Linkedid joins
the target queue, and the tracker's ``CallAnswered`` / ``CallAbandoned`` of that call count as
answered / abandoned operator requests of the campaign (the progressive pacer's brake).

Those counts live in PostgreSQL, not in this process (migration 0010): a request is an attempt
whose outcome is ``operator`` (its Linkedid, ``operator_call``, written in the outcome's own
transaction), and how its queue visit ended is ``operator_result``, set once. A new leader (kill
-9, lease change) loads the counts and the requests still waiting (``start``); the pacer reads
the counts of its running campaigns again at every refresh (``load_operator``: so an operator
outcome the reconciliation recorded from AstDB counts too), and between two refreshes this
object adds what its own writes changed. Storing the counts in a row of their own was the
other way; deriving them keeps one truth (the attempts) and needs no repair after a write that
failed half-way.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg

from campaigns import attempts, outcomes as oc
from state.events import CallAbandoned, CallAnswered, OriginateResult, UserEventReceived

log = logging.getLogger(__name__)

SQL_OPERATOR_COUNTS = """
SELECT campaign_id, count(*) AS requests,
       count(*) FILTER (WHERE operator_result = 'answered') AS answered,
       count(*) FILTER (WHERE operator_result = 'abandoned') AS abandoned,
       count(*) FILTER (WHERE operator_result IS NULL AND finished_at < $2) AS lapsed
FROM campaign_attempts
WHERE campaign_id = ANY($1::bigint[]) AND outcome = 'operator'
GROUP BY campaign_id
"""
# The requests whose queue visit may still end: a new leader follows them, and loads the
# counts of their campaigns besides those of the running and paused ones.
SQL_OPERATOR_WAITING = """
SELECT id, campaign_id, operator_call FROM campaign_attempts
WHERE outcome = 'operator' AND operator_result IS NULL AND finished_at >= $1
  AND operator_call IS NOT NULL
"""
SQL_LIVE_CAMPAIGNS = "SELECT id FROM campaigns WHERE state IN ('running', 'paused')"
SQL_OPERATOR_CALL = "UPDATE campaign_attempts SET operator_call = $2 WHERE id = $1"
SQL_OPERATOR_RESULT = """
UPDATE campaign_attempts SET operator_result = $2
WHERE id = $1 AND outcome = 'operator' AND operator_result IS NULL
RETURNING campaign_id
"""
WAITING_KEPT = 100_000  # requests followed at most (a request whose end is never seen lapses)


@dataclass
class OperatorRequests:
    requests: int = 0
    answered: int = 0
    abandoned: int = 0
    # Requests with no seen end for longer than ``operator_wait_lapse_seconds``: no longer
    # waiting (they ended while no leader listened, or their event was lost).
    lapsed: int = 0

    @property
    def waiting(self) -> int:
        return max(0, self.requests - self.answered - self.abandoned - self.lapsed)

    @property
    def abandoned_share(self) -> float:
        ended = self.answered + self.abandoned
        return self.abandoned / ended if ended else 0.0


def _accept(event: Any) -> bool:
    if isinstance(event, OriginateResult):
        return event.action_id.startswith("ccs-robocall-")
    if isinstance(event, UserEventReceived):
        return event.name == oc.USER_EVENT
    return isinstance(event, (CallAnswered, CallAbandoned))


class OutcomeRecorder:
    def __init__(self, pool: asyncpg.Pool, bus: Any, lookup: attempts.CampaignLookup, *,
                 workers: int = 4, on_final=None, on_change=None, lapse: float = 900.0,
                 now=lambda: datetime.now(timezone.utc)) -> None:
        self.pool = pool
        # When this server learnt of it (its clock decides retries and rules; the PBX's own
        # Timestamp may come from a clock set differently).
        self.now = now
        self.bus = bus
        self.lookup = lookup
        self.on_final = on_final
        self.on_change = on_change  # called with (campaign_id, Finished | None) after a write
        self._queues = [asyncio.Queue[Any]() for _ in range(workers)]
        self._tasks: list[asyncio.Task] = []
        self._sub = None
        self.lapse = lapse  # settings.operator_wait_lapse_seconds
        self.operator: dict[int, OperatorRequests] = {}
        # linkedid -> (campaign, attempt) of a request whose queue visit has not ended
        self._waiting: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self.handled = 0
        self.errors = 0

    @property
    def dropped(self) -> int:
        return self._sub.dropped if self._sub is not None else 0

    async def start(self) -> None:
        self._sub = self.bus.queue(maxsize=200_000, accept=_accept)
        try:  # subscribed first: an answer that comes meanwhile waits in the subscription
            await self._load_waiting()
        except Exception:  # PostgreSQL down: the pacer's refresh loads the counts later
            log.exception("operator requests of robocall campaigns not loaded")
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._dispatch(), name="robocall-events")]
        self._tasks += [loop.create_task(self._work(q), name=f"robocall-writer-{i}")
                        for i, q in enumerate(self._queues)]

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _load_waiting(self) -> None:
        async with self.pool.acquire() as conn:
            since = self.now() - timedelta(seconds=self.lapse)
            rows = await conn.fetch(SQL_OPERATOR_WAITING, since)
            for row in rows:
                self._follow(row["operator_call"], row["campaign_id"], row["id"])
            live = [r["id"] for r in await conn.fetch(SQL_LIVE_CAMPAIGNS)]
            await self.load_operator(conn, sorted(set(live) | {r["campaign_id"] for r in rows}))

    async def load_operator(self, conn: asyncpg.Connection, campaign_ids: list[int]) -> None:
        """The operator requests of these campaigns as PostgreSQL has them (the truth: a write
        of this process that races this read is counted again at the next load)."""
        if not campaign_ids:
            return
        since = self.now() - timedelta(seconds=self.lapse)
        rows = {r["campaign_id"]: r for r in await conn.fetch(
            SQL_OPERATOR_COUNTS, campaign_ids, since)}
        for cid in campaign_ids:
            row = rows.get(cid)
            if row is None:
                self.operator.pop(cid, None)
            else:
                self.operator[cid] = OperatorRequests(row["requests"], row["answered"],
                                                      row["abandoned"], row["lapsed"])

    def _follow(self, linkedid: str, campaign_id: int, attempt_id: int) -> None:
        self._waiting[linkedid] = (campaign_id, attempt_id)
        while len(self._waiting) > WAITING_KEPT:
            self._waiting.popitem(last=False)

    def idle(self) -> bool:
        return (self._sub is None or len(self._sub) == 0) and all(
            q.empty() and getattr(q, "_unfinished_tasks", 0) == 0 for q in self._queues)

    async def _dispatch(self) -> None:
        assert self._sub is not None
        async for event in self._sub:
            try:
                self._route(event)
            except Exception:
                self.errors += 1
                log.exception("robocall event not understood")

    def _route(self, event: Any) -> None:
        if isinstance(event, OriginateResult):
            parsed = oc.parse_action_id(event.action_id)
            if parsed is not None:
                self._put(parsed[0], ("originate", parsed[1], event))
        elif isinstance(event, UserEventReceived):
            report = oc.from_user_event(event.fields)
            if report is None:
                log.warning("CcsRobocall UserEvent without an attempt")
                return
            attempt_id, try_no, heard = report
            campaign = event.fields.get("Campaign", "").strip()
            linkedid = event.fields.get("Linkedid", "")
            # Followed from now: the queue's answer may come before the outcome is written
            # (both go through this attempt's one worker, so they are written in this order).
            if campaign.isdigit() and linkedid:
                if heard.outcome(self.lookup.keys_of(int(campaign))) == oc.OPERATOR:
                    self._follow(linkedid, int(campaign), attempt_id)
            self._put(attempt_id, ("report", try_no, event, heard, linkedid))
        elif isinstance(event, (CallAnswered, CallAbandoned)):
            followed = self._waiting.pop(event.linkedid, None)
            if followed is not None:
                result = "answered" if isinstance(event, CallAnswered) else "abandoned"
                self._put(followed[1], ("operator", None, result))

    def _final_with_call(self, linkedid: str):
        """``finish``'s hook (inside its transaction): an operator request gets its queue call,
        so the request and the call it is followed by are written together or not at all."""
        async def final(conn: asyncpg.Connection, row: asyncpg.Record, outcome: str,
                        at: datetime) -> None:
            if outcome == oc.OPERATOR and linkedid:
                await conn.execute(SQL_OPERATOR_CALL, row["id"], linkedid)
            if self.on_final is not None:
                await self.on_final(conn, row, outcome, at)
        return final

    def _put(self, attempt_id: int, item: tuple) -> None:
        self._queues[attempt_id % len(self._queues)].put_nowait((attempt_id, item))

    async def _work(self, queue: asyncio.Queue) -> None:
        while True:
            attempt_id, item = await queue.get()
            try:
                await self._write(attempt_id, item)
                self.handled += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # PostgreSQL down...: the reconciliation settles it later
                self.errors += 1
                log.exception("robocall outcome of attempt %d not written", attempt_id)
            finally:
                queue.task_done()

    async def _write(self, attempt_id: int, item: tuple) -> None:
        kind, try_no, event = item[0], item[1], item[2]
        at = self.now()
        async with self.pool.acquire() as conn:
            if kind == "operator":
                campaign_id = await conn.fetchval(SQL_OPERATOR_RESULT, attempt_id, event)
                if campaign_id is not None:
                    stats = self.operator.setdefault(campaign_id, OperatorRequests())
                    if event == "answered":
                        stats.answered += 1
                    else:
                        stats.abandoned += 1
                return
            if kind == "originate":
                result = oc.dial_result(event.outcome)
                if result is None:
                    await attempts.mark_answered(conn, attempt_id, try_no, at)
                    return
                done = await attempts.finish(conn, attempt_id, try_no, result, at, self.lookup,
                                             on_final=self.on_final)
            else:
                done = await attempts.finish(conn, attempt_id, try_no, item[3], at, self.lookup,
                                             on_final=self._final_with_call(item[4]))
                if done is not None and done.outcome == oc.OPERATOR:
                    self.operator.setdefault(done.campaign_id, OperatorRequests()).requests += 1
        if done is not None and self.on_change is not None:
            self.on_change(done)
