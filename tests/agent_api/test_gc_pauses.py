"""The garbage collector's pauses, timed per generation, in /health and /metrics."""
from __future__ import annotations

import gc

from prometheus_client import CollectorRegistry

from agent_api.app_keys import TOKENS
from agent_api.auth import Principal
from agent_api.gc_pauses import GcPauses
from ccs.app import create_app


class Node:
    def __init__(self) -> None:
        self.me = self


def test_when_collections_run_then_each_generation_is_counted_with_its_longest_pause():
    registry = CollectorRegistry()
    pauses = GcPauses(registry)
    pauses.install()
    try:
        gc.collect(0)
        gc.collect(0)
        garbage = [Node() for _ in range(100_000)]  # a full collection with something to do
        del garbage
        gc.collect(2)
        recent = pauses.recent()
    finally:
        pauses.uninstall()
    assert recent["young"]["collections"] >= 2
    assert recent["full"]["collections"] >= 1
    assert recent["full"]["max_ms"] > 0.1  # 100,000 objects take well over that
    assert recent["full"]["max_ms"] >= recent["full"]["p99_ms"] > 0
    full = registry.get_sample_value("ccs_gc_pause_seconds_count", {"generation": "full"})
    assert full is not None and full >= 1
    # Uninstalled: nothing more is counted.
    before = pauses.collections
    gc.collect(0)
    assert pauses.collections == before


async def test_when_a_pause_is_long_then_health_says_degraded():
    pauses = GcPauses(None)
    pauses._on_gc("start", {"generation": 2})
    pauses._started -= 0.6  # as if the collection had begun 0.6 s ago
    pauses._on_gc("stop", {"generation": 2, "collected": 0})
    status = await pauses.status()
    assert (status["status"], status["state"]) == ("degraded", "long pauses")
    assert status["pauses"]["full"]["max_ms"] >= 600


async def test_when_the_server_runs_then_health_and_metrics_carry_the_gc_pauses(
        aiohttp_client, app_settings, make_agent):
    app = create_app(app_settings)
    client = await aiohttp_client(app)
    gc.collect(1)
    body = await (await client.get("/health")).json()
    seen = body["components"]["gc"]
    assert seen["status"] == "ok" and seen["pauses"]["middle"]["collections"] >= 1
    agent_id, login = await make_agent("admin")
    token = app[TOKENS].issue(Principal(agent_id=agent_id, login=login, role="admin"))
    text = await (await client.get(
        "/metrics", headers={"Authorization": f"Bearer {token}"})).text()
    assert any(line.startswith('ccs_gc_pause_seconds_count{generation="middle"}')
               for line in text.splitlines())
