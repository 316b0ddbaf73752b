"""Campaign progress pushed to the campaign console over Socket.IO ``/campaigns`` by the
leader, with a real server, the PBX simulator, PostgreSQL and Redis; the board's ``/supervisor``
sockets do not get it."""
from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import socketio

from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    app_settings, serve, served, server, settings, simulator,
)
from tests.features.supervisor.supervisor_rig import BoardClient, user

CAMPAIGNS = "/campaigns"


class ConsoleClient:
    """The campaign console's socket: every event it receives."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.refusals: list[Any] = []

        @self.client.on("*", namespace=CAMPAIGNS)
        async def any_event(event: str, data: Any = None) -> None:
            self.events.append((event, data))

        @self.client.on("connect_error", namespace=CAMPAIGNS)
        async def refused(data: Any = None) -> None:
            self.refusals.append(data)

    async def connect(self, base: str, token: str) -> None:
        await self.client.connect(base, namespaces=[CAMPAIGNS], auth={"token": token},
                                  transports=["websocket"], wait_timeout=5)

    async def wait_for(self, name: str, predicate=lambda d: True, timeout: float = 8.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event, data in self.events:
                if event == name and predicate(data):
                    return data
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {name} within {timeout}s; got {[e for e, _ in self.events]}")


async def test_when_a_campaign_starts_and_stops_then_the_console_gets_its_progress_and_the_board_does_not(  # noqa: E501
        server, pg_pool):
    city = f"Город-{uuid.uuid4().hex[:8]}"
    async with pg_pool.acquire() as conn:
        consumer = await conn.fetchval(
            "INSERT INTO consumers (kind, full_name) VALUES ('person', 'Т') RETURNING id")
        await conn.execute(
            """INSERT INTO accounts (number, consumer_id, city, street, house)
               VALUES ($1, $2, $3, 'ул. Ленина', '1')""",
            str(uuid.uuid4().int)[:11], consumer, city)
        # No phone: frozen as skipped, so the pacer has nobody to dial and the test decides
        # every change itself.
    boss = await user(server, pg_pool, role="supervisor")
    board = await BoardClient.open(server, boss.token)
    console = ConsoleClient()
    await console.connect(server, boss.token)
    try:
        await board.wait_for("board")
        status, created = await boss.request("POST", "/api/campaigns", {
            "name": "Плановые работы", "type": "routine_notice",
            "message": [{"kind": "prompt", "name": "routine-notice"}],
            "target": {"city": [city], "has_phone": None}})
        assert status == 201, created
        campaign_id = created["id"]
        status, _ = await boss.request("POST", f"/api/campaigns/{campaign_id}/start")
        assert status == 200

        def of_ours(state: str):
            return lambda d: d["campaign"]["id"] == campaign_id and d["campaign"]["state"] == state

        first = await console.wait_for("campaign", lambda d: d["campaign"]["id"] == campaign_id)
        assert first["campaign"]["progress"]["total"] == 1
        assert first["campaign"]["progress"]["skipped"] == {"no_phone": 1}
        assert first["campaign"]["state_since"] is not None
        # Nothing left to dial: the pacer finishes it, and the console sees that too.
        finished = await console.wait_for("campaign", of_ours("finished"), timeout=10)
        assert finished["campaign"]["state_reason"] == "done"
        # The console's socket got no board, the board's socket no campaign.
        assert [e for e, _ in console.events if e != "campaign"] == []
        assert board.named("campaign") == []
    finally:
        await console.client.disconnect()
        await board.close()


async def test_when_an_agent_opens_the_campaigns_socket_then_refused(server, pg_pool):
    agent = await user(server, pg_pool, role="agent")
    console = ConsoleClient()
    try:
        await console.connect(server, agent.token)
    except socketio.exceptions.ConnectionError:
        pass
    else:
        await console.client.disconnect()
        raise AssertionError("an agent got the campaigns socket")
    assert "forbidden" in str(console.refusals), console.refusals
