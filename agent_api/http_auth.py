"""POST /api/login: a login and password for a signed session token."""
from __future__ import annotations

from aiohttp import web

from agent_api.auth import Principal
from agent_api.errors import ApiError, Unauthorized
from agent_api.keys import PG_POOL, TOKENS
from agent_api.schemas import LoginRequest, LoginResponse
from state.models import Agent, AgentCredentials
from state.repositories.agents import get_agent_credentials, verify_password

# Checked when the login is unknown, so that a wrong login costs as long as a wrong password.
_DUMMY = AgentCredentials(
    agent=Agent(id=0, login="-", full_name="-"),
    password_hash="$2b$12$HukXOfw1/w09LySY1M6eeOJMbS3.cfYBhu5/0Uu6qaWc0.SXscwH2",
)


async def read_json(request: web.Request) -> object:
    try:
        return await request.json()
    except ValueError as exc:
        raise ApiError("request body is not JSON") from exc


async def login(request: web.Request) -> web.Response:
    body = LoginRequest.model_validate(await read_json(request))
    credentials = await get_agent_credentials(request.app[PG_POOL], body.login)
    valid = await verify_password(credentials or _DUMMY, body.password)
    if credentials is None or not valid or not credentials.agent.active:
        raise Unauthorized("wrong login or password")
    agent = credentials.agent
    token = request.app[TOKENS].issue(Principal(agent.id, agent.login, agent.role))
    return web.json_response(text=LoginResponse(token=token, agent=agent).model_dump_json())
