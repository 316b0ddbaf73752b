"""The OpenAPI 3.1 document of the REST API, generated from the application's own router.

Every method and path the router serves is in it (HEAD, which aiohttp adds beside each GET, the
Socket.IO endpoint and the web pages and their assets are left out), so it cannot drift from
the routes. Per operation:

- ``x-roles``: the roles the handler declares (``agent_api.auth.allow``/``public``);
- ``summary``: the first line of the handler's docstring, else its name in words;
- ``requestBody``: the pydantic model the handler passes to ``read_model`` (found in its code,
  so handlers need no annotation), or the one a ``@documented(body=...)`` names;
- ``parameters``: the path's, then one ``in: query`` per field of the model the handler passes
  to ``read_query`` (found the same way, or ``@documented(query=...)`` when a helper reads it):
  name, required, the field's schema and description; a list is ``style: form, explode: false``
  (one comma-separated value, as ``read_query`` reads it);
- the success response: its status and body as ``@documented(response=..., status=...,
  media=...)`` says: ``response`` a pydantic model (its serialisation schema) or ``list[Model]``
  (an array of it), ``status`` 200 unless said (204: no body), ``media`` other media types the
  same response may take (CSV, Prometheus text), ``also`` other statuses answered with the same
  body (/health's 503); a handler that says nothing has "2XX";
- error responses: the one error shape ``{error_id, message, details}``.

Served at ``GET /api/openapi.json`` to any signed-in role: it names no data, but an anonymous
caller has no use for the map of the staff's API.
"""
from __future__ import annotations

import dis
import inspect
import re
import typing
from collections.abc import Callable, Iterator
from http import HTTPStatus
from importlib import metadata
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from agent_api.auth import ANY_ROLE, allow, declared_access
from agent_api.bodies import query_fields

_DOC = "__ccs_openapi__"
_PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")
_GENERIC_NAMES = frozenset({"handler", "endpoint", "view"})

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error_id", "message", "details"],
    "properties": {
        "error_id": {"type": "string", "description": "Stable id clients switch on, e.g. "
                     "`not-found`, `database-unavailable`."},
        "message": {"type": "string", "description": "For people; never parsed."},
        "details": {"type": "object", "description": "Machine-readable details of the error."},
    },
}


_NO_BODY = 204


class ResponseSchema(GenerateJsonSchema):
    """Schemas in which every field of a written model is required: pydantic writes them all,
    defaulted or not (a model that leaves one out says so in its ``json_schema_extra``)."""

    def field_is_required(self, field: Any, total: bool) -> bool:
        if self.mode == "serialization":
            return field.get("serialization_exclude_if") is None
        return super().field_is_required(field, total)


def documented(*, roles: tuple[str, ...] | None = None, security: tuple[str, ...] | None = None,
               note: str | None = None, body: type[BaseModel] | None = None,
               query: type[BaseModel] | None = None,
               response: Any = None, status: int | None = None,
               media: tuple[str, ...] = (), also: tuple[int, ...] = ()) -> Callable:
    """Say in the document what the router and the code cannot tell (optional on a handler).

    ``query``: the model of the query string when a helper, not the handler, reads it;
    ``response``: the model of the JSON body of success (``list[Model]``: an array of them);
    ``status``: its status when not 200; ``media``: media types other than JSON it may have;
    ``also``: other statuses (errors) whose body is that one, not the error shape."""
    if response is not None:
        _response_model(response)  # refuse anything else at import, not when serving
    if query is not None:
        query_fields(query)  # the same: a model that does not forbid unknown parameters
    if status == _NO_BODY and (response is not None or media):
        raise ValueError("a 204 response has no body")

    def mark(handler: Callable) -> Callable:
        setattr(handler, _DOC, {"roles": roles, "security": security, "note": note,
                                "body": body, "query": query, "response": response,
                                "status": status,
                                "media": tuple(media), "also": tuple(also)})
        return handler

    return mark


def _response_model(response: Any) -> tuple[type[BaseModel], bool]:
    """(the model, whether the body is a list of it) of a ``documented(response=...)``."""
    many = typing.get_origin(response) is list
    model = typing.get_args(response)[0] if many else response
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"a response is a pydantic model or a list of one, not {response!r}")
    return model, many


def response_model(handler: Callable) -> tuple[type[BaseModel], bool] | None:
    """(model, is a list) of the handler's JSON success body, if it documents one."""
    response = (getattr(handler, _DOC, None) or {}).get("response")
    return _response_model(response) if response is not None else None


def success_status(handler: Callable) -> int | None:
    """The status of the handler's success response, if it documents one."""
    doc = getattr(handler, _DOC, None) or {}
    if doc.get("status"):
        return doc["status"]
    return 200 if doc.get("response") is not None or doc.get("media") else None


