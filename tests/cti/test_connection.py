"""AmiConnection over real TCP against the PBX simulator: login, reconnect, watchdog, resync."""
from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from cti.connection import AmiConnection
from cti.errors import ActionTimeout, NotConnected
from cti.resync import ResyncResult
from tests.helpers import until

from .conftest import ami_settings


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict] = []
        self.resyncs: list[ResyncResult] = []
        self.lost = 0

    def on_event(self, message) -> None:
        self.events.append(dict(message))

    def on_resync(self, result: ResyncResult) -> None:
        self.resyncs.append(result)

    def on_lost(self) -> None:
        self.lost += 1

    def names(self) -> list[str]:
        return [e.get("Event") for e in self.events]


@pytest.fixture
async def connect():
    conns: list[AmiConnection] = []

    async def make(port: int, **overrides) -> tuple[AmiConnection, Recorder]:
        rec = Recorder()
        conn = AmiConnection(ami_settings(port, **overrides), on_event=rec.on_event,
                             on_resync=rec.on_resync, on_link_lost=rec.on_lost)
        await conn.start()
        conns.append(conn)
        return conn, rec

    yield make
    for conn in conns:
        await conn.stop()


async def test_when_login_succeeds_then_resync_lists_are_handed_over_before_ready(sim, connect):
    conn, rec = await connect(sim.port)
    await conn.wait_ready(5)
    status = conn.status()
    assert status["connected"] and status["logged_in"] and not status["stale"]
    assert status["last_resync"] is not None
    result = rec.resyncs[0]
    names = [m["Event"] for m in result.lists["QueueStatus"]]
    assert names.count("QueueParams") == len(sim.pbx.queues)
    assert names[-1] == "QueueStatusComplete"
    assert result.lists["CoreShowChannels"][-1]["Event"] == "CoreShowChannelsComplete"
    assert result.lists["Status"][-1]["Event"] == "StatusComplete"


async def test_when_secret_is_wrong_then_login_is_retried_and_logged_once_per_streak(
        sim, connect, caplog):
    caplog.set_level(logging.ERROR, logger="cti.connection")
    conn, _ = await connect(sim.port, secret=SecretStr("wrong"))
    await until(lambda: sim.failed_logins >= 3, timeout=5)
    assert not conn.status()["logged_in"]
    assert conn.status()["last_login_error"] == "Authentication failed"
    refusals = [r for r in caplog.records if "login refused" in r.getMessage()]
    assert len(refusals) == 1
    assert "wrong" not in caplog.text
    with pytest.raises(NotConnected):
        await conn.send({"Action": "Ping"})


async def test_when_tcp_is_reset_then_connection_comes_back_and_resyncs_again(sim, connect):
    conn, rec = await connect(sim.port)
    await conn.wait_ready(5)
    sim.drop_connections()
    await until(lambda: rec.lost >= 1 and conn.ready.is_set() and len(rec.resyncs) >= 2, timeout=5)
    assert conn.status()["reconnects"] >= 1
    answer = await conn.send({"Action": "Ping"})
    assert answer["Ping"] == "Pong"


async def test_when_pbx_goes_silent_then_watchdog_closes_link_and_reconnects(sim, connect):
    conn, rec = await connect(sim.port)
    await conn.wait_ready(5)
    logins = sim.logins
    sim.freeze()
    await until(lambda: rec.lost >= 1, timeout=5)
    assert not conn.status()["logged_in"]
    sim.freeze(False)
    await until(lambda: sim.logins > logins and conn.ready.is_set(), timeout=5)


async def test_when_an_action_gets_no_answer_then_it_times_out_with_a_domain_error(sim, connect):
    conn, _ = await connect(sim.port, ping_interval=60.0, action_timeout=0.3)
    await conn.wait_ready(5)
    sim.freeze()
    with pytest.raises(ActionTimeout):
        await conn.send({"Action": "Ping"})
    sim.freeze(False)
    assert (await conn.send({"Action": "Ping"}))["Ping"] == "Pong"


async def test_when_events_arrive_during_resync_then_they_are_applied_after_it_in_wire_order(
        sim, connect):
    conn, rec = await connect(sim.port)
    await conn.wait_ready(5)
    seen_during: list[int] = []

    def marks() -> list[str]:
        return [e["Seq"] for e in rec.events if e.get("UserEvent") == "Mark"]

    async def slow_resync(result):
        before = conn.events_received
        for i in range(3):
            sim.inject(f"Event: UserEvent\r\nUserEvent: Mark\r\nSeq: {i}\r\n\r\n".encode())
        await until(lambda: conn.events_received >= before + 3, timeout=5)
        seen_during.append(len(marks()))
        rec.on_resync(result)

    conn._on_resync = slow_resync
    sim.drop_connections()
    await until(lambda: seen_during and conn.ready.is_set(), timeout=5)
    assert seen_during == [0]
    assert marks() == ["0", "1", "2"]
