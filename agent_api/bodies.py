"""Request bodies: JSON in UTF-8, parsed and validated by pydantic in one step.

pydantic's parser (jiter) bounds nesting depth, so a body nested 100,000 deep is an ordinary
"not valid JSON" (400) and not a RecursionError; a charset other than UTF-8 (RFC 8259 JSON is
UTF-8) or another media type is a 415.
"""
from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel

from agent_api.errors import UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)

_UTF8 = frozenset({"utf-8", "utf8"})


async def read_model(request: web.Request, model: type[M]) -> M:
    """The body as ``model``; raises 415, or ValidationError (400 not JSON, 422 not the model)."""
    media_type = request.content_type
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType("send the body as application/json",
                                   {"expected": "application/json"})
    charset = request.charset
    if charset is not None and charset.strip().lower() not in _UTF8:
        raise UnsupportedMediaType("a JSON body must be UTF-8", {"expected": "utf-8"})
    return model.model_validate_json(await request.read())
