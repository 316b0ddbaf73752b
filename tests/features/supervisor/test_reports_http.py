"""The reports' REST and CSV over a real HTTP server: the hand figures of the ten calls, roles,
bad intervals; and a report over agent_state_log (time in state)."""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import uuid

import aiohttp
import pytest
from aiohttp import web

from agent_api.app_keys import PG_POOL
from agent_api.auth import Principal, TokenIssuer, make_auth_middleware
from agent_api.errors import error_middleware
from cti.bus import EventBus
from features.agents.state_log import StateLog
from features.supervisor import http_reports
from state.events import DomainEvent
from state.models import AgentIn
from state.repositories.agents import upsert_agent
from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    app_settings, serve, settings, simulator,
)
from tests.features.supervisor.conftest import MOSCOW, build_parts, make_agent, stop_parts
from tests.features.supervisor.test_records import (
    ANNA, BORIS, NOW, SETTINGS, T0, assert_figures, publish, ten_calls,
)

DAY = dt.datetime.fromtimestamp(T0, MOSCOW).date().isoformat()


async def token_for(pool, tokens: TokenIssuer, role: str) -> str:
    agent = await upsert_agent(pool, AgentIn(
        login=f"{role}-{uuid.uuid4().hex[:8]}", full_name="Вера Соколова", role=role,
        password="pw-123456"), rounds=4)
    return tokens.issue(Principal(agent.id, agent.login, role))


async def serve_reports(aiohttp_server, pool) -> tuple[str, TokenIssuer]:
    tokens = TokenIssuer("test-secret-key-0123456789-abcdefghij", 3600)
    app = web.Application(middlewares=[error_middleware, make_auth_middleware(tokens)])
    app[PG_POOL] = pool
    http_reports.setup_routes(app, SETTINGS)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/"), tokens


async def test_when_a_supervisor_asks_for_the_day_then_json_and_csv_give_the_hand_figures(
        aiohttp_server, sup_pool, sup_redis, sup_keys):
    anna = await make_agent(sup_pool, ANNA)
    await make_agent(sup_pool, BORIS)
    bus: EventBus[DomainEvent] = EventBus()
    parts = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, bus, clock=lambda: NOW)
    try:
        await publish(bus, parts.recorder, ten_calls(anna))
    finally:
        await stop_parts(parts)
    base, tokens = await serve_reports(aiohttp_server, sup_pool)
    supervisor = await token_for(sup_pool, tokens, "supervisor")
    headers = {"Authorization": f"Bearer {supervisor}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{base}/api/reports/queues", params={"from": DAY}) as r:
            assert r.status == 200, await r.text()
            body = await r.json()
        assert (body["from"], body["to"], body["timezone"]) == (DAY, DAY, "Europe/Moscow")
        assert [q["queue"] for q in body["queues"]] == ["support"]
        from features.supervisor.board_schemas import Figures
        assert_figures(Figures(**body["total"]))

        async with http.get(f"{base}/api/reports/queues.csv", params={"from": DAY}) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/csv")
            raw = await r.read()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
        assert rows[0][:3] == ["queue", "offered", "answered"]
        assert rows[1][:3] == ["support", "10", "8"] and rows[2][0] == "total"
        assert rows[1][rows[0].index("asa")] == "10,250"

        async with http.get(f"{base}/api/reports/agents",
                            params={"from": DAY, "to": DAY, "format": "csv"}) as r:
            text = (await r.read()).decode("utf-8-sig")
        lines = list(csv.reader(io.StringIO(text), delimiter=";"))
        assert lines[0][:4] == ["agent_id", "login", "full_name", "answered"]
        anna_line = next(line for line in lines[1:] if line[0] == str(anna))
        assert anna_line[3] == "4" and anna_line[4] == "81,250"  # (30+10+90+150+45) / 4

        for params, error in (({}, "invalid-interval"),
                              ({"from": "2026-13-01"}, "invalid-interval"),
                              ({"from": DAY, "to": "2026-01-01"}, "invalid-interval"),
                              ({"from": DAY, "format": "xml"}, "invalid-format")):
            async with http.get(f"{base}/api/reports/queues", params=params) as r:
                assert r.status == 422
                assert (await r.json())["error_id"] == error
    agent_token = await token_for(sup_pool, tokens, "agent")
    async with aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {agent_token}"}) as http:
        async with http.get(f"{base}/api/reports/queues", params={"from": DAY}) as r:
            assert r.status == 403
        async with http.get(f"{base}/api/reports/agents", params={"from": DAY}) as r:
            assert r.status == 403