def is_documented_route(route: web.AbstractRoute) -> bool:
    """Whether the route belongs in the document (see the module's docstring)."""
    resource = route.resource
    if resource is None or route.method == "HEAD":
        return False
    if resource.canonical.startswith("/socket.io/"):
        return False
    return getattr(inspect.unwrap(route.handler), "__module__", "") != "agent_api.http_static"


def body_model(handler: Callable) -> type[BaseModel] | None:
    """The model in the handler's ``read_model(request, Model)`` call, if it has one."""
    doc = getattr(handler, _DOC, None)
    if doc and doc.get("body"):
        return doc["body"]
    return _model_read_by(handler, "read_model")


def query_model(handler: Callable) -> type[BaseModel] | None:
    """The model in the handler's ``read_query(request, Model)`` call, if it has one."""
    doc = getattr(handler, _DOC, None)
    if doc and doc.get("query"):
        return doc["query"]
    return _model_read_by(handler, "read_query")


def _model_read_by(handler: Callable, reader: str) -> type[BaseModel] | None:
    """The model in the handler's ``reader(request, Model, ...)`` call, if it has one."""
    func = inspect.unwrap(handler)
    code = getattr(func, "__code__", None)
    if code is None or reader not in code.co_names:
        return None
    found = inspect.getclosurevars(func)
    names = {**found.builtins, **func.__globals__, **found.nonlocals}
    ops = [i for i in dis.get_instructions(func)
           if i.opname in ("LOAD_GLOBAL", "LOAD_ATTR", "LOAD_METHOD", "LOAD_DEREF", "LOAD_FAST")
           or i.opname.startswith("CALL") or i.opname == "PRECALL"]
    for at, op in enumerate(ops):
        if op.argval != reader or op.opname not in ("LOAD_GLOBAL", "LOAD_ATTR", "LOAD_METHOD"):
            continue
        # The reader, request, then the model: a name, perhaps with attributes (schemas.X).
        rest = ops[at + 2:]
        if not rest or rest[0].opname not in ("LOAD_GLOBAL", "LOAD_DEREF"):
            continue
        value: Any = names.get(rest[0].argval)
        for attr in rest[1:]:
            if attr.opname != "LOAD_ATTR":
                break
            value = getattr(value, attr.argval, None)
        if isinstance(value, type) and issubclass(value, BaseModel):
            return value
    return None


def _summary(handler: Callable, method: str, path: str) -> str:
    doc = inspect.getdoc(inspect.unwrap(handler))
    if doc:  # the first sentence of the first paragraph
        paragraph = " ".join(doc.strip().split("\n\n", 1)[0].split())
        return re.split(r"(?<=[.;:])\s", paragraph, maxsplit=1)[0].rstrip(".;:")
    name = getattr(inspect.unwrap(handler), "__name__", "").strip("_")
    if not name or name in _GENERIC_NAMES:  # a handler made by a factory: say the path
        name = [part for part in path.split("/") if part and "{" not in part][-1]
    words = re.sub(r"[_\-.]+", " ", name).strip()
    return f"{words[:1].upper()}{words[1:]}"


def _routes(app: web.Application) -> Iterator[tuple[str, str, Callable]]:
    for route in app.router.routes():
        if is_documented_route(route):
            yield route.method.lower(), route.resource.canonical, route.handler


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _success(handler: Callable, schemas: dict[tuple[type[BaseModel], str], dict]
             ) -> tuple[str, dict]:
    doc = getattr(handler, _DOC, None) or {}
    status = success_status(handler)
    if status is None:
        return "2XX", {"description": "Success."}
    if status == _NO_BODY:
        return str(status), {"description": "No content."}
    content: dict[str, Any] = {}
    found = response_model(handler)
    if found is not None:
        model, many = found
        schema = schemas[(model, "serialization")]
        content["application/json"] = {
            "schema": {"type": "array", "items": schema} if many else schema}
    for media in doc.get("media") or ():  # text: the handler's docstring or note says which
        content[media] = {"schema": {"type": "string"}}
    return str(status), {"description": HTTPStatus(status).phrase, "content": content}


def _query_parameters(definition: dict) -> list[dict]:
    """The ``in: query`` parameters of a query model's JSON schema (its component)."""
    required = set(definition.get("required", ()))
    params = []
    for name, prop in definition.get("properties", {}).items():
        schema = {k: v for k, v in prop.items() if k != "title"}
        # A query string cannot say null: an optional parameter is one left out.
        branches = schema.get("anyOf", [])
        if {"type": "null"} in branches and len(branches) == 2:
            del schema["anyOf"]
            schema.update(next(b for b in branches if b != {"type": "null"}))
            if schema.get("default", ...) is None:
                del schema["default"]
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in schema:
            param["description"] = schema.pop("description")
        param["schema"] = schema
        if schema.get("type") == "array":
            param.update(style="form", explode=False)
        params.append(param)
    return params


