"""Request bodies and query strings, validated by pydantic in one step.

Bodies: JSON in UTF-8. pydantic's parser (jiter) bounds nesting depth, so a body nested 100,000
deep is an ordinary "not valid JSON" (400) and not a RecursionError; a charset other than UTF-8
(RFC 8259 JSON is UTF-8) or another media type is a 415.

Query strings: ``read_query`` is the only reader of ``request.query`` (tests/agent_api/
test_openapi_query.py scans for others), so every query parameter a handler takes is in its
model, and the OpenAPI document lists it (agent_api/openapi.py finds the model in the call).
"""
from __future__ import annotations

import functools
import json
import types
import typing
from collections.abc import Mapping
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from agent_api.errors import ApiError, UnsupportedMediaType

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


class InvalidQuery(ApiError):
    """The query string is not the model's: the body's 422 (``invalid-request``, pydantic's
    ``errors`` in the details), with a message that names the parameters."""

    status = 422
    error_id = "invalid-request"


def read_query(request: web.Request, model: type[M], *,
               errors: Mapping[str, type[ApiError]] | None = None) -> M:
    """The query string as ``model`` (declared with ``extra="forbid"``).

    Every parameter is given once; a list parameter is one comma-separated value (OpenAPI's
    ``style: form, explode: false``; empty items are skipped). An unknown or repeated parameter
    or a value not the model's is an ``InvalidQuery`` (422); ``errors`` keeps, per parameter
    name, the error a bad value of it answered before it had a model (clients switch on ids)."""
    names, lists = query_fields(model)
    values: dict[str, str | list[str]] = {}
    for name in request.query.keys():  # a repeated key comes once per value
        if name in values:
            continue
        given = request.query.getall(name)
        if len(given) > 1 and name in names:
            how = " (a list as one comma-separated value)" if name in lists else ""
            message = f"query parameter '{name}' is given {len(given)} times; give it once{how}"
            raise InvalidQuery(message, {"errors": [
                {"type": "repeated_parameter", "loc": [name], "msg": message}]})
        values[name] = [v for v in given[0].split(",") if v] if name in lists else given[0]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise _query_error(exc, names, errors or {}) from None


@functools.cache
def query_fields(model: type[BaseModel]) -> tuple[tuple[str, ...], frozenset[str]]:
    """(the parameter names of ``model``, those of them that are lists); refuses a model that
    would drop an unknown parameter silently."""
    if model.model_config.get("extra") != "forbid":
        raise TypeError(f"query model {model.__name__} must be declared with extra='forbid'")
    names, lists = [], set()
    for name, field in model.model_fields.items():
        names.append(field.alias or name)
        if _is_list(field.annotation):
            lists.add(field.alias or name)
    return tuple(names), frozenset(lists)


def _is_list(annotation: object) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return typing.get_origin(annotation) in (list, tuple, set, frozenset)


def _query_error(exc: ValidationError, names: tuple[str, ...],
                 errors: Mapping[str, type[ApiError]]) -> ApiError:
    # As the body's 422 (agent_api/errors.py): no input echoed, no documentation URLs.
    found = json.loads(exc.json(include_url=False, include_input=False))
    said = []
    for error in found:
        name = str(error["loc"][0]) if error.get("loc") else ""
        if error.get("type") == "extra_forbidden":
            said.append(f"unknown query parameter '{name}' (this route takes: "
                        f"{', '.join(names) or 'none'})")
        else:
            said.append(f"query parameter '{name}': {error.get('msg')}")
    message = "; ".join(said)
    first = str(found[0]["loc"][0]) if found and found[0].get("loc") else ""
    if first in errors and not any(e.get("type") == "extra_forbidden" for e in found):
        return errors[first](message, {"field": first, "errors": found})
    return InvalidQuery(message, {"errors": found})
