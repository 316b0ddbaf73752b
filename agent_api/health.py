"""Component status for /health, in the manner of Wazo's provide_status.

Each part reports ``status`` (``ok``; ``off`` when not configured, which is a choice and no fault;
``degraded``; ``fail``) and ``state``, its real condition in words ("connected", "keys only",
"not configured", "down"). The HTTP status says whether the server can serve: 503 only when an
essential part (PostgreSQL) fails; a part the server works around (Redis: cards come from
PostgreSQL) makes the whole ``degraded`` with 200.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from agent_api.auth import public
from agent_api.app_keys import HEALTH
from agent_api.openapi import documented
from agent_api.schemas import HealthReport

StatusProvider = Callable[[], Awaitable[dict]]

PROBE_TIMEOUT = 3.0
_GOOD = frozenset({"ok", "off"})


class HealthRegistry:
    def __init__(self) -> None:
        self._providers: dict[str, tuple[StatusProvider, bool]] = {}

    def register(self, name: str, provider: StatusProvider, *, essential: bool = False) -> None:
        self._providers[name] = (provider, essential)

    async def collect(self) -> dict[str, dict]:
        names = list(self._providers)
        results = await asyncio.gather(
            *(asyncio.wait_for(self._providers[n][0](), PROBE_TIMEOUT) for n in names),
            return_exceptions=True,
        )
        report: dict[str, dict] = {}
        for name, result in zip(names, results):
            if isinstance(result, BaseException):  # a failing probe is a status, not a crash
                result = {"status": "fail", "state": "down", "error": type(result).__name__}
            report[name] = {"essential": self._providers[name][1], **result}
        return report

    @staticmethod
    def overall(report: dict[str, dict]) -> str:
        if any(c.get("essential") and c.get("status") not in _GOOD for c in report.values()):
            return "fail"
        if any(c.get("status") not in _GOOD for c in report.values()):
            return "degraded"
        return "ok"


# The body stays a plain dict: /health must answer even if a part reports oddly.
@documented(response=HealthReport, also=(503,))
@public
async def health(request: web.Request) -> web.Response:
    """Status of each component, and whether the server can serve (503 when it cannot)."""
    registry = request.app[HEALTH]
    components = await registry.collect()
    status = registry.overall(components)
    # Public endpoint: only component states, never data.
    return web.json_response(
        {"status": status, "components": components}, status=503 if status == "fail" else 200
    )
