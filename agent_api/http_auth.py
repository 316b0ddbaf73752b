"""Sessions: POST /api/login (a login and password for a signed token), POST /api/logout,
PUT /api/agents/me/password. Logout and a password change revoke every token of the agent."""
from __future__ import annotations

from aiohttp import web

from agent_api.auth import ANY_ROLE, Principal, allow, principal, public
from agent_api.bodies import read_model
from agent_api.errors import ApiError, Unauthorized
from agent_api.app_keys import LOGIN_LIMITS, PASSWORDS, PG_POOL, SESSION_ENDED, TOKENS
from agent_api.openapi import documented
from agent_api.schemas import LoginRequest, LoginResponse, PasswordChange
from state.models import Agent, AgentCredentials
from state.repositories.agents import (
    get_agent_credentials,
    revoke_sessions,
    session_of,
    set_password_hash,
)
from state.repositories.errors import PasswordTooLong

# Checked when the login is unknown, so that a wrong login costs as long as a wrong password.
_DUMMY = AgentCredentials(
    agent=Agent(id=0, login="-", full_name="-"),
    password_hash="$2b$12$HukXOfw1/w09LySY1M6eeOJMbS3.cfYBhu5/0Uu6qaWc0.SXscwH2",
)


@documented(response=LoginResponse)
@public
async def login(request: web.Request) -> web.Response:
    """A session token for a login and password."""
    body = await read_model(request, LoginRequest)
    address = request.remote or "-"
    limits = request.app[LOGIN_LIMITS]
    await limits.admit(body.login, address)
    pool = request.app[PG_POOL]
    credentials = await get_agent_credentials(pool, body.login)
    valid = await request.app[PASSWORDS].verify(credentials or _DUMMY, body.password)
    if credentials is None or not valid or not credentials.agent.active:
        raise Unauthorized("wrong login or password")
    await limits.succeeded(body.login, address)
    agent = credentials.agent
    session = await session_of(pool, agent.id)
    if session is None:  # removed between the two statements
        raise Unauthorized("wrong login or password")
    token = request.app[TOKENS].issue(
        Principal(agent.id, agent.login, session.role, session.token_version))
    return web.json_response(text=LoginResponse(token=token, agent=agent).model_dump_json())


@documented(status=204)
@allow(*ANY_ROLE)
async def logout(request: web.Request) -> web.Response:
    """End every session of the caller (its tokens stop working, its sockets close)."""
    agent_id = principal(request).agent_id
    await revoke_sessions(request.app[PG_POOL], agent_id)
    await sessions_ended(request.app, agent_id)
    return web.Response(status=204)


@documented(status=204)
@allow(*ANY_ROLE)
async def change_password(request: web.Request) -> web.Response:
    """The agent's own password; every token issued so far stops working (log in again)."""
    body = await read_model(request, PasswordChange)
    caller = principal(request)
    pool = request.app[PG_POOL]
    credentials = await get_agent_credentials(pool, caller.login)
    passwords = request.app[PASSWORDS]
    if credentials is None or not await passwords.verify(credentials, body.current):
        raise Unauthorized("the current password is wrong")
    try:
        new_hash = await passwords.hash(body.new)
    except PasswordTooLong as exc:
        raise ApiError("the new password is longer than 72 bytes") from exc
    await set_password_hash(pool, caller.agent_id, new_hash)
    await sessions_ended(request.app, caller.agent_id)
    return web.Response(status=204)


async def sessions_ended(app: web.Application, agent_id: int) -> None:
    """The tokens are already refused; this closes what is open with them (the sockets)."""
    for listener in app.get(SESSION_ENDED, ()):
        await listener(agent_id)
