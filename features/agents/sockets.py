"""Socket.IO namespace ``/agent``: one agent's live desktop.

Connect: ``io("/agent", {auth: {token}})`` with the REST token, checked like a REST request
(signature and expiry, then the agent in PostgreSQL: active, token version not revoked, role
``agent``); anything else is refused at connect. The socket joins only ``agent:{id}``: every
emit addressed to one agent goes to that room, so nothing reaches another agent. At connect the
whole current state is sent (``state``: agent, readiness, pause reasons, dispositions, open
pops); later ``state`` events carry ``{readiness}`` only (see notifier.py).

Client events (each answers through its ack, ``{ok: true, ...}`` or ``{ok: false, error_id,
message}``): ``set_readiness {state, reason?}``, ``end_wrapup {}``, ``extend_wrapup
{seconds}``. A malformed message (not an object, wrong fields, unknown event, a packet
python-socketio cannot decode) or one over ``socket_max_message_bytes`` gets an ``error``
event (and an error ack when it asked for one); the connection stays. Frames over
``socket_max_frame_bytes`` (engine.io's ``max_http_buffer_size``) are cut by the transport.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import socketio
from socketio.exceptions import ConnectionRefusedError
from pydantic import BaseModel, ValidationError

from agent_api.auth import TokenIssuer
from agent_api.errors import ApiError
from features.agents.notifier import NAMESPACE, room_of
from features.agents.pop_schemas import EmptyMessage
from features.agents.schemas import ReadinessRequest, WrapUpExtend
from features.agents.service import ReadinessError
from features.agents.socket_writes import websocket_driver
from features.agents.pops import PopStore
from features.socket_auth import authenticate
from features.socket_sessions import socket_closed, socket_opened
from state.repositories.agents import get_agent

log = logging.getLogger(__name__)

ALLOWED_ROLE = "agent"


class GuardedServer(socketio.AsyncServer):
    """An AsyncServer that answers a packet it cannot decode with an ``error`` event instead of
    only logging it (python-socketio drops such packets with a traceback in the log), and keeps
    the open websocket of each engine.io session (``websockets``) for the client manager's
    writes at once (``features/agents/socket_writes.py``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.websockets: dict[str, Any] = {}
        # A copy: engine.io's driver table is its module's own, shared by every server.
        self.eio._async = {**self.eio._async, "websocket": websocket_driver(self.websockets)}

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except Exception as exc:
            self._binary_packet.pop(eio_sid, None)
            log.info("undecodable Socket.IO packet: %s", type(exc).__name__)
            # Every namespace the connection joined (the packet's own cannot be read).
            for namespace in list(self.namespace_handlers):
                sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
                if sid is not None:
                    await self.emit("error", {"error_id": "malformed-message",
                                              "message": "the message could not be decoded"},
                                    to=sid, namespace=namespace)


class SocketError(Exception):
    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id
        self.message = message


def one_object(args: tuple, limit: int) -> dict:
    """The one message of a client event (`args` after the sid) if it is an object of at most
    `limit` bytes as JSON, else SocketError."""
    if len(args) != 2:
        raise SocketError("malformed-message", "send exactly one object")
    data = args[1]
    if len(json.dumps(data, ensure_ascii=False).encode()) > limit:
        raise SocketError("message-too-large", f"a message may have at most {limit} bytes")
    if not isinstance(data, dict):
        raise SocketError("malformed-message", "the message must be an object")
    return data


@dataclass(frozen=True)
class AgentSocketDeps:
    """What the namespace needs, built by plugin.py."""

    tokens: TokenIssuer
    pool: asyncpg.Pool
    pops: PopStore
    # The agent's AgentView as JSON (the projector's view, H2a's service).
    readiness_of: Callable[[int], Awaitable[Any]]
    service: Any  # features.agents.service.AgentService
    pause_reasons: list[dict[str, str]]
    dispositions: list[dict[str, str]]
    max_message_bytes: int
    sessions: Any = None  # features.socket_sessions.SocketSessions: a logout closes the socket


def _error(error_id: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error_id": error_id, "message": message}


class AgentNamespace(socketio.AsyncNamespace):
    def __init__(self, deps: AgentSocketDeps) -> None:
        super().__init__(NAMESPACE)
        self._deps = deps
        self._sending: set[asyncio.Task] = set()

    # -- connect -----------------------------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        agent_id = await authenticate(self._deps.tokens, self._deps.pool, auth,
                                      (ALLOWED_ROLE,), "agent desktop")
        agent = await get_agent(self._deps.pool, agent_id)
        if agent is None:
            raise ConnectionRefusedError(
                {"error_id": "unauthorized", "message": "the agent no longer exists"})
        await socket_opened(self, self._deps.sessions, agent.id, sid, room_of(agent.id))
        state = {
            "agent": {"id": agent.id, "login": agent.login, "full_name": agent.full_name,
                      "role": agent.role, "interface": agent.interface},
            "readiness": await self._readiness(agent.id),
            "pause_reasons": self._deps.pause_reasons,
            "dispositions": self._deps.dispositions,
            "pops": [p.model_dump(mode="json") for p in await self._deps.pops.pops_of(agent.id)],
        }
        # After the CONNECT answer (sent when this returns): the state is the first event.
        task = asyncio.get_running_loop().create_task(self.emit("state", state, to=sid))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def on_disconnect(self, sid: str, *_reason: Any) -> None:
        await socket_closed(self, self._deps.sessions, sid)

    async def _readiness(self, agent_id: int) -> Any:
        view = await self._deps.readiness_of(agent_id)
        return view.model_dump(mode="json") if isinstance(view, BaseModel) else view

    # -- every client event goes through here ------------------------------------------------
    async def trigger_event(self, event: Any, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid = args[0] if args else None
        handlers = {"set_readiness": self._do_set_readiness, "end_wrapup": self._do_end_wrapup,
                    "extend_wrapup": self._do_extend_wrapup}
        handler = handlers.get(event) if isinstance(event, str) else None
        try:
            if handler is None:
                raise SocketError("unknown-event", "no such event")
            data = one_object(args, self._deps.max_message_bytes)
            session = await self.get_session(sid)
            return {"ok": True, **(await handler(session["user_id"], data) or {})}
        except SocketError as exc:
            return await self._refuse(sid, exc.error_id, exc.message)
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in e["loc"]) or "(message)"
                               for e in exc.errors())
            return await self._refuse(sid, "validation-failed", f"invalid fields: {fields}")
        except (ApiError, ReadinessError) as exc:
            return _error(exc.error_id, exc.message)
        except (TypeError, ValueError, RecursionError) as exc:
            return await self._refuse(sid, "malformed-message", type(exc).__name__)

    async def _refuse(self, sid: Any, error_id: str, message: str) -> dict[str, Any]:
        body = {"error_id": error_id, "message": message}
        if isinstance(sid, str):
            await self.emit("error", body, to=sid)
        return _error(error_id, message)

    # -- handlers (agent id from the session, body already checked to be an object) ----------
    async def _do_set_readiness(self, agent_id: int, data: dict) -> dict:
        body = ReadinessRequest.model_validate(data)
        service = self._service()
        pending = await service.set_readiness(agent_id, body.state, body.reason)
        view = (await service.view(agent_id)).model_copy(update={"pending": pending})
        return {"readiness": _json(view)}

    async def _do_end_wrapup(self, agent_id: int, data: dict) -> dict:
        EmptyMessage.model_validate(data)
        service = self._service()
        await service.end_wrapup(agent_id)
        return {"readiness": _json(await service.view(agent_id))}

    async def _do_extend_wrapup(self, agent_id: int, data: dict) -> dict:
        body = WrapUpExtend.model_validate(data)
        service = self._service()
        await service.extend_wrapup(agent_id, body.seconds)
        return {"readiness": _json(await service.view(agent_id))}

    def _service(self) -> Any:
        if self._deps.service is None:
            raise SocketError("pbx-unavailable", "no PBX connection is configured")
        return self._deps.service


def _json(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value
