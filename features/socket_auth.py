"""The check of a Socket.IO connect packet's token, the same for every namespace.

The REST token, checked like a REST request: signature and expiry, then the user in
PostgreSQL (active, token version not revoked) and their role; anything else is refused at
connect with ``{error_id, message}`` (the pages look for ``forbidden`` to tell a wrong role
from an ended session).
"""
from __future__ import annotations

from typing import Any

import asyncpg
from socketio.exceptions import ConnectionRefusedError

from agent_api.auth import TokenIssuer
from agent_api.errors import ApiError
from state.repositories.agents import session_of


async def authenticate(tokens: TokenIssuer, pool: asyncpg.Pool, auth: Any,
                       roles: tuple[str, ...], page: str) -> int:
    """The user id the connect packet's token names, or ConnectionRefusedError; `page` names
    what a user of another role is refused ("role 'x' has no <page>")."""
    token = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(token, str) or not token:
        raise ConnectionRefusedError({"error_id": "unauthorized", "message": "missing token"})
    try:
        claimed = tokens.verify(token)
    except ApiError as exc:
        raise ConnectionRefusedError({"error_id": exc.error_id, "message": exc.message}) from None
    session = await session_of(pool, claimed.agent_id)
    if session is None or not session.active or session.token_version != claimed.token_version:
        raise ConnectionRefusedError(
            {"error_id": "unauthorized", "message": "the session was ended"})
    if session.role not in roles:
        raise ConnectionRefusedError(
            {"error_id": "forbidden", "message": f"role '{session.role}' has no {page}"})
    return claimed.agent_id
