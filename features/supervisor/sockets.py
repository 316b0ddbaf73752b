"""Socket.IO namespace ``/supervisor``: the live board of supervisors and admins.

Connect: ``io("/supervisor", {auth: {token}})`` with the REST token, checked like a REST
request (signature and expiry, then the user in PostgreSQL: active, token version not revoked,
role ``supervisor`` or ``admin``); anything else is refused at connect. The socket joins the
room ``supervisors`` (every push of board_notifier.py goes there) and gets the whole board as
its first event, ``board`` (the snapshot the leader keeps in Redis, so a process that is not
the leader serves it too).

Client events (each answers through its ack, ``{ok: true, ...}`` or ``{ok: false, error_id,
message}``): ``board {}`` -> ``{ok, board}`` (the whole board again, e.g. after the page was
hidden). A malformed message (not an object, unknown event, extra fields) or one over
``max_message_bytes`` gets an ``error`` event (and an error ack when it asked for one); the
connection stays.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import socketio
from pydantic import ValidationError

from agent_api.auth import STAFF, TokenIssuer
from features.agents.pop_schemas import EmptyMessage
from features.agents.socket_manager import JsonOnly
from features.agents.sockets import SocketError, one_object
from features.socket_auth import authenticate
from features.socket_sessions import socket_closed, socket_opened
from features.supervisor.board_notifier import NAMESPACE, ROOM

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SupervisorSocketDeps:
    tokens: TokenIssuer
    pool: asyncpg.Pool
    board: Callable[[], Awaitable[dict[str, Any]]]  # the whole board as JSON
    max_message_bytes: int
    sessions: Any = None  # features.socket_sessions.SocketSessions: a logout closes the socket


class SupervisorNamespace(socketio.AsyncNamespace):
    def __init__(self, deps: SupervisorSocketDeps) -> None:
        super().__init__(NAMESPACE)
        self._deps = deps
        self._sending: set[asyncio.Task] = set()

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        user_id = await authenticate(self._deps.tokens, self._deps.pool, auth, STAFF, "board")
        await socket_opened(self, self._deps.sessions, user_id, sid, ROOM)
        # Sent after the CONNECT answer (which goes out when this returns): read the board
        # after joining the room, so no push between the two is lost.
        task = asyncio.get_running_loop().create_task(self._send_board(sid))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def on_disconnect(self, sid: str, *_reason: Any) -> None:
        await socket_closed(self, self._deps.sessions, sid)

    async def _send_board(self, sid: str) -> None:
        try:
            board = await self._deps.board()
        except Exception as exc:
            log.warning("board for a new supervisor socket failed: %s", type(exc).__name__)
            await self.emit("error", {"error_id": "board-unavailable",
                                      "message": "the board could not be read; reconnect"},
                            to=sid)
            return
        await self.emit("board", JsonOnly(board), to=sid)  # JSON: no bytes to look for

    async def trigger_event(self, event: Any, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid = args[0] if args else None
        try:
            if event != "board":
                raise SocketError("unknown-event", "no such event")
            EmptyMessage.model_validate(one_object(args, self._deps.max_message_bytes))
            return {"ok": True, "board": await self._deps.board()}
        except SocketError as exc:
            return await self._refuse(sid, exc.error_id, exc.message)
        except ValidationError:
            return await self._refuse(sid, "validation-failed", "this event takes {}")
        except (TypeError, ValueError, RecursionError) as exc:
            return await self._refuse(sid, "malformed-message", type(exc).__name__)

    async def _refuse(self, sid: Any, error_id: str, message: str) -> dict[str, Any]:
        body = {"error_id": error_id, "message": message}
        if isinstance(sid, str):
            await self.emit("error", body, to=sid)
        return {"ok": False, **body}
