"""Show: the issue's ten calls scripted through the PBX simulator over TCP (AMI -> tracker ->
bus -> recorder -> PostgreSQL -> live figures), figures worked out by hand; a server restart
mid-day; a waiting caller's wait growing with no traffic.

Times are PBX seconds (the simulator runs SCALE times faster than the wall clock); the board's
clock is the PBX's (``sim.clock.now``), as the PBX's Timestamp is the wall clock in production.
The simulator rounds nothing: waits are measured from the events' timestamps, so they carry a
little scheduling jitter (a few hundredths of a second, times 1/SCALE): counts are exact,
seconds are compared within a tolerance chosen far from every threshold.
"""
from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from cti.bus import EventBus
from cti.service import CtiService
from cti.simulator import Simulator
from cti.simulator.originate import inbound_call
from cti.simulator.pbx import PbxConfig
from cti.simulator.queues import AgentBehaviour, MemberConfig, QueueConfig
from cti.simulator.scenario import CallScript, scripted_call
from features.supervisor.settings import SupervisorSettings
from state.events import DomainEvent
from tests.cti.conftest import SECRET, ami_settings
from tests.features.supervisor.conftest import build_parts, make_agent, stop_parts
from tests.helpers import until

SCALE = 0.025
ANNA = "Local/3001@agents/n"
SETTINGS = SupervisorSettings(sl_threshold=20, short_abandon_seconds=5)
TOLERANCE = 1.0  # PBX seconds


def config() -> PbxConfig:
    return PbxConfig(queues=[QueueConfig(
        name="support", strategy="ringall", timeout=120, retry=1,
        members=[MemberConfig(interface=ANNA, name="Anna Ivanova",
                              behaviour=AgentBehaviour(answer_after=None))])])


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(config(), secret=SECRET, time_scale=SCALE)
    await simulator.start()
    yield simulator
    await simulator.stop()


class Server:
    """One server process's CTI side and the supervisor's leader work."""

    def __init__(self, sim: Simulator, pool, redis, keys) -> None:
        self.sim, self.pool, self.redis, self.keys = sim, pool, redis, keys
        self.bus: EventBus[DomainEvent] = EventBus()
        # The tracker's wall clock is the PBX's here too (a resync stamps what it rebuilds).
        self.cti = CtiService(ami_settings(sim.port), self.bus.publish, clock=sim.clock.now)
        self.parts = None

    async def start(self) -> Server:
        await self.cti.start()
        await self.cti.connection.wait_ready(5)
        self.parts = await build_parts(self.pool, self.redis, self.keys, SETTINGS, self.bus,
                                       cti=self.cti, clock=self.sim.clock.now)
        return self

    async def stop(self) -> None:
        await stop_parts(self.parts)
        await self.cti.stop()


async def done(task: asyncio.Task, seconds: float = 20.0) -> None:
    """The simulated caller's visit is over (bounded: a stuck scenario fails, not hangs)."""
    await asyncio.wait_for(asyncio.shield(task), seconds)


async def call(sim: Simulator, number: str, *, wait: float, talk: float | None = None,
               answer: bool = True) -> asyncio.Task:
    """One caller: Anna answers after ``wait`` PBX seconds of ringing and talks ``talk``; or
    (``answer=False``) nobody answers and the caller hangs up after ``wait`` in the queue."""
    sim.pbx.behaviours[ANNA] = AgentBehaviour(answer_after=wait if answer else None, talk=talk)
    patience = sim.pbx.config.ivr_seconds + (wait if not answer else 10_000)
    return sim.spawn(inbound_call(sim.pbx, "support", number, "Caller", patience=patience,
                                  account="100200300001", intent="readings"))


async def transferred_call(sim: Simulator, number: str, *, wait: float, talk: float) -> None:
    """Anna answers, then after ``talk`` seconds moves the caller to the survey the way an
    agent's desktop does it: an AMI Redirect of the caller (the simulator's CallScript), which
    Asterisk reports as the caller leaving the bridge for another dialplan place."""
    await done(sim.spawn(scripted_call(sim, CallScript(
        number=number, queue="support", answer_wait=wait, talk=talk + 60,
        transfer_to="survey@ccs-survey", transfer_after=talk, agent=ANNA,
        account="100200300001", intent="readings"))))


