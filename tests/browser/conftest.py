"""The browser tests' fixtures: the desk's queue and PBX, the server's settings, the browser.

A module whose PBX or server differs overrides `simulator` or `settings` with its own (helpers
in tests/browser/rig.py); an override may ask for the fixture it replaces, as pytest allows.
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext

from ccs.settings import Settings
from cti.simulator import Simulator
from tests.browser.rig import chromium, queue_pbx, running_simulator, server_settings

# PBX seconds run 4x faster than wall-clock ones: the phone rings 1.5 s before it is answered,
# long enough to see the pop while ringing.
DESK_SCALE = 0.25
RING_PBX_SECONDS = 6.0


@pytest.fixture
def queue() -> str:
    """A queue of this test's own: agents that earlier tests left ready (their intents are
    durable and re-applied to every PBX that comes up) never ring for its calls."""
    return f"desk-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def simulator(queue: str) -> AsyncIterator[Simulator]:
    async with running_simulator(queue_pbx(queue, RING_PBX_SECONDS), DESK_SCALE) as sim:
        yield sim


@pytest.fixture
def settings(pg_dsn, redis_server, simulator) -> Settings:
    return server_settings(pg_dsn, redis_server.url, simulator.port)


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    async with chromium(tmp_path / "chromium-profile") as context:
        yield context
