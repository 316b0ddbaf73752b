"""Socket.IO /agent over real sockets: who may connect, and what bad messages get."""
from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
import socketio

from agent_api.auth import Principal, TokenIssuer
from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    PASSWORD, app_settings, make_account, serve, served,
    Desk, desk_for, desks, login, make_agent, open_desk, server, settings, simulator,
)

SECRET = "test-secret-key-0123456789-abcdefghij"  # tests/agent_api/conftest.py's


async def refused(base: str, auth: dict | None) -> str:
    """The reason the server gave for refusing the connection (its connect_error data)."""
    client = socketio.AsyncClient(reconnection=False)
    reasons: list = []

    @client.on("connect_error", namespace="/agent")
    async def on_error(data=None):
        reasons.append(data)

    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(base, namespaces=["/agent"], auth=auth,
                                 transports=["websocket"], wait_timeout=5)
        assert client.namespaces == {}
        return json.dumps(reasons, ensure_ascii=False)
    finally:
        await client.disconnect()


async def test_when_the_token_is_missing_bad_expired_or_revoked_then_the_connection_is_refused(
    server, pg_pool
):
    agent_id, name = await make_agent(pg_pool, None)
    assert "missing token" in await refused(server, None)
    assert "missing token" in await refused(server, {"token": 42})
    assert "invalid token" in await refused(server, {"token": "not-a-jwt"})
    expired = TokenIssuer(SECRET, -60).issue(Principal(agent_id, name, "agent", 0))
    assert "expired" in await refused(server, {"token": expired})
    forged = TokenIssuer("another-secret-key-0123456789-abcdefgh", 600).issue(
        Principal(agent_id, name, "agent", 0))
    assert "invalid token" in await refused(server, {"token": forged})

    async with aiohttp.ClientSession() as http:
        token = await login(http, server, name)
        desk = await Desk.open(server, token)  # the same token works before the logout
        await desk.wait_for("state")
        await desk.close()
        async with http.post(f"{server}/api/logout",
                             headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status in (200, 204)
    assert "session was ended" in await refused(server, {"token": token})


async def test_when_the_agent_logs_out_or_changes_password_then_open_sockets_are_closed_at_once(
    server, pg_pool
):
    _, name = await make_agent(pg_pool, None)
    async with aiohttp.ClientSession() as http:
        for ending in ("logout", "password"):
            token = await login(http, server, name)
            tabs = [await Desk.open(server, token) for _ in range(2)]
            for tab in tabs:
                await tab.wait_for("state")
            if ending == "logout":
                request = http.post(f"{server}/api/logout",
                                    headers={"Authorization": f"Bearer {token}"})
            else:
                request = http.put(f"{server}/api/agents/me/password",
                                   headers={"Authorization": f"Bearer {token}"},
                                   json={"current": PASSWORD, "new": PASSWORD})
            async with request as response:
                assert response.status == 204, await response.text()
            for tab in tabs:
                for _ in range(50):
                    if not tab.client.connected:
                        break
                    await asyncio.sleep(0.1)
                assert not tab.client.connected, ending
                await tab.close()


async def test_when_a_supervisor_or_admin_connects_then_the_agent_desktop_is_refused(server, pg_pool):
    for role in ("supervisor", "admin"):
        _, name = await make_agent(pg_pool, None, role=role)
        async with aiohttp.ClientSession() as http:
            token = await login(http, server, name)
        assert "has no agent desktop" in await refused(server, {"token": token})


async def test_when_messages_are_malformed_or_oversized_then_error_events_and_the_connection_lives(
    server, pg_pool, desks
):
    _, desk = await open_desk(server, pg_pool, None, desks)
    await desk.wait_for("state")

    not_object = await desk.call("set_readiness", "ready")
    assert not_object["ok"] is False and not_object["error_id"] == "malformed-message"
    wrong_types = await desk.call("extend_wrapup", {"seconds": "many"})
    assert wrong_types["error_id"] == "validation-failed"
    unknown = await desk.call("become_admin", {})
    assert unknown["error_id"] == "unknown-event"
    too_big = await desk.call("set_readiness", {"state": "ready", "reason": "x" * 40_000})
    assert too_big["error_id"] == "message-too-large"
    errors = [e["error_id"] for e in desk.named("error")]
    assert errors == ["malformed-message", "validation-failed", "unknown-event", "message-too-large"]

    assert desk.client.connected
    # still served: a well-formed message reaches the service (the agent has no phone)
    answer = await desk.call("set_readiness", {"state": "ready"})
    assert answer["ok"] is False and answer["error_id"] in ("no-phone-interface", "pbx-unavailable")


async def _raw_session(base: str, token: str):
    """Engine.IO v4 + Socket.IO v5 by hand, so frames python-socketio would never send can be."""
    http = aiohttp.ClientSession()
    ws = await http.ws_connect(f"{base}/socket.io/?EIO=4&transport=websocket")
    opened = await ws.receive_str(timeout=5)
    assert opened.startswith("0{")
    await ws.send_str("40/agent," + json.dumps({"token": token}))
    connected = await ws.receive_str(timeout=5)
    assert connected.startswith("40/agent,"), connected
    return http, ws


async def _next_event(ws, name: str, timeout: float = 5.0):
    async with asyncio.timeout(timeout):
        while True:
            frame = await ws.receive_str()
            if frame == "2":  # engine.io ping
                await ws.send_str("3")
                continue
            if frame.startswith("42/agent,"):
                event, *args = json.loads(frame[len("42/agent,"):])
                if event == name:
                    return args[0] if args else None
            if frame.startswith("43/agent,") and name == "ack":
                return frame


@pytest.mark.parametrize("frame", [
    '42/agent,["set_readiness", {"state": ',      # broken JSON
    '42/agent,{"state": "ready"}',                # data not a list
    '42/agent,[]',                                # no event name
    '42/agent,[42, {}]',                          # event name not a string
    '42/agent,["end_wrapup", {}, {}, {}]',        # too many arguments
    '49/agent,["x"]',                             # unknown packet type
])
async def test_when_raw_frames_are_malformed_then_an_error_event_comes_back_and_the_socket_lives(
    server, pg_pool, frame
):
    _, name = await make_agent(pg_pool, None)
    async with aiohttp.ClientSession() as http:
        token = await login(http, server, name)
    session, ws = await _raw_session(server, token)
    try:
        await _next_event(ws, "state")
        await ws.send_str(frame)
        error = await _next_event(ws, "error")
        assert error["error_id"] in ("malformed-message", "unknown-event")
        # the same socket still answers an acknowledged event
        await ws.send_str('42/agent,1["end_wrapup",{}]')
        ack = await _next_event(ws, "ack")
        assert ack.startswith("43/agent,1[")
    finally:
        await ws.close()
        await session.close()


async def test_when_a_frame_exceeds_the_transport_limit_then_only_that_socket_closes(
    server, pg_pool, desks
):
    _, name = await make_agent(pg_pool, None)
    async with aiohttp.ClientSession() as http:
        token = await login(http, server, name)
    session, ws = await _raw_session(server, token)
    try:
        await _next_event(ws, "state")
        await ws.send_str('42/agent,["end_wrapup",{"pad":"' + "x" * 2_000_000 + '"}]')
        async with asyncio.timeout(5):
            while not ws.closed:
                message = await ws.receive()
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                    aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.ERROR):
                    break
    finally:
        await ws.close()
        await session.close()
    # the server serves the next connection
    _, desk = await open_desk(server, pg_pool, None, desks)
    assert (await desk.wait_for("state"))["pops"] == []


