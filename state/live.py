"""Live state in Redis (agent readiness, queue counters, calls) and JSON pub/sub.

Key and channel names come only from :class:`state.redis_keys.RedisKeys`. The client may be built with or
without ``decode_responses``; values are decoded here.

Pub/sub is at-most-once: a message published while a subscriber is disconnected is lost. A
subscriber that cares passes ``on_reconnect`` and rebuilds its view from the hashes (which is why
the live state lives in hashes and not only in messages).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from state.json_text import json_text
from state.redis_keys import RedisKeys
from state.models import AgentReadiness, AgentState

log = logging.getLogger(__name__)

DEFAULT_CALL_TTL = 4 * 3600
_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class LiveState:
    """Agent readiness, queue counters and call hashes, plus publish/subscribe."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys, *, call_ttl: int = DEFAULT_CALL_TTL):
        self._redis = redis
        self.keys = keys
        self._call_ttl = call_ttl

    # --- agent readiness ---------------------------------------------------------------
    async def set_agent_state(
        self,
        agent_id: int,
        state: AgentReadiness | str,
        reason: str | None = None,
        since: dt.datetime | None = None,
    ) -> AgentState:
        """Replace the agent's state. A reason belongs to ``not_ready`` only."""
        state = AgentReadiness(state)
        if reason is not None and state is not AgentReadiness.NOT_READY:
            raise ValueError(f"a reason is kept only for not_ready, not for {state.value}")
        since = since or _now()
        if since.tzinfo is None:
            raise ValueError("since must carry a time zone")
        record = AgentState(agent_id=agent_id, state=state, reason=reason, since=since)
        fields = {"state": state.value, "since": since.isoformat()}
        if reason is not None:
            fields["reason"] = reason
        key = self.keys.agent_state(agent_id)
        # One MULTI so a reader never sees the new state with the old reason.
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping=fields)
            pipe.sadd(self.keys.agents(), str(agent_id))
            await pipe.execute()
        return record

    async def put_agent_views(self, views: Mapping[int, Mapping[str, Any]]) -> None:
        """Replace the whole view of each agent (``features.agents.schemas.AgentView`` as JSON;
        the agents' projector is its only writer), all in one MULTI. ``state``/``reason``/
        ``since`` stay readable as fields for ``get_agent_state``."""
        if not views:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for agent_id, view in views.items():
                fields = {"state": str(view["state"]), "since": str(view["since"]),
                          "view": json_text(view, default=str)}
                if view.get("reason"):
                    fields["reason"] = str(view["reason"])
                key = self.keys.agent_state(agent_id)
                pipe.delete(key)
                pipe.hset(key, mapping=fields)
            pipe.sadd(self.keys.agents(), *(str(agent_id) for agent_id in views))
            await pipe.execute()

    async def get_agent_view(self, agent_id: int) -> dict[str, Any] | None:
        """The view the projector wrote, or None (never written, or an older hash)."""
        raw = await self._redis.hget(self.keys.agent_state(agent_id), "view")
        if raw is None:
            return None
        try:
            view = json.loads(_text(raw))
        except ValueError:
            log.warning("unreadable view of agent %s", agent_id)
            return None
        return view if isinstance(view, dict) else None

    async def get_agent_state(self, agent_id: int) -> AgentState | None:
        """The agent's state, or None if it was never set (or was cleared)."""
        raw = await self._redis.hgetall(self.keys.agent_state(agent_id))
        return self._agent_state(agent_id, raw)

    async def agent_states(self) -> list[AgentState]:
        ids = sorted(int(_text(i)) for i in await self._redis.smembers(self.keys.agents()))
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for agent_id in ids:
                pipe.hgetall(self.keys.agent_state(agent_id))
            raws = await pipe.execute()
        states = (self._agent_state(i, raw) for i, raw in zip(ids, raws))
        return [s for s in states if s is not None]

    async def clear_agent(self, agent_id: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.agent_state(agent_id))
            pipe.srem(self.keys.agents(), str(agent_id))
            await pipe.execute()

    @staticmethod
    def _agent_state(agent_id: int, raw: Mapping) -> AgentState | None:
        if not raw:
            return None
        data = {_text(k): _text(v) for k, v in raw.items()}
        try:
            return AgentState(
                agent_id=agent_id,
                state=data["state"],
                reason=data.get("reason"),
                since=data["since"],
            )
        except (KeyError, ValueError):
            # Written by hand or by a broken version: better unknown than a crash.
            log.warning("unreadable state hash of agent %s", agent_id)
            return None

    # --- queue counters ----------------------------------------------------------------
    async def incr_queue(self, name: str, counter: str, by: int = 1) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(self.keys.queue(name), counter, by)
            pipe.sadd(self.keys.queues(), name)
            value, _ = await pipe.execute()
        return int(value)

    async def set_queue_counters(self, name: str, counters: Mapping[str, int]) -> None:
        """Replace every counter of the queue at once (after a resync from the PBX)."""
        key = self.keys.queue(name)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if counters:
                pipe.hset(key, mapping={k: int(v) for k, v in counters.items()})
            pipe.sadd(self.keys.queues(), name)
            await pipe.execute()

    async def queue_counters(self, name: str) -> dict[str, int]:
        raw = await self._redis.hgetall(self.keys.queue(name))
        return {_text(k): int(v) for k, v in raw.items()}

    async def queue_names(self) -> list[str]:
        return sorted(_text(n) for n in await self._redis.smembers(self.keys.queues()))

    # --- calls -------------------------------------------------------------------------
    async def put_call(
        self, linkedid: str, fields: Mapping[str, Any], ttl: int | None = None
    ) -> None:
        """Merge ``fields`` into the call hash (None deletes a field) and renew its TTL."""
        key = self.keys.call(linkedid)
        present = {k: str(v) for k, v in fields.items() if v is not None}
        gone = [k for k, v in fields.items() if v is None]
        async with self._redis.pipeline(transaction=True) as pipe:
            if present:
                pipe.hset(key, mapping=present)
            if gone:
                pipe.hdel(key, *gone)
            pipe.expire(key, ttl or self._call_ttl)
            await pipe.execute()

    async def get_call(self, linkedid: str) -> dict[str, str]:
        raw = await self._redis.hgetall(self.keys.call(linkedid))
        return {_text(k): _text(v) for k, v in raw.items()}

    async def end_call(self, linkedid: str) -> None:
        await self._redis.delete(self.keys.call(linkedid))

    # --- pub/sub -----------------------------------------------------------------------
    async def publish(self, channel: str, message: BaseModel | Mapping[str, Any]) -> int:
        """Publish JSON; returns how many subscribers received it."""
        if isinstance(message, BaseModel):
            payload = message.model_dump_json()
        else:
            payload = json.dumps(message, ensure_ascii=False, default=str)
        return int(await self._redis.publish(channel, payload))

    async def publish_many(self, channel: str, messages: list[BaseModel]) -> None:
        """Publish several JSON messages in one round trip (a pipeline, not a transaction)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for message in messages:
                pipe.publish(channel, message.model_dump_json())
            await pipe.execute()

    def subscribe(
        self,
        *channels: str,
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
        backoff: tuple[float, float] = (0.1, 5.0),
        idle_ping: float = 5.0,
    ) -> ChannelSubscription:
        """``async with live.subscribe(ch) as sub: async for msg in sub: ...``"""
        return ChannelSubscription(
            self._redis, channels, on_reconnect=on_reconnect, backoff=backoff, idle_ping=idle_ping
        )


@dataclass(frozen=True, slots=True)
class Message:
    channel: str
    data: Any


class ChannelSubscription:
    """JSON messages of some channels; survives Redis restarts.

    Entering the context subscribes and waits for the server's confirmation, so anything
    published afterwards is received. Iterating never ends by itself: on a lost connection it
    resubscribes with exponential backoff (jittered, capped) and calls ``on_reconnect`` so the
    consumer can resynchronise what it missed. Malformed messages are logged and skipped.
    Cancellation is never swallowed.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        channels: tuple[str, ...],
        *,
        on_reconnect: Callable[[], Awaitable[None]] | None,
        backoff: tuple[float, float],
        idle_ping: float,
    ) -> None:
        if not channels:
            raise ValueError("subscribe to at least one channel")
        self._redis = redis
        self._channels = channels
        self._on_reconnect = on_reconnect
        self._backoff = backoff
        self._idle_ping = idle_ping
        self._pubsub: aioredis.client.PubSub | None = None
        self._reconnected = False
        self.reconnects = 0  # resubscriptions so far (each one may have missed messages)
        self.failures = 0  # connection errors so far

    async def __aenter__(self) -> ChannelSubscription:
        try:
            await self._connect()
        except _REDIS_DOWN as exc:
            # Not fatal: iteration keeps trying with backoff.
            self.failures += 1
            log.warning("subscribe failed, will retry: %s", exc)
            await self._drop()
            self._reconnected = True
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._drop()

    def __aiter__(self) -> ChannelSubscription:
        return self

    async def __anext__(self) -> Message:
        delay = self._backoff[0]
        while True:
            try:
                if self._pubsub is None:
                    await self._connect()
                    delay = self._backoff[0]
                if self._reconnected:
                    self._reconnected = False
                    self.reconnects += 1
                    if self._on_reconnect is not None:
                        await self._on_reconnect()
                assert self._pubsub is not None
                raw = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=self._idle_ping
                )
                if raw is None:
                    # Quiet channel: make sure the connection is still alive.
                    await self._pubsub.ping()
                    continue
            except _REDIS_DOWN as exc:
                self.failures += 1
                log.warning("pub/sub connection lost, retrying in %.1fs: %s", delay, exc)
                await self._drop()
                self._reconnected = True
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self._backoff[1])
                continue
            if raw.get("type") != "message":
                continue  # pong and other control replies
            channel = _text(raw["channel"])
            try:
                data = json.loads(raw["data"])
            except (TypeError, ValueError):
                log.warning("skipping a malformed message on %s", channel)
                continue
            return Message(channel=channel, data=data)

    async def _connect(self) -> None:
        pubsub = self._redis.pubsub()
        self._pubsub = pubsub
        await pubsub.subscribe(*self._channels)
        # Wait for every confirmation: after it the server routes messages to us.
        confirmed = 0
        while confirmed < len(self._channels):
            reply = await pubsub.get_message(timeout=self._idle_ping)
            if reply is None:
                raise RedisTimeoutError("no subscribe confirmation")
            if reply.get("type") == "subscribe":
                confirmed += 1
        # redis-py reconnects the pubsub connection by itself on some errors and resubscribes;
        # we still must tell the consumer that messages may have been missed.
        assert pubsub.connection is not None
        pubsub.connection.register_connect_callback(self._on_connection_made)

    def _on_connection_made(self, _connection: object) -> None:
        self._reconnected = True

    async def _drop(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is None:
            return
        if pubsub.connection is not None:
            pubsub.connection.deregister_connect_callback(self._on_connection_made)
        try:
            await pubsub.aclose()
        except _REDIS_DOWN:
            pass
