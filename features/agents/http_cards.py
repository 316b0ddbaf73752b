"""REST of the card actions (agent role; the agent is the caller, never a path parameter):

- ``GET /api/cards/search?q=…`` -> ``{"results": [CardSummary…]}``
- ``POST /api/appeals {account, call_id?, type, topic, comment, priority}`` -> 201 appeal
- ``PUT /api/calls/{call_id}/disposition {disposition, comment?}`` -> 200
- ``POST /api/calls/outbound {phone, account?}`` -> 202 ``{call_id}`` (click-to-call)
"""
from __future__ import annotations

import json

from aiohttp import web

from agent_api.app_keys import CTI, PG_POOL
from agent_api.auth import allow, principal
from agent_api.bodies import read_model, read_query
from agent_api.errors import NotFound
from agent_api.openapi import documented
from features.agents.card_actions import CardActions
from features.agents.pop_schemas import (
    AppealRequest, DispositionRequest, DispositionSet, OutboundCallPlaced, OutboundCallRequest,
    RegisteredAppeal, SearchResults,
)
from features.agents.schemas import CardSearchQuery
from state.repositories.agents import get_agent

CARD_ACTIONS: web.AppKey[CardActions] = web.AppKey("card_actions", CardActions)
# Called after a disposition is stored, with (agent_id, pop): the plugin emits pop_update.
DISPOSITION_LISTENER: web.AppKey[object] = web.AppKey("disposition_listener", object)


@documented(response=SearchResults)
@allow("agent")
async def search(request: web.Request) -> web.Response:
    query = read_query(request, CardSearchQuery)
    results = await request.app[CARD_ACTIONS].search(query.q)
    return web.json_response(text=SearchResults(results=results).model_dump_json())


@documented(response=RegisteredAppeal, status=201)
@allow("agent")
async def register_appeal(request: web.Request) -> web.Response:
    body = await read_model(request, AppealRequest)
    appeal = await request.app[CARD_ACTIONS].register_appeal(principal(request).agent_id, body)
    return web.json_response(appeal, status=201)


@documented(response=DispositionSet)
@allow("agent")
async def set_disposition(request: web.Request) -> web.Response:
    body = await read_model(request, DispositionRequest)
    agent_id = principal(request).agent_id
    result = await request.app[CARD_ACTIONS].set_disposition(
        agent_id, request.match_info["call_id"], body)
    listener = request.app.get(DISPOSITION_LISTENER)
    if listener is not None and result["pop"] is not None:
        await listener(agent_id, result["pop"])  # type: ignore[operator]
    return web.json_response(result, dumps=lambda v: json.dumps(v, ensure_ascii=False))


@documented(response=OutboundCallPlaced, status=202)
@allow("agent")
async def call_out(request: web.Request) -> web.Response:
    body = await read_model(request, OutboundCallRequest)
    agent = await get_agent(request.app[PG_POOL], principal(request).agent_id)
    if agent is None:
        raise NotFound("agent no longer exists")
    call_id = await request.app[CARD_ACTIONS].call_out(agent, request.app.get(CTI), body)
    return web.json_response(text=OutboundCallPlaced(call_id=call_id).model_dump_json(), status=202)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/cards/search", search)
    app.router.add_post("/api/appeals", register_appeal)
    app.router.add_put("/api/calls/{call_id}/disposition", set_disposition)
    app.router.add_post("/api/calls/outbound", call_out)
