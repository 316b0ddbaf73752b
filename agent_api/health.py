"""Component status for /health, in the manner of Wazo's provide_status."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from agent_api.keys import HEALTH

StatusProvider = Callable[[], Awaitable[dict]]


class HealthRegistry:
    def __init__(self) -> None:
        self._providers: dict[str, StatusProvider] = {}

    def register(self, name: str, provider: StatusProvider) -> None:
        self._providers[name] = provider

    async def collect(self) -> dict[str, dict]:
        report: dict[str, dict] = {}
        for name, provider in self._providers.items():
            try:
                report[name] = await provider()
            except Exception as exc:  # a failing probe is a status, not a crash
                report[name] = {"status": "fail", "error": type(exc).__name__}
        return report


async def health(request: web.Request) -> web.Response:
    components = await request.app[HEALTH].collect()
    ok = all(c.get("status") == "ok" for c in components.values())
    # Public endpoint: only component states, never data.
    return web.json_response(
        {"status": "ok" if ok else "fail", "components": components}, status=200 if ok else 503
    )
