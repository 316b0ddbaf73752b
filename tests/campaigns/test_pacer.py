"""The pacer against the PBX simulator over TCP and real PostgreSQL: campaigns run to the end
with the outcomes the callees chose, the limits hold, pause and the kill switch stop dialling."""
from __future__ import annotations

import asyncio

from tests.campaigns.robocall_rig import (  # noqa: F401 (fixtures)
    attempts_of, make_campaign, originates_by_try, rig, robo_dsn, robo_pool, robo_sim,
    robo_template,
    robo_world,
)
from tests.helpers import until

# last digit -> (final outcome, dials) with the rig's retries (busy / no answer: 1 retry)
EXPECTED = {"1": ("confirmed", 1), "2": ("operator", 1), "3": ("opted_out", 1),
            "4": ("heard", 1), "5": ("hung_up", 1), "6": ("busy", 2), "7": ("no_answer", 2),
            "8": ("congestion", 1), "9": ("failed", 1), "0": ("heard", 1)}


async def _finished(pool, cid: int) -> bool:
    return await pool.fetchval("SELECT state FROM campaigns WHERE id = $1", cid) == "finished"


async def test_when_a_campaign_runs_then_every_attempt_ends_with_its_callee_outcome(
        rig, robo_world):
    digits = list(EXPECTED) * 2
    cid, _ = await make_campaign(rig.pool, robo_world, digits)
    await until(lambda: _finished(rig.pool, cid), timeout=30, interval=0.1)
    rows = await attempts_of(rig.pool, cid)
    got = [(r["phones"][0][-1], r["state"], r["outcome"], r["tries"]) for r in rows]
    assert got == [(d, "done", *EXPECTED[d]) for d in digits]
    # one Originate per try, never two
    sent = originates_by_try(rig.sim)
    assert sum(sent.values()) == sum(r["tries"] for r in rows)
    assert set(sent.values()) == {1}
    # every dial is in contact_log with its result
    log = await rig.pool.fetch(
        "SELECT attempt_id, result FROM contact_log WHERE campaign_id = $1", cid)
    assert len(log) == sum(r["tries"] for r in rows)
    assert all(entry["result"] is not None for entry in log)
    # confirmed / operator / opt-out are written back to the history; the opt-out is listed
    history = await rig.pool.fetchval(
        "SELECT count(*) FROM interactions WHERE outcome LIKE 'robocall:%' "
        "AND account_id = ANY($1::bigint[])", [r["account_id"] for r in rows])
    assert history == 6
    opted = await rig.pool.fetchval(
        "SELECT count(*) FROM opt_outs WHERE source = 'robocall' AND campaign_id = $1", cid)
    assert opted == 2


async def test_when_the_best_phone_fails_then_the_next_phone_is_dialled(rig, robo_world):
    cid, _ = await make_campaign(rig.pool, robo_world, [["9", "1"], ["6", "4"]])
    await until(lambda: _finished(rig.pool, cid), timeout=30, interval=0.1)
    rows = await attempts_of(rig.pool, cid)
    assert [(r["outcome"], r["phone_index"], r["tries"]) for r in rows] == [
        ("confirmed", 1, 2), ("heard", 1, 3)]


async def test_when_max_channels_is_reached_then_no_more_calls_are_in_flight(rig, robo_world):
    pacing = {"mode": "agentless", "max_channels": 3, "calls_per_second": 1000,
              "target_queue": "support"}
    cid, _ = await make_campaign(rig.pool, robo_world, ["4"] * 12, pacing=pacing)
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            live = len([c for c in rig.sim.pbx.factory.channels if c.endswith(";1")
                        and "@ccs-robocall-callee" in c])
            peak = max(peak, live)
            await asyncio.sleep(0.002)

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        await until(lambda: _finished(rig.pool, cid), timeout=30, interval=0.1)
    finally:
        watcher.cancel()
    assert 1 <= peak <= 3


async def test_when_a_campaign_is_paused_then_not_one_more_call_is_made(rig, robo_world):
    pacing = {"mode": "agentless", "max_channels": 2, "calls_per_second": 20,
              "target_queue": "support"}
    cid, _ = await make_campaign(rig.pool, robo_world, ["4"] * 40, pacing=pacing)
    await until(lambda: sum(originates_by_try(rig.sim).values()) >= 3, timeout=10)
    await rig.pool.execute("UPDATE campaigns SET state = 'paused' WHERE id = $1", cid)
    at_pause = sum(originates_by_try(rig.sim).values())
    await asyncio.sleep(0.5)
    assert sum(originates_by_try(rig.sim).values()) == at_pause
    rows = await attempts_of(rig.pool, cid)
    assert sum(r["tries"] for r in rows) == at_pause
    assert any(r["state"] == "queued" for r in rows)


async def test_when_the_kill_switch_is_engaged_then_dialling_stops_at_once(rig, robo_world):
    pacing = {"mode": "agentless", "max_channels": 2, "calls_per_second": 20,
              "target_queue": "support"}
    cid, _ = await make_campaign(rig.pool, robo_world, ["4"] * 40, pacing=pacing)
    await until(lambda: sum(originates_by_try(rig.sim).values()) >= 3, timeout=10)
    await rig.pool.execute("UPDATE campaign_kill_switch SET engaged = true")
    at_kill = sum(originates_by_try(rig.sim).values())
    await asyncio.sleep(0.5)
    assert sum(originates_by_try(rig.sim).values()) == at_kill
    assert rig.pacer.killed


async def test_when_a_campaign_is_past_its_daily_window_then_it_pauses_without_dialling(
        rig, robo_world):
    # The rig's clock is a Wednesday noon in Moscow: a 08:00-09:00 window is over.
    schedule = {"window_start": "08:00", "window_end": "09:00", "timezone": "Europe/Moscow",
                "on_window_end": "pause"}
    cid, _ = await make_campaign(rig.pool, robo_world, ["4"] * 3, schedule=schedule)
    state = await until(lambda: rig.pool.fetchval(
        "SELECT state FROM campaigns WHERE id = $1 AND state <> 'running'", cid), timeout=10)
    assert state == "paused"
    assert originates_by_try(rig.sim) == {}


async def test_when_the_lease_is_no_longer_surely_held_then_nothing_more_is_dialled(
        rig, robo_world):
    """A leader that stalled past its lease's expiry (features/leadership.py ``surely_held``)
    dials nothing more and gives back what it had claimed; once sure again it goes on, and
    every try is still originated once."""
    allowed = [True]
    rig.pacer.may_dial = lambda: allowed[0]
    pacing = {"mode": "agentless", "max_channels": 4, "calls_per_second": 20,
              "target_queue": "support"}
    cid, _ = await make_campaign(rig.pool, robo_world, ["4"] * 30, pacing=pacing)
    await until(lambda: sum(originates_by_try(rig.sim).values()) >= 3, timeout=10)
    allowed[0] = False
    at_fence = sum(originates_by_try(rig.sim).values())
    await asyncio.sleep(0.5)
    assert sum(originates_by_try(rig.sim).values()) == at_fence
    rows = await attempts_of(rig.pool, cid)
    assert sum(r["tries"] for r in rows) == at_fence  # nothing claimed and kept unsent
    allowed[0] = True
    await until(lambda: _finished(rig.pool, cid), timeout=30, interval=0.1)
    assert set(originates_by_try(rig.sim).values()) == {1}
    assert len(originates_by_try(rig.sim)) == 30
