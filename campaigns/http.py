"""REST of robocall campaigns: supervisors and admins only (thin: validate, call, return).

Routes (``setup_routes(app)``; the parts under ``app[CAMPAIGNS]``, put there by ``plugin.py``):
- ``GET  /api/campaigns?state=running,paused``  -> ``{campaigns: [Campaign with summary]}``
  (``summary``: the list's counts, ``store.Summary``, read for all of them at once)
- ``GET  /api/campaigns/templates``  -> ``{templates: [...]}`` (campaigns/templates.py)
- ``GET  /api/campaigns/choices?city=``  -> ``{outages: [{id, service, kind, description,
  started_at, expected_restoration_at, addresses, address_count}], cities: [..], streets:
  [..] (the city's, with ?city=), truncated: bool}``: the form's pickers
- ``POST /api/campaigns``  ``models.Campaign``  -> 201 Campaign (state ``created``)
- ``POST /api/campaigns/preview``  ``models.Campaign`` -> Preview (before creating)
- ``GET  /api/campaigns/{id}``  -> Campaign with ``progress``
- ``POST /api/campaigns/{id}/preview``  -> Preview of the stored campaign, now
- ``POST /api/campaigns/{id}/start``  -> 200 Campaign with ``attempts`` (frozen count)
- ``POST /api/campaigns/{id}/pause | resume | stop``  -> 200 Campaign
- ``POST /api/campaigns/{id}/clone``  ``{name?}`` -> 201 Campaign
- ``POST /api/campaigns/{id}/next-stage``  -> 201 Campaign, or 200 ``{callbacks: n}`` for an
  operator-list stage (the debt scenario, ``scenarios.DEBT_SCENARIO``)
- ``GET  /api/campaigns/{id}/progress``  -> Progress
- ``GET  /api/campaigns/{id}/results.csv``  -> CSV (`;`, UTF-8 with BOM)
- ``GET  /api/campaigns/kill-switch``, ``PUT`` ``{engaged, reason?}`` -> KillSwitch
- ``POST /api/campaigns/scenario-counts``  ``TargetFilter`` -> ``{stages: {"1": n, ...}}``
- ``POST /api/campaigns/opt-outs``  ``{account | phone, scope?}`` (any role: an agent hears
  it on a call) -> 201 ``{created: true}`` / 200 ``{created: false}`` (already there)
- ``PUT | DELETE /api/campaigns/protection/{account}``  ``{category, note?}`` -> 200 / 204
A Campaign is ``{id, state, state_reason, state_since, spec, created_by, created_at,
started_at, finished_at, cloned_from}`` (``state_since``: when it reached its state). Errors: ``campaign-not-found`` 404, ``campaign-state`` 409 (not
allowed in its state), ``campaign-stale`` 409 (resume of a message no longer valid: the
campaign is now stopped or expired), ``campaign-window`` 409, ``stage-not-due`` 409 (details
``due``), ``not-a-stage`` / ``last-stage`` 409, bad bodies 400/422.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from agent_api.app_keys import PG_POOL
from agent_api.auth import ANY_ROLE, STAFF, allow, principal
from agent_api.bodies import read_model
from agent_api.errors import ApiError
from campaigns import controls, history, scenarios, selection, store, templates
from campaigns.models import Campaign, TargetFilter
from campaigns.rules import Rules
from campaigns.settings import CampaignSettings
from state.phones import InvalidPhone, normalize_phone


@dataclass(frozen=True)
class CampaignParts:
    settings: CampaignSettings
    rules: Rules
    changed: Callable[[], None] = lambda: None  # a state changed: push progress now


CAMPAIGNS = web.AppKey("campaigns", CampaignParts)


class CloneRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)


class OptOutRequest(BaseModel):
    """A consumer's "don't call me": by account (its consumer, every number) or by number."""
    model_config = ConfigDict(extra="forbid")
    account: str | None = Field(None, pattern=r"^[0-9]{8,12}$")
    phone: str | None = Field(None, max_length=64)
    scope: Literal["all", "debt_reminder", "outage_alert", "routine_notice"] = "all"


class ProtectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Literal["disabled_group_1", "in_hospital", "bankrupt", "minor", "deceased",
                      "other"]
    note: str | None = Field(None, max_length=500)


class KillSwitchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    engaged: bool
    reason: str | None = Field(None, max_length=500)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _error(exc: store.CampaignError) -> ApiError:
    error = ApiError(str(exc), {"due": exc.due.isoformat()}
                     if isinstance(exc, scenarios.StageNotDue) else None)
    error.status = 404 if isinstance(exc, store.CampaignNotFound) else 409
    error.error_id = exc.code
    return error


def _id(request: web.Request) -> int:
    return int(request.match_info["id"])


