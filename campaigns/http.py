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
started_at, finished_at, cloned_from}`` (``state_since``: when it reached its state).
Errors (``{error_id, message, details}``, agent_api/errors.py): ``campaign-not-found`` 404,
``account-not-found`` / ``not-protected`` 404, ``campaign-state`` 409 (not allowed in its
state), ``campaign-stale`` 409 (resume of a message no longer valid: the campaign is now
stopped or expired), ``campaign-window`` 409, ``stage-not-due`` 409 (details ``due``),
``not-a-stage`` / ``last-stage`` 409, ``unknown-prompt`` 422 (create and preview: the message
names a prompt with no recording; details ``unknown`` and ``known``), bad bodies 400/422.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from agent_api.app_keys import PG_POOL
from agent_api.auth import ANY_ROLE, STAFF, allow, principal
from agent_api.bodies import read_model, read_query
from agent_api.errors import ApiError, Conflict, NotFound
from agent_api.openapi import documented
from campaigns import controls, dialer, history, scenarios, schemas, selection, store, templates
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


class NoSuchCampaign(NotFound):
    error_id = "campaign-not-found"


class NoSuchAccount(NotFound):
    error_id = "account-not-found"


class NotProtected(NotFound):
    error_id = "not-protected"


class UnknownPrompt(ApiError):
    status = 422
    error_id = "unknown-prompt"


def _error(exc: store.CampaignError) -> ApiError:
    details = {"due": exc.due.isoformat()} if isinstance(exc, scenarios.StageNotDue) else None
    if isinstance(exc, store.CampaignNotFound):
        return NoSuchCampaign(str(exc), details)
    error = Conflict(str(exc), details)
    error.error_id = exc.code  # campaign-state, campaign-stale, stage-not-due...: stable ids
    return error


def _sayable(spec: Campaign) -> Campaign:
    """The campaign, refused (422 ``unknown-prompt``) when its message names a prompt that has
    no recording: it could never be said (every try would end ``failed``)."""
    unknown = dialer.unknown_prompts(spec)
    if unknown:
        raise UnknownPrompt(
            "the message names prompts that have no recording: " + ", ".join(unknown),
            {"unknown": unknown, "known": dialer.known_prompts()})
    return spec


def _id(request: web.Request) -> int:
    return int(request.match_info["id"])


def _answer(model: type[BaseModel], value: dict[str, Any], status: int = 200) -> web.Response:
    """The body written by its response model (the one the OpenAPI document shows): a key
    or a type the model does not have fails here, not in a client. A key the handler left out
    (``streets`` without ``?city=``) stays out."""
    body = model.model_validate(value).model_dump_json(exclude_unset=True)
    return web.Response(text=body, status=status, content_type="application/json")


async def _get(conn, campaign_id: int):
    campaign = await store.get(conn, campaign_id)
    if campaign is None:
        raise _error(store.CampaignNotFound())
    return campaign


@documented(response=schemas.CampaignList)
@allow(*STAFF)
async def list_campaigns(request: web.Request) -> web.Response:
    # An unknown state (or a bad city, below) was a 400 before the query had a model: it stays.
    query = read_query(request, schemas.CampaignListQuery, errors={"state": ApiError})
    async with request.app[PG_POOL].acquire() as conn:
        campaigns = await store.list_campaigns(conn, states=query.state or None)
        counts = await store.summaries(conn, [c.id for c in campaigns])
    return _answer(schemas.CampaignList, {"campaigns": [
        {**store.as_dict(c), "summary": dataclasses.asdict(counts[c.id])}
                                for c in campaigns]})


@documented(response=schemas.Templates)
@allow(*STAFF)
async def list_templates(request: web.Request) -> web.Response:
    return _answer(schemas.Templates, {"templates": templates.templates()})


@documented(response=schemas.Choices)
@allow(*STAFF)
async def choices(request: web.Request) -> web.Response:
    """What the form's pickers offer: open outages (an outage alert's), cities, and the
    streets of ``?city=``."""
    query = read_query(request, schemas.ChoicesQuery, errors={"city": ApiError})
    body = await controls.choices(request.app[PG_POOL], query.city)
    return _answer(schemas.Choices, body)


@documented(response=schemas.CampaignView, status=201)
@allow(*STAFF)
async def create(request: web.Request) -> web.Response:
    spec = _sayable(await read_model(request, Campaign))
    async with request.app[PG_POOL].acquire() as conn:
        campaign = await store.create(conn, spec, created_by=principal(request).agent_id)
    return _answer(schemas.CampaignView, store.as_dict(campaign), 201)


async def _preview(request: web.Request, spec: Campaign) -> web.Response:
    parts = request.app[CAMPAIGNS]
    async with request.app[PG_POOL].acquire() as conn:
        result = await selection.preview(conn, spec, parts.settings, parts.rules.calendar,
                                         _now())
    return _answer(schemas.PreviewOut, dataclasses.asdict(result))


@documented(response=schemas.PreviewOut)
@allow(*STAFF)
async def preview_new(request: web.Request) -> web.Response:
    return await _preview(request, _sayable(await read_model(request, Campaign)))


