"""Failed-login limits per login and per client address, counted in Redis.

Every attempt is counted before its password is checked (so a concurrent burst is limited as
well as a slow one) and a successful login takes its attempt back, so only failures accumulate.
A counter lives ``window`` seconds from its first attempt (fixed window); past the limit the
answer is 429 with ``Retry-After`` = the seconds left. Counters live in Redis so that every
server process shares them; logins and addresses appear in keys only as hashes.

When Redis is down, each process counts in memory instead (the same limits, per process): logins
keep working and stay limited, and nothing is carried over when Redis returns.
"""
from __future__ import annotations

import hashlib
import logging
import time

import redis.asyncio as aioredis

from agent_api.errors import TooManyRequests, is_redis_outage

log = logging.getLogger(__name__)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode(errors="replace")).hexdigest()[:32]


class _MemoryWindows:
    """The fallback counters of one process: key -> (count, expires at)."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}

    def hit(self, key: str, window: int, delta: int = 1) -> tuple[int, int]:
        now = time.monotonic()
        count, expires = self._counts.get(key, (0, now + window))
        if expires <= now:
            count, expires = 0, now + window
        count = max(count + delta, 0)
        if len(self._counts) >= self.MAX_KEYS:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        self._counts[key] = (count, expires)
        return count, max(int(expires - now + 0.999), 1)

    def forget(self, key: str) -> None:
        self._counts.pop(key, None)


class LoginLimiter:
    def __init__(
        self, redis: aioredis.Redis, prefix: str, *, per_login: int, per_address: int, window: int
    ) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:login-attempts"
        self._per_login = per_login
        self._per_address = per_address
        self._window = window
        self._memory = _MemoryWindows()

    def _keys(self, login: str, address: str) -> tuple[str, str]:
        # Logins are compared case-sensitively by the database; so are their counters.
        return (f"{self._prefix}:login:{_digest(login)}",
                f"{self._prefix}:address:{_digest(address)}")

    async def admit(self, login: str, address: str) -> None:
        """Count an attempt; raise 429 when the login or the address is over its limit."""
        by_login, by_address = self._keys(login, address)
        try:
            (login_count, login_ttl), (address_count, address_ttl) = (
                await self._hit_redis(by_login), await self._hit_redis(by_address))
        except Exception as exc:
            if not is_redis_outage(exc):
                raise
            log.warning("login limits counted in memory: Redis is unavailable")
            login_count, login_ttl = self._memory.hit(by_login, self._window)
            address_count, address_ttl = self._memory.hit(by_address, self._window)
        if login_count > self._per_login:
            raise TooManyRequests("too many failed logins for this login; try again later",
                                  login_ttl, {"limit": "login"})
        if address_count > self._per_address:
            raise TooManyRequests("too many failed logins from this address; try again later",
                                  address_ttl, {"limit": "address"})

    async def succeeded(self, login: str, address: str) -> None:
        """A right password: the login starts afresh, the address gets its attempt back."""
        by_login, by_address = self._keys(login, address)
        self._memory.forget(by_login)
        self._memory.hit(by_address, self._window, -1)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.delete(by_login)
                pipe.decr(by_address)
                pipe.expire(by_address, self._window, nx=True)  # expired meanwhile: not forever
                await pipe.execute()
        except Exception as exc:
            if not is_redis_outage(exc):
                raise

    async def _hit_redis(self, key: str) -> tuple[int, int]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self._window, nx=True)
            pipe.ttl(key)
            count, _, ttl = await pipe.execute()
        return int(count), max(int(ttl), 1)
