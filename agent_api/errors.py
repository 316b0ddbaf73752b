"""HTTP edge of domain errors: every error body is {"error_id", "message", "details"}.

Error ids are stable: clients and monitoring switch on them. An outage of a part the server
depends on is a 503 with the part's id (``database-unavailable``, ``live-state-unavailable``,
``pbx-unavailable``), never a 500. Logs name the route template and the exception type only:
a path or an exception message may carry an account or phone number.
"""
from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Awaitable, Callable

import redis.exceptions
from aiohttp import web
from pydantic import ValidationError

from agent_api.access_log import route_template
from state.db import is_database_outage

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400
    error_id = "bad-request"

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers: dict[str, str] = {}


class Unauthorized(ApiError):
    status = 401
    error_id = "unauthorized"


class Forbidden(ApiError):
    status = 403
    error_id = "forbidden"


class NotFound(ApiError):
    status = 404
    error_id = "not-found"


class Conflict(ApiError):
    status = 409
    error_id = "conflict"


class UnsupportedMediaType(ApiError):
    status = 415
    error_id = "unsupported-media-type"


class TooManyRequests(ApiError):
    status = 429
    error_id = "too-many-requests"

    def __init__(self, message: str, retry_after: int, details: dict | None = None) -> None:
        super().__init__(message, {**(details or {}), "retry_after": retry_after})
        self.headers["Retry-After"] = str(retry_after)


class Unavailable(ApiError):
    status = 503
    error_id = "pbx-unavailable"


class DatabaseUnavailable(Unavailable):
    error_id = "database-unavailable"


class LiveStateUnavailable(Unavailable):
    error_id = "live-state-unavailable"


class Busy(Unavailable):
    error_id = "busy"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message, {"retry_after": retry_after})
        self.headers["Retry-After"] = str(retry_after)


def error_response(
    status: int, error_id: str, message: str, details: dict | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {"error_id": error_id, "message": message, "details": details or {}}
    return web.json_response(body, status=status, headers=headers)


def _api_error(exc: ApiError) -> web.Response:
    return error_response(exc.status, exc.error_id, exc.message, exc.details, exc.headers)


def is_redis_outage(exc: BaseException) -> bool:
    return isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError))


def outage_error(exc: BaseException) -> ApiError | None:
    """The 503 an outage of PostgreSQL or Redis deserves, or None for any other error."""
    if is_redis_outage(exc):
        return LiveStateUnavailable("the live state (Redis) is unavailable; try again shortly")
    if is_database_outage(exc):
        return DatabaseUnavailable("the database is unavailable; try again shortly")
    return None


def validation_error(exc: ValidationError) -> web.Response:
    errors = json.loads(exc.json(include_url=False, include_input=False))
    if any(e.get("type") == "json_invalid" for e in errors):
        # Not JSON at all (or nested deeper than the parser's limit): bad input, not a schema
        # mismatch. The parser's message says which.
        reason = "; ".join(str(e.get("msg")) for e in errors)
        return error_response(400, "bad-request", f"request body is not valid JSON ({reason})")
    return error_response(422, "invalid-request", "request body is not valid", {"errors": errors})


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return _api_error(exc)
    except ValidationError as exc:
        return validation_error(exc)
    except web.HTTPRequestEntityTooLarge as exc:
        return error_response(413, "request-too-large", exc.text or "request body too large")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, exc.reason.lower().replace(" ", "-"), exc.reason)
    except Exception as exc:
        if (outage := outage_error(exc)) is not None:
            log.warning("%s %s: %s (%s)", request.method, route_template(request),
                        outage.error_id, type(exc).__name__)
            return _api_error(outage)
        # The traceback without the exception's message: the message may quote input.
        log.error("unhandled %s in %s %s\n%s", type(exc).__name__, request.method,
                  route_template(request), "".join(traceback.format_tb(exc.__traceback__)))
        return error_response(500, "internal-error", "internal server error")
