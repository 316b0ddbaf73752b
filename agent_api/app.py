"""The composition root: the one place where the packages meet."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CollectorRegistry

from agent_api import routes
from agent_api.auth import TokenIssuer, make_auth_middleware
from agent_api.components import bus_ctx, cti_ctx, ivr_ctx, speech_ctx
from agent_api.errors import error_middleware
from agent_api.health import HealthRegistry
from agent_api.keys import CARDS, HEALTH, METRICS, PG_POOL, REDIS, SETTINGS, TOKENS
from agent_api.metrics import HttpMetrics, make_metrics_middleware
from ccs.settings import Settings
from state.cards import CardCache
from state.db import create_pool

log = logging.getLogger(__name__)


class ConfigurationError(RuntimeError):
    pass


def create_app(settings: Settings) -> web.Application:
    if not settings.postgres.dsn or not settings.redis.url:
        raise ConfigurationError("postgres.dsn and redis.url must be resolved before create_app")
    if settings.auth.secret_key is None:
        raise ConfigurationError("CCS_AUTH__SECRET_KEY is not set")
    tokens = TokenIssuer(settings.auth.secret_key.get_secret_value(), settings.auth.token_ttl)
    registry = CollectorRegistry()
    app = web.Application(
        client_max_size=settings.http.max_body_bytes,
        middlewares=[
            make_metrics_middleware(HttpMetrics(registry)),
            error_middleware,
            make_auth_middleware(tokens),
        ],
    )
    app[SETTINGS] = settings
    app[TOKENS] = tokens
    app[METRICS] = registry
    app[HEALTH] = HealthRegistry()
    app.cleanup_ctx.extend([postgres_ctx, redis_ctx, bus_ctx, cti_ctx, speech_ctx, ivr_ctx])
    routes.setup(app)
    return app


async def postgres_ctx(app: web.Application) -> AsyncIterator[None]:
    cfg = app[SETTINGS].postgres
    pool = await create_pool(
        cfg.dsn, min_size=cfg.pool_min, max_size=cfg.pool_max, command_timeout=cfg.command_timeout
    )
    app[PG_POOL] = pool

    async def status() -> dict:
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
        return {"status": "ok", "pool_size": pool.get_size()}

    app[HEALTH].register("postgres", status)
    try:
        yield
    finally:
        await pool.close()


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    client = aioredis.from_url(app[SETTINGS].redis.url, decode_responses=True)
    await client.ping()
    app[REDIS] = client
    app[CARDS] = CardCache.from_settings(client, app[SETTINGS].redis)

    async def status() -> dict:
        await client.ping()
        return {"status": "ok"}

    app[HEALTH].register("redis", status)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()