@documented(response=schemas.PreviewOut)
@allow(*STAFF)
async def preview_stored(request: web.Request) -> web.Response:
    async with request.app[PG_POOL].acquire() as conn:
        campaign = await _get(conn, _id(request))
    return await _preview(request, campaign.spec)


@documented(response=schemas.CampaignWithProgress)
@allow(*STAFF)
async def get_one(request: web.Request) -> web.Response:
    async with request.app[PG_POOL].acquire() as conn:
        campaign = await _get(conn, _id(request))
        progress = await store.progress(conn, campaign.id, now=_now())
    return _answer(schemas.CampaignWithProgress,
                   {**store.as_dict(campaign), "progress": dataclasses.asdict(progress)})


@documented(response=schemas.ProgressOut)
@allow(*STAFF)
async def progress(request: web.Request) -> web.Response:
    async with request.app[PG_POOL].acquire() as conn:
        campaign = await _get(conn, _id(request))
        result = await store.progress(conn, campaign.id, now=_now())
    return _answer(schemas.ProgressOut, dataclasses.asdict(result))


@documented(response=schemas.StartedCampaign)
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
    return _answer(schemas.StartedCampaign, {**store.as_dict(campaign), "attempts": frozen})


def _transition(action: str):
    @documented(response=schemas.CampaignView)
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
        return _answer(schemas.CampaignView, store.as_dict(campaign))

    handler.__name__ = action
    return handler


@documented(response=schemas.CampaignView, status=201)
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
    return _answer(schemas.CampaignView, store.as_dict(campaign), 201)


@documented(response=schemas.CampaignView, status=201,
            note="An operator-list stage makes callbacks instead: 200 `{callbacks: n}`.")
@allow(*STAFF)
async def next_stage(request: web.Request) -> web.Response:
    async with request.app[PG_POOL].acquire() as conn:
        try:
            made = await scenarios.next_stage(conn, scenarios.DEBT_SCENARIO, _id(request),
                                              now=_now(), created_by=principal(request).agent_id)
        except store.CampaignError as exc:
            raise _error(exc) from exc
    if isinstance(made, int):
        return _answer(schemas.StageCallbacks, {"callbacks": made})
    return _answer(schemas.CampaignView, store.as_dict(made), 201)


@documented(response=schemas.ScenarioCounts)
@allow(*STAFF)
async def scenario_counts(request: web.Request) -> web.Response:
    target = await read_model(request, TargetFilter)
    async with request.app[PG_POOL].acquire() as conn:
        counts = await scenarios.stage_counts(conn, scenarios.DEBT_SCENARIO, target)
    return _answer(schemas.ScenarioCounts, {"scenario": scenarios.DEBT_SCENARIO.name,
                  "stages": {str(k): v for k, v in counts.items()}})


@documented(media=("text/csv",))
@allow(*STAFF)
async def results_csv(request: web.Request) -> web.Response:
    async with request.app[PG_POOL].acquire() as conn:
        campaign = await _get(conn, _id(request))
        data = await store.results_csv(conn, campaign.id,
                                       timezone=request.app[CAMPAIGNS].settings.default_timezone)
    return web.Response(
        body=data, content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign.id}.csv"'})


@documented(response=schemas.KillSwitch)
@allow(*STAFF)
async def get_kill_switch(request: web.Request) -> web.Response:
    row = await controls.kill_switch(request.app[PG_POOL])
    return _answer(schemas.KillSwitch, {
        **dict(row), "settings_engaged": request.app[CAMPAIGNS].settings.kill_switch})


@documented(response=schemas.KillSwitch)
@allow(*STAFF)
async def put_kill_switch(request: web.Request) -> web.Response:
    body = await read_model(request, KillSwitchRequest)
    row = await controls.set_kill_switch(request.app[PG_POOL], body.engaged, body.reason,
                                         principal(request).agent_id)
    return _answer(schemas.KillSwitch, {
        **dict(row), "settings_engaged": request.app[CAMPAIGNS].settings.kill_switch})


@documented(response=schemas.OptOutCreated, status=201,
            note="200 `{created: false}` when the same opt-out was already there.")
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
                raise NoSuchAccount("no such account")
            consumer_id = row["consumer_id"]
        source = "agent" if principal(request).role == "agent" else "admin"
        new_id = await history.record_opt_out(
            conn, consumer_id=consumer_id, phone=phone, source=source, scope=body.scope,
            created_by=principal(request).agent_id)
    return _answer(schemas.OptOutCreated, {"created": new_id is not None},
                   201 if new_id is not None else 200)


@documented(response=schemas.Protection)
@allow(*STAFF)
async def put_protection(request: web.Request) -> web.Response:
    body = await read_model(request, ProtectionRequest)
    if not await controls.set_protection(request.app[PG_POOL], request.match_info["account"],
                                         body.category, body.note, principal(request).agent_id):
        raise NoSuchAccount("no such account")
    return _answer(schemas.Protection,
                   {"account": request.match_info["account"], "category": body.category})


@documented(status=204)
@allow(*STAFF)
async def delete_protection(request: web.Request) -> web.Response:
    if not await controls.clear_protection(request.app[PG_POOL], request.match_info["account"]):
        raise NotProtected("the account is not flagged")
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
