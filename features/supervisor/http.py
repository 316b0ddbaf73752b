"""REST of the board, the supervisor's actions, abandoned callers and callback commitments
(thin: validate, call one part of ``app[SUPERVISOR]``, return).

Supervisor and admin:
- ``GET  /api/supervisor/board`` -> Board
- ``PUT  /api/supervisor/agents/{agent_id}/readiness {state, reason?}`` -> 202 AgentView
  (pending); errors of ``AgentService`` (features/agents/http.py ids)
- ``POST /api/supervisor/agents/{agent_id}/spy {mode}`` -> 202 ``{call_id}``; 409 ``no-phone``,
  409 ``agent-not-on-call``
- ``GET  /api/supervisor/audit?from=&to=`` -> ``{entries: [...]}``
- ``GET  /api/supervisor/abandoned`` -> ``{abandoned: [...]}``
- ``POST /api/supervisor/abandoned/{record_id}/callback`` -> 202 ``{call_id}`` (click-to-call
  from the supervisor's phone)
- ``GET  /api/reports/callbacks?from=&to=`` -> ``{from, to, timezone, total, done,
  kept_in_time, overdue_open}``
Agents (their own) and supervisors / admins (any):
- ``POST /api/callbacks {phone, account?, call_id?, note, due_in_minutes?}`` -> 201 Callback
- ``GET  /api/callbacks?status=open|done|all`` -> ``{callbacks: [...]}``
- ``POST /api/callbacks/{id}/dial`` -> 202 ``{call_id}``; ``PUT /api/callbacks/{id}/outcome
  {outcome, comment?}`` -> 200 Callback (closes it)
``from`` / ``to``: dates (YYYY-MM-DD, both days included, in the board's time zone) or ISO
datetimes (``to`` excluded); default today.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from agent_api.app_keys import CTI, PG_POOL
from agent_api.auth import ANY_ROLE, STAFF, allow, principal
from agent_api.bodies import read_model, read_query
from agent_api.errors import ApiError, NotFound, Unavailable
from agent_api.openapi import documented
from features.agents import http_cards
from features.agents.http import AGENT_SERVICE, api_error
from features.agents.pop_schemas import OutboundCallPlaced, OutboundCallRequest
from features.agents.schemas import AgentView
from features.agents.service import ReadinessError
from features.supervisor.abandoned import AbandonedList, day_bounds
from features.supervisor.actions import ActionError, SupervisorActions
from features.supervisor.audit import AuditLog
from features.supervisor.board_schemas import Board, Callback
from features.supervisor.callbacks import CallbackStore
from features.supervisor.schemas import (
    AbandonedCalls, AuditEntries, CallbackListQuery, CallbackOutcomeRequest, CallbackReport,
    CallbackRequest, Callbacks, ForceReadinessRequest, PeriodQuery, SpyRequest,
)
from features.supervisor.settings import SupervisorSettings
from state.models import Agent
from state.repositories.agents import get_agent


@dataclass
class SupervisorParts:
    """What the handlers reach (built by plugin.py)."""

    settings: SupervisorSettings
    actions: SupervisorActions
    audit: AuditLog
    abandoned: AbandonedList
    callbacks: CallbackStore
    board: Any  # async () -> the whole board as JSON (leader's live one, else Redis snapshot)
    abandoned_changed: Any  # async () -> None: the board pushes the list again


SUPERVISOR: web.AppKey[SupervisorParts] = web.AppKey("supervisor", SupervisorParts)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status,
                             dumps=lambda v: json.dumps(v, ensure_ascii=False, default=str))


def _model(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(text=model.model_dump_json(by_alias=True), status=status)


def _action_error(exc: ActionError) -> ApiError:
    error = ApiError(exc.message, exc.details)
    error.status, error.error_id = exc.status, exc.error_id
    return error


async def _actor(request: web.Request) -> Agent:
    agent = await get_agent(request.app[PG_POOL], principal(request).agent_id)
    if agent is None:
        raise NotFound("your user no longer exists")
    return agent


def _int(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise NotFound(f"no such {name.removesuffix('_id')}") from None


def period(query: PeriodQuery, settings: SupervisorSettings) -> tuple[dt.datetime, dt.datetime]:
    """``from`` / ``to`` of the query: dates in the board's zone (both included) or ISO times."""
    zone = settings.zone()
    now = dt.datetime.now(dt.timezone.utc)

    def parse(name: str, text: str | None, default: dt.datetime, end: bool) -> dt.datetime:
        if not text:
            return default
        try:
            if len(text) == 10:
                day = dt.date.fromisoformat(text)
                return dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time(),
                                           zone)
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ApiError(f"'{name}' is not a date (YYYY-MM-DD) or an ISO datetime",
                           {"field": name}) from None
        return value if value.tzinfo else value.replace(tzinfo=zone)

    start, end = day_bounds(now, settings)
    start, end = parse("from", query.from_, start, False), parse("to", query.to, end, True)
    if end <= start:
        raise ApiError("'to' must come after 'from'", {"from": str(start), "to": str(end)})
    if end - start > dt.timedelta(days=400):
        raise ApiError("ask for at most 400 days at once")
    return start, end


