"""Campaigns through PBX faults: the AMI link lost mid-campaign (the PBX goes on with the calls
and the events of that time are never seen), and Originates whose answer never comes."""
from __future__ import annotations

import asyncio

import pytest

from cti.simulator import Simulator
from cti.simulator.pbx import CalleeBehaviour
from cti.simulator.presets import recorded_config
from tests.campaigns.robocall_rig import (  # noqa: F401 (fixtures)
    SCALE, FastClock, Rig, attempts_of, make_campaign, originates_by_try, robo_dsn, robo_pool,
    robo_template, robo_world, robo_settings,
)
from tests.campaigns.test_pacer import EXPECTED
from tests.cti.conftest import SECRET
from tests.helpers import until


@pytest.fixture
async def slow_sim():
    """Calls of about half a second, so that the link drops with calls in flight."""
    config = recorded_config()
    config.default_callee = CalleeBehaviour(answer_after=5.0, listen=20.0)
    simulator = Simulator(config, secret=SECRET, time_scale=SCALE)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def slow_rig(slow_sim, robo_pool):
    made = Rig(slow_sim, robo_pool, robo_settings(), FastClock())
    await made.start()
    yield made
    await made.stop()


async def _finished(pool, cid: int) -> bool:
    return await pool.fetchval("SELECT state FROM campaigns WHERE id = $1", cid) == "finished"


def _assert_once_each(sim: Simulator) -> None:
    sent = originates_by_try(sim)
    assert sent and max(sent.values()) == 1, "a try was originated twice"


async def test_when_the_ami_link_drops_mid_campaign_then_every_outcome_still_arrives(
        slow_rig, robo_world):
    digits = [str(i % 10) for i in range(1, 41)]
    pacing = {"mode": "agentless", "max_channels": 15, "calls_per_second": 40,
              "target_queue": "support"}
    cid, _ = await make_campaign(slow_rig.pool, robo_world, digits, pacing=pacing)
    await until(lambda: len(slow_rig.sim.pbx.factory.channels) >= 10, timeout=10, interval=0.01)
    # A dead route: nothing reaches us for a while (the watchdog drops the link), then a
    # reset. The PBX goes on with the calls; the events of that time are lost to us.
    slow_rig.sim.freeze()
    await asyncio.sleep(0.6)
    slow_rig.sim.freeze(False)
    slow_rig.sim.drop_connections()
    await until(lambda: _finished(slow_rig.pool, cid), timeout=40, interval=0.1)
    rows = await attempts_of(slow_rig.pool, cid)
    assert [(r["phones"][0][-1], r["outcome"]) for r in rows] == [
        (d, EXPECTED[d][0]) for d in digits]
    _assert_once_each(slow_rig.sim)
    assert slow_rig.pacer.reconciler.totals.from_astdb > 0  # the lost ones, from the PBX


async def test_when_originates_get_no_answer_then_they_are_settled_and_never_sent_twice(
        rig_cut, robo_world):
    digits = ["1", "4", "6", "2"] * 3
    cid, _ = await make_campaign(rig_cut.pool, robo_world, digits)
    rig_cut.sim.cut_on.add("originate")  # the link dies before the Originate's answer
    await until(lambda: rig_cut.sim.actions_seen.get("originate", 0) >= 2, timeout=10)
    rig_cut.sim.cut_on.clear()
    await until(lambda: _finished(rig_cut.pool, cid), timeout=40, interval=0.1)
    rows = await attempts_of(rig_cut.pool, cid)
    assert [(r["phones"][0][-1], r["outcome"]) for r in rows] == [
        (d, EXPECTED[d][0]) for d in digits]
    _assert_once_each(rig_cut.sim)
    # The cut tries never reached the PBX's dialplan: settled as failed dials, then dialled
    # again as new tries.
    failed = await rig_cut.pool.fetchval(
        "SELECT count(*) FROM contact_log WHERE campaign_id = $1 AND result = 'failed'", cid)
    assert failed >= 1


@pytest.fixture
async def rig_cut(robo_sim_plain, robo_pool):
    made = Rig(robo_sim_plain, robo_pool, robo_settings(), FastClock())
    await made.start()
    yield made
    await made.stop()


@pytest.fixture
async def robo_sim_plain():
    simulator = Simulator(recorded_config(), secret=SECRET, time_scale=SCALE)
    await simulator.start()
    yield simulator
    await simulator.stop()