async def test_when_the_agent_goes_not_ready_over_the_socket_then_the_pbx_pauses_and_state_follows(
    serve, simulator, pg_pool, desks
):
    _, name = await make_agent(pg_pool, "Local/1002@agents/n")  # static member of support
    base, _ = await serve()
    desk = await desk_for(base, name, desks)
    first = await desk.wait_for("state")
    assert first["readiness"]["agent_id"] == first["agent"]["id"]
    assert {"code": "lunch", "label": "lunch"} in first["pause_reasons"]

    answer = await desk.call("set_readiness", {"state": "not_ready", "reason": "lunch"})
    assert answer["ok"] is True, answer
    assert answer["readiness"]["pending"]["state"] == "not_ready"
    member = simulator.pbx.queues["support"].members["Local/1002@agents/n"]
    assert member.paused and member.reason == "lunch"
    # the projector's confirmed view reaches the socket as a readiness-only state event
    later = await desk.wait_for(
        "state", lambda s: "agent" not in s and s["readiness"]["state"] == "not_ready"
        and s["readiness"]["pending"] is None)
    assert later["readiness"]["reason"] == "lunch"
    refused_reason = await desk.call("set_readiness", {"state": "not_ready", "reason": "nap"})
    assert refused_reason == {"ok": False, "error_id": "unknown-pause-reason",
                              "message": refused_reason["message"]}