async def script(sim: Simulator) -> None:
    """The issue's example, one call after another."""
    await done(await call(sim, "+79120000101", wait=3, answer=False))
    await done(await call(sim, "+79120000102", wait=40, answer=False))
    for i, wait in enumerate((2, 4, 6, 8, 10, 12)):
        await done(await call(sim, f"+7912000020{i}", wait=wait, talk=5))
    await done(await call(sim, "+79120000301", wait=35, talk=5))
    await transferred_call(sim, "+79120000401", wait=5, talk=6)


# Worked out by hand from script(): offered 10; answered 8 (six within 20 s, one at 35 s, the
# transferred one at 5 s); abandoned 2 (3 s short, 40 s); 7 within 20 s; SL 7 / 9;
# ASA (2+4+6+8+10+12+35+5) / 8; average wait (82 + 3 + 40) / 10; talk 7 x 5 + 6 = 41, no
# wrap-up: AHT 41 / 8; abandon rate (2 - 1) / 9.
COUNTS = {"offered": 10, "answered": 8, "abandoned": 2, "short_abandoned": 1, "timeout": 0,
          "transferred": 1, "redirected": 0, "answered_in_threshold": 7}
RATIOS = {"service_level": 7 / 9, "abandon_rate": 1 / 9}
SECONDS = {"asa": 82 / 8, "avg_wait": 125 / 10, "aht": 41 / 8, "longest_handle": 6.0,
           "avg_wrapup": 0.0}


def assert_hand_figures(figures) -> None:
    got = figures.model_dump()
    assert {k: got[k] for k in COUNTS} == COUNTS
    for name, value in RATIOS.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name
    for name, value in SECONDS.items():
        assert got[name] == pytest.approx(value, abs=TOLERANCE), name


def assert_same(live, report) -> None:
    a, b = live.model_dump(), report.model_dump()
    for name in a:
        if isinstance(a[name], float) or isinstance(b[name], float):
            assert a[name] == pytest.approx(b[name], abs=1e-9), name
        else:
            assert a[name] == b[name], name


async def test_when_the_ten_calls_run_through_the_simulator_then_all_give_the_hand_figures(
        sim, sup_pool, sup_redis, sup_keys):
    anna = await make_agent(sup_pool, ANNA)
    server = await Server(sim, sup_pool, sup_redis, sup_keys).start()
    try:
        await script(sim)
        metrics, recorder = server.parts.metrics, server.parts.recorder
        await until(lambda: metrics.today("support").offered == 10, timeout=10)
        await recorder.idle()

        rows = await sup_pool.fetch("SELECT * FROM queue_calls ORDER BY entered_at")
        assert [r["outcome"] for r in rows] == (["abandoned"] * 2 + ["answered"] * 7
                                                 + ["transferred"])
        for row, wait in zip(rows, (3, 40, 2, 4, 6, 8, 10, 12, 35, 5)):
            assert row["wait_seconds"] == pytest.approx(wait, abs=TOLERANCE)
        assert all(r["agent_id"] == anna for r in rows[2:])
        assert rows[9]["transfer_how"] == "redirect"
        assert rows[9]["transfer_target"] == "survey@ccs-survey"
        assert all(r["caller_number"].startswith("+7912") for r in rows)
        assert all(r["account_id"] is None for r in rows)  # no such account in this database

        live = metrics.today("support")
        assert_hand_figures(live)
        day = dt.datetime.fromtimestamp(sim.clock.now(), SETTINGS.zone()).date().isoformat()
        report = await server.parts.reports.queues(server.parts.reports.interval(day, day))
        assert_hand_figures(report.queues[0].figures)
        assert_same(live, report.queues[0].figures)
        row = next(r for r in metrics.board().agents if r.agent_id == anna)
        assert row.calls_today == 8 and row.aht_today == pytest.approx(41 / 8, abs=TOLERANCE)
        ivr = await sup_pool.fetch("SELECT * FROM interactions WHERE ended_at IS NOT NULL")
        assert len(ivr) == 10
    finally:
        await server.stop()


