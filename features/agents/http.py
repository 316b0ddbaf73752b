"""REST of readiness and wrap-up (thin: validate, call ``AgentService``, return).

Routes (``setup_routes(app)``; the service under ``app[AGENT_SERVICE]``, this module's key: the
wiring puts the ``AgentService`` there, see ``features/agents/plugin.py``):
- ``GET  /api/agents/me/state``          -> ``AgentView``
- ``PUT  /api/agents/me/readiness``      ``{state, reason?}`` -> 202 ``AgentView`` (pending)
- ``POST /api/agents/me/wrapup/end``     -> 200 ``AgentView``
- ``POST /api/agents/me/wrapup/extend``  ``{seconds}`` -> 200 ``AgentView``
Errors: the service's ``ReadinessError`` ids (``no-phone-interface`` 409, ``unknown-queue`` 409,
``pbx-refused`` 409, ``pbx-unavailable`` 503, ``unknown-pause-reason`` 422, ``no-wrap-up`` 409,
``wrap-up-already-extended`` 409, ``wrap-up-extension-too-long`` 422, ``disposition-required``
409: an early end of wrap-up before the call has its disposition).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from agent_api.auth import ANY_ROLE, allow, principal
from agent_api.bodies import read_model
from agent_api.errors import ApiError, Unavailable
from agent_api.openapi import documented
from features.agents.schemas import AgentView, ReadinessRequest, WrapUpExtend
from features.agents.service import (
    AgentService, DispositionRequired, NoPhoneInterface, NoWrapUp, PbxRefused, PbxUnavailable,
    ReadinessError,
    UnknownAgent, UnknownPauseReason, QueueUnknownToPbx, WrapUpAlreadyExtended,
    WrapUpExtensionTooLong,
)

AGENT_SERVICE = web.AppKey("agent_service", AgentService)

_STATUS: dict[type[ReadinessError], int] = {
    UnknownAgent: 404, NoPhoneInterface: 409, QueueUnknownToPbx: 409, PbxRefused: 409,
    PbxUnavailable: 503, UnknownPauseReason: 422, NoWrapUp: 409, WrapUpAlreadyExtended: 409,
    DispositionRequired: 409,
    WrapUpExtensionTooLong: 422,
}


def api_error(exc: ReadinessError) -> ApiError:
    status = _STATUS.get(type(exc), 400)
    error = (Unavailable if status == 503 else ApiError)(exc.message, exc.details)
    error.status, error.error_id = status, exc.error_id
    return error


def _service(request: web.Request) -> AgentService:
    service = request.app.get(AGENT_SERVICE)
    if service is None:
        raise Unavailable("no PBX connection is configured")
    return service


async def _call(action: Callable[[], Awaitable[object]]) -> None:
    try:
        await action()
    except ReadinessError as exc:
        raise api_error(exc) from exc


@documented(response=AgentView)
@allow(*ANY_ROLE)
async def my_state(request: web.Request) -> web.Response:
    view = await _service(request).view(principal(request).agent_id)
    return web.json_response(text=view.model_dump_json())


@documented(response=AgentView, status=202)
@allow(*ANY_ROLE)
async def set_readiness(request: web.Request) -> web.Response:
    body = await read_model(request, ReadinessRequest)
    service, agent_id = _service(request), principal(request).agent_id
    pending: list = []

    async def act() -> None:
        pending.append(await service.set_readiness(agent_id, body.state, body.reason))

    await _call(act)
    view = (await service.view(agent_id)).model_copy(update={"pending": pending[0]})
    return web.json_response(text=view.model_dump_json(), status=202)


@documented(response=AgentView)
@allow(*ANY_ROLE)
async def end_wrapup(request: web.Request) -> web.Response:
    service, agent_id = _service(request), principal(request).agent_id
    await _call(lambda: service.end_wrapup(agent_id))
    return web.json_response(text=(await service.view(agent_id)).model_dump_json())


@documented(response=AgentView)
@allow(*ANY_ROLE)
async def extend_wrapup(request: web.Request) -> web.Response:
    body = await read_model(request, WrapUpExtend)
    service, agent_id = _service(request), principal(request).agent_id
    await _call(lambda: service.extend_wrapup(agent_id, body.seconds))
    return web.json_response(text=(await service.view(agent_id)).model_dump_json())


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/agents/me/state", my_state)
    app.router.add_put("/api/agents/me/readiness", set_readiness)
    app.router.add_post("/api/agents/me/wrapup/end", end_wrapup)
    app.router.add_post("/api/agents/me/wrapup/extend", extend_wrapup)
