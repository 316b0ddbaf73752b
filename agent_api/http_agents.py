"""The agent's own readiness: PUT /api/agents/me/readiness, GET /api/agents/me."""
from __future__ import annotations

from aiohttp import web

from agent_api.auth import principal
from agent_api.errors import Conflict, NotFound, Unavailable
from agent_api.http_auth import read_json
from agent_api.keys import CTI, PG_POOL, REDIS, SETTINGS
from agent_api.schemas import ReadinessRequest
from cti.errors import CtiError
from cti.readiness import QueueSeat, apply_readiness
from state.keys import Keys
from state.live import LiveState
from state.repositories.agents import get_agent


def _live(request: web.Request) -> LiveState:
    return LiveState(request.app[REDIS], Keys.from_settings(request.app[SETTINGS].redis))


async def me(request: web.Request) -> web.Response:
    agent = await get_agent(request.app[PG_POOL], principal(request).agent_id)
    if agent is None:
        raise NotFound("agent no longer exists")
    state = await _live(request).get_agent_state(agent.id)
    body = {"agent": agent.model_dump(mode="json"),
            "readiness": state.model_dump(mode="json") if state else None}
    return web.json_response(body)


async def set_readiness(request: web.Request) -> web.Response:
    body = ReadinessRequest.model_validate(await read_json(request))
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
    state = await _live(request).set_agent_state(agent.id, body.state, body.reason)
    return web.json_response(text=state.model_dump_json())