# --- board and actions (supervisor, admin) ----------------------------------------------------

@documented(response=Board)
@allow(*STAFF)
async def board(request: web.Request) -> web.Response:
    # A dict: the leader's board, or the snapshot another process left in Redis.
    return _json(await request.app[SUPERVISOR].board())


@documented(response=AgentView, status=202)
@allow(*STAFF)
async def force_readiness(request: web.Request) -> web.Response:
    body = await read_model(request, ForceReadinessRequest)
    parts, agent_id = request.app[SUPERVISOR], _int(request, "agent_id")
    try:
        await parts.actions.force_readiness(await _actor(request), agent_id, body.state,
                                            body.reason)
    except ReadinessError as exc:
        raise api_error(exc) from exc
    service = request.app.get(AGENT_SERVICE)
    if service is None:  # the action above refuses first: no PBX, no readiness
        raise Unavailable("no PBX connection is configured")
    return _model(await service.view(agent_id), 202)


@documented(response=OutboundCallPlaced, status=202)
@allow(*STAFF)
async def spy(request: web.Request) -> web.Response:
    body = await read_model(request, SpyRequest)
    parts, agent_id = request.app[SUPERVISOR], _int(request, "agent_id")
    try:
        call_id = await parts.actions.spy(await _actor(request), agent_id, body.mode)
    except ActionError as exc:
        raise _action_error(exc) from exc
    except ReadinessError as exc:
        raise api_error(exc) from exc
    return _model(OutboundCallPlaced(call_id=call_id), 202)


@documented(response=AuditEntries)
@allow(*STAFF)
async def audit(request: web.Request) -> web.Response:
    parts = request.app[SUPERVISOR]
    start, end = period(read_query(request, PeriodQuery), parts.settings)
    return _model(AuditEntries(entries=await parts.audit.between(start, end)))


@documented(response=AbandonedCalls)
@allow(*STAFF)
async def abandoned(request: web.Request) -> web.Response:
    return _model(AbandonedCalls(abandoned=await request.app[SUPERVISOR].abandoned.today()))


@documented(response=OutboundCallPlaced, status=202)
@allow(*STAFF)
async def call_back_abandoned(request: web.Request) -> web.Response:
    parts, record_id = request.app[SUPERVISOR], _int(request, "record_id")
    record = await parts.abandoned.record(record_id)
    if record is None:
        raise NotFound("no such abandoned call")
    actor = await _actor(request)
    try:
        call_id = await _click_to_call(request, actor, record["caller_number"],
                                       record["account"])
    except ApiError as exc:
        await parts.audit.record(actor_id=actor.id, actor_login=actor.login,
                                 action="call_back_abandoned", target=str(record_id),
                                 result=exc.error_id, message=exc.message)
        raise
    await parts.audit.record(actor_id=actor.id, actor_login=actor.login,
                             action="call_back_abandoned", target=str(record_id),
                             details={"call_id": call_id})
    await parts.abandoned_changed()
    return _model(OutboundCallPlaced(call_id=call_id), 202)