def _operation(method: str, path: str, handler: Callable,
               schemas: dict[tuple[type[BaseModel], str], dict],
               queries: dict[type[BaseModel], list[dict]]) -> dict:
    doc = getattr(handler, _DOC, None) or {}
    access = declared_access(handler)
    roles = sorted(doc.get("roles") or access or ())
    status, success = _success(handler, schemas)
    public = access is not None and "(public)" in access and not doc.get("roles")
    operation: dict[str, Any] = {
        "operationId": f"{method}_{re.sub(r'[^A-Za-z0-9]+', '_', path).strip('_') or 'root'}",
        "summary": _summary(handler, method, path),
        "description": inspect.getdoc(inspect.unwrap(handler)) or "",
        "x-roles": ["(public)"] if public else roles,
        "security": [] if public else [{name: []} for name in doc.get("security") or ("bearer",)],
        "responses": {status: success, "default": _error("An error.")},
    }
    for code in doc.get("also") or ():
        operation["responses"][str(code)] = {**success, "description": HTTPStatus(code).phrase}
    if doc.get("note"):
        operation["description"] = f"{operation['description']}\n\n{doc['note']}".strip()
    if not public:
        operation["responses"]["401"] = _error("No valid session token.")
        operation["responses"]["403"] = _error(f"The caller's role is not one of {roles}.")
    params: list[dict] = [{"name": p, "in": "path", "required": True,
                           "schema": {"type": "string"}} for p in _PATH_PARAM.findall(path)]
    query = query_model(handler)
    if query is not None:
        params += queries[query]
        # A bad value may keep the error id it had before its route had a query model (a
        # 400 bad-request, or its own 422): read_query's ``errors``.
        operation["responses"]["422"] = _error(
            "A query parameter is unknown or given twice, or (most routes) not the schema's.")
    if params:
        operation["parameters"] = params
    model = body_model(handler)
    if model is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": schemas[(model, "validation")]}}}
        operation["responses"]["422"] = _error(
            "The body is not the schema's." if query is None
            else "The body or a query parameter is not the schema's.")
        operation["responses"]["415"] = _error("The body is not JSON in UTF-8.")
    return operation


def _version() -> str:
    try:
        return metadata.version("ccs")
    except metadata.PackageNotFoundError:
        return "0"


_VERSION = _version()  # read at import: the lookup reads files, never in the event loop


def build_document(app: web.Application) -> dict:
    routes = list(_routes(app))
    # Bodies are read (validation schema), responses written (serialisation schema: computed
    # fields in, aliases as sent); a model whose two differ gets two names (-Input, -Output).
    wanted: set[tuple[type[BaseModel], str]] = set()
    query_models: set[type[BaseModel]] = set()
    for _, _, handler in routes:
        body = body_model(handler)
        if body is not None:
            wanted.add((body, "validation"))
        found = response_model(handler)
        if found is not None:
            wanted.add((found[0], "serialization"))
        query = query_model(handler)
        if query is not None:
            query_models.add(query)
    # Query models go through the same generator, so an enum they share with a body is one
    # component; their own component is then dropped: parameters are listed inline.
    bodies = {model for model, _ in wanted}
    wanted |= {(model, "validation") for model in query_models}
    ordered = sorted(wanted, key=lambda w: (f"{w[0].__module__}.{w[0].__qualname__}", w[1]))
    schemas, top = models_json_schema(ordered, ref_template="#/components/schemas/{model}",
                                      schema_generator=ResponseSchema)
    defs = top.get("$defs", {})
    queries: dict[type[BaseModel], list[dict]] = {}
    for model in query_models:
        name = schemas[(model, "validation")]["$ref"].rsplit("/", 1)[1]
        queries[model] = _query_parameters(defs[name] if model in bodies else defs.pop(name))
    paths: dict[str, dict] = {}
    for method, path, handler in routes:
        paths.setdefault(path, {})[method] = _operation(method, path, handler, schemas,
                                                        queries)
    return {
        "openapi": "3.1.0",
        "info": {"title": "ccs contact-center server", "version": _VERSION},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, **defs},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "The session token of POST /api/login."},
                "scrapeToken": {"type": "http", "scheme": "bearer",
                                "description": "CCS_HTTP__METRICS_TOKEN (GET /metrics only)."},
            },
        },
    }


_CACHE = web.AppKey("openapi_cache", dict)


@documented(note="Its schema is OpenAPI 3.1's own: https://spec.openapis.org/oas/3.1/schema")
@allow(*ANY_ROLE)
async def openapi_json(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of this API."""
    cache = request.app[_CACHE]
    if "document" not in cache:  # the router is frozen once serving: built once
        cache["document"] = build_document(request.app)
    return web.json_response(cache["document"])


def setup(app: web.Application) -> None:
    app[_CACHE] = {}
    app.router.add_get("/api/openapi.json", openapi_json)
