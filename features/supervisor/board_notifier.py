"""The board's pushes to every supervisor, coalesced, and the snapshot kept in Redis.

Leader work (one per PBX): the metrics say what changed (``queue_changed(name)``,
``agent_changed(agent_id)``, ``abandoned_changed()``, ``callbacks_changed()``); what changed
is pushed to the room ``supervisors`` of namespace ``/supervisor`` in flushes at most
``push_per_second`` a second, each no later than ``1 / push_per_second`` after the first change
in it (a burst of changes becomes one push with the state as it is when the push goes out). The
first change after a quiet spell goes out at once. ``audit(entry)`` is pushed as it comes (rare).

Events: ``queues {queues: [QueueTile]}`` and ``agents {agents: [AgentRow]}`` (one frame per
flush each, with only the queues or agents due in it: with thousands of agents a frame per item
and board is more than one process can send), ``abandoned {abandoned: [AbandonedCall]}``,
``callbacks {callbacks: [Callback]}``, ``audit {entry}``.

Every push also writes what it pushed into the Redis hash ``{prefix}:supervisor:board``
(:class:`BoardSnapshot`), and the whole board is written at start and every ``full_every``
seconds (queues or agents that went away disappear then), so a board that connects to any
process reads the picture as of the last push.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, NamedTuple, Protocol

import redis.asyncio as aioredis
from pydantic import BaseModel

from features.agents.socket_manager import JsonOnly
from features.loop_slices import TimeSlice
from features.supervisor.board_schemas import AbandonedCall, AgentRow, Board, Callback, QueueTile
from state.json_text import json_text

log = logging.getLogger(__name__)

NAMESPACE = "/supervisor"
ROOM = "supervisors"

_LISTS = ("abandoned", "callbacks")


class _Item(NamedTuple):
    """A queue tile or agent row due in this flush: what it is compared as (``seen``), its
    snapshot field, its JSON and that JSON as text (encoded once: compared, stored, sent)."""

    key: Hashable
    seen: str
    field: str
    data: dict[str, Any]
    text: str


class BoardEmitter(Protocol):
    async def emit(self, event: str, data: Any = None, *, to: str | None = None,
                   namespace: str | None = None) -> None: ...


def _dump(model: BaseModel | list[BaseModel]) -> Any:
    if isinstance(model, list):
        return [m.model_dump(mode="json") for m in model]
    return model.model_dump(mode="json")


class BoardSnapshot:
    """The board as last pushed, in one Redis hash: ``meta`` (generated_at, day, timezone,
    formulas), ``queue:{name}``, ``agent:{id}``, ``abandoned``, ``callbacks`` (JSON)."""

    def __init__(self, redis: aioredis.Redis, key: str) -> None:
        self._redis = redis
        self._key = key

    async def replace(self, fields: dict[str, str]) -> None:
        """The whole snapshot is ``fields`` (what is not in it goes)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key)
            pipe.hset(self._key, mapping=fields)
            await pipe.execute()

    async def write(self, fields: dict[str, str]) -> None:
        if fields:
            await self._redis.hset(self._key, mapping=fields)

    async def read(self) -> dict[str, Any] | None:
        """The whole board as the page gets it, or None when no leader wrote one yet."""
        raw = await self._redis.hgetall(self._key)
        if "meta" not in raw:
            return None
        board = json.loads(raw["meta"])
        queues = [json.loads(v) for k, v in raw.items() if k.startswith("queue:")]
        agents = [json.loads(v) for k, v in raw.items() if k.startswith("agent:")]
        board["queues"] = sorted(queues, key=lambda q: q["name"])
        board["agents"] = sorted(agents, key=lambda a: a["agent_id"])  # as metrics.board()
        for name in _LISTS:
            board[name] = json.loads(raw.get(name, "[]"))
        return board




