"""Cleanup contexts of the long-lived parts: event-loop lag probe, event bus relay, CTI, speech
engine, IVR servers.

Each context starts its part, registers its status for /health, and stops it in reverse order
(aiohttp runs cleanups only for contexts whose startup finished).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from agent_api.errors import is_redis_outage
from agent_api.app_keys import (
    BUS, CARD_LISTENER, CARDS, CTI, HEALTH, IVR_APP, LIVE, METRICS, PG_POOL, REDIS, REDIS_KEYS,
    SPEECH,
)
from agent_api.gc_pauses import GcPauses
from agent_api.loop_lag import LoopLag
from ccs.app_settings_key import SETTINGS
from cti.bus import EventBus, Subscription
from cti.service import CtiService
from features.leadership import LEADERSHIP
from speech import SpeechEngine
from state.card_listener import CardChangeListener
from state.events import DomainEvent

log = logging.getLogger(__name__)


RELAY_BATCH = 256


async def _cancelled(task: asyncio.Task) -> None:
    """Cancel a part's task and wait until it has stopped."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def loop_lag_ctx(app: web.Application) -> AsyncIterator[None]:
    """The event loop's lag, probed for the server's whole life, and the garbage collector's
    pauses (/metrics and /health)."""
    lag = LoopLag(app[METRICS])
    task = asyncio.create_task(lag.run(), name="event-loop-lag")
    app[HEALTH].register("event_loop", lag.status)
    # The garbage collector's pauses hold the loop too, and no profile of our code shows them.
    pauses = GcPauses(app[METRICS])
    pauses.install()
    app[HEALTH].register("gc", pauses.status)
    try:
        yield
    finally:
        pauses.uninstall()
        await _cancelled(task)


async def bus_ctx(app: web.Application) -> AsyncIterator[None]:
    """The in-process bus, relayed to the Redis channel ``{prefix}:events`` for integrations
    outside the server (a CRM, a wallboard of one's own).

    The relay is leader work (features/leadership.py): every process tracks the same PBX, so
    one relay per PBX, not one per process. Events go out in pipelined batches: a burst costs a
    round trip per batch, not per event, and a stop never waits for a backlog (pub/sub is
    at-most-once anyway: a subscriber resynchronises from the live keys)."""
    bus: EventBus[DomainEvent] = EventBus()
    app[BUS] = bus
    live = app[LIVE]
    channel = app[REDIS_KEYS].events()
    relay_failed: list[str] = []  # the error of the last relay attempt, if it failed
    relayed = [0]

    async def relay(events: Subscription[DomainEvent]) -> None:
        async for first in events:
            batch = [first]
            while len(batch) < RELAY_BATCH and (more := events.get_nowait()) is not None:
                batch.append(more)
            try:
                await live.publish_many(channel, batch)
                relayed[0] += len(batch)
                relay_failed.clear()
            except Exception as exc:  # Redis down: the events are lost for integrations only
                if not relay_failed:
                    log.warning("event relay to Redis failed: %s", type(exc).__name__)
                relay_failed[:] = [type(exc).__name__]

    tasks: list[asyncio.Task] = []

    async def start_relay() -> None:
        events = bus.queue()
        task = asyncio.create_task(relay(events), name="event-relay")
        task.add_done_callback(lambda _t: events.close())
        tasks.append(task)

    async def stop_relay() -> None:
        while tasks:
            task = tasks.pop()
            await _cancelled(task)

    app[LEADERSHIP].add("events: relay to Redis", start_relay, stop_relay)

    async def status() -> dict:
        relaying = bool(tasks) and not tasks[0].done()
        # Events reach integrations only through Redis: say so when it cannot take them,
        # whether or not an event was due since.
        try:
            await app[REDIS].ping()
            relay_failed.clear()  # the next event goes through
        except Exception as exc:
            if not is_redis_outage(exc):
                raise
            relay_failed[:] = [type(exc).__name__]
        if relay_failed:
            return {"status": "degraded", "state": "not relayed (Redis unavailable)",
                    "error": relay_failed[0], "relayed": relayed[0], **bus.status()}
        state = "relayed" if relaying else "relayed by the leader"
        return {"status": "ok", "state": state, "relayed": relayed[0], **bus.status()}

    app[HEALTH].register("events", status)
    try:
        yield
    finally:
        await stop_relay()


