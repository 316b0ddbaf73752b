"""Shared parts of the Socket.IO and screen-pop tests: agents, a desk (a real python-socketio
client that records what it receives) and a simulated inbound call."""
from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import socketio
from pydantic import SecretStr

from ccs.app import create_app
from cti.simulator import Simulator
from cti.simulator.presets import recorded_config
from cti.simulator.originate import inbound_call
from state.models import AgentIn, QueueMembership
from state.repositories.agents import upsert_agent
from tests.agent_api.conftest import app_settings, make_account  # noqa: F401 (fixtures)
from tests.helpers import until

PASSWORD = "pw-123456"
SIM_SECRET = "pop-secret"


async def make_agent(pool, interface: str | None, *, role: str = "agent",
                     queue: str = "support") -> tuple[int, str]:
    await pool.execute(
        "INSERT INTO queues (name, title) VALUES ($1, $1) ON CONFLICT DO NOTHING", queue)
    if interface:
        await pool.execute("UPDATE agents SET interface = NULL WHERE interface = $1", interface)
        # An earlier test's agent on this phone may have left an intent (e.g. paused for lunch)
        # that the server would re-apply to this test's PBX.
        await pool.execute("DELETE FROM agent_intents WHERE interface = $1", interface)
    login = f"{role}-{uuid.uuid4().hex[:8]}"
    agent = await upsert_agent(pool, AgentIn(
        login=login, full_name="Анна Иванова", role=role, password=PASSWORD,
        interface=interface, queues=[QueueMembership(queue=queue)] if interface else []),
        rounds=4)
    return agent.id, login


async def login(http, base_url: str, login_name: str) -> str:
    async with http.post(f"{base_url}/api/login",
                         json={"login": login_name, "password": PASSWORD}) as response:
        assert response.status == 200, await response.text()
        return (await response.json())["token"]


@dataclass
class Desk:
    """One browser tab: a Socket.IO client on /agent recording every event it gets."""

    client: socketio.AsyncClient
    events: list[tuple[str, Any]] = field(default_factory=list)

    @classmethod
    async def open(cls, base_url: str, token: str | None, **auth: Any) -> Desk:
        client = socketio.AsyncClient(reconnection=False)
        desk = cls(client)

        @client.on("*", namespace="/agent")
        async def any_event(event: str, data: Any = None) -> None:
            desk.events.append((event, data))

        body = {"token": token, **auth} if token is not None else auth
        await client.connect(base_url, namespaces=["/agent"], auth=body,
                             transports=["websocket"], socketio_path="socket.io",
                             wait_timeout=5)
        return desk

    def named(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]

    async def wait_for(self, name: str, predicate=lambda data: True, timeout: float = 8.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for data in self.named(name):
                if predicate(data):
                    return data
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {name} event within {timeout}s; got {[e for e, _ in self.events]}")

    async def call(self, event: str, data: Any, timeout: float = 5.0) -> Any:
        return await self.client.call(event, data, namespace="/agent", timeout=timeout)

    async def close(self) -> None:
        await self.client.disconnect()


def ring(sim: Simulator, queue: str, caller: str, *, account: str = "", patience: float = 30.0,
         intent: str = "", ivr_vars: dict[str, str] | None = None) -> asyncio.Task:
    """A caller dialling in (PBX seconds; the simulator's clock is scaled); ``ivr_vars``: what
    our IVR says it did (CCS_IVR, CCS_IDENTIFIED_BY)."""
    return sim.spawn(inbound_call(sim.pbx, queue, caller, "Caller", patience=patience,
                                  account=account, intent=intent, ivr_vars=ivr_vars))


@pytest.fixture
async def simulator():
    sim = Simulator(recorded_config(), secret=SIM_SECRET, time_scale=0.05)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def settings(app_settings, simulator):
    return app_settings.model_copy(update={"ami": app_settings.ami.model_copy(update={
        "host": "127.0.0.1", "port": simulator.port, "secret": SecretStr(SIM_SECRET),
        "reconnect_min": 0.05, "reconnect_max": 0.2})})


@pytest.fixture
async def serve(aiohttp_server, settings):
    """Start a real server (once agents exist: its agent directory loads them at start) and
    wait until its process holds the PBX lease; returns (base URL, application)."""

    async def start():
        server = await aiohttp_server(create_app(settings))
        base = str(server.make_url("")).rstrip("/")
        async with aiohttp.ClientSession() as http:
            async def leading() -> bool:
                async with http.get(f"{base}/health") as response:
                    body = await response.json()
                    return body["components"].get("agents", {}).get("state") == "leader"
            await until(leading, timeout=10)
        return base, server.app

    return start


@pytest.fixture
async def served(serve):
    return await serve()


@pytest.fixture
def server(served) -> str:
    return served[0]


@pytest.fixture
async def desks():
    opened: list[Desk] = []
    yield opened
    for desk in opened:
        await desk.close()


async def desk_for(base: str, name: str, desks: list) -> Desk:
    async with aiohttp.ClientSession() as http:
        token = await login(http, base, name)
    desk = await Desk.open(base, token)
    desks.append(desk)
    return desk


async def started_desk(serve, pool, desks: list, interface: str, queue: str = "support"
                       ) -> tuple[int, Any, Desk]:
    """A new agent on ``interface``, the server started, the agent's desk connected and its
    first ``state`` received: (agent id, the application, the desk)."""
    agent_id, name = await make_agent(pool, interface, queue=queue)
    base, app = await serve()
    desk = await desk_for(base, name, desks)
    await desk.wait_for("state")
    return agent_id, app, desk


async def open_desk(base: str, pool, interface: str | None, desks: list, queue="support") -> tuple[int, Desk]:
    """A new agent and their desk (for tests where the agent's phone plays no part)."""
    agent_id, name = await make_agent(pool, interface, queue=queue)
    return agent_id, await desk_for(base, name, desks)
