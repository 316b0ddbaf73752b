"""Prometheus metrics: one registry per application, never the process-global one."""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from agent_api.auth import STAFF, allow
from agent_api.app_keys import METRICS


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


@allow(*STAFF)
async def metrics_handler(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