async def cti_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS].ami
    if not settings.host:
        log.warning("CCS_AMI__HOST is unset: no PBX connection (ccs demo starts the simulator)")

        async def not_configured() -> dict:
            return {"status": "off", "state": "not configured"}

        app[HEALTH].register("ami", not_configured)
        yield
        return
    service = CtiService(settings, app[BUS].publish)
    app[CTI] = service
    await service.start()

    pbx = "simulator" if settings.simulated else "Asterisk"

    async def status() -> dict:
        s = service.status()
        if not s.get("logged_in"):
            return {"status": "fail", "state": f"{pbx} down", **s}
        if s.get("stale_model"):
            return {"status": "degraded", "state": f"{pbx} connected, resynchronising", **s}
        return {"status": "ok", "state": f"{pbx} connected", **s}

    app[HEALTH].register("ami", status)
    try:
        yield
    finally:
        await service.stop()


async def speech_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS].speech
    if not settings.enabled:

        async def disabled() -> dict:
            return {"status": "off", "state": "keys only (speech disabled)"}

        app[HEALTH].register("speech", disabled)
        yield
        return
    engine = SpeechEngine(settings)
    await engine.start()
    app[SPEECH] = engine

    async def status() -> dict:
        if not engine.started:
            return {"status": "fail", "state": "down", **engine.status()}
        ivr = app.get(IVR_APP)
        if ivr is not None and ivr.engine is None:
            # The IVR found no number word of its language in the model (see ivr.app).
            return {"status": "degraded", "state": "keys only (the model knows no number "
                    "words of the IVR's language)", **engine.status()}
        return {"status": "ok", "state": "recognising", **engine.status()}

    app[HEALTH].register("speech", status)
    try:
        yield
    finally:
        await engine.close()


async def ivr_ctx(app: web.Application) -> AsyncIterator[None]:
    from ivr.app import ivr_servers  # the IVR pulls in flows and prompts: only when enabled
    from state.readings import ReadingLimits

    settings = app[SETTINGS].ivr
    if not settings.enabled:
        yield
        return
    limits = ReadingLimits.from_settings(app[SETTINGS].readings)
    pool, cards = app[PG_POOL], app[CARDS]
    async with ivr_servers(settings, pool, app.get(SPEECH), limits=limits,
                           on_identified=lambda number: cards.prefetch(pool, number)) as (
        agi, audio, ivr
    ):
        app[IVR_APP] = ivr

        async def status() -> dict:
            a, b = agi.status(), audio.status()
            up = a["listening"] and b.get("listening", True)
            return {"status": "ok" if up else "fail", "state": "listening" if up else "down",
                    "agi": a, "audiosocket": b}

        app[HEALTH].register("ivr", status)
        yield


async def card_listener_ctx(app: web.Application) -> AsyncIterator[None]:
    """Drops cached cards on PostgreSQL's change notifications (see state.card_listener)."""
    listener = CardChangeListener(app[SETTINGS].postgres.dsn, app[CARDS])
    app[CARD_LISTENER] = listener
    task = asyncio.create_task(listener.run(), name="card-change-listener")
    # PostgreSQL is up (its pool started): the first LISTEN takes a moment, and a server that
    # says it is ready should be listening.
    first = asyncio.create_task(listener.first_listen.wait())
    await asyncio.wait({first, task}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    first.cancel()

    async def status() -> dict:
        s = listener.status()
        return {"status": "ok" if s["listening"] else "degraded",
                "state": "listening" if s["listening"] else "reconnecting", **s}

    app[HEALTH].register("card_changes", status)
    try:
        yield
    finally:
        await _cancelled(task)