async def test_when_the_server_restarts_mid_day_with_a_call_talking_then_today_stays_right(
        sim, sup_pool, sup_redis, sup_keys):
    await make_agent(sup_pool, ANNA)
    first = await Server(sim, sup_pool, sup_redis, sup_keys).start()
    await done(await call(sim, "+79120000501", wait=3, talk=4))
    await done(await call(sim, "+79120000502", wait=30, answer=False))
    await until(lambda: first.parts.metrics.today("support").offered == 2, timeout=10)
    before = first.parts.metrics.today("support")
    # A call is talking when the server goes away; it ends while the new one starts.
    talking = await call(sim, "+79120000503", wait=2, talk=40)
    await until(lambda: any(leg.answered for leg in first.parts.recorder.open_legs()),
                timeout=10)
    # And a caller waits (Anna is busy) through the restart, then gives up after 15 s.
    waiting = sim.spawn(inbound_call(sim.pbx, "support", "+79120000504", "Caller",
                                     patience=sim.pbx.config.ivr_seconds + 15))
    await until(lambda: len(first.parts.recorder.open_legs()) == 2, timeout=10)
    await first.stop()

    second = await Server(sim, sup_pool, sup_redis, sup_keys).start()
    try:
        # Rebuilt from the records: the same figures as before the restart.
        assert_same(second.parts.metrics.today("support"), before)
        await done(talking)
        await done(waiting)
        await until(lambda: second.parts.metrics.today("support").offered == 4, timeout=10)
        await second.parts.recorder.idle()
        today = second.parts.metrics.today("support")
        assert (today.offered, today.answered, today.abandoned) == (4, 2, 2)
        gave_up = await sup_pool.fetchrow(
            "SELECT * FROM queue_calls WHERE caller_number = '+79120000504'")
        assert gave_up["outcome"] == "abandoned"
        assert gave_up["wait_seconds"] == pytest.approx(15, abs=TOLERANCE)
        row = await sup_pool.fetchrow(
            "SELECT * FROM queue_calls WHERE caller_number = '+79120000503'")
        assert row["outcome"] == "answered"
        assert row["wait_seconds"] == pytest.approx(2, abs=TOLERANCE)
        assert row["talk_seconds"] == pytest.approx(40, abs=TOLERANCE)
        day = dt.datetime.fromtimestamp(sim.clock.now(), SETTINGS.zone()).date().isoformat()
        report = await second.parts.reports.queues(second.parts.reports.interval(day, day))
        assert_same(today, report.queues[0].figures)
    finally:
        await second.stop()


async def test_when_a_caller_waits_with_no_traffic_then_the_longest_wait_grows(
        sim, sup_pool, sup_redis, sup_keys):
    server = await Server(sim, sup_pool, sup_redis, sup_keys).start()
    try:
        waiting = await call(sim, "+79120000601", wait=600, answer=False)
        tile = await until(lambda: (t := server.parts.metrics.tile("support")).waiting == 1
                           and t, timeout=10)
        since = tile.longest_wait_since
        await sim.clock.sleep(20)  # no event at all meanwhile (the member never answers)
        later = server.parts.metrics.tile("support")
        assert later.longest_wait_since == since
        assert later.longest_wait - tile.longest_wait == pytest.approx(20, abs=TOLERANCE * 3)
        assert later.longest_wait == pytest.approx(sim.clock.now() - since, abs=0.5)
        waiting.cancel()
    finally:
        await server.stop()


async def test_when_the_link_drops_and_resyncs_while_calls_talk_and_wait_then_each_leg_counts_once(
        sim, sup_pool, sup_redis, sup_keys):
    await make_agent(sup_pool, ANNA)
    server = await Server(sim, sup_pool, sup_redis, sup_keys).start()
    try:
        talking = await call(sim, "+79120000701", wait=2, talk=30)
        await until(lambda: any(leg.answered for leg in server.parts.recorder.open_legs()),
                    timeout=10)
        waiting = sim.spawn(inbound_call(sim.pbx, "support", "+79120000702", "Caller",
                                         patience=sim.pbx.config.ivr_seconds + 20))
        await until(lambda: server.parts.metrics.tile("support").waiting == 1, timeout=10)
        resyncs = server.cti.connection.resyncs
        sim.drop_connections()
        await until(lambda: server.cti.connection.resyncs > resyncs, timeout=10)
        await done(talking)
        await done(waiting)
        await until(lambda: server.parts.metrics.today("support").offered >= 2, timeout=10)
        await server.parts.recorder.idle()
        rows = await sup_pool.fetch("SELECT * FROM queue_calls ORDER BY entered_at")
        assert [(r["caller_number"], r["outcome"]) for r in rows] == [
            ("+79120000701", "answered"), ("+79120000702", "abandoned")]
        assert rows[0]["talk_seconds"] == pytest.approx(30, abs=TOLERANCE)
        assert rows[1]["wait_seconds"] == pytest.approx(20, abs=TOLERANCE)
        today = server.parts.metrics.today("support")
        assert (today.offered, today.answered, today.abandoned) == (2, 1, 1)
    finally:
        await server.stop()


