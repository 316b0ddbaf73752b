"""Shared parts of the supervisor board tests (H-D): a board client (a real python-socketio
client on ``/supervisor`` that records what it receives), users, and REST calls as a user."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio

from tests.features.agents.pop_rig import login, make_agent

NAMESPACE = "/supervisor"


@dataclass
class BoardClient:
    """One supervisor's board page: every event with the time it arrived (monotonic)."""

    client: socketio.AsyncClient
    events: list[tuple[str, Any, float]] = field(default_factory=list)

    @classmethod
    async def open(cls, base_url: str, token: str | None) -> BoardClient:
        client = socketio.AsyncClient(reconnection=False)
        board = cls(client)

        @client.on("*", namespace=NAMESPACE)
        async def any_event(event: str, data: Any = None) -> None:
            board.events.append((event, data, time.monotonic()))

        await client.connect(base_url, namespaces=[NAMESPACE], auth={"token": token},
                             transports=["websocket"], wait_timeout=5)
        return board

    def named(self, name: str) -> list[Any]:
        return [data for event, data, _ in self.events if event == name]

    async def wait_for(self, name: str, predicate=lambda data: True, timeout: float = 8.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for data in self.named(name):
                if predicate(data):
                    return data
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {name} event within {timeout}s; got "
                             f"{[e for e, _, _ in self.events]}")

    async def call(self, event: str, data: Any, timeout: float = 5.0) -> Any:
        return await self.client.call(event, data, namespace=NAMESPACE, timeout=timeout)

    async def close(self) -> None:
        await self.client.disconnect()


async def refused(base: str, auth: dict | None) -> str:
    """The reason the server gave for refusing a board connection."""
    client = socketio.AsyncClient(reconnection=False)
    reasons: list = []

    @client.on("connect_error", namespace=NAMESPACE)
    async def on_error(data=None):
        reasons.append(data)

    try:
        try:
            await client.connect(base, namespaces=[NAMESPACE], auth=auth,
                                 transports=["websocket"], wait_timeout=5)
        except socketio.exceptions.ConnectionError:
            return str(reasons)
        raise AssertionError("the board connection was accepted")
    finally:
        await client.disconnect()


@dataclass
class User:
    """A logged-in user and their REST calls."""

    base: str
    agent_id: int
    login: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with aiohttp.ClientSession() as http:
            async with http.request(method, f"{self.base}{path}", json=body,
                                    headers=self.headers) as response:
                return response.status, await response.json(content_type=None)


async def user(base: str, pool, interface: str | None = None, *, role: str = "agent",
               queue: str = "support") -> User:
    agent_id, name = await make_agent(pool, interface, role=role, queue=queue)
    return await logged_in(base, agent_id, name)


async def logged_in(base: str, agent_id: int, name: str) -> User:
    """A user made before the server started (its agent directory loads them at start)."""
    async with aiohttp.ClientSession() as http:
        token = await login(http, base, name)
    return User(base, agent_id, name, token)
