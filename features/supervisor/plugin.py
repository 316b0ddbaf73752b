"""Wiring of the supervisor feature into the aiohttp application (called by the composition
root after the agents' ``install``: it uses their Socket.IO server, ``AgentService`` and
click-to-call).

``install(app, sio, settings)`` adds the routes and the cleanup context ``supervisor_ctx``,
which builds the parts, registers the ``/supervisor`` namespace and adds the leader work (one
per PBX, ``features/leadership.py``): the call recorder, the live metrics, then the board's
pushes (in that order: the pushes read what the metrics folded).
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import AsyncIterator
from typing import Any

import socketio
from aiohttp import web

from agent_api.app_keys import BUS, CTI, HEALTH, LIVE, PG_POOL, REDIS, REDIS_KEYS, TOKENS
from features.agents.directory import AgentDirectory
from features.agents.http import AGENT_SERVICE
from features.leadership import LEADERSHIP
from features.socket_sessions import SOCKET_SESSIONS
from features.supervisor import http, http_reports
from features.supervisor.abandoned import AbandonedList, caller_key
from features.supervisor.actions import SupervisorActions
from features.supervisor.audit import AuditLog
from features.supervisor.board_notifier import BoardNotifier, BoardSnapshot
from features.supervisor.board_schemas import AgentRow, Board, QueueTile
from features.supervisor.callbacks import CallbackStore
from features.supervisor.formulas import Leg
from features.supervisor.metrics import QueueMetrics
from features.supervisor.records import CallRecorder
from features.supervisor.settings import SupervisorSettings
from features.supervisor.sockets import SupervisorNamespace, SupervisorSocketDeps

log = logging.getLogger(__name__)

BOARD: web.AppKey[BoardNotifier] = web.AppKey("supervisor_board", BoardNotifier)
SOCKET_MAX_MESSAGE_BYTES = 4096  # the board's only client event is an empty object
DIRECTORY_REFRESH_SECONDS = 30.0


def install(app: web.Application, sio: socketio.AsyncServer,
            settings: SupervisorSettings) -> None:
    http.setup_routes(app)
    http_reports.setup_routes(app, settings)
    app.cleanup_ctx.append(functools.partial(supervisor_ctx, sio=sio, settings=settings))


def empty_board(settings: SupervisorSettings) -> Board:
    now = dt.datetime.now(dt.timezone.utc)
    return Board(generated_at=now, day=now.astimezone(settings.zone()).date().isoformat(),
                 timezone=settings.timezone)


class _NoMetrics:
    """Until the live metrics run in this process: the board without queues and agents."""

    def __init__(self, settings: SupervisorSettings) -> None:
        self._settings = settings

    def board(self) -> Board:
        return empty_board(self._settings)

    def tile(self, name: str) -> QueueTile | None:
        return None

    def agent_row(self, agent_id: int) -> AgentRow | None:
        return None

    def board_head(self) -> Board:
        return empty_board(self._settings)

    def queue_names(self) -> list[str]:
        return []

    def agent_ids(self) -> list[int]:
        return []


async def supervisor_ctx(app: web.Application, *, sio: socketio.AsyncServer,
                         settings: SupervisorSettings) -> AsyncIterator[None]:
    pool, redis, keys = app[PG_POOL], app[REDIS], app[REDIS_KEYS]
    cti = app.get(CTI)
    audit = AuditLog(pool)
    abandoned = AbandonedList(pool, settings)
    callbacks = CallbackStore(pool, settings)
    actions = SupervisorActions(app.get(AGENT_SERVICE), cti, pool, audit, settings)
    snapshot = BoardSnapshot(redis, keys.supervisor_board())
    metrics: Any = _NoMetrics(settings)
    recorder: CallRecorder | None = None
    directory = AgentDirectory(pool)
    if cti is not None:
        def agent_of(interface: str) -> int | None:
            agent = directory.agent_for_interface(interface)
            return agent.id if agent is not None else None

        recorder = CallRecorder(pool, redis, keys, settings, agent_of, cti=cti)
        metrics = QueueMetrics(pool, settings, cti.tracker, directory, app[LIVE],
                               pause_reasons=app[AGENT_SERVICE].settings.pause_reasons)

    async def open_callbacks() -> list:
        return await callbacks.list(status="open")

    notifier = BoardNotifier(sio, snapshot, board=metrics.board, tile=metrics.tile,
                             row=metrics.agent_row, abandoned=abandoned.today,
                             callbacks=open_callbacks, push_per_second=settings.push_per_second,
                             head=metrics.board_head, queue_names=metrics.queue_names,
                             agent_ids=metrics.agent_ids)
    app[BOARD] = notifier
    audit.listen(notifier.audit)
    callbacks.listen(functools.partial(notifier.list_changed, "callbacks"))

    async def board() -> dict[str, Any]:
        if notifier.running:
            return notifier.board().model_dump(mode="json")
        stored = await snapshot.read()
        if stored is not None:
            return stored
        # No leader has written a board yet: the picture without live figures.
        return empty_board(settings).model_copy(update={
            "abandoned": await abandoned.today(),
            "callbacks": await open_callbacks()}).model_dump(mode="json")

    app[http.SUPERVISOR] = http.SupervisorParts(
        settings=settings, actions=actions, audit=audit, abandoned=abandoned,
        callbacks=callbacks, board=board,
        abandoned_changed=functools.partial(notifier.list_changed, "abandoned"))
    sio.register_namespace(SupervisorNamespace(SupervisorSocketDeps(
        tokens=app[TOKENS], pool=pool, board=board,
        max_message_bytes=SOCKET_MAX_MESSAGE_BYTES, sessions=app.get(SOCKET_SESSIONS))))
    if cti is not None and recorder is not None:
        def changed(queues: set[str], agents: set[int]) -> None:
            for name in queues:
                notifier.queue_changed(name)
            for agent_id in agents:
                notifier.agent_changed(agent_id)

        listed: dict[str, Any] = {"list": None, "keys": frozenset()}

        def on_the_list() -> frozenset[str]:
            current = notifier.listed("abandoned")
            if current is not listed["list"]:  # loaded again since: its callers afresh
                listed["list"] = current
                listed["keys"] = frozenset(caller_key(c.caller_number) for c in current)
            return listed["keys"]

        def recorded(legs: list[Leg], _wrapups: Any) -> None:
            # An abandonment joins the list; an answer takes a caller off it only when the
            # caller is on it. Read again on every answer, the list cost PostgreSQL three
            # queries per answered call (a few reads a second under load).
            if any(leg.outcome == "abandoned" for leg in legs):
                notifier.abandoned_changed()
                return
            answered = {caller_key(leg.caller_number) for leg in legs
                        if leg.answered and leg.caller_number}
            if answered and not answered.isdisjoint(on_the_list()):
                notifier.abandoned_changed()

        metrics.add_listener(changed)
        recorder.add_listener(recorded)
        bus = app[BUS]

        refreshing: list[asyncio.Task] = []

        async def refresh_directory() -> None:
            # Agents added or given another phone since: rows and records name them soon.
            while True:
                await asyncio.sleep(DIRECTORY_REFRESH_SECONDS)
                try:
                    await directory.refresh()
                except Exception as exc:  # PostgreSQL away: the cached directory stands
                    log.warning("supervisor: agent directory not refreshed: %s",
                                type(exc).__name__)

        async def start_recorder() -> None:
            await directory.refresh()
            await recorder.start(bus)
            refreshing.append(asyncio.create_task(refresh_directory(),
                                                  name="supervisor-directory"))

        async def stop_recorder() -> None:
            while refreshing:
                task = refreshing.pop()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await recorder.stop()

        async def start_metrics() -> None:
            await metrics.start(bus, recorder)

        # The recorder, then the metrics (they fold what it wrote), then the pushes (they read
        # the metrics); stopped in reverse.
        leadership = app[LEADERSHIP]
        leadership.add("supervisor: call recorder", start_recorder, stop_recorder)
        leadership.add("supervisor: metrics", start_metrics, metrics.stop)
        leadership.add("supervisor: board pushes", notifier.start, notifier.stop)

    async def status() -> dict:
        return {"status": "ok", "state": "pushing" if notifier.running else "standby",
                "pushes": notifier.pushes, "errors": notifier.errors}

    app[HEALTH].register("supervisor", status)
    yield
