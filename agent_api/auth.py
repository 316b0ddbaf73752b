"""Session tokens (signed JWT), the roles every route declares, and the middleware that checks
both on every request.

A token names the agent and the version of the agent's sessions it was issued under. Each
request checks the agent in PostgreSQL (one primary-key lookup): a deactivated agent, or a token
of an older version (logout, password change, deactivation bump it), is refused at once, and the
role is the current one, not the one at login. PostgreSQL and not Redis, so revocation holds when
Redis is down.

Every route declares who may call it with :func:`allow` (roles) or :func:`public`; a route
without a declaration is refused to everyone (and a test walks the routes to catch it).
"""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import jwt
from aiohttp import web

from agent_api.errors import Forbidden, Unauthorized
from agent_api.app_keys import PG_POOL
from state.repositories.agents import session_of

ROLES = ("agent", "supervisor", "admin")
ANY_ROLE = ROLES
STAFF = ("supervisor", "admin")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)

_ACCESS = "__ccs_access__"
_PUBLIC: frozenset[str] = frozenset({"(public)"})


def allow(*roles: str) -> Callable[[H], H]:
    """Declare the roles that may call the handler."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"allow() needs roles from {ROLES}, got {roles}")

    def mark(handler: H) -> H:
        setattr(handler, _ACCESS, frozenset(roles))
        return handler

    return mark


def public(handler: H) -> H:
    """Declare the handler open to anyone, without a token."""
    setattr(handler, _ACCESS, _PUBLIC)
    return handler


def declared_access(handler: object) -> frozenset[str] | None:
    """The roles a handler admits, ``{"(public)"}``, or None when it declares nothing."""
    return getattr(handler, _ACCESS, None)


@dataclass(frozen=True)
class Principal:
    agent_id: int
    login: str
    role: str
    token_version: int = 0

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"role '{self.role}' may not do this", {"needs": list(roles)})


class TokenIssuer:
    def __init__(self, secret: str, ttl: int) -> None:
        if len(secret.encode()) < 32:
            raise ValueError("the auth secret key must be at least 32 bytes")
        self._secret = secret
        self._ttl = ttl

    @property
    def ttl(self) -> int:
        return self._ttl

    def issue(self, principal: Principal) -> str:
        now = int(time.time())
        claims = {
            "sub": str(principal.agent_id),
            "login": principal.login,
            "role": principal.role,
            "ver": principal.token_version,
            "iat": now,
            "exp": now + self._ttl,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}
            )
            principal = Principal(
                agent_id=int(claims["sub"]), login=str(claims["login"]), role=claims["role"],
                token_version=int(claims.get("ver", 0)),
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired") from exc
        except (jwt.InvalidTokenError, KeyError, TypeError, ValueError) as exc:
            raise Unauthorized("invalid token") from exc
        if principal.role not in ROLES:
            raise Unauthorized("invalid token")
        return principal


PRINCIPAL = web.RequestKey("principal", Principal)


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def authenticate(request: web.Request, tokens: TokenIssuer) -> Principal:
    """The caller of ``request``, checked against the agent's current state in PostgreSQL."""
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        raise Unauthorized("missing bearer token")
    claimed = tokens.verify(token)
    session = await session_of(request.app[PG_POOL], claimed.agent_id)
    if session is None or not session.active:
        raise Unauthorized("the agent is no longer active")
    if session.token_version != claimed.token_version:
        raise Unauthorized("the session was ended (logout, password change or deactivation)")
    return Principal(claimed.agent_id, claimed.login, session.role, session.token_version)


def make_auth_middleware(tokens: TokenIssuer):
    @web.middleware
    async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        match_info = request.match_info
        if match_info.http_exception is not None:  # 404/405: nothing to protect
            return await handler(request)
        access = declared_access(match_info.handler)
        if access is None:
            raise Forbidden("this route declares no roles")
        if access is _PUBLIC:
            return await handler(request)
        request[PRINCIPAL] = caller = await authenticate(request, tokens)
        caller.require(*sorted(access))
        return await handler(request)

    return auth_middleware


def principal(request: web.Request) -> Principal:
    return request[PRINCIPAL]
