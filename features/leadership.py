"""One lease per PBX for every feature's leader work (one consumer of the PBX's events).

Every server process keeps its AMI connection and tracker (actions, REST reads), but the work
that must happen once per PBX — the agents' projector and notifier, the supervisor board's
metrics and pushes, the call recorder, the campaign pacer — runs only in the process holding
the Redis lease ``{prefix}:lock:pbx:{name}``. When the holder dies its lease expires after
``ttl`` seconds and another process takes over.

A feature's cleanup context builds its objects and calls :meth:`Leadership.add` before it
yields; :func:`leadership_ctx` comes after every feature's context, so the lease is taken only
once all work is registered, and on shutdown it is released (and the work stopped, in reverse
order) before any feature tears down what that work uses.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from agent_api.app_keys import CTI, HEALTH, REDIS, REDIS_KEYS
from state.lease import Lease

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LeaderWork:
    name: str
    start: Step
    stop: Step


class Leadership:
    def __init__(self, pbx_name: str, *, ttl: float) -> None:
        self.pbx_name = pbx_name
        self.ttl = ttl
        self.lease: Lease | None = None
        self._work: list[LeaderWork] = []
        self._running: list[LeaderWork] = []

    def add(self, name: str, start: Step, stop: Step) -> None:
        if self.lease is not None:
            raise RuntimeError(f"leader work {name!r} added after the lease started")
        self._work.append(LeaderWork(name, start, stop))

    @property
    def held(self) -> bool:
        return self.lease is not None and self.lease.held

    @property
    def ready(self) -> bool:
        return self.lease is not None and self.lease.ready

    def surely_held(self, margin: float | None = None) -> bool:
        """See ``Lease.surely_held``; the default margin is a tenth of the TTL."""
        return self.lease is not None and self.lease.surely_held(
            self.ttl / 10 if margin is None else margin)

    @property
    def work(self) -> tuple[str, ...]:
        return tuple(w.name for w in self._work)

    async def on_acquired(self) -> None:
        for work in self._work:
            await work.start()
            self._running.append(work)

    async def on_lost(self) -> None:
        while self._running:
            work = self._running.pop()
            await bounded(work.stop(), f"stopping {work.name}")

    def status(self) -> dict[str, Any]:
        lease = self.lease.status() if self.lease is not None else {"held": False}
        return {**lease, "work": list(self.work), "running": [w.name for w in self._running]}


LEADERSHIP: web.AppKey[Leadership] = web.AppKey("leadership", Leadership)


async def leadership_ctx(app: web.Application) -> AsyncIterator[None]:
    leadership = app[LEADERSHIP]
    lease = Lease(app[REDIS], app[REDIS_KEYS].lock(f"pbx:{leadership.pbx_name}"),
                  ttl=leadership.ttl, on_acquired=leadership.on_acquired,
                  on_lost=leadership.on_lost)
    leadership.lease = lease
    # Without a PBX there is nothing to consume: nobody leads.
    if app.get(CTI) is not None:
        await lease.start()

    async def status() -> dict:
        state = ("no PBX" if app.get(CTI) is None else "leader" if lease.ready
                 else "starting" if lease.held else "standby")
        return {"status": "ok", "state": state, **leadership.status()}

    app[HEALTH].register("leadership", status)
    try:
        yield
    finally:
        await bounded(lease.stop(), "releasing the PBX lease")
        await leadership.on_lost()


async def bounded(work: Awaitable[Any], what: str, seconds: float = 5.0) -> None:
    """Await one shutdown step, but never longer than ``seconds``: a stuck part must not keep
    the server (or a test) from stopping. Named in the log when it fails or is left behind."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        log.warning("%s took over %.0f s: left behind", what, seconds)
        task.cancel()
        return
    if not task.cancelled() and task.exception() is not None:
        log.warning("%s failed: %s", what, type(task.exception()).__name__)
