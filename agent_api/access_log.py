"""Access log without consumers' data: routes are logged by their template, never their path.

The default aiohttp access log writes the request line, which carries account numbers and phone
numbers (``/api/cards/phone/+7912...``) into the logs.
"""
from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


def route_template(request: web.BaseRequest) -> str:
    """``/api/cards/account/{number}``, ``(unmatched)``, or ``(bad request)`` for a request
    aiohttp could not parse (it never reached the router)."""
    try:
        match_info = request.match_info  # type: ignore[attr-defined]
    except (AttributeError, AssertionError):  # a BaseRequest made for a malformed request
        return "(bad request)"
    route = getattr(match_info, "route", None)
    resource = getattr(route, "resource", None)
    return resource.canonical if resource is not None else "(unmatched)"


class RedactedAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        # The method is a token aiohttp parsed, but a malformed request may have none.
        method = request.method if request.method.isalpha() and len(request.method) <= 16 else "-"
        self.logger.info(
            "%s %s %s %.1fms", method, route_template(request), response.status, time * 1000
        )


class ServerErrorRedaction(logging.Filter):
    """aiohttp's server logger reports a malformed request (a request line too long, a bad
    method) with a traceback whose message quotes the head of the request line: keep the record,
    but only with the exception's type."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__} (details withheld)"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def redact_aiohttp_logs() -> None:
    """Attach :class:`ServerErrorRedaction` to aiohttp's loggers (once per process: loggers are
    process-wide)."""
    for name in ("aiohttp.server", "aiohttp.web", "aiohttp.internal"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, ServerErrorRedaction) for f in logger.filters):
            logger.addFilter(ServerErrorRedaction())
