"""Socket.IO ``/supervisor`` over real sockets, a real server (two for the standby case), the
PBX simulator, PostgreSQL and Redis: who may connect, the whole board at connect (from any
process), coalesced pushes, and what bad messages get.

recorded_config: nobody answers in ``outages``.
"""
from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from ccs.app import create_app
from cti.simulator.originate import inbound_call
from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    app_settings, make_agent, ring, serve, served, server, settings, simulator,
)
from tests.features.supervisor.supervisor_rig import BoardClient, logged_in, refused, user
from tests.helpers import until


def outages(frame: dict) -> dict | None:
    """The ``outages`` tile in a ``queues`` frame, if it is in it."""
    return next((q for q in frame["queues"] if q["name"] == "outages"), None)


def waiting_in(frame: dict) -> int:
    tile = outages(frame)
    return -1 if tile is None else tile["waiting"]


@pytest.fixture
async def boards():
    opened: list[BoardClient] = []
    yield opened
    for board in opened:
        await board.close()


async def test_when_an_agent_a_bad_token_or_an_ended_session_connects_then_the_board_is_refused(
    server, pg_pool
):
    agent = await user(server, pg_pool)
    assert "has no board" in await refused(server, {"token": agent.token})
    assert "missing token" in await refused(server, None)
    assert "invalid token" in await refused(server, {"token": "not-a-jwt"})
    boss = await user(server, pg_pool, role="supervisor")
    admin = await user(server, pg_pool, role="admin")
    for who in (boss, admin):
        board = await BoardClient.open(server, who.token)
        await board.wait_for("board")
        await board.close()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server}/api/logout", headers=boss.headers) as response:
            assert response.status in (200, 204)
    assert "session was ended" in await refused(server, {"token": boss.token})


