"""Wiring of robocall campaigns into the aiohttp application (the composition root calls
``install(app, sio, settings.campaigns)`` after the agents' and the supervisors' install).

The cleanup context builds the contact rules once (their holiday calendar reads files, so off
the event loop) and puts what the REST handlers share under ``app[CAMPAIGNS]``. With a PBX
connection it adds the leader work (one per PBX, ``features/leadership.py``): the pacer
(campaigns/pacer.py: dialling, outcomes, reconciliation) and the progress pushes to
supervisors (campaigns/pushes.py, on the console's own namespace ``/campaigns``,
campaigns/sockets.py).
"""
from __future__ import annotations

import functools
from collections.abc import AsyncIterator

import socketio
from aiohttp import web

from agent_api.app_keys import BUS, CTI, HEALTH, PG_POOL, TOKENS
from campaigns import http
from campaigns.pacer import Pacer
from campaigns.pushes import CampaignPushes
from campaigns.rules import Rules
from campaigns.settings import CampaignSettings
from campaigns.sockets import CampaignSocketDeps, CampaignsNamespace
from features.leadership import LEADERSHIP
from features.socket_sessions import SOCKET_SESSIONS


def install(app: web.Application, sio: socketio.AsyncServer,
            settings: CampaignSettings) -> None:
    http.setup_routes(app)
    app.cleanup_ctx.append(functools.partial(campaigns_ctx, sio=sio, settings=settings))


async def campaigns_ctx(app: web.Application, *, sio: socketio.AsyncServer,
                        settings: CampaignSettings) -> AsyncIterator[None]:
    rules = await Rules.build(settings)
    pool = app[PG_POOL]
    pushes = CampaignPushes(pool, sio, interval=settings.progress_push_seconds)
    app[http.CAMPAIGNS] = http.CampaignParts(settings=settings, rules=rules,
                                             changed=pushes.wake)
    sio.register_namespace(CampaignsNamespace(CampaignSocketDeps(
        tokens=app[TOKENS], pool=pool, sessions=app.get(SOCKET_SESSIONS))))
    cti, bus = app.get(CTI), app.get(BUS)
    if cti is not None and bus is not None:
        leadership = app[LEADERSHIP]
        pacer = Pacer(pool, cti, bus, rules, settings, on_change=pushes.wake,
                      may_dial=leadership.surely_held)
        leadership.add("campaigns: pacer", pacer.start, pacer.stop)
        leadership.add("campaigns: progress pushes", pushes.start, pushes.stop)

        async def status() -> dict:
            return {"status": "ok", "state": "dialling" if pacer.ready else (
                        "reconciling" if pushes.running else "standby"),
                    "killed": pacer.killed, "originates": pacer.originates,
                    "fenced": pacer.fenced,
                    "pushes": pushes.pushes}

        app[HEALTH].register("campaigns", status)
    yield
