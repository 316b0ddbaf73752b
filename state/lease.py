"""A Redis lease: one holder at a time among server processes (one AMI consumer per PBX).

The holder writes a random token with ``SET NX PX``; it renews by token (a Lua compare-and-set,
so a process whose lease already expired and was taken cannot extend someone else's) every
``ttl / 3``, and deletes by token when it stops. A holder that dies (kill -9) stops renewing:
the key expires after ``ttl`` and the next attempt of another process takes it, so take-over
needs at most ``ttl + retry`` seconds.

A renewal that comes late (a busy loop) and finds the key expired but free takes it again in
the same script and the holder's work goes on: nobody else consumes while the key is free, and
stepping down would stop the pops of a lone server. A holder that cannot renew (Redis down, or
another token holds the key) steps down at once: it is better to have no consumer for a moment
than two. ``on_acquired`` / ``on_lost`` start and stop what
only the holder may run.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

# 1: still ours, extended; 2: had expired and nobody held it, taken again; 0: another's.
_RENEW = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then
    redis.call('pexpire', KEYS[1], ARGV[2])
    return 1
end
if not holder then
    redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 2
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""

Hook = Callable[[], Awaitable[None]]


class Lease:
    def __init__(self, redis: aioredis.Redis, key: str, *, ttl: float = 5.0,
                 retry: float | None = None, on_acquired: Hook | None = None,
                 on_lost: Hook | None = None) -> None:
        if ttl <= 0:
            raise ValueError("the lease TTL must be positive")
        self._redis = redis
        self.key = key
        self.ttl = ttl
        self.renew_every = ttl / 3
        self.retry = retry if retry is not None else ttl / 3
        self.token = secrets.token_hex(16)
        self._on_acquired = on_acquired
        self._on_lost = on_lost
        self._held = False
        self._ready = False
        self._renewed_at = 0.0
        self._valid_until = 0.0  # loop time before which the key is surely still ours
        self._task: asyncio.Task | None = None
        self._starting: asyncio.Task | None = None
        self.acquisitions = 0
        self.changed = asyncio.Event()  # set on every gain or loss (tests wait on it)

    @property
    def held(self) -> bool:
        return self._held

    @property
    def ready(self) -> bool:
        """Held, and the holder's work (``on_acquired``) has started."""
        return self._held and self._ready

    def is_leader(self) -> bool:
        return self._held

    def surely_held(self, margin: float = 0.0) -> bool:
        """Held, and the key cannot have expired ``margin`` seconds from now. ``held`` stays
        true until the next renewal runs, which a stalled process (a long GC pause, a starved
        CPU) may reach only after the key expired and another process took it; work that must
        never run beside another holder's (dialling) asks this instead: the key's expiry,
        counted from before the request that set it was sent, is known without Redis."""
        return (self._held
                and asyncio.get_running_loop().time() + margin < self._valid_until)

    async def start(self) -> None:
        """Try once now, then keep trying in the background. When the first try wins, this
        returns once the holder's work has started (a lone process consumes from the start)."""
        await self._step()
        self._task = asyncio.create_task(self._run(), name=f"lease:{self.key}")
        if self._starting is not None:
            await asyncio.wait({self._starting})

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._held:
            await self._lose("stopping")
            await self._release()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.renew_every if self._held else self.retry)
            await self._step()

    async def _step(self) -> None:
        loop = asyncio.get_running_loop()
        ms = int(self.ttl * 1000)
        sent_at = loop.time()
        try:
            if self._held:
                ok = int(await self._redis.eval(_RENEW, 1, self.key, self.token, ms))
            else:
                ok = int(bool(await self._redis.set(self.key, self.token, nx=True, px=ms)))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # One failed renewal is not a lost lease; a holder that cannot be sure its key
            # outlives the next try steps down (better no consumer for a moment than two).
            if self._held and loop.time() - self._renewed_at >= self.ttl - self.renew_every:
                await self._lose(f"Redis error {type(exc).__name__}")
            return
        if ok:
            if self._held and ok == 2:
                # A late renewal (busy loop) found the key expired and free: taken again, so
                # the holder's work goes on; stopping and restarting it would only leave a gap.
                log.warning("lease %s expired before its renewal; taken again", self.key)
            self._renewed_at = loop.time()
            self._valid_until = sent_at + self.ttl
        if ok and not self._held:
            self._held, self._ready = True, False
            self.acquisitions += 1
            log.info("lease %s acquired", self.key)
            self.changed.set()
            # The holder's work starts beside the renewals: a long start must not let the key
            # expire under it.
            self._starting = asyncio.create_task(self._start_work(), name=f"lease-start:{self.key}")
        elif not ok and self._held:
            await self._lose("taken by another process")

    async def _start_work(self) -> None:
        try:
            if self._on_acquired is not None:
                await self._on_acquired()
        except Exception as exc:  # type only: messages may carry consumer data
            log.warning("lease %s: starting the holder's work failed: %s", self.key,
                        type(exc).__name__)
            await self._lose("start failed")
            await self._release()
            return
        self._ready = True
        self.changed.set()

    async def _release(self) -> None:
        with contextlib.suppress(Exception):
            await self._redis.eval(_RELEASE, 1, self.key, self.token)

    async def _lose(self, why: str) -> None:
        self._held = self._ready = False
        starting, self._starting = self._starting, None
        if starting is not None and starting is not asyncio.current_task() and not starting.done():
            starting.cancel()
            await asyncio.wait({starting})
        if why == "stopping":
            log.info("lease %s released", self.key)
        else:
            log.warning("lease %s lost: %s", self.key, why)
        self.changed.set()
        if self._on_lost is not None:
            try:
                await self._on_lost()
            except Exception as exc:
                log.warning("lease %s: stopping the holder's work failed: %s", self.key,
                            type(exc).__name__)

    def status(self) -> dict[str, object]:
        return {"held": self._held, "ready": self.ready, "acquisitions": self.acquisitions,
                "ttl": self.ttl, "surely_held": self.surely_held()}