async def test_when_a_supervisor_connects_to_the_leader_or_a_standby_process_then_the_whole_board_comes_first(
    serve, simulator, pg_pool, aiohttp_server, settings, boards
):
    made = await make_agent(pg_pool, "Local/1005@agents/n", queue="outages")
    boss_made = await make_agent(pg_pool, None, role="supervisor")
    leader, _app = await serve()
    await logged_in(leader, *made)
    boss = await logged_in(leader, *boss_made)
    ring(simulator, "outages", "79160000001", patience=400)

    def waiting(board: dict) -> int:
        return next((q["waiting"] for q in board["queues"] if q["name"] == "outages"), -1)

    first = await BoardClient.open(leader, boss.token)
    boards.append(first)
    await first.wait_for("queues", lambda d: waiting_in(d) == 1)
    # A second server process (same PBX, Redis and database) stands by: not the leader.
    standby = await aiohttp_server(create_app(settings))
    base = str(standby.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http, http.get(f"{base}/health") as response:
        health = await response.json()
    assert health["components"]["supervisor"]["state"] == "standby"
    for url in (leader, base):
        board = await BoardClient.open(url, boss.token)
        boards.append(board)
        whole = await board.wait_for("board")
        assert board.events[0][0] == "board"  # before any push
        assert waiting(whole) == 1
        tile = next(q for q in whole["queues"] if q["name"] == "outages")
        assert tile["longest_wait_since"] is not None and tile["sl_threshold"] == 20
        assert {"generated_at", "day", "timezone", "formulas", "agents", "abandoned",
                "callbacks"} <= whole.keys()
        assert made[0] in {a["agent_id"] for a in whole["agents"]}
        assert whole["timezone"] == "Europe/Moscow"
    # Pushes of the leader reach a board held by the standby process too.
    ring(simulator, "outages", "79160000002", patience=400)
    await boards[-1].wait_for("queues", lambda d: waiting_in(d) == 2)
    status, body = 0, None
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/api/supervisor/board", headers=boss.headers) as response:
            status, body = response.status, await response.json()
    assert status == 200 and waiting(body) == 2


async def test_when_fifty_callers_join_one_queue_at_once_then_few_pushes_carry_the_last_state_within_a_second(
    serve, simulator, pg_pool, boards
):
    boss_made = await make_agent(pg_pool, None, role="supervisor")
    leader, _app = await serve()
    boss = await logged_in(leader, *boss_made)
    board = await BoardClient.open(leader, boss.token)
    boards.append(board)
    await board.wait_for("board")
    joined: list[float] = []
    simulator.pbx.observers.append(
        lambda name, body: joined.append(time.monotonic())
        if name == "QueueCallerJoin" and dict(body).get("Queue") == "outages" else None)
    start = time.monotonic()

    async def caller(i: int) -> None:
        # One join every 20 ms (0.4 PBX seconds): a burst over about a second, so pushes one
        # per event would be about fifty.
        await simulator.pbx.clock.sleep(0.4 * i)
        await inbound_call(simulator.pbx, "outages", f"7916100{i:04d}", "Caller", patience=400)

    for i in range(50):
        simulator.spawn(caller(i))
    await until(lambda: len(joined) == 50, timeout=10)
    last = await board.wait_for("queues", lambda d: waiting_in(d) == 50, timeout=5)
    arrived = next(t for e, d, t in board.events if e == "queues" and d is last)
    # The state of the 50th join reached the page within the one second the board promises.
    assert arrived - joined[-1] < 1.0
    frames = [(d, t) for e, d, t in board.events if e == "queues" and t >= start]
    assert not [e for e, _, t in board.events if e in ("queue", "agent") and t >= start]
    # One frame per flush, each queue in it once (coalesced), none without a queue in it.
    assert all(d["queues"] and len({q["name"] for q in d["queues"]}) == len(d["queues"])
               for d, _ in frames)
    pushes = [(waiting_in(d), t) for d, t in frames if outages(d) is not None]
    span = pushes[-1][1] - pushes[0][1]
    # At most push_per_second (4 by default) a second, plus the one sent at once: far fewer
    # than events.
    assert len(pushes) <= 2 + 4 * span
    assert len(pushes) < 15
    assert [w for w, _ in pushes] == sorted(w for w, _ in pushes)  # never older than before
    # The last frame with the queue carries the figures of the last join.
    tile = outages(next(d for d, _ in reversed(frames) if outages(d) is not None))
    assert tile is not None and tile["waiting"] == 50 and tile["longest_wait_since"] is not None


async def test_when_board_messages_are_malformed_or_oversized_then_error_events_and_it_lives(
    server, pg_pool, boards
):
    boss = await user(server, pg_pool, role="supervisor")
    board = await BoardClient.open(server, boss.token)
    boards.append(board)
    await board.wait_for("board")
    assert (await board.call("board", "please"))["error_id"] == "malformed-message"
    assert (await board.call("board", {"x": 1}))["error_id"] == "validation-failed"
    assert (await board.call("force_everyone", {}))["error_id"] == "unknown-event"
    assert (await board.call("board", {"pad": "x" * 10_000}))["error_id"] == "message-too-large"
    assert [e["error_id"] for e in board.named("error")] == [
        "malformed-message", "validation-failed", "unknown-event", "message-too-large"]
    again = await board.call("board", {})
    assert again["ok"] is True and "queues" in again["board"]
    assert board.client.connected


async def test_when_a_board_frame_cannot_be_decoded_then_an_error_event_comes_back_and_it_lives(
    server, pg_pool
):
    boss = await user(server, pg_pool, role="supervisor")
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{server}/socket.io/?EIO=4&transport=websocket")
        assert (await ws.receive_str(timeout=5)).startswith("0{")
        await ws.send_str("40/supervisor," + json.dumps({"token": boss.token}))
        assert (await ws.receive_str(timeout=5)).startswith("40/supervisor,")

        async def next_frame(prefix: str) -> str:
            async with asyncio.timeout(5):
                while True:
                    frame = await ws.receive_str()
                    if frame == "2":  # engine.io ping
                        await ws.send_str("3")
                    elif frame.startswith(prefix):
                        return frame

        await next_frame('42/supervisor,["board"')
        await ws.send_str('42/supervisor,["board", {"x": ')  # broken JSON
        error = json.loads((await next_frame('42/supervisor,["error"'))[len("42/supervisor,"):])
        assert error[1]["error_id"] == "malformed-message"
        await ws.send_str('42/supervisor,7["board",{}]')
        assert (await next_frame("43/supervisor,7")).startswith('43/supervisor,7[{"ok":true')
        await ws.close()


async def test_when_the_full_snapshot_is_written_slice_by_slice_then_it_is_the_board_at_once(
    serve, simulator, pg_pool
):
    """The minute's full snapshot is built a slice at a time (the loop is not held for the
    whole board): what a board connecting to any process reads must be the leader's board."""
    from features.supervisor.plugin import BOARD

    made = [await make_agent(pg_pool, f"Local/11{n:02d}@agents/n", queue="outages")
            for n in range(60)]  # more rows than a slice
    leader, app = await serve()
    for agent in made[:3]:
        await logged_in(leader, *agent)
    ring(simulator, "outages", "79160000003", patience=400)
    notifier = app[BOARD]
    await until(lambda: notifier.running and any(
        q.waiting == 1 for q in notifier.board().queues if q.name == "outages"), timeout=10)
    await notifier._write_full()
    stored = await notifier._snapshot.read()
    whole = notifier.board().model_dump(mode="json")
    assert stored is not None
    for board in (stored, whole):
        board.pop("generated_at")
        for tile in board["queues"]:
            tile.pop("longest_wait")  # advances with the clock between the two
    assert len(stored["agents"]) >= 60 and stored == whole
