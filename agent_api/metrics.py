"""Prometheus metrics: one registry per application, never the process-global one."""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from agent_api.app_keys import METRICS, TOKENS
from agent_api.auth import authenticate, bearer_token, public
from agent_api.openapi import documented
from agent_api.prometheus import SCRAPE_ACCESS


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "ccs_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "ccs_http_request_seconds", "HTTP request latency", ["route"], registry=registry
        )


def make_metrics_middleware(metrics: HttpMetrics):
    @web.middleware
    async def metrics_middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.requests.labels(request.method, route, str(status)).inc()
            metrics.latency.labels(route).observe(time.perf_counter() - started)

    return metrics_middleware


@documented(roles=("admin",), security=("bearer", "scrapeToken"), media=("text/plain",),
            note="Also served without a token to an address in `CCS_HTTP__METRICS_ALLOW`.")
@public  # the middleware lets it through: the scrape token and address are checked here
async def metrics_handler(request: web.Request) -> web.Response:
    """Prometheus metrics (text format): HTTP, queues, AMI, IVR, speech, Socket.IO."""
    access = request.app[SCRAPE_ACCESS]
    bearer = bearer_token(request.headers.get("Authorization"))
    if not (access.by_token(bearer) or access.by_address(request.remote)):
        caller = await authenticate(request, request.app[TOKENS])
        caller.require("admin")
    body = generate_latest(request.app[METRICS])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
