"""The event loop's lag: a probe that sees the loop held up, in /health and /metrics."""
from __future__ import annotations

import asyncio
import time

from agent_api.app_keys import TOKENS
from agent_api.auth import Principal
from agent_api.loop_lag import LoopLag
from ccs.app import create_app


def test_when_lags_are_observed_then_the_window_gives_their_quantiles_in_ms():
    lag = LoopLag(None)
    assert lag.recent() == {"samples": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    for k in range(100):
        lag.observe(k / 1000)  # 0 .. 99 ms
    assert lag.recent() == {"samples": 100, "p50_ms": 50.0, "p99_ms": 99.0, "max_ms": 99.0}


async def test_when_something_holds_the_loop_then_the_probe_reports_it_late():
    lag = LoopLag(None, interval=0.02)
    probe = asyncio.create_task(lag.run())
    try:
        await asyncio.sleep(0.2)
        quiet = lag.recent()
        assert quiet["samples"] >= 3 and quiet["max_ms"] < 500
        assert (await lag.status())["status"] == "ok"
        time.sleep(0.6)  # what a blocking call in a handler would do
        await asyncio.sleep(0.1)
        held = lag.recent()
        assert held["max_ms"] >= 550
        status = await lag.status()
        assert (status["status"], status["state"]) == ("degraded", "late")
    finally:
        probe.cancel()


async def test_when_the_server_runs_then_health_and_metrics_carry_the_loop_lag(
        aiohttp_client, app_settings, make_agent):
    app = create_app(app_settings)
    client = await aiohttp_client(app)
    await asyncio.sleep(0.35)  # a few probes
    body = await (await client.get("/health")).json()
    loop = body["components"]["event_loop"]
    assert loop["status"] == "ok" and loop["lag"]["samples"] >= 2
    agent_id, login = await make_agent("admin")
    token = app[TOKENS].issue(Principal(agent_id=agent_id, login=login, role="admin"))
    text = await (await client.get(
        "/metrics", headers={"Authorization": f"Bearer {token}"})).text()
    count = [line for line in text.splitlines()
             if line.startswith("ccs_event_loop_lag_seconds_count")]
    assert count and float(count[0].split()[-1]) >= 2
