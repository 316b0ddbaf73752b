"""Typed application keys: the only way handlers reach shared components."""
from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CollectorRegistry

if TYPE_CHECKING:
    from agent_api.auth import TokenIssuer
    from agent_api.health import HealthRegistry
    from ccs.settings import Settings
    from cti.bus import EventBus
    from cti.service import CtiService
    from speech import SpeechEngine
    from state.cards import CardCache

SETTINGS: web.AppKey["Settings"] = web.AppKey("settings")
PG_POOL = web.AppKey("pg_pool", asyncpg.Pool)
REDIS = web.AppKey("redis", aioredis.Redis)
TOKENS: web.AppKey["TokenIssuer"] = web.AppKey("tokens")
HEALTH: web.AppKey["HealthRegistry"] = web.AppKey("health")
METRICS = web.AppKey("metrics", CollectorRegistry)
BUS: web.AppKey["EventBus"] = web.AppKey("bus")
CTI: web.AppKey["CtiService"] = web.AppKey("cti")
SPEECH: web.AppKey["SpeechEngine"] = web.AppKey("speech")
CARDS: web.AppKey["CardCache"] = web.AppKey("cards")
