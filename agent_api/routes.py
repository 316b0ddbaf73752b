"""URL map of the agent API. Every handler declares its roles (``agent_api.auth.allow`` or
``public``); the auth middleware refuses a route that does not."""
from __future__ import annotations

from aiohttp import web

from agent_api import http_agents, http_auth, http_card_lookup, http_static, openapi
from agent_api.health import health
from agent_api.metrics import metrics_handler


def setup(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics_handler)
    openapi.setup(app)  # GET /api/openapi.json
    app.router.add_post("/api/login", http_auth.login)
    app.router.add_post("/api/logout", http_auth.logout)
    app.router.add_get("/api/cards/account/{number}", http_card_lookup.card_by_account)
    app.router.add_get("/api/cards/phone/{phone}", http_card_lookup.cards_by_phone)
    app.router.add_get("/api/agents/me", http_agents.me)
    app.router.add_put("/api/agents/me/password", http_auth.change_password)
    app.router.add_post("/api/agents/{agent_id}/deactivate", http_agents.deactivate)
    http_static.add_routes(app.router)  # the agent desktop page at / and /desk/
