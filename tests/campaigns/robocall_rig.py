"""A robocall campaign on real parts: PostgreSQL (the campaigns test database), the PBX
simulator over TCP, the CTI service and its event bus, and the pacer.

Campaigns and attempts are written as migration 0009 stores them (a ``running`` campaign with
its frozen attempts), so these tests do not depend on how the REST layer creates them. Phone
numbers end in the digit that picks the simulated callee's behaviour (cti/simulator/robocall.py).
The clock runs ``SPEED`` times faster than the wall, from a working Wednesday noon in Moscow,
so retry delays of minutes pass in a test.
"""
from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import asyncpg
import pytest

from campaigns.models import Campaign
from campaigns.pacer import Pacer
from campaigns.rules import Rules
from campaigns.settings import CampaignSettings
from cti.bus import EventBus
from cti.service import CtiService
from cti.simulator import Simulator
from cti.simulator.presets import recorded_config
from cti.simulator.robocall import CALLEE_CONTEXT
from cti.simulator import wire
from state.db import create_pool, migrate
from state.events import DomainEvent
from tests.campaigns.conftest import World
from tests.cti.conftest import SECRET, ami_settings

SCALE = 0.02  # PBX seconds run 50x faster than the wall
SPEED = 120.0  # the campaigns' clock: a retry delay of 1 minute is half a second
START = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)  # Wednesday 12:00 in Moscow


class FastClock:
    def __init__(self, start: datetime = START, speed: float = SPEED) -> None:
        self.start, self.speed, self.t0 = start, speed, time.monotonic()

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(
            self.start.timestamp() + (time.monotonic() - self.t0) * self.speed, timezone.utc)


def robo_settings(**overrides) -> CampaignSettings:
    values = dict(daily_cap=100, weekly_cap=100, monthly_cap=100, min_gap_minutes=0,
                  ring_seconds=5, pacer_tick=0.02, campaigns_refresh=0.1,
                  inflight_check_seconds=1.0, untraced_grace_seconds=SPEED * 1.0)
    values.update(overrides)
    return CampaignSettings(**values)


def spec(**overrides) -> dict:
    body = {
        "name": "Напоминание о долге", "type": "debt_reminder",
        "message": [{"kind": "prompt", "name": "debt-reminder-1"}, {"kind": "amount"},
                    {"kind": "prompt", "name": "debt-pay-please"}],
        "pacing": {"mode": "agentless", "max_channels": 50, "calls_per_second": 50,
                   "target_queue": "support"},
        "options": {"confirm_key": "1", "operator_key": "0", "opt_out_key": "9"},
        "retries": {"busy": {"delay_minutes": 1, "max_retries": 1},
                    "no_answer": {"delay_minutes": 1, "max_retries": 1},
                    "congestion": {"delay_minutes": 1, "max_retries": 0},
                    "failed": {"delay_minutes": 1, "max_retries": 0},
                    "machine": {"delay_minutes": 1, "max_retries": 0},
                    "hung_up": {"delay_minutes": 1, "max_retries": 0}, "max_dials": 6},
    }
    body.update(overrides)
    return Campaign.model_validate(body).model_dump(mode="json")


async def make_campaign(pool: asyncpg.Pool, world, last_digits: list[str | list[str]], *,
                        state: str = "running", rng: random.Random | None = None,
                        **spec_overrides) -> tuple[int, list[dict]]:
    """A campaign with one attempt per entry: a last digit (one phone) or a list of them
    (fallback phones, best first). Returns the campaign id and the accounts."""
    rng = rng or random.Random()
    body = spec(**spec_overrides)
    cid = await pool.fetchval(
        "INSERT INTO campaigns (name, type, state, spec, started_at) "
        "VALUES ($1, $2, 'created', $3::text::jsonb, now()) RETURNING id",
        body["name"], body["type"], json.dumps(body))
    accounts = []
    for digits in last_digits:
        digits = [digits] if isinstance(digits, str) else digits
        phones = [f"+7912{rng.randrange(10**6):06d}{d}" for d in digits]
        account = await world.account(phones=phones, debts={"electricity": ("1234.56", 2)})
        await pool.execute(
            "INSERT INTO campaign_attempts (campaign_id, account_id, consumer_id, phones, params)"
            " VALUES ($1, $2, $3, $4, $5::text::jsonb)",
            cid, account["id"], account["consumer_id"], phones,
            json.dumps({"debt_kopecks": 123456}))
        accounts.append(account)
    await pool.execute("UPDATE campaigns SET state = $2 WHERE id = $1", cid, state)
    return cid, accounts


async def attempts_of(pool: asyncpg.Pool, campaign_id: int) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT * FROM campaign_attempts WHERE campaign_id = $1 ORDER BY id", campaign_id)


def originates_by_try(sim: Simulator) -> dict[tuple[str, str], int]:
    """(CCS_ATTEMPT, CCS_TRY) -> Originates the PBX received for it (robocalls only)."""
    counts: dict[tuple[str, str], int] = {}
    for action in sim.pbx.originates:
        if not wire.first(action, "Channel").endswith(f"@{CALLEE_CONTEXT}"):
            continue
        values = dict(v.split("=", 1) for item in wire.every(action, "Variable")
                      for v in item.split(",") if "=" in v)
        key = (values.get("CCS_ATTEMPT", ""), values.get("CCS_TRY", ""))
        counts[key] = counts.get(key, 0) + 1
    return counts


class Rig:
    def __init__(self, sim: Simulator, pool: asyncpg.Pool, settings: CampaignSettings,
                 clock: FastClock) -> None:
        self.sim, self.pool, self.settings, self.clock = sim, pool, settings, clock
        self.bus: EventBus[DomainEvent] = EventBus()
        self.cti = CtiService(ami_settings(sim.port), self.bus.publish)
        self.pacer: Pacer | None = None

    async def start(self) -> None:
        rules = await Rules.build(self.settings)
        self.pacer = Pacer(self.pool, self.cti, self.bus, rules, self.settings, now=self.clock)
        await self.cti.start()
        await self.cti.connection.wait_ready(10)
        await self.pacer.start()

    async def stop(self) -> None:
        await self.pacer.stop()
        await self.cti.stop()


@pytest.fixture
async def robo_sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(recorded_config(), secret=SECRET, time_scale=SCALE)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture(scope="session")
async def robo_template(create_database, pg_server) -> str:
    """A migrated database nobody connects to: each test copies it (CREATE DATABASE ...
    TEMPLATE), so a pacer sees only its own test's campaigns."""
    dsn = await create_database("robotpl")
    await migrate(dsn)
    return dsn.split("?")[0].rsplit("/", 1)[1]


@pytest.fixture
async def robo_dsn(robo_template, pg_server) -> str:
    name = f"robo_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_server.dsn.replace("/ccs_test?", "/postgres?"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{robo_template}"')
    finally:
        await admin.close()
    return pg_server.dsn.replace("/ccs_test?", f"/{name}?")


@pytest.fixture
async def robo_pool(robo_dsn) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(robo_dsn, min_size=1, max_size=8)
    yield pool
    await pool.close()


@pytest.fixture
def robo_world(robo_pool) -> World:
    return World(robo_pool)


@pytest.fixture
async def rig(robo_sim, robo_pool) -> AsyncIterator[Rig]:
    made = Rig(robo_sim, robo_pool, robo_settings(), FastClock())
    await made.start()
    yield made
    await made.stop()
