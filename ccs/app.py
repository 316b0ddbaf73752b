"""The composition root: the one place where the packages meet (settings, components, routes).

``ccs serve``, ``ccs demo`` and the tests build the application with ``create_app(settings)``."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CollectorRegistry

from agent_api import routes
from agent_api.access_log import redact_aiohttp_logs
from agent_api.app_keys import (
    CARDS,
    HEALTH,
    LIVE,
    LOGIN_LIMITS,
    METRICS,
    PASSWORDS,
    PG_POOL,
    PG_POP_POOL,
    REDIS,
    REDIS_KEYS,
    SESSION_ENDED,
    TOKENS,
)
from agent_api.auth import TokenIssuer, make_auth_middleware
from agent_api.errors import error_middleware
from agent_api.health import HealthRegistry
from agent_api.http_static import WEB_DIST
from agent_api.login_limits import LoginLimiter
from agent_api.metrics import HttpMetrics, make_metrics_middleware
from agent_api.passwords import PasswordHasher
from agent_api.prometheus import SCRAPE_ACCESS, ScrapeAccess
from campaigns.plugin import install as install_campaigns
from ccs.app_settings_key import SETTINGS
from ccs.components import (
    bus_ctx, card_listener_ctx, cti_ctx, ivr_ctx, loop_lag_ctx, speech_ctx,
)
from ccs.live_metrics import LiveCollector
from ccs.settings import Settings
from features.agents.plugin import create_socket_server
from features.agents.plugin import install as install_agents
from features.supervisor.plugin import install as install_supervisor
from features.leadership import LEADERSHIP, Leadership, leadership_ctx
from state.cards import CardCache
from state.db import create_pool
from state.live import LiveState
from state.redis_keys import RedisKeys
from state.settings import RedisSettings

log = logging.getLogger(__name__)


class ConfigurationError(RuntimeError):
    pass


def create_app(settings: Settings) -> web.Application:
    if not settings.postgres.dsn or not settings.redis.url:
        raise ConfigurationError("postgres.dsn and redis.url must be resolved before create_app")
    if settings.auth.secret_key is None:
        raise ConfigurationError("CCS_AUTH__SECRET_KEY is not set")
    tokens = TokenIssuer(settings.auth.secret_key.get_secret_value(), settings.auth.token_ttl)
    redact_aiohttp_logs()
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
    app[SCRAPE_ACCESS] = ScrapeAccess.from_settings(settings.http)
    app[HEALTH] = HealthRegistry()
    app[SESSION_ENDED] = []
    app.cleanup_ctx.extend([
        loop_lag_ctx, postgres_ctx, redis_ctx, passwords_ctx, card_listener_ctx, bus_ctx, cti_ctx,
        speech_ctx, ivr_ctx,
    ])
    routes.setup(app)
    if settings.http.web_dist is not None:
        app[WEB_DIST] = settings.http.web_dist
    # One lease per PBX: the features register the work only its holder runs (leadership.py).
    app[LEADERSHIP] = Leadership(f"{settings.ami.host}:{settings.ami.port}",
                                 ttl=settings.agents.lease_ttl)
    # The agent desktop: Socket.IO on /socket.io/ (its client manager on this Redis, so several
    # server processes share the rooms) and its routes.
    sio = create_socket_server(settings.agents, redis_url=settings.redis.url,
                               keys=RedisKeys.from_settings(settings.redis))
    install_agents(app, sio, settings.agents)
    registry.register(LiveCollector(app, sio))  # read at each scrape: no polling
    install_supervisor(app, sio, settings.supervisor)
    install_campaigns(app, sio, settings.campaigns)
    # Last: the lease is taken once every feature has registered its leader work, and released
    # (that work stopped) before any feature's context tears down.
    app.cleanup_ctx.append(leadership_ctx)
    return app


async def postgres_ctx(app: web.Application) -> AsyncIterator[None]:
    cfg = app[SETTINGS].postgres
    pool = await create_pool(
        cfg.dsn, min_size=cfg.pool_min, max_size=cfg.pool_max, command_timeout=cfg.command_timeout,
        acquire_timeout=cfg.acquire_timeout,
    )
    app[PG_POOL] = pool
    try:
        app[PG_POP_POOL] = pop_pool = await create_pool(
            cfg.dsn, min_size=1, max_size=cfg.pop_pool_max, command_timeout=cfg.command_timeout,
            acquire_timeout=cfg.acquire_timeout)
    except BaseException:
        await pool.close()
        raise

    async def status() -> dict:
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
        return {"status": "ok", "state": "connected", "pool_size": pool.get_size(),
                "pool_idle": pool.get_idle_size(), "pool_max": pool.get_max_size()}

    app[HEALTH].register("postgres", status, essential=True)
    try:
        yield
    finally:
        await pop_pool.close()
        await pool.close()


def redis_client(settings: RedisSettings) -> aioredis.Redis:
    """A client whose pool is bounded and makes callers wait for a connection (up to
    ``pool_timeout``): redis-py's default pool raises MaxConnectionsError instead."""
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.url,
        max_connections=settings.max_connections,
        timeout=settings.pool_timeout,
        socket_timeout=settings.socket_timeout,
        socket_connect_timeout=settings.socket_timeout,
        decode_responses=True,
    )
    return aioredis.Redis(connection_pool=pool)


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    client = redis_client(app[SETTINGS].redis)
    try:
        await client.ping()
    except BaseException:
        await client.aclose(close_connection_pool=True)
        raise
    app[REDIS] = client
    keys = RedisKeys.from_settings(app[SETTINGS].redis)
    app[REDIS_KEYS] = keys
    app[LIVE] = LiveState(client, keys)
    app[CARDS] = CardCache.from_settings(client, app[SETTINGS].redis)

    async def status() -> dict:
        await client.ping()
        return {"status": "ok", "state": "connected"}

    app[HEALTH].register("redis", status)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            await client.aclose(close_connection_pool=True)


async def passwords_ctx(app: web.Application) -> AsyncIterator[None]:
    auth = app[SETTINGS].auth
    hasher = PasswordHasher(auth.hash_workers, auth.hash_queue)
    app[PASSWORDS] = hasher
    app[LOGIN_LIMITS] = LoginLimiter(
        app[REDIS], app[SETTINGS].redis.key_prefix, per_login=auth.login_attempts_per_login,
        per_address=auth.login_attempts_per_address, window=auth.login_window,
    )
    try:
        yield
    finally:
        await hasher.close()
