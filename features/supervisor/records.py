"""The call recorder: one ``queue_calls`` row per queue leg, written when the leg ends, and the
completion of the call's ``interactions`` row when the call ends.

What a leg is and when it ends: ``leg_book.py`` (the state machine this drives). The agent's
wrap-up after a leg is added to its row when the wrap-up ends.

Never lost: every open leg (and each call's leg counter, and each wrap-up awaited) is kept in
memory AND in the Redis hash ``RedisKeys.supervisor_open_legs()``; a leg leaves Redis only after
its row is in PostgreSQL (the insert is idempotent: ``UNIQUE (call_id, leg)``). A recorder that
starts (after a restart, or in a process that just became leader) loads that hash, then, once
the tracker is synchronised with the PBX (now, or at its next resync), reconciles: a leg whose
call the PBX no longer has is written with ``end_seen = false`` (its end is the best estimate:
the reconcile time), and a queue visit the tracker shows without a leg (a call that came while
no recorder ran) gets one from the tracker's own times.

Public API (the leader's work, see SESSION14 "Leadership"):
- ``CallRecorder(pool, redis, keys, settings, agent_of, cti=cti, bus=bus)`` (or ``tracker=``
  without a CTI service: tests); ``await start()`` / ``await stop()`` (no arguments: what
  ``Leadership.add`` takes); ``agent_of(interface) -> agent id | None``, e.g.
  ``agent_lookup(AgentDirectory(pool))``.
- ``add_listener(fn)``: ``fn(legs: list[Leg], wrapups: list[tuple[call_id, leg, seconds]])``
  after each batch is stored (the live metrics fold exactly what was written; ``wrapups`` are
  of legs written by an earlier batch).
- ``await idle()``: every event handed over so far is stored (tests, benchmarks).
- ``open_legs() -> list[OpenLeg]``.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from cti.bus import EventBus
from features.loop_slices import TimeSlice
from features.supervisor.formulas import Leg
from features.supervisor.leg_book import (
    Batch, CallInfo, ClosedLeg, LegBook, OpenLeg, utc,
)
from features.supervisor.settings import SupervisorSettings
from state.events import (
    AgentCompleted, AgentStateChanged, CallAbandoned, CallAnswered, CallEnded, CallerLeftQueue,
    CallOffered, CallTransferred, DomainEvent,
)
from state.redis_keys import RedisKeys

log = logging.getLogger(__name__)

RECORDED = (CallOffered, CallAnswered, CallAbandoned, CallerLeftQueue, CallTransferred,
            AgentCompleted, CallEnded, AgentStateChanged)

_RECONCILE = object()
_RETRY = object()  # wakes the loop to store a batch PostgreSQL refused before
Listener = Callable[[list[Leg], list[tuple[str, int, float]]], None]
_BATCH = 500

_INSERT_LEG = """
    INSERT INTO queue_calls (call_id, leg, prev_leg, queue, caller_number, account_id, ivr_path,
        entered_at, answered_at, left_at, ended_at, agent_id, interface, outcome, wait_seconds,
        talk_seconds, wrapup_seconds, transfer_how, transfer_target, end_seen)
    SELECT $1, $2, $3, $4, $5, (SELECT id FROM accounts WHERE number = $6), $7::text::jsonb,
        $8, $9, $10, $11, (SELECT id FROM agents WHERE id = $12), $13, $14, $15, $16, $17, $18,
        $19, $20
    ON CONFLICT (call_id, leg) DO NOTHING"""

_COMPLETE_INTERACTION = """
    INSERT INTO interactions AS i (call_id, direction, phone, account_id, agent_id, queue_name,
                                   started_at, answered_at, ended_at, outcome)
    VALUES ($1, 'inbound', nullif($2, ''), (SELECT id FROM accounts WHERE number = $3),
            (SELECT id FROM agents WHERE id = $4), $5, $6, $7, $8, $9)
    ON CONFLICT (call_id, direction) DO UPDATE SET
        phone = coalesce(i.phone, EXCLUDED.phone),
        account_id = coalesce(i.account_id, EXCLUDED.account_id),
        agent_id = coalesce(i.agent_id, EXCLUDED.agent_id),
        queue_name = coalesce(i.queue_name, EXCLUDED.queue_name),
        answered_at = coalesce(i.answered_at, EXCLUDED.answered_at),
        ended_at = coalesce(i.ended_at, EXCLUDED.ended_at),
        outcome = coalesce(i.outcome, EXCLUDED.outcome)"""

_SET_WRAPUP = "UPDATE queue_calls SET wrapup_seconds = $3 WHERE call_id = $1 AND leg = $2"


def agent_lookup(directory: Any) -> Callable[[str], int | None]:
    """``agent_of`` from an ``AgentDirectory`` (its cache: refreshed by its owner)."""
    def agent_of(interface: str) -> int | None:
        agent = directory.agent_for_interface(interface)
        return agent.id if agent is not None else None
    return agent_of


def _merge_wrapups(batch: Batch) -> None:
    """A wrap-up that ended in the batch that writes its leg goes into the row itself."""
    by_key = {(c.call_id, c.leg): c for c in batch.closed}
    later = []
    for call_id, leg_no, seconds in batch.wrapups:
        closed = by_key.get((call_id, leg_no))
        if closed is not None:
            closed.wrapup = seconds
        else:
            later.append((call_id, leg_no, seconds))
    batch.wrapups = later


def _parked(batch: Batch) -> dict[str, str]:
    """Redis entries holding a batch PostgreSQL did not take: its rows, ended calls, wrap-ups
    (their open-leg entries are gone from memory already)."""
    out: dict[str, str] = {}
    for c in batch.closed:
        data = asdict(c)
        for name in ("entered_at", "answered_at", "left_at", "ended_at"):
            data[name] = data[name].isoformat() if data[name] is not None else None
        out[f"row|{c.call_id}|{c.leg}"] = json.dumps({"kind": "row", **data})
    for call, at in batch.ended_calls:
        out[f"end|{call.call_id}"] = json.dumps({"kind": "end", "call": asdict(call), "at": at})
    for call_id, leg, seconds in batch.wrapups:
        out[f"wrapup|{call_id}|{leg}"] = json.dumps(
            {"kind": "wrapup", "call_id": call_id, "leg": leg, "seconds": seconds})
    return out


def unpark(images: list[str]) -> Batch:
    batch = Batch()
    for text in images:
        try:
            data = json.loads(text)
            kind = data.pop("kind", "")
            if kind == "row":
                for name in ("entered_at", "answered_at", "left_at", "ended_at"):
                    if data[name] is not None:
                        data[name] = dt.datetime.fromisoformat(data[name])
                c = ClosedLeg(**data)
                batch.closed.append(c)
                batch.gone.add(f"row|{c.call_id}|{c.leg}")
            elif kind == "end":
                call = CallInfo(**data["call"])
                batch.ended_calls.append((call, float(data["at"])))
                batch.gone.add(f"end|{call.call_id}")
            elif kind == "wrapup":
                batch.wrapups.append((data["call_id"], int(data["leg"]), float(data["seconds"])))
                batch.gone.add(f"wrapup|{data['call_id']}|{data['leg']}")
        except (ValueError, TypeError, KeyError):
            log.warning("call recorder: an unreadable parked entry was skipped")
    batch.closed.sort(key=lambda c: c.entered_at)
    return batch


def _interaction_outcome(call: CallInfo) -> str:
    return "answered" if call.first_answered is not None else (call.last_outcome or "abandoned")


class CallRecorder:
    def __init__(self, pool: asyncpg.Pool, redis: aioredis.Redis, keys: RedisKeys,
                 settings: SupervisorSettings, agent_of: Callable[[str], int | None], *,
                 tracker: Any = None, cti: Any = None, bus: EventBus[DomainEvent] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.pool = pool
        self.bus = bus
        self.redis = redis
        self.key = keys.supervisor_open_legs()
        self.settings = settings
        self.cti = cti
        self.tracker = tracker if tracker is not None else (cti.tracker if cti else None)
        self.book = LegBook(agent_of, self.tracker)
        self.clock = clock
        self._inbox: asyncio.Queue[Any] = asyncio.Queue()
        self._listeners: list[Listener] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._task: asyncio.Task | None = None
        self._unstored: Batch | None = None  # a batch PostgreSQL did not take yet
        self._dirty: set[str] = set()
        self._gone: set[str] = set()
        self._busy = False
        self.recorded = 0
        self.errors = 0

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self, bus: EventBus[DomainEvent] | None = None) -> None:
        bus = bus or self.bus
        assert bus is not None, "the recorder needs the bus (constructor or start)"
        raw = await self.redis.hgetall(self.key)
        entries = {(k if isinstance(k, str) else k.decode()): (v if isinstance(v, str)
                                                               else v.decode())
                   for k, v in raw.items()}
        self.book.load([v for k, v in entries.items() if k.startswith(("leg|", "call|", "wrap|"))])
        parked = unpark([v for k, v in entries.items()
                         if k.startswith(("row|", "end|", "wrapup|"))])
        if parked.closed or parked.ended_calls or parked.wrapups:
            self._unstored = parked
            self._inbox.put_nowait(_RETRY)
        unsubscribe = bus.subscribe(self._accept)
        assert callable(unsubscribe)
        self._unsubscribe = unsubscribe  # type: ignore[assignment]
        if self.cti is not None:
            self.cti.add_resync_listener(self.request_reconcile)
        if self._synced():
            self.request_reconcile()
        self._task = asyncio.create_task(self._run(), name="supervisor-recorder")

    async def stop(self) -> None:
        if self.cti is not None:
            self.cti.remove_resync_listener(self.request_reconcile)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):  # what is in memory goes to Redis if it can
            await self._flush_redis()

    def add_listener(self, listener: Listener) -> None:
        if listener not in self._listeners:  # a leader that starts again adds it again
            self._listeners.append(listener)

    def request_reconcile(self) -> None:
        self._inbox.put_nowait(_RECONCILE)

    def open_legs(self) -> list[OpenLeg]:
        return [leg for legs in self.book.legs.values() for leg in legs]

    async def idle(self, timeout: float = 10.0) -> None:
        """Every event handed over so far is stored (tests, benchmarks); TimeoutError if not
        within ``timeout`` seconds (PostgreSQL refusing, say)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._inbox.empty() or self._busy or self._unstored is not None:
            if loop.time() > deadline:
                raise TimeoutError("the call recorder is not idle")
            await asyncio.sleep(0.005)

    def _synced(self) -> bool:
        if self.cti is None:
            return self.tracker is not None
        return self.cti.connection.resyncs > 0 and not self.tracker.stale

    def _accept(self, event: DomainEvent) -> None:
        if isinstance(event, RECORDED):
            self._inbox.put_nowait(event)

    # --- work ------------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            item = await self._inbox.get()
            self._busy = True
            try:
                self._apply(item)
                slices = TimeSlice()  # a long batch must not hold up the pops due meanwhile
                for _ in range(_BATCH):
                    if self._inbox.empty():
                        break
                    self._apply(self._inbox.get_nowait())
                    await slices.pause_if_due()
                await self._store()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.errors += 1
                log.warning("call recorder: a batch was not stored, kept for a retry (%s)",
                            type(exc).__name__)
                await asyncio.sleep(0.5)
                self._inbox.put_nowait(_RETRY)
            finally:
                self._busy = False

    def _apply(self, item: Any) -> None:
        if item is _RETRY:
            return
        if item is _RECONCILE:
            if self.tracker is not None and self._synced():
                self.book.reconcile(self.tracker, self.clock())
        else:
            self.book.apply(item)

    async def _store(self) -> None:
        batch = self.book.take()
        self._dirty |= batch.dirty
        self._dirty -= batch.gone
        self._gone -= batch.dirty
        if self._unstored is not None:  # an earlier batch first: rows keep their order
            old, self._unstored = self._unstored, None
            old.closed += batch.closed
            old.ended_calls += batch.ended_calls
            old.wrapups += batch.wrapups
            old.gone = (old.gone - batch.dirty) | batch.gone
            batch = old
        _merge_wrapups(batch)
        if batch.closed or batch.ended_calls or batch.wrapups:
            try:
                await self._write_pg(batch)
            except Exception:
                # Parked in Redis until PostgreSQL takes it: a restart meanwhile loses nothing.
                self._unstored = batch
                parked = _parked(batch)
                batch.gone |= parked.keys()
                self._dirty -= parked.keys()
                with contextlib.suppress(Exception):
                    await self.redis.hset(self.key, mapping=parked)
                raise
        # Only now may a closed leg leave Redis: its row is in PostgreSQL.
        self._gone = (self._gone | batch.gone) - self._dirty
        try:
            await self._flush_redis()
        except Exception as exc:  # kept dirty: the next batch (or stop) writes them
            self.errors += 1
            log.warning("call recorder: open legs not saved in Redis (%s)", type(exc).__name__)
        self.recorded += len(batch.closed)
        legs = [c.figures_leg() for c in batch.closed]
        for listener in self._listeners:
            try:
                listener(legs, batch.wrapups)
            except Exception:
                log.exception("call recorder: a listener failed")

    async def _write_pg(self, batch: Batch) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if batch.closed:
                await conn.executemany(_INSERT_LEG, [
                    (c.call_id, c.leg, c.prev_leg, c.queue, c.caller_number, c.account or None,
                     json.dumps(c.ivr, ensure_ascii=False), c.entered_at, c.answered_at,
                     c.left_at, c.ended_at, c.agent_id, c.interface, c.outcome, c.wait, c.talk,
                     c.wrapup, c.transfer_how, c.transfer_target, c.end_seen)
                    for c in batch.closed])
            if batch.wrapups:
                await conn.executemany(_SET_WRAPUP, batch.wrapups)
            if batch.ended_calls:
                await conn.executemany(_COMPLETE_INTERACTION, [
                    (call.call_id, call.caller_number, call.account or None, call.agent_id,
                     call.queue or None, utc(call.first_entered or at),
                     utc(call.first_answered) if call.first_answered else None, utc(at),
                     _interaction_outcome(call))
                    for call, at in batch.ended_calls])

    async def _flush_redis(self) -> None:
        if not self._dirty and not self._gone:
            return
        dirty, gone = self._dirty, self._gone
        self._dirty, self._gone = set(), set()
        try:
            images = {k: v for k in dirty if (v := self.book.image(k)) is not None}
            async with self.redis.pipeline(transaction=True) as pipe:
                if gone:
                    pipe.hdel(self.key, *gone)
                if images:
                    pipe.hset(self.key, mapping=images)
                await pipe.execute()
        except Exception:
            self._dirty |= dirty
            self._gone |= gone
            raise
