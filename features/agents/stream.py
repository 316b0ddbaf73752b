"""The agents' Redis Stream: the service's events, from whichever server process served the
agent, to the leader's projector.

A Stream and not pub/sub: an event added while the leader is between two reads (or while the
lease moves) is still there for the next read, and the stream is capped (``MAXLEN ~``) so it
never grows without bound.

Public API (``AgentEventStream(redis, key, maxlen)``):
- ``await add(event)``: XADD one ``ReadinessRequested`` / ``ReadinessFailed`` /
  ``ReadinessApplied`` / ``WrapUpChanged`` (the service's ``emit``).
- ``await last_id()``: the id to read after (``"0-0"`` for an empty stream).
- ``await read(after, block_ms) -> (last_id, [event, ...])``: events after ``after``; an
  entry that does not parse is logged and skipped.
- ``await save_cursor(entry_id)`` / ``await start_id()``: the leader keeps the id of the last
  entry it handled, so the next leader goes on from there and an entry added while the lease
  moved is not skipped (the stream's end when no leader ever ran).
"""
from __future__ import annotations

import logging
from typing import Annotated, Union

import redis.asyncio as aioredis
from pydantic import Field, TypeAdapter, ValidationError

from state.events import ReadinessApplied, ReadinessFailed, ReadinessRequested, WrapUpChanged

log = logging.getLogger(__name__)

ServiceEvent = Annotated[
    Union[ReadinessRequested, ReadinessFailed, ReadinessApplied, WrapUpChanged],
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter = TypeAdapter(ServiceEvent)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


class AgentEventStream:
    def __init__(self, redis: aioredis.Redis, key: str, maxlen: int = 10_000, *,
                 cursor_key: str | None = None) -> None:
        self._redis = redis
        self.key = key
        self._maxlen = maxlen
        self._cursor_key = cursor_key or f"{key}:cursor"

    async def add(self, event: ReadinessRequested | ReadinessFailed | ReadinessApplied
                  | WrapUpChanged) -> str:
        entry_id = await self._redis.xadd(self.key, {"event": event.model_dump_json()},
                                          maxlen=self._maxlen, approximate=True)
        return _text(entry_id)

    async def last_id(self) -> str:
        entries = await self._redis.xrevrange(self.key, count=1)
        return _text(entries[0][0]) if entries else "0-0"

    async def save_cursor(self, entry_id: str) -> None:
        await self._redis.set(self._cursor_key, entry_id)

    async def start_id(self) -> str:
        saved = await self._redis.get(self._cursor_key)
        return _text(saved) if saved else await self.last_id()

    async def read(self, after: str, block_ms: int = 1000, count: int = 500) -> tuple[str, list]:
        answer = await self._redis.xread({self.key: after}, count=count, block=block_ms)
        events = []
        for _key, entries in answer or []:
            for entry_id, fields in entries:
                after = _text(entry_id)
                data = {_text(k): _text(v) for k, v in fields.items()}
                try:
                    events.append(_ADAPTER.validate_json(data.get("event", "")))
                except ValidationError:
                    log.warning("agents stream: skipping an unreadable entry %s", after)
        return after, events
