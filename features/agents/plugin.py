"""Wiring of the agent feature into the aiohttp application (called by the composition root).

``create_socket_server`` makes the Socket.IO server (its client manager on the project's Redis,
so an emit from any process reaches a socket held by any other); ``install`` mounts it on
``/socket.io/``, adds the routes and the cleanup context ``agents_ctx``.

One AMI consumer per PBX (``features/leadership.py``): the notifier, the projector and the
wrap-up timers are leader work, run only by the process holding the PBX lease; the service asks
:func:`is_leader` before re-applying intents.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web

from agent_api.app_keys import (
    BUS, CARDS, CTI, HEALTH, LIVE, PG_POOL, PG_POP_POOL, REDIS, REDIS_KEYS, SESSION_ENDED, TOKENS,
)
from agent_api.auth import public
from features.agents import http, http_cards
from features.agents.card_actions import CardActions
from features.agents.directory import AgentDirectory
from features.agents.intent import IntentStore
from features.agents.interface_map import InterfaceMap
from features.agents.leader import AgentsLeader
from features.agents.notifier import PopNotifier, disposition_changed
from features.agents.pop_schemas import Pop
from features.agents.pops import PopBuilder, PopStore
from features.agents.projector import Projector
from features.agents.service import AgentService
from features.agents.settings import AgentsSettings
from features.agents.socket_manager import JsonPacket, PopRedisManager
from features.agents.sockets import AgentNamespace, AgentSocketDeps, GuardedServer
from features.agents.state_log import StateLog
from features.agents.stream import AgentEventStream
from features.agents.wrapup import WrapUpStore, WrapUpTimers
from features.leadership import LEADERSHIP, bounded
from features.socket_sessions import SOCKET_SESSIONS, SocketSessions
from state.events import CallAnswered
from state.models import NewInteraction
from state.redis_keys import RedisKeys
from state.repositories.interactions import call_disposition, insert_interaction

log = logging.getLogger(__name__)

SOCKETIO: web.AppKey[socketio.AsyncServer] = web.AppKey("socketio", socketio.AsyncServer)
POPS: web.AppKey[PopStore] = web.AppKey("pops", PopStore)
NOTIFIER: web.AppKey[PopNotifier] = web.AppKey("notifier", PopNotifier)


def create_socket_server(settings: AgentsSettings, *, redis_url: str,
                         keys: RedisKeys) -> GuardedServer:
    # python-socketio's AsyncRedisManager and packet, minus two costs per emit (see there).
    manager = PopRedisManager(redis_url, channel=keys.socketio())
    # Same-origin only (cors_allowed_origins=None): the desktop is served by this server.
    return GuardedServer(async_mode="aiohttp", client_manager=manager, serializer=JsonPacket,
                         max_http_buffer_size=settings.socket_max_frame_bytes,
                         logger=False, engineio_logger=False)


def install(app: web.Application, sio: socketio.AsyncServer, settings: AgentsSettings) -> None:
    @public
    async def socketio_endpoint(request: web.Request) -> web.StreamResponse:
        return await sio.handle_request(request)

    # Not sio.attach(): the auth middleware refuses routes that declare no access, and the
    # Socket.IO handshake authenticates in the namespace (the token is in its CONNECT packet).
    app.router.add_route("GET", "/socket.io/", socketio_endpoint)
    app.router.add_route("POST", "/socket.io/", socketio_endpoint)
    app[SOCKETIO] = sio
    app.cleanup_ctx.append(functools.partial(agents_ctx, settings=settings))
    http.setup_routes(app)
    http_cards.setup_routes(app)


def pause_reason_items(settings: AgentsSettings) -> list[dict[str, str]]:
    # Labels are the front-end's (its locale file); the code is the fallback label.
    return [{"code": c, "label": c} for c in settings.pause_reasons]


def disposition_items(settings: AgentsSettings) -> list[dict[str, str]]:
    return [{"code": c, "label": c} for c in settings.dispositions]


async def agents_ctx(app: web.Application, *, settings: AgentsSettings) -> AsyncIterator[None]:
    sio = app[SOCKETIO]
    pool, redis, keys = app[PG_POOL], app[REDIS], app[REDIS_KEYS]
    directory = AgentDirectory(pool)
    await directory.refresh()
    store = PopStore(redis, keys)
    app[POPS] = store
    # Every namespace (this one, the supervisors') records its sockets here: a logout closes them.
    sessions = SocketSessions(redis, keys, sio, ttl=app[TOKENS].ttl)
    app[SOCKET_SESSIONS] = sessions
    app[SESSION_ENDED].append(sessions.end)
    builder = PopBuilder(app[PG_POP_POOL], app[CARDS])

    async def record_answer(agent_id: int, event: CallAnswered, pop: Pop,
                            account_id: int | None) -> None:
        # The call is the agent's from now on (its appeals and disposition check this).
        await insert_interaction(pool, NewInteraction(
            call_id=event.linkedid, direction="inbound", phone=pop.caller_number or None,
            account_id=account_id, agent_id=agent_id,
            queue_name=event.queue, started_at=pop.ringing_at,
            answered_at=dt.datetime.fromtimestamp(event.ts, dt.timezone.utc)))

    # Who a ringing phone pops at, in memory, kept true by PostgreSQL's NOTIFY (migration
    # 0006): an interface given to another agent pops at the new agent from its next ring on.
    interfaces = InterfaceMap(pool)
    notifier = PopNotifier(sio, builder, store, interfaces, on_answered=record_answer)
    app[NOTIFIER] = notifier
    leadership = app[LEADERSHIP]

    def leading() -> bool:
        return leadership.held

    cti = app.get(CTI)
    live = app[LIVE]
    wrapups = WrapUpStore(pool)
    stream = AgentEventStream(redis, keys.agents_stream(), settings.stream_maxlen,
                              cursor_key=keys.agents_stream_cursor())
    service = AgentService(cti, directory, IntentStore(pool), wrapups, settings, stream.add, live,
                           is_leader=leading,
                           disposition_of=functools.partial(call_disposition, pool))
    app[http.AGENT_SERVICE] = service
    service.attach()
    projector_work: list[tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]] = []
    if cti is not None:
        bus = app[BUS]
        projector = Projector(cti.tracker, live, directory, StateLog(pool), wrapups, bus.publish,
                              pending_timeout=settings.pending_timeout,
                              wrapup_seconds=settings.wrapup_for)
        leader = AgentsLeader(service, projector, stream, WrapUpTimers(service.finish_wrapup), bus)
        projector_work.append((leader.start, leader.stop))

    async def readiness_of(agent_id: int) -> Any:
        return await service.view(agent_id)

    sio.register_namespace(AgentNamespace(AgentSocketDeps(
        tokens=app[TOKENS], pool=pool, pops=store, readiness_of=readiness_of, service=service,
        pause_reasons=pause_reason_items(settings), dispositions=disposition_items(settings),
        max_message_bytes=settings.socket_max_message_bytes, sessions=sessions)))
    app[http_cards.CARD_ACTIONS] = CardActions(
        pool, app[CARDS], store, dispositions=settings.dispositions,
        clicktocall_context=settings.clicktocall_context)
    app[http_cards.DISPOSITION_LISTENER] = functools.partial(disposition_changed, sio)

    notifier_task: list[asyncio.Task] = []
    unsubscribe: list[Callable[[], None]] = []

    async def start_notifier() -> None:
        # The map asks PostgreSQL at each ring until it has loaded every agent: start it first.
        notifier_task.append(asyncio.create_task(interfaces.run(), name="agents-interface-map"))
        # Inline on the bus: a ring reaches its lane with no queue (and no loop turn) between.
        unsubscribe.append(app[BUS].subscribe(notifier.on_event))

    async def stop_notifier() -> None:
        while unsubscribe:
            unsubscribe.pop()()
        await notifier.stop()
        while notifier_task:
            task = notifier_task.pop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def nothing() -> None:
        return None

    # A fresh directory, then the notifier (a pop is what an agent waits for), then the rest.
    leadership.add("agents: directory", directory.refresh, nothing)
    leadership.add("agents: notifier", start_notifier, stop_notifier)
    for start, stop in projector_work:
        leadership.add("agents: projector", start, stop)

    async def status() -> dict:
        state = ("no PBX" if cti is None else "leader" if leadership.ready
                 else "starting" if leadership.held else "standby")
        return {"status": "ok", "state": state, "notifier_emitted": notifier.emitted,
                "notifier_errors": notifier.errors, "notifier_pending": notifier.pending,
                "notifier_dropped": notifier.dropped,
                "notifier_at_once": notifier.emitted_at_once,
                "pops_preparing": len(builder), "interface_map": interfaces.status()}

    app[HEALTH].register("agents", status)
    try:
        yield
    finally:
        # The leader work was stopped by leadership_ctx, which tears down before this context.
        await bounded(builder.close(), "stopping the pop lookups")
        await bounded(sio.shutdown(), "stopping Socket.IO")
        manager_task = getattr(sio.manager, "thread", None)  # its Redis listener
        if isinstance(manager_task, asyncio.Task):
            manager_task.cancel()
            await bounded(manager_task, "stopping the Socket.IO Redis listener")


def is_leader(app: web.Application) -> bool:
    leadership = app.get(LEADERSHIP)
    return leadership is not None and leadership.held