class Coalescer:
    """Keys marked as changed come out of :meth:`due` together: one flush for every key marked
    since the last, at most once per ``interval``, no later than ``interval`` after the first
    mark, and at once after a quiet spell. So each key is pushed at most once per interval, and
    a flush is one frame per kind whatever the number of keys in it: with a timer per key (as
    before) 2,000 agents changing at different moments made some 58 frames a second per board,
    each sent to every board."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._marked: dict[Hashable, None] = {}  # a set that keeps the order of marking
        self._at: float | None = None  # when the marked keys are due
        self._last = -math.inf  # the last flush
        self.wakeup = asyncio.Event()

    def mark(self, key: Hashable) -> None:
        self._marked[key] = None
        if self._at is None:
            self._at = max(self._clock(), self._last + self.interval)
            self.wakeup.set()  # the runner sleeps until the due time: tell it the new one

    def due(self) -> list[Hashable]:
        now = self._clock()
        if self._at is None or now < self._at:
            return []
        keys = list(self._marked)
        self._marked.clear()
        self._at, self._last = None, now
        return keys

    def next_in(self) -> float | None:
        if self._at is None:
            return None
        return max(0.0, self._at - self._clock())


class BoardNotifier:
    def __init__(self, emitter: BoardEmitter, snapshot: BoardSnapshot, *,
                 board: Callable[[], Board],
                 head: Callable[[], Board],
                 queue_names: Callable[[], list[str]],
                 agent_ids: Callable[[], list[int]],
                 tile: Callable[[str], QueueTile | None],
                 row: Callable[[int], AgentRow | None],
                 abandoned: Callable[[], Awaitable[list[AbandonedCall]]],
                 callbacks: Callable[[], Awaitable[list[Callback]]],
                 push_per_second: float, full_every: float = 60.0,
                 lists_every: float = 5.0) -> None:
        self._sio = emitter
        # The full snapshot is written piece by piece from these (``_write_full``).
        self._head = head
        self._queue_names = queue_names
        self._agent_ids = agent_ids
        self._snapshot = snapshot
        self._board = board
        self._tile = tile
        self._row = row
        self._load = {"abandoned": abandoned, "callbacks": callbacks}
        self._lists: dict[str, list] = {"abandoned": [], "callbacks": []}
        self._coalescer = Coalescer(min(1.0, 1.0 / push_per_second))
        self._full_every = full_every
        self._lists_every = lists_every
        self._tasks: list[asyncio.Task] = []
        self.running = False
        self._sent: dict[Hashable, str] = {}  # what was last pushed per queue and agent
        self.pushes = 0  # frames sent (a batch of queues or agents is one)
        self.unchanged = 0  # changes that showed nothing new: not pushed
        self.abandoned_marks = 0  # times the abandoned list was said to have changed
        self.errors = 0

    # --- what changed (called by the metrics and the stores) ----------------------------------
    def queue_changed(self, name: str) -> None:
        self._coalescer.mark(("queue", name))

    def agent_changed(self, agent_id: int) -> None:
        self._coalescer.mark(("agent", agent_id))

    def abandoned_changed(self) -> None:
        self.abandoned_marks += 1
        self._coalescer.mark(("abandoned",))

    def callbacks_changed(self) -> None:
        self._coalescer.mark(("callbacks",))

    async def list_changed(self, name: str) -> None:
        """A list changed in this process (a REST request): coalesced when this process leads,
        else pushed at once (and the snapshot updated) so no leader round trip is needed."""
        if self.running:
            self._coalescer.mark((name,))
        else:
            await self._push([(name,)])

    async def audit(self, entry: BaseModel) -> None:
        await self._emit("audit", {"entry": entry.model_dump(mode="json")})

    def listed(self, name: str) -> list:
        """The list ``abandoned`` or ``callbacks`` as last loaded (a new list object per load)."""
        return self._lists[name]

    # --- the whole board ----------------------------------------------------------------------
    def board(self) -> Board:
        """The live board (leader only): the metrics' picture with the lists as last loaded."""
        return self._board().model_copy(update={
            "abandoned": self._lists["abandoned"], "callbacks": self._lists["callbacks"]})

    # --- leader work --------------------------------------------------------------------------
    async def start(self) -> None:
        self._sent.clear()
        for name in _LISTS:
            await self._reload(name)
        await self._write_full()
        self._tasks = [asyncio.create_task(self._run(), name="board-pushes"),
                       asyncio.create_task(self._refresh(), name="board-refresh")]
        self.running = True

    async def stop(self) -> None:
        self.running = False
        while self._tasks:
            task = self._tasks.pop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        coalescer = self._coalescer
        while True:
            coalescer.wakeup.clear()
            keys = coalescer.due()
            if keys:
                await self._push(keys)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(coalescer.next_in()):
                    await coalescer.wakeup.wait()

    async def _push(self, keys: list[Hashable]) -> None:
        fields: dict[str, str] = {}
        batches: dict[str, list[_Item]] = {"queues": [], "agents": []}
        # At 100 calls/s a flush has a hundred tiles and hundreds of rows (~20 ms): built in
        # one go, every pop due meanwhile waited behind it.
        slices = TimeSlice()
        for key in keys:
            await slices.pause_if_due()
            kind = key[0]  # type: ignore[index]
            try:
                if kind in ("queue", "agent"):
                    item = self._item(key)
                    if item is not None:
                        batches[f"{kind}s"].append(item)
                else:
                    await self._reload(kind)
                    data = _dump(self._lists[kind])
                    await self._emit(kind, {kind: data})
                    fields[kind] = json_text(data)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one failed item must not hold up the others
                self.errors += 1
                log.warning("board push of %s failed: %s", kind, type(exc).__name__)
        for event, items in batches.items():
            if not items:
                continue
            try:
                await self._emit(event, {event: [item.data for item in items]})
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # not marked as sent: the next change pushes them again
                self.errors += 1
                log.warning("board push of %s failed: %s", event, type(exc).__name__)
                continue
            for item in items:
                self._sent[item.key] = item.seen
                fields[item.field] = item.text
        try:
            await self._snapshot.write(fields)
        except Exception as exc:  # pushed; the next write or full write brings Redis up to date
            self.errors += 1
            log.warning("board snapshot not written: %s", type(exc).__name__)

    def _item(self, key: Hashable) -> _Item | None:
        """A changed queue tile or agent row as it goes into its batch, or None when it went
        away or shows nothing new."""
        kind, ident = key  # type: ignore[misc]
        if kind == "queue":
            tile = self._tile(ident)
            if tile is None:
                return None
            data = _dump(tile)
            text = json_text(data)
            # The page advances the wait itself (longest_wait_since): a tile that differs only
            # in the wait at generation shows nothing new.
            seen = self._unseen(key, json_text({**data, "longest_wait": None}))
            field = f"queue:{tile.name}"
        else:
            row = self._row(ident)
            if row is None:
                return None
            data = _dump(row)
            text = json_text(data)
            seen = self._unseen(key, text)  # None: e.g. a pending change the board does not show
            field = f"agent:{row.agent_id}"
        if seen is None:
            return None
        return _Item(key, seen, field, data, text)

    def _unseen(self, key: Hashable, text: str) -> str | None:
        """``text`` (a model's JSON: its fields always in one order) when it differs from what
        was last pushed for ``key``."""
        if self._sent.get(key) == text:
            self.unchanged += 1
            return None
        return text

    async def _emit(self, event: str, data: dict[str, Any]) -> None:
        # Built from JSON: the packet need not be walked for bytes (socket_manager.py).
        await self._sio.emit(event, JsonOnly(data), to=ROOM, namespace=NAMESPACE)
        self.pushes += 1

    async def _write_full(self) -> None:
        """The whole snapshot again (queues or agents that went away disappear), built a
        slice at a time so that no pop or push waits behind two thousand rows."""
        head = _dump(self._head().model_copy(update=self._lists))
        fields = {"meta": json_text({k: v for k, v in head.items()
                                     if k not in ("queues", "agents", *_LISTS)})}
        fields.update({name: json_text(head[name]) for name in _LISTS})
        pieces: list[tuple[str, Callable[[], BaseModel | None]]] = [
            *((f"queue:{name}", functools.partial(self._tile, name))
              for name in self._queue_names()),
            *((f"agent:{agent_id}", functools.partial(self._row, agent_id))
              for agent_id in self._agent_ids())]
        slices = TimeSlice()
        for field, build in pieces:
            await slices.pause_if_due()
            item = build()
            if item is not None:
                fields[field] = json_text(_dump(item))
        await self._snapshot.replace(fields)

    async def _reload(self, name: str) -> None:
        self._lists[name] = await self._load[name]()

    async def _refresh(self) -> None:
        """The lists change with the clock too (overdue, a record written later, a new day),
        and queues or agents may go away: look again now and then, push what differs."""
        full_at = time.monotonic() + self._full_every
        while True:
            await asyncio.sleep(self._lists_every)
            try:
                for name in _LISTS:
                    before = self._lists[name]
                    await self._reload(name)
                    if self._lists[name] != before:
                        self._coalescer.mark((name,))
                if time.monotonic() >= full_at:
                    full_at = time.monotonic() + self._full_every
                    await self._write_full()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.errors += 1
                log.warning("board refresh failed: %s", type(exc).__name__)
