"""Drops cached cards when PostgreSQL says they changed (LISTEN ccs_card_changed).

The triggers of migration 0002 notify the account numbers of every changed card; this listener
deletes those cards from Redis. Notifications sent while it is not listening are lost, so after
every (re)connection it flushes all cached cards; when Redis refuses a deletion it keeps flushing
all until Redis takes it. Either way the next card a desktop asks for is built from PostgreSQL.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
import redis.exceptions

from state.cards import CHANGES_CHANNEL, FLUSH_ALL, CardCache
from state.db import is_database_outage

log = logging.getLogger(__name__)

_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class CardChangeListener:
    def __init__(
        self,
        dsn: str,
        cache: CardCache,
        *,
        retry_min: float = 0.1,
        retry_max: float = 5.0,
        keepalive: float = 5.0,
    ) -> None:
        self._dsn = dsn
        self._cache = cache
        self._retry_min = retry_min
        self._retry_max = retry_max
        self._keepalive = keepalive
        self._changes: asyncio.Queue[str] = asyncio.Queue()
        self._flush_needed = True
        self.listening = False
        self.applied = 0
        self.first_listen = asyncio.Event()

    def status(self) -> dict:
        return {"listening": self.listening, "flush_pending": self._flush_needed,
                "changes_applied": self.applied}

    async def run(self) -> None:
        """Listen and apply until cancelled."""
        worker = asyncio.create_task(self._apply_changes(), name="card-cache-invalidation")
        try:
            await self._listen_forever()
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _listen_forever(self) -> None:
        delay = self._retry_min
        while True:
            try:
                conn = await asyncpg.connect(self._dsn, timeout=self._retry_max)
            except Exception as exc:
                if not is_database_outage(exc):
                    log.exception("card change listener cannot connect")
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            try:
                await self._listen(conn)
                delay = self._retry_min
            except Exception as exc:
                if not is_database_outage(exc):
                    log.exception("card change listener failed")
            finally:
                self.listening = False
                with contextlib.suppress(Exception):
                    await conn.close(timeout=1)
            log.warning("card change listener lost PostgreSQL; reconnecting")
            await asyncio.sleep(delay)

    async def _listen(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(CHANGES_CHANNEL, self._on_notification)
        self.listening = True
        self.first_listen.set()
        # Whatever changed while nobody listened is unknown: every cached card may be stale.
        self._changes.put_nowait(FLUSH_ALL)
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self._keepalive)
                return
            # A silently dead connection (no FIN from a crashed host) shows here.
            await conn.fetchval("SELECT 1", timeout=self._keepalive)

    def _on_notification(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self._changes.put_nowait(payload)

    async def _apply_changes(self) -> None:
        while True:
            if self._flush_needed:
                try:
                    await self._cache.invalidate_all()
                    self._flush_needed = False
                except _REDIS_DOWN:
                    await asyncio.sleep(self._retry_max)
                    continue
            payload = await self._changes.get()
            if payload == FLUSH_ALL:
                self._flush_needed = True
                continue
            try:
                await self._cache.apply_change(payload)
                self.applied += 1
            except _REDIS_DOWN:
                self._flush_needed = True
