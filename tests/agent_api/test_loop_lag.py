"""The event loop's lag: a probe that sees the loop held up, in /health and /metrics."""
from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry

from agent_api.app_keys import TOKENS
from agent_api.auth import Principal
from agent_api.loop_lag import LoopLag
from ccs.app import create_app
from ccs.priority_loop import PriorityLoop
from tests.helpers import spin


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


def _cut_turns_seen(loop_factory) -> tuple[dict, float | None]:
    """/health's figures and the metric after 60 queued callbacks of 0.5 ms on that loop."""
    async def main() -> tuple[dict, float | None]:
        registry = CollectorRegistry()
        lag = LoopLag(registry, interval=0.01)
        probe = asyncio.create_task(lag.run())
        try:
            await asyncio.sleep(0.02)
            loop = asyncio.get_running_loop()
            for _ in range(60):
                loop.call_soon(spin, 0.0005)
            await asyncio.sleep(0.1)
            return (await lag.status(),
                    registry.get_sample_value("ccs_event_loop_cut_turns_total"))
        finally:
            probe.cancel()
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main())


def test_when_the_loop_cuts_turns_at_its_budget_then_health_and_metrics_count_them():
    status, metric = _cut_turns_seen(lambda: PriorityLoop(0.001))
    assert status["cut_turns"] >= 10  # 30 ms of queued work, 1 ms a turn
    assert metric == status["cut_turns"]

    status, metric = _cut_turns_seen(asyncio.new_event_loop)  # no budget: nothing to count
    assert "cut_turns" not in status and metric is None


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