async def test_when_an_agent_logged_states_then_the_agent_report_has_time_in_each(
        aiohttp_server, sup_pool):
    anna = await make_agent(sup_pool, ANNA)
    log = StateLog(sup_pool)
    start = dt.datetime(2026, 11, 20, 9, 0, tzinfo=MOSCOW)
    for minutes, state, reason in ((0, "ready", None), (50, "not_ready", "lunch"),
                                   (80, "ready", None), (120, "logged_out", None)):
        await log.record(anna, state, reason, start + dt.timedelta(minutes=minutes))
    base, tokens = await serve_reports(aiohttp_server, sup_pool)
    admin = await token_for(sup_pool, tokens, "admin")
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {admin}"}) as http:
        # 09:00-11:00 Moscow: the logged_out stretch that follows is outside.
        async with http.get(f"{base}/api/reports/agents", params={
                "from": "2026-11-20T09:00:00", "to": "2026-11-20T11:00:00"}) as r:
            assert r.status == 200, await r.text()
            body = await r.json()
    row = next(a for a in body["agents"] if a["agent_id"] == anna)
    assert row["time_in_state"] == {"ready": 90 * 60.0, "not_ready": 30 * 60.0}
    assert row["answered"] == 0 and row["aht"] is None


async def test_when_calls_go_through_the_whole_server_then_board_today_equals_the_report(
        simulator, settings, serve, pg_pool):
    """The composition root's wiring: AMI -> tracker -> recorder -> queue_calls -> metrics ->
    GET /api/supervisor/board, and GET /api/reports/queues over the same rows (the session's
    shared database may hold other tests' rows: both see them alike)."""
    from tests.features.agents.pop_rig import login, make_agent as make_user, ring
    from tests.helpers import until

    _, name = await make_user(pg_pool, None, role="supervisor")
    base, app = await serve()
    async with aiohttp.ClientSession() as http:
        token = await login(http, base, name)
        headers = {"Authorization": f"Bearer {token}"}

        async def support_today() -> dict:
            async with http.get(f"{base}/api/supervisor/board", headers=headers) as r:
                assert r.status == 200, await r.text()
                board = await r.json()
            tile = next((q for q in board["queues"] if q["name"] == "support"), None)
            return tile["today"] if tile else {"offered": 0}

        before = (await support_today())["offered"]
        for number in ("+79120000911", "+79120000912"):
            await asyncio.wait_for(ring(simulator, "support", number, patience=5), 20)
        await until(lambda: _at_least(support_today, before + 2), timeout=10)
        day = dt.datetime.now(SETTINGS.zone()).date().isoformat()

        async def support_report() -> dict:
            async with http.get(f"{base}/api/reports/queues", headers=headers,
                                params={"from": day}) as r:
                assert r.status == 200, await r.text()
                report = await r.json()
            return next(q["figures"] for q in report["queues"] if q["queue"] == "support")

        def differences(today: dict, figures: dict) -> list[str]:
            return [key for key, value in today.items()
                    if (figures[key] != pytest.approx(value, abs=1e-9) if isinstance(value, float)
                        else figures[key] != value)]

        # The board and the report are two reads: a wrap-up that ends between them (its
        # seconds are added to a stored leg) is in the second only. Once the calls' wrap-ups
        # are over nothing changes any more, and then the two must agree exactly.
        seen: list[list[str]] = []

        async def agreed() -> bool:
            today, figures = await support_today(), await support_report()
            if today != await support_today():
                return False  # the board moved while the report was read
            seen.append(differences(today, figures))
            return not seen[-1]

        try:
            await until(agreed, timeout=15)
        except AssertionError:
            raise AssertionError(f"board and report still differ in {seen[-1:]}") from None


async def _at_least(read, offered: int):
    today = await read()
    return today if today["offered"] >= offered else None