async def _click_to_call(request: web.Request, actor: Agent, phone: str,
                         account: str | None) -> str:
    card_actions = request.app.get(http_cards.CARD_ACTIONS)
    if card_actions is None:
        raise Unavailable("click-to-call is not available")
    if not actor.interface:
        raise ApiError("you have no phone (interface) to call from", {"error": "no-phone"})
    body = OutboundCallRequest(phone=phone, account=account)
    return await card_actions.call_out(actor, request.app.get(CTI), body)


# --- callback commitments ---------------------------------------------------------------------

@documented(response=Callback, status=201)
@allow(*ANY_ROLE)
async def create_callback(request: web.Request) -> web.Response:
    body = await read_model(request, CallbackRequest)
    callback = await request.app[SUPERVISOR].callbacks.create(principal(request).agent_id, body)
    return _model(callback, 201)


@documented(response=Callbacks)
@allow(*ANY_ROLE)
async def list_callbacks(request: web.Request) -> web.Response:
    # A bad status was a 400 before the query had a model: it stays one.
    status = read_query(request, CallbackListQuery, errors={"status": ApiError}).status
    who = principal(request)
    rows = await request.app[SUPERVISOR].callbacks.list(
        status=None if status == "all" else status,
        agent_id=None if who.role in STAFF else who.agent_id)
    return _model(Callbacks(callbacks=rows))


@documented(response=OutboundCallPlaced, status=202)
@allow(*ANY_ROLE)
async def dial_callback(request: web.Request) -> web.Response:
    store, who = request.app[SUPERVISOR].callbacks, principal(request)
    callback_id = _int(request, "callback_id")
    callback = await store.get_for(callback_id, who.agent_id, who.role)
    if callback.status != "open":
        raise ApiError("the callback is already closed", {"error": "callback-closed"})
    call_id = await _click_to_call(request, await _actor(request), callback.phone,
                                   callback.account)
    await store.dialled(callback_id, call_id)
    return _model(OutboundCallPlaced(call_id=call_id), 202)


@documented(response=Callback)
@allow(*ANY_ROLE)
async def close_callback(request: web.Request) -> web.Response:
    body = await read_model(request, CallbackOutcomeRequest)
    who = principal(request)
    callback = await request.app[SUPERVISOR].callbacks.close(
        _int(request, "callback_id"), who.agent_id, who.role, body)
    return _model(callback)


@documented(response=CallbackReport)
@allow(*STAFF)
async def callback_report(request: web.Request) -> web.Response:
    parts = request.app[SUPERVISOR]
    start, end = period(read_query(request, PeriodQuery), parts.settings)
    counts = await parts.callbacks.counts(start, end)
    return _model(CallbackReport(from_=start.isoformat(), to=end.isoformat(),
                                 timezone=parts.settings.timezone, **counts))


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/supervisor/board", board)
    app.router.add_put("/api/supervisor/agents/{agent_id}/readiness", force_readiness)
    app.router.add_post("/api/supervisor/agents/{agent_id}/spy", spy)
    app.router.add_get("/api/supervisor/audit", audit)
    app.router.add_get("/api/supervisor/abandoned", abandoned)
    app.router.add_post("/api/supervisor/abandoned/{record_id}/callback", call_back_abandoned)
    app.router.add_post("/api/callbacks", create_callback)
    app.router.add_get("/api/callbacks", list_callbacks)
    app.router.add_post("/api/callbacks/{callback_id}/dial", dial_callback)
    app.router.add_put("/api/callbacks/{callback_id}/outcome", close_callback)
    app.router.add_get("/api/reports/callbacks", callback_report)
