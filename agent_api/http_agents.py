"""Agents: GET /api/agents/me, PUT /api/agents/me/readiness (the agent's own readiness),
POST /api/agents/{id}/deactivate (an administrator; revokes the agent's tokens)."""
from __future__ import annotations

import logging

from aiohttp import web

from agent_api.auth import ANY_ROLE, allow, principal
from agent_api.bodies import read_model
from agent_api.errors import (
    ApiError,
    Conflict,
    LiveStateUnavailable,
    NotFound,
    Unavailable,
    is_redis_outage,
)
from agent_api.app_keys import CTI, LIVE, PG_POOL
from agent_api.schemas import ReadinessRequest
from cti.errors import CtiError
from cti.readiness import QueueSeat, apply_readiness
from state.live import LiveState
from state.repositories.agents import get_agent, set_agent_active

log = logging.getLogger(__name__)


def _live(request: web.Request) -> LiveState:
    return request.app[LIVE]


@allow(*ANY_ROLE)
async def me(request: web.Request) -> web.Response:
    """The agent from PostgreSQL; its readiness from the live state, ``null`` with
    ``readiness_unavailable`` when Redis is down (the desktop still knows who is logged in)."""
    agent = await get_agent(request.app[PG_POOL], principal(request).agent_id)
    if agent is None:
        raise NotFound("agent no longer exists")
    body: dict = {"agent": agent.model_dump(mode="json"), "readiness": None}
    try:
        state = await _live(request).get_agent_state(agent.id)
    except Exception as exc:
        if not is_redis_outage(exc):
            raise
        log.warning("GET /api/agents/me without readiness: Redis is unavailable")
        body["readiness_unavailable"] = True
    else:
        body["readiness"] = state.model_dump(mode="json") if state else None
    return web.json_response(body)


@allow(*ANY_ROLE)
async def set_readiness(request: web.Request) -> web.Response:
    body = await read_model(request, ReadinessRequest)
    agent = await get_agent(request.app[PG_POOL], principal(request).agent_id)
    if agent is None:
        raise NotFound("agent no longer exists")
    if not agent.interface:
        raise Conflict("the agent has no phone interface", {"agent": agent.login})
    cti = request.app.get(CTI)
    if cti is None:
        raise Unavailable("no PBX connection is configured")
    seats = [QueueSeat(q.queue, q.penalty) for q in agent.queues]
    try:
        await apply_readiness(cti, agent.interface, seats, body.state, body.reason or "",
                              member_name=agent.full_name)
    except CtiError as exc:
        raise Unavailable("the PBX did not take the change", {"error": type(exc).__name__}) from exc
    try:
        state = await _live(request).set_agent_state(agent.id, body.state, body.reason)
    except Exception as exc:
        if not is_redis_outage(exc):
            raise
        # The PBX has the new state and the tracker will publish it; only the desktop's copy
        # is missing.
        raise LiveStateUnavailable(
            "the PBX took the change but the live state (Redis) is unavailable") from exc
    return web.json_response(text=state.model_dump_json())


@allow("admin")
async def deactivate(request: web.Request) -> web.Response:
    try:
        agent_id = int(request.match_info["agent_id"])
    except ValueError as exc:
        raise ApiError("an agent id is a number") from exc
    if not await set_agent_active(request.app[PG_POOL], agent_id, False):
        raise NotFound("no such agent")
    return web.Response(status=204)