def _json(value: Any, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return str(value)


async def _get(conn, campaign_id: int):
    campaign = await store.get(conn, campaign_id)
    if campaign is None:
        raise _error(store.CampaignNotFound())
    return campaign


@allow(*STAFF)
async def list_campaigns(request: web.Request) -> web.Response:
    states = request.query.get("state")
    wanted = [s for s in states.split(",") if s] if states else None
    if wanted and not set(wanted) <= set(store.TRANSITIONS):
        raise ApiError("unknown campaign state", {"states": sorted(store.TRANSITIONS)})
    async with request.app[PG_POOL].acquire() as conn:
        campaigns = await store.list_campaigns(conn, states=wanted)
        counts = await store.summaries(conn, [c.id for c in campaigns])
    return _json({"campaigns": [{**store.as_dict(c), "summary": counts[c.id]}
                                for c in campaigns]})


@allow(*STAFF)
async def list_templates(request: web.Request) -> web.Response:
    return _json({"templates": templates.templates()})


@allow(*STAFF)
async def choices(request: web.Request) -> web.Response:
    """What the form's pickers offer: open outages (an outage alert's), cities, and the
    streets of ``?city=``."""
    city = request.query.get("city")
    if city is not None and not 0 < len(city) <= 200:
        raise ApiError("city must have 1 to 200 characters")
    body = await controls.choices(request.app[PG_POOL], city)
    return _json(body)


@allow(*STAFF)
async def create(request: web.Request) -> web.Response:
    spec = await read_model(request, Campaign)
    async with request.app[PG_POOL].acquire() as conn:
        campaign = await store.create(conn, spec, created_by=principal(request).agent_id)
    return _json(store.as_dict(campaign), 201)


async def _preview(request: web.Request, spec: Campaign) -> web.Response:
    parts = request.app[CAMPAIGNS]
    async with request.app[PG_POOL].acquire() as conn:
        result = await selection.preview(conn, spec, parts.settings, parts.rules.calendar,
                                         _now())
    return _json(dataclasses.asdict(result))


@allow(*STAFF)
async def preview_new(request: web.Request) -> web.Response:
    return await _preview(request, await read_model(request, Campaign))


@allow(*STAFF)
async def preview_stored(request: web.Request) -> web.Response:
    async with request.app[PG_POOL].acquire() as conn:
        campaign = await _get(conn, _id(request))
    return await _preview(request, campaign.spec)


@allow(*STAFF)
async def get_one(request: web.Request) -> web.Response:
    async with request.app[PG_POOL].acquire() as conn:
        campaign = await _get(conn, _id(request))
        progress = await store.progress(conn, campaign.id, now=_now())
    return _json({**store.as_dict(campaign), "progress": dataclasses.asdict(progress)})


@allow(*STAFF)
async def progress(request: web.Request) -> web.Response:
    async with request.app[PG_POOL].acquire() as conn:
        campaign = await _get(conn, _id(request))
        result = await store.progress(conn, campaign.id, now=_now())
    return _json(dataclasses.asdict(result))


@allow(*STAFF)
async def start(request: web.Request) -> web.Response:
    async with request.app[PG_POOL].acquire() as conn:
        try:
            frozen = await store.start(conn, _id(request), now=_now(),
                                       rules=request.app[CAMPAIGNS].rules)
        except store.CampaignError as exc:
            raise _error(exc) from exc
        campaign = await _get(conn, _id(request))
    request.app[CAMPAIGNS].changed()
    return _json({**store.as_dict(campaign), "attempts": frozen})


def _transition(action: str):
    @allow(*STAFF)
    async def handler(request: web.Request) -> web.Response:
        async with request.app[PG_POOL].acquire() as conn:
            try:
                if action == "resume":
                    campaign = await store.resume(conn, _id(request),
                                                  request.app[CAMPAIGNS].rules, now=_now())
                elif action == "pause":
                    campaign = await store.pause(conn, _id(request), now=_now())
                else:
                    campaign = await store.stop(conn, _id(request), now=_now())
            except store.CampaignError as exc:
                request.app[CAMPAIGNS].changed()  # a stale resume stopped it
                raise _error(exc) from exc
        request.app[CAMPAIGNS].changed()
        return _json(store.as_dict(campaign))

    handler.__name__ = action
    return handler


@allow(*STAFF)
async def clone(request: web.Request) -> web.Response:
    body = (await read_model(request, CloneRequest) if request.can_read_body
            else CloneRequest())
    async with request.app[PG_POOL].acquire() as conn:
        try:
            campaign = await store.clone(conn, _id(request),
                                         created_by=principal(request).agent_id, name=body.name)
        except store.CampaignError as exc:
            raise _error(exc) from exc
    return _json(store.as_dict(campaign), 201)


@allow(*STAFF)
async def next_stage(request: web.Request) -> web.Response:
    async with request.app[PG_POOL].acquire() as conn:
        try:
            made = await scenarios.next_stage(conn, scenarios.DEBT_SCENARIO, _id(request),
                                              now=_now(), created_by=principal(request).agent_id)
        except store.CampaignError as exc:
            raise _error(exc) from exc
    if isinstance(made, int):
        return _json({"callbacks": made})
    return _json(store.as_dict(made), 201)


@allow(*STAFF)
async def scenario_counts(request: web.Request) -> web.Response:
    target = await read_model(request, TargetFilter)
    async with request.app[PG_POOL].acquire() as conn:
        counts = await scenarios.stage_counts(conn, scenarios.DEBT_SCENARIO, target)
    return _json({"scenario": scenarios.DEBT_SCENARIO.name,
                  "stages": {str(k): v for k, v in counts.items()}})


@allow(*STAFF)
async def results_csv(request: web.Request) -> web.Response:
    async with request.app[PG_POOL].acquire() as conn:
        campaign = await _get(conn, _id(request))
        data = await store.results_csv(conn, campaign.id,
                                       timezone=request.app[CAMPAIGNS].settings.default_timezone)
    return web.Response(
        body=data, content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign.id}.csv"'})


@allow(*STAFF)
async def get_kill_switch(request: web.Request) -> web.Response:
    row = await controls.kill_switch(request.app[PG_POOL])
    return _json({**dict(row), "settings_engaged": request.app[CAMPAIGNS].settings.kill_switch})


@allow(*STAFF)
async def put_kill_switch(request: web.Request) -> web.Response:
    body = await read_model(request, KillSwitchRequest)
    row = await controls.set_kill_switch(request.app[PG_POOL], body.engaged, body.reason,
                                         principal(request).agent_id)
    return _json({**dict(row), "settings_engaged": request.app[CAMPAIGNS].settings.kill_switch})


@allow(*ANY_ROLE)
async def add_opt_out(request: web.Request) -> web.Response:
    """Agents too: the consumer says it on a call."""
    body = await read_model(request, OptOutRequest)
    if (body.account is None) == (body.phone is None):
        raise ApiError("give either an account or a phone")
    phone = consumer_id = None
    if body.phone is not None:
        try:
            phone = normalize_phone(body.phone)
        except InvalidPhone as exc:
            raise ApiError(str(exc)) from exc
    async with request.app[PG_POOL].acquire() as conn:
        if body.account is not None:
            row = await controls.account_of(conn, body.account)
            if row is None:
                raise _not_found("account-not-found", "no such account")
            consumer_id = row["consumer_id"]
        source = "agent" if principal(request).role == "agent" else "admin"
        new_id = await history.record_opt_out(
            conn, consumer_id=consumer_id, phone=phone, source=source, scope=body.scope,
            created_by=principal(request).agent_id)
    return _json({"created": new_id is not None}, 201 if new_id is not None else 200)


def _not_found(error_id: str, message: str) -> ApiError:
    error = ApiError(message)
    error.status, error.error_id = 404, error_id
    return error


@allow(*STAFF)
async def put_protection(request: web.Request) -> web.Response:
    body = await read_model(request, ProtectionRequest)
    if not await controls.set_protection(request.app[PG_POOL], request.match_info["account"],
                                         body.category, body.note, principal(request).agent_id):
        raise _not_found("account-not-found", "no such account")
    return _json({"account": request.match_info["account"], "category": body.category})


@allow(*STAFF)
async def delete_protection(request: web.Request) -> web.Response:
    if not await controls.clear_protection(request.app[PG_POOL], request.match_info["account"]):
        raise _not_found("not-protected", "the account is not flagged")
    return web.Response(status=204)


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/campaigns", list_campaigns)
    r.add_post("/api/campaigns", create)
    r.add_post("/api/campaigns/preview", preview_new)
    r.add_get("/api/campaigns/templates", list_templates)
    r.add_get("/api/campaigns/choices", choices)
    r.add_get("/api/campaigns/kill-switch", get_kill_switch)
    r.add_put("/api/campaigns/kill-switch", put_kill_switch)
    r.add_post("/api/campaigns/scenario-counts", scenario_counts)
    r.add_post("/api/campaigns/opt-outs", add_opt_out)
    protection = "/api/campaigns/protection/{account:[0-9]{8,12}}"
    r.add_put(protection, put_protection)
    r.add_delete(protection, delete_protection)
    one = "/api/campaigns/{id:[0-9]{1,18}}"
    r.add_get(one, get_one)
    r.add_post(one + "/preview", preview_stored)
    r.add_get(one + "/progress", progress)
    r.add_post(one + "/start", start)
    for action in ("pause", "resume", "stop"):
        r.add_post(f"{one}/{action}", _transition(action))
    r.add_post(one + "/clone", clone)
    r.add_post(one + "/next-stage", next_stage)
    r.add_get(one + "/results.csv", results_csv)
