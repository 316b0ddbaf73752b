"""Typed application keys: the only way handlers reach shared components.

The composition root (``ccs/app.py``) builds each component with its own settings section and
puts it here; handlers never see the whole settings object, so nothing below ``ccs`` imports it.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import asyncpg
import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CollectorRegistry

if TYPE_CHECKING:
    from agent_api.auth import TokenIssuer
    from agent_api.health import HealthRegistry
    from agent_api.login_limits import LoginLimiter
    from agent_api.passwords import PasswordHasher
    from cti.bus import EventBus
    from cti.service import CtiService
    from ivr.app import IvrApplication
    from speech import SpeechEngine
    from state.card_listener import CardChangeListener
    from state.cards import CardCache
    from state.live import LiveState
    from state.redis_keys import RedisKeys

PG_POOL = web.AppKey("pg_pool", asyncpg.Pool)
# The screen pop's card lookups only (ccs/app.py postgres_ctx): never queued behind other work.
PG_POP_POOL = web.AppKey("pg_pop_pool", asyncpg.Pool)
REDIS = web.AppKey("redis", aioredis.Redis)
TOKENS: web.AppKey["TokenIssuer"] = web.AppKey("tokens")
HEALTH: web.AppKey["HealthRegistry"] = web.AppKey("health")
METRICS = web.AppKey("metrics", CollectorRegistry)
BUS: web.AppKey["EventBus"] = web.AppKey("bus")
CTI: web.AppKey["CtiService"] = web.AppKey("cti")
SPEECH: web.AppKey["SpeechEngine"] = web.AppKey("speech")
CARDS: web.AppKey["CardCache"] = web.AppKey("cards")
PASSWORDS: web.AppKey["PasswordHasher"] = web.AppKey("passwords")
LOGIN_LIMITS: web.AppKey["LoginLimiter"] = web.AppKey("login_limits")
CARD_LISTENER: web.AppKey["CardChangeListener"] = web.AppKey("card_listener")
IVR_APP: web.AppKey["IvrApplication"] = web.AppKey("ivr_app")
LIVE: web.AppKey["LiveState"] = web.AppKey("live")
REDIS_KEYS: web.AppKey["RedisKeys"] = web.AppKey("redis_keys")
# Called with the user's id when their sessions end (logout, password change): open sockets close.
SESSION_ENDED: web.AppKey[list[Callable[[int], Awaitable[None]]]] = web.AppKey("session_ended")
