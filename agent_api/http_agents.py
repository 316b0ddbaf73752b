"""Agents: GET /api/agents/me, POST /api/agents/{id}/deactivate (an administrator; revokes the
agent's tokens). Readiness and wrap-up are the agent feature's (features/agents/http.py): no
handler here writes live state."""
from __future__ import annotations

import logging

from aiohttp import web

from agent_api.auth import ANY_ROLE, allow, principal
from agent_api.app_keys import LIVE, PG_POOL
from agent_api.errors import ApiError, NotFound, is_redis_outage
from agent_api.openapi import documented
from agent_api.schemas import MeResponse
from state.live import LiveState
from state.repositories.agents import get_agent, set_agent_active

log = logging.getLogger(__name__)


def _live(request: web.Request) -> LiveState:
    return request.app[LIVE]


@documented(response=MeResponse)
@allow(*ANY_ROLE)
async def me(request: web.Request) -> web.Response:
    """The agent from PostgreSQL; its readiness from the live state, ``null`` with
    ``readiness_unavailable`` when Redis is down (the desktop still knows who is logged in)."""
    agent = await get_agent(request.app[PG_POOL], principal(request).agent_id)
    if agent is None:
        raise NotFound("agent no longer exists")
    try:
        state = await _live(request).get_agent_state(agent.id)
    except Exception as exc:
        if not is_redis_outage(exc):
            raise
        log.warning("GET /api/agents/me without readiness: Redis is unavailable")
        body = MeResponse(agent=agent, readiness=None, readiness_unavailable=True)
        return web.json_response(text=body.model_dump_json())
    # readiness_unavailable is sent only when true
    body = MeResponse(agent=agent, readiness=state)
    return web.json_response(text=body.model_dump_json(exclude={"readiness_unavailable"}))


@documented(status=204)
@allow("admin")
async def deactivate(request: web.Request) -> web.Response:
    """Deactivate an agent: its sessions end and it can no longer log in."""
    try:
        agent_id = int(request.match_info["agent_id"])
    except ValueError as exc:
        raise ApiError("an agent id is a number") from exc
    if not await set_agent_active(request.app[PG_POOL], agent_id, False):
        raise NotFound("no such agent")
    return web.Response(status=204)
