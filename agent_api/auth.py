"""Session tokens (signed JWT) and the middleware that demands them on every API route."""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import jwt
from aiohttp import web

from agent_api.errors import Forbidden, Unauthorized

PUBLIC_PATHS = frozenset({"/health", "/api/login"})
ROLES = ("agent", "supervisor", "admin")


@dataclass(frozen=True)
class Principal:
    agent_id: int
    login: str
    role: str

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"role '{self.role}' may not do this", {"needs": list(roles)})


class TokenIssuer:
    def __init__(self, secret: str, ttl: int) -> None:
        if len(secret.encode()) < 32:
            raise ValueError("the auth secret key must be at least 32 bytes")
        self._secret = secret
        self._ttl = ttl

    def issue(self, principal: Principal) -> str:
        now = int(time.time())
        claims = {
            "sub": str(principal.agent_id),
            "login": principal.login,
            "role": principal.role,
            "iat": now,
            "exp": now + self._ttl,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("invalid token") from exc
        if claims.get("role") not in ROLES:
            raise Unauthorized("invalid token")
        return Principal(agent_id=int(claims["sub"]), login=str(claims["login"]), role=claims["role"])


PRINCIPAL = web.RequestKey("principal", Principal)


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def make_auth_middleware(tokens: TokenIssuer):
    @web.middleware
    async def auth_middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path in PUBLIC_PATHS or request.path.startswith("/static/") or request.path.startswith("/socket.io"):
            return await handler(request)
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            raise Unauthorized("missing bearer token")
        request[PRINCIPAL] = tokens.verify(token)
        return await handler(request)

    return auth_middleware


def principal(request: web.Request) -> Principal:
    return request[PRINCIPAL]