async def test_when_a_waiting_caller_is_answered_while_the_link_is_down_then_one_answered_leg(
        sim, sup_pool, sup_redis, sup_keys):
    await make_agent(sup_pool, ANNA)
    server = await Server(sim, sup_pool, sup_redis, sup_keys).start()
    try:
        caller = await call(sim, "+79120000801", wait=6, talk=30)
        await until(lambda: server.parts.metrics.tile("support").waiting == 1, timeout=10)
        resyncs = server.cti.connection.resyncs
        sim.freeze()  # a hung link: the answer is never seen as it happens
        await until(lambda: sim.pbx.busy.get(ANNA) == "incall", timeout=10)
        sim.freeze(False)
        sim.drop_connections()
        await until(lambda: server.cti.connection.resyncs > resyncs, timeout=10)
        await done(caller)
        await until(lambda: server.parts.metrics.today("support").offered >= 1, timeout=10)
        await server.parts.recorder.idle()
        rows = await sup_pool.fetch("SELECT * FROM queue_calls")
        assert [(r["outcome"], r["agent_id"] is not None) for r in rows] == [("answered", True)]
        assert rows[0]["wait_seconds"] == pytest.approx(6, abs=TOLERANCE * 2)
    finally:
        await server.stop()


async def test_when_the_agent_wraps_up_after_a_call_then_the_row_and_the_board_have_it(
        sim, sup_pool, sup_redis, sup_keys):
    """Through the agents' own parts (service, projector, wrap-up timers): the wrap-up is the
    projector's wrap_up stretch (wall-clock seconds, unlike the PBX's compressed ones)."""
    from features.agents.settings import AgentsSettings
    from tests.features.agents.readiness_stack import Stack

    anna = await make_agent(sup_pool, ANNA)
    stack = Stack(sim, sup_pool, sup_redis, sup_keys, AgentsSettings(wrapup_seconds=1))
    await stack.start()
    parts = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, stack.bus, cti=stack.cti,
                              clock=sim.clock.now, live=stack.live)
    try:
        await stack.service.set_readiness(anna, "ready", None)
        await until(lambda: parts.metrics.row(anna).state == "ready", timeout=10)
        await done(await call(sim, "+79120000901", wait=3, talk=4))
        await until(lambda: parts.metrics.row(anna).state == "wrap_up", timeout=10)
        await until(lambda: parts.metrics.row(anna).state == "ready", timeout=10)
        await until(lambda: parts.metrics.today("support").avg_wrapup, timeout=10)
        row = await sup_pool.fetchrow("SELECT * FROM queue_calls")
        assert row["wrapup_seconds"] == pytest.approx(1.0, abs=0.5)
        today = parts.metrics.today("support")
        assert today.avg_wrapup == row["wrapup_seconds"]
        assert today.aht == pytest.approx(row["talk_seconds"] + row["wrapup_seconds"])
        assert parts.metrics.row(anna).calls_today == 1
    finally:
        await stop_parts(parts)
        await stack.stop()


async def test_when_a_call_is_being_talked_then_the_tile_shows_it_apart_until_it_ends(
        sim, sup_pool, sup_redis, sup_keys):
    """Figures count a leg once it ends (live == report at every moment); the call being
    talked is on the tile meanwhile, from the tracker."""
    await make_agent(sup_pool, ANNA)
    server = await Server(sim, sup_pool, sup_redis, sup_keys).start()
    try:
        metrics = server.parts.metrics
        talking = await call(sim, "+79120001001", wait=2, talk=30)
        tile = await until(lambda: (t := metrics.tile("support")).talking == 1 and t, timeout=10)
        assert (tile.today.offered, tile.today.answered, tile.agents.on_call) == (0, 0, 1)
        await done(talking)
        tile = await until(lambda: (t := metrics.tile("support")).today.answered == 1 and t,
                           timeout=10)
        assert tile.talking == 0
    finally:
        await server.stop()
