"""URL map of the agent API."""
from __future__ import annotations

from aiohttp import web

from agent_api.health import health
from agent_api.metrics import metrics_handler


def setup(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics_handler)
