"""Socket.IO namespace ``/campaigns``: the campaign console's live progress (supervisors and
admins).

Connect: ``io("/campaigns", {auth: {token}})`` with the REST token, checked as the board's
namespace checks it (features/socket_auth.py ``authenticate``: signature, expiry, the
user active with that token version, role supervisor or admin). The socket joins the room
``campaigns``; campaigns/pushes.py sends ``campaign`` events there, nothing else. A namespace
of its own rather than a room on ``/supervisor``: a console socket then never gets the board
(the whole snapshot at connect and every queue and agent push), and the board's namespace,
another helper's code, needs no change. The console reads the list over REST at each
connect, so there is no snapshot here. Any client event is refused with an ``error`` event
(and an error ack when it asked for one); the connection stays.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import socketio

from agent_api.auth import STAFF, TokenIssuer
from features.socket_auth import authenticate
from features.socket_sessions import socket_closed, socket_opened

NAMESPACE = "/campaigns"
ROOM = "campaigns"


@dataclass(frozen=True)
class CampaignSocketDeps:
    tokens: TokenIssuer
    pool: asyncpg.Pool
    sessions: Any = None  # features.socket_sessions.SocketSessions: a logout closes the socket


class CampaignsNamespace(socketio.AsyncNamespace):
    def __init__(self, deps: CampaignSocketDeps) -> None:
        super().__init__(NAMESPACE)
        self._deps = deps

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        user_id = await authenticate(self._deps.tokens, self._deps.pool, auth, STAFF,
                                     "campaign console")
        await socket_opened(self, self._deps.sessions, user_id, sid, ROOM)

    async def on_disconnect(self, sid: str, *_reason: Any) -> None:
        await socket_closed(self, self._deps.sessions, sid)

    async def trigger_event(self, event: Any, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        body = {"error_id": "unknown-event", "message": "this namespace takes no events"}
        if args and isinstance(args[0], str):
            await self.emit("error", body, to=args[0])
        return {"ok": False, **body}
