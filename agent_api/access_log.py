"""Access log without consumers' data: routes are logged by their template, never their path.

The default aiohttp access log writes the request line, which carries account numbers and phone
numbers (``/api/cards/phone/+7912...``) into the logs.
"""
from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class RedactedAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        match_info = getattr(request, "match_info", None)
        resource = match_info.route.resource if match_info is not None else None
        route = resource.canonical if resource is not None else "(unmatched)"
        self.logger.info(
            "%s %s %s %.1fms", request.method, route, response.status, time * 1000
        )
