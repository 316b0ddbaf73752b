"""HTTP edge of domain errors: every error body is {"error_id", "message", "details"}."""
from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400
    error_id = "bad-request"

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


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


class Unavailable(ApiError):
    status = 503
    error_id = "pbx-unavailable"


def error_response(status: int, error_id: str, message: str, details: dict | None = None) -> web.Response:
    body = {"error_id": error_id, "message": message, "details": details or {}}
    return web.json_response(body, status=status)


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.error_id, exc.message, exc.details)
    except ValidationError as exc:
        details = {"errors": json.loads(exc.json(include_url=False, include_input=False))}
        return error_response(422, "invalid-request", "request body is not valid", details)
    except web.HTTPRequestEntityTooLarge as exc:
        return error_response(413, "request-too-large", exc.text or "request body too large")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, exc.reason.lower().replace(" ", "-"), exc.reason)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(500, "internal-error", "internal server error")
