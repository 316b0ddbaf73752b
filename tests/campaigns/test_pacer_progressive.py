"""Progressive pacing: new calls follow the ready agents of the target queue, and listeners who
asked for an operator and hung up waiting are counted (and slow the campaign down)."""
from __future__ import annotations

import asyncio

import pytest

from tests.campaigns.robocall_rig import (  # noqa: F401 (fixtures)
    FastClock, Rig, attempts_of, make_campaign, originates_by_try, robo_dsn, robo_pool,
    robo_settings, robo_sim, robo_template, robo_world,
)
from tests.helpers import until


@pytest.fixture
async def prig(robo_sim, robo_pool):
    made = Rig(robo_sim, robo_pool, robo_settings(operator_abandon_min_requests=2), FastClock())
    await made.start()
    yield made
    await made.stop()


def _robocalls(sim) -> int:
    return len([c for c in sim.pbx.factory.channels
                if c.endswith(";1") and "@ccs-robocall-callee" in c])


def _pause(sim, queue: str, paused: bool) -> None:
    q = sim.pbx.queues[queue]
    for member in q.members.values():
        sim.pbx.set_paused(q, member, paused, "break" if paused else "")


async def test_when_no_agent_is_ready_then_a_progressive_campaign_waits_for_one(
        prig, robo_world):
    _pause(prig.sim, "support", True)
    await until(lambda: all(m.state.paused for m in
                            prig.cti.tracker.queue_map["support"].members.values()))
    pacing = {"mode": "progressive", "max_channels": 20, "calls_per_second": 100,
              "target_queue": "support", "calls_per_ready_agent": 1}
    cid, _ = await make_campaign(prig.pool, robo_world, ["4"] * 6, pacing=pacing)
    await asyncio.sleep(0.5)
    assert originates_by_try(prig.sim) == {}
    # one agent back: at most one call at a time
    q = prig.sim.pbx.queues["support"]
    prig.sim.pbx.set_paused(q, q.members["Local/1001@agents/n"], False, "")
    peak = 0

    async def finished() -> bool:
        nonlocal peak
        peak = max(peak, _robocalls(prig.sim))
        return await prig.pool.fetchval("SELECT state FROM campaigns WHERE id = $1",
                                        cid) == "finished"

    await until(finished, timeout=30, interval=0.005)
    assert peak == 1
    assert [r["outcome"] for r in await attempts_of(prig.pool, cid)] == ["heard"] * 6


async def test_when_operator_requests_are_abandoned_then_they_are_counted(prig, robo_world):
    # Nobody in "outages" ever answers: every listener who presses 0 gives up waiting.
    pacing = {"mode": "progressive", "max_channels": 20, "calls_per_second": 100,
              "target_queue": "outages", "calls_per_ready_agent": 1}
    cid, _ = await make_campaign(prig.pool, robo_world, ["2"] * 5, pacing=pacing)
    stats = await until(lambda: (s := prig.pacer.recorder.operator.get(cid)) is not None
                        and s.abandoned == 5 and s, timeout=40, interval=0.05)
    assert (stats.requests, stats.answered, stats.abandoned) == (5, 0, 5)
    assert prig.pacer.status()["operator"][cid]["abandoned_share"] == 1.0
    assert [r["outcome"] for r in await attempts_of(prig.pool, cid)] == ["operator"] * 5


async def test_when_too_many_operator_requests_are_abandoned_then_fewer_calls_are_made(
        prig, robo_world):
    from campaigns.pacer import CampaignRun
    from campaigns.recorder import OperatorRequests

    pacing = {"mode": "progressive", "max_channels": 20, "calls_per_second": 100,
              "target_queue": "support", "calls_per_ready_agent": 2}
    cid, _ = await make_campaign(prig.pool, robo_world, ["4"], state="paused", pacing=pacing)
    async with prig.pool.acquire() as conn:
        campaign = await prig.pacer.lookup.get(conn, cid)
    run = CampaignRun(campaign, tokens=100.0)
    assert prig.pacer._limit(run) == 4  # 2 ready agents x 2
    # 1 of 40 abandoned (2.5 %, under the 3 % cap): no brake; 1 still waits for an agent
    prig.pacer.recorder.operator[cid] = OperatorRequests(requests=41, answered=39, abandoned=1)
    assert prig.pacer._limit(run) == 3
    # 5 of 40 abandoned: half the calls per ready agent
    prig.pacer.recorder.operator[cid] = OperatorRequests(requests=40, answered=35, abandoned=5)
    assert prig.pacer._limit(run) == 2


async def test_when_the_leader_changes_then_the_new_pacer_keeps_the_operator_counts(
        prig, robo_world):
    from campaigns.pacer import Pacer
    from campaigns.rules import Rules

    # Nobody in "outages" answers: each listener who pressed 0 hangs up after about a second
    # of wall time in the queue (QUEUE_PATIENCE), after the leader change below.
    pacing = {"mode": "progressive", "max_channels": 20, "calls_per_second": 100,
              "target_queue": "outages", "calls_per_ready_agent": 1}
    cid, _ = await make_campaign(prig.pool, robo_world, ["2", "2", "1", "4", "4"],
                                 state="paused", pacing=pacing)
    # One attempt due next year keeps the campaign running through the change.
    await prig.pool.execute(
        "UPDATE campaign_attempts SET next_at = now() + interval '1 year' "
        "WHERE id = (SELECT max(id) FROM campaign_attempts WHERE campaign_id = $1)", cid)
    await prig.pool.execute("UPDATE campaigns SET state = 'running' WHERE id = $1", cid)
    old = prig.pacer
    assert old is not None
    await until(lambda: (s := old.recorder.operator.get(cid)) is not None and s.requests == 2,
                timeout=20, interval=0.005)
    rules = await Rules.build(prig.settings)
    await old.stop()  # the lease is lost: what it counted in memory is gone with it
    seen = old.status()["operator"][cid]
    assert (seen["requests"], seen["answered"], seen["abandoned"]) == (2, 0, 0)
    new = Pacer(prig.pool, prig.cti, prig.bus, rules, prig.settings, now=prig.clock)
    prig.pacer = new  # the fixture stops it
    await new.start()
    assert new.status()["operator"][cid] == seen
    # The two listeners the old leader sent to the queue give up there: the new one counts it.
    stats = await until(lambda: (s := new.recorder.operator.get(cid)) is not None
                        and s.abandoned == 2 and s, timeout=20, interval=0.02)
    assert (stats.requests, stats.answered, stats.abandoned, stats.waiting) == (2, 0, 2, 0)
    # ... and one more new object reads the same from PostgreSQL.
    third = Pacer(prig.pool, prig.cti, prig.bus, rules, prig.settings, now=prig.clock)
    async with prig.pool.acquire() as conn:
        await third.recorder.load_operator(conn, [cid])
    assert third.recorder.operator[cid] == stats
