"""Cleanup contexts of the long-lived parts: event bus relay, CTI, speech engine, IVR servers.

Each context starts its part, registers its status for /health, and stops it in reverse order
(aiohttp runs cleanups only for contexts whose startup finished).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from agent_api.keys import BUS, CTI, HEALTH, PG_POOL, REDIS, SETTINGS, SPEECH
from cti.bus import EventBus
from cti.service import CtiService
from speech import SpeechEngine
from state.events import DomainEvent
from state.keys import Keys
from state.live import LiveState

log = logging.getLogger(__name__)


async def bus_ctx(app: web.Application) -> AsyncIterator[None]:
    """The in-process bus, relayed to Redis so that every process (boards, notifiers) sees it."""
    bus: EventBus[DomainEvent] = EventBus()
    app[BUS] = bus
    live = LiveState(app[REDIS], Keys.from_settings(app[SETTINGS].redis))
    channel = Keys.from_settings(app[SETTINGS].redis).events()

    async def relay() -> None:
        async with bus.queue() as events:
            async for event in events:
                try:
                    await live.publish(channel, event)
                except Exception:  # Redis down: the event is lost for other processes only
                    log.warning("event relay to Redis failed", exc_info=True)

    task = asyncio.create_task(relay(), name="event-relay")

    async def status() -> dict:
        return {"status": "ok" if not task.done() else "fail", **bus.status()}

    app[HEALTH].register("events", status)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def cti_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS].ami
    if not settings.host:
        log.warning("CCS_AMI__HOST is unset: no PBX connection (ccs demo starts the simulator)")
        yield
        return
    service = CtiService(settings, app[BUS].publish)
    app[CTI] = service
    await service.start()

    async def status() -> dict:
        s = service.status()
        return {"status": "ok" if s.get("logged_in") and not s.get("stale_model") else "fail", **s}

    app[HEALTH].register("ami", status)
    try:
        yield
    finally:
        await service.stop()


async def speech_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS].speech
    if not settings.enabled:
        yield
        return
    engine = SpeechEngine(settings)
    await engine.start()
    app[SPEECH] = engine

    async def status() -> dict:
        return {"status": "ok" if engine.started else "fail", **engine.status()}

    app[HEALTH].register("speech", status)
    try:
        yield
    finally:
        await engine.close()


async def ivr_ctx(app: web.Application) -> AsyncIterator[None]:
    from ivr.app import ivr_servers  # the IVR pulls in flows and prompts: only when enabled

    settings = app[SETTINGS].ivr
    if not settings.enabled:
        yield
        return
    async with ivr_servers(settings, app[PG_POOL], app.get(SPEECH)) as (agi, audio, _ivr):

        async def status() -> dict:
            a, b = agi.status(), audio.status()
            return {"status": "ok" if a["listening"] and b.get("listening", True) else "fail",
                    "agi": a, "audiosocket": b}

        app[HEALTH].register("ivr", status)
        yield
