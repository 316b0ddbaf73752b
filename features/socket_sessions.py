"""Which open sockets belong to which user, in every server process, so that ending a user's
sessions (logout, password change) closes their sockets at once instead of when they reconnect.

Each namespace calls :meth:`SocketSessions.opened` after it accepted a connection and
:meth:`closed` when it goes; the set lives in Redis (``{prefix}:agent:{id}:sockets``), because
the socket may be held by another process. :meth:`end` disconnects each one through the
Socket.IO client manager, which forwards a disconnect for a socket held elsewhere over Redis.
"""
from __future__ import annotations

import logging

import redis.asyncio as aioredis
import socketio
from aiohttp import web

from state.redis_keys import RedisKeys

log = logging.getLogger(__name__)


class SocketSessions:
    """See the module's docstring; one per application (``SOCKET_SESSIONS``)."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys, sio: socketio.AsyncServer, *,
                 ttl: int) -> None:
        self._redis = redis
        self._keys = keys
        self._sio = sio
        # A socket outlives no token: the set expires with the longest-lived one.
        self._ttl = ttl

    async def opened(self, agent_id: int, namespace: str, sid: str) -> None:
        key = self._keys.user_sockets(agent_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, f"{namespace} {sid}")
            pipe.expire(key, self._ttl)
            await pipe.execute()

    async def closed(self, agent_id: int, namespace: str, sid: str) -> None:
        await self._redis.srem(self._keys.user_sockets(agent_id), f"{namespace} {sid}")

    async def end(self, agent_id: int) -> int:
        """Disconnect every socket the user has open; returns how many were asked to close."""
        key = self._keys.user_sockets(agent_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.smembers(key)
            pipe.delete(key)
            members, _ = await pipe.execute()
        for member in members:
            namespace, _, sid = member.partition(" ")
            try:
                await self._sio.disconnect(sid, namespace=namespace)
            except Exception as exc:  # one stale socket must not keep the others open
                log.warning("closing a socket of an ended session failed: %s",
                            type(exc).__name__)
        return len(members)


SOCKET_SESSIONS: web.AppKey[SocketSessions] = web.AppKey("socket_sessions", SocketSessions)


async def socket_opened(namespace: socketio.AsyncNamespace, sessions: SocketSessions | None,
                        user_id: int, sid: str, room: str) -> None:
    """An accepted socket: its user kept in its Socket.IO session (``user_id``), the room it
    joins, and recorded in `sessions` (when there are any) so that ending the user's sessions
    closes it."""
    await namespace.save_session(sid, {"user_id": user_id})
    await namespace.enter_room(sid, room)
    if sessions is not None:
        await sessions.opened(user_id, namespace.namespace, sid)


async def socket_closed(namespace: socketio.AsyncNamespace, sessions: SocketSessions | None,
                        sid: str) -> None:
    """The socket went: forgotten in `sessions`, unless it was refused at connect."""
    if sessions is None:
        return
    try:
        session = await namespace.get_session(sid)
    except KeyError:  # refused at connect: never recorded
        return
    await sessions.closed(session["user_id"], namespace.namespace, sid)
