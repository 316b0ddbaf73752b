"""Robocall events from the PBX (the tracker's bus) into the attempt table.

``OriginateResult`` (ActionID ``ccs-robocall-<attempt>-<try>``) marks a try answered or ends it
with its dial result; ``UserEvent(CcsRobocall)`` ends an answered try with the listener's
outcome (outcomes.py reads both). Each write is one transaction (attempts.py). Events of one
attempt are handled in order (one worker per attempt, chosen by its id); different attempts in
parallel on ``workers`` connections, so the table keeps up with hundreds of calls a second.

It also follows the listeners who asked for an operator: the robocall channel's Linkedid joins
the target queue, and the tracker's ``CallAnswered`` / ``CallAbandoned`` of that call count as
answered / abandoned operator requests of the campaign (the progressive pacer's brake).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import asyncpg

from campaigns import attempts, outcomes as oc
from state.events import CallAbandoned, CallAnswered, OriginateResult, UserEventReceived

log = logging.getLogger(__name__)


@dataclass
class OperatorRequests:
    requests: int = 0
    answered: int = 0
    abandoned: int = 0

    @property
    def waiting(self) -> int:
        return max(0, self.requests - self.answered - self.abandoned)

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
                 workers: int = 4, on_final=None, on_change=None,
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
        self.operator: dict[int, OperatorRequests] = {}
        self._waiting: OrderedDict[str, int] = OrderedDict()  # linkedid -> campaign
        self.handled = 0
        self.errors = 0

    @property
    def dropped(self) -> int:
        return self._sub.dropped if self._sub is not None else 0

    async def start(self) -> None:
        self._sub = self.bus.queue(maxsize=200_000, accept=_accept)
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
            if campaign.isdigit():
                keys = self.lookup.keys_of(int(campaign))
                if heard.outcome(keys) == oc.OPERATOR:
                    self._operator_request(int(campaign), event.fields.get("Linkedid", ""))
            self._put(attempt_id, ("report", try_no, event, heard))
        elif isinstance(event, (CallAnswered, CallAbandoned)):
            campaign_id = self._waiting.pop(event.linkedid, None)
            if campaign_id is not None:
                stats = self.operator.setdefault(campaign_id, OperatorRequests())
                if isinstance(event, CallAnswered):
                    stats.answered += 1
                else:
                    stats.abandoned += 1

    def _operator_request(self, campaign_id: int, linkedid: str) -> None:
        self.operator.setdefault(campaign_id, OperatorRequests()).requests += 1
        if linkedid:
            self._waiting[linkedid] = campaign_id
            while len(self._waiting) > 100_000:  # a request whose end we never saw
                self._waiting.popitem(last=False)

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
            if kind == "originate":
                result = oc.dial_result(event.outcome)
                if result is None:
                    await attempts.mark_answered(conn, attempt_id, try_no, at)
                    return
                done = await attempts.finish(conn, attempt_id, try_no, result, at, self.lookup,
                                             on_final=self.on_final)
            else:
                done = await attempts.finish(conn, attempt_id, try_no, item[3], at, self.lookup,
                                             on_final=self.on_final)
        if done is not None and self.on_change is not None:
            self.on_change(done)
