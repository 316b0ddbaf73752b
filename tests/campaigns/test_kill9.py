"""Kill -9 of the server in the middle of a campaign, at random moments, several times: the
PBX (the simulator, in this process) goes on with the calls in flight; each restarted server
reconciles them before it dials again. At the end: not one try originated twice, and every
attempt has the outcome its callee chose (none lost)."""
from __future__ import annotations

import asyncio
import random
import re
import sys
import time

import pytest

from cti.simulator import Simulator
from cti.simulator.pbx import CalleeBehaviour
from cti.simulator.presets import recorded_config
from tests.campaigns.robocall_rig import (  # noqa: F401 (fixtures)
    SCALE, attempts_of, make_campaign, originates_by_try, robo_dsn, robo_pool, robo_template,
    robo_world,
)
from tests.cti.conftest import SECRET
from tests.campaigns.test_pacer import EXPECTED
from tests.conftest import ROOT
from tests.helpers import until

SEED = 20261203
KILLS = 4


@pytest.fixture
async def long_calls():
    """Calls of about half a second of wall time, so that many are in flight at a kill."""
    config = recorded_config()
    config.default_callee = CalleeBehaviour(answer_after=5.0, listen=20.0)
    simulator = Simulator(config, secret=SECRET, time_scale=SCALE)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def _server(port: int, dsn: str, anchor: float, log_path) -> asyncio.subprocess.Process:
    with open(log_path, "ab") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.campaigns.robocall_process", str(port), dsn,
            repr(anchor), cwd=str(ROOT), stdout=asyncio.subprocess.PIPE, stderr=log)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert line.strip() == b"ready", (line, log_path.read_text()[-3000:])
    return proc


async def test_when_the_server_is_killed_mid_campaign_then_no_double_dial_and_no_lost_outcome(
        long_calls, robo_dsn, robo_pool, robo_world, tmp_path):
    rng = random.Random(SEED)
    digits = [str(i % 10) for i in range(1, 71)]
    pacing = {"mode": "agentless", "max_channels": 15, "calls_per_second": 30,
              "target_queue": "support"}
    cid, _ = await make_campaign(robo_pool, robo_world, digits, rng=rng, pacing=pacing)
    anchor = time.time()
    log_path = tmp_path / "servers.log"
    procs: list[asyncio.subprocess.Process] = []
    try:
        for _ in range(KILLS):
            proc = await _server(long_calls.port, robo_dsn, anchor, log_path)
            procs.append(proc)
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            proc.kill()  # SIGKILL: whatever it had in memory is gone
            await proc.wait()
        procs.append(await _server(long_calls.port, robo_dsn, anchor, log_path))

        async def finished() -> bool:
            return await robo_pool.fetchval(
                "SELECT state FROM campaigns WHERE id = $1", cid) == "finished"

        await until(finished, timeout=60, interval=0.2)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    rows = await attempts_of(robo_pool, cid)
    sent = originates_by_try(long_calls)
    assert sent and max(sent.values()) == 1, "a try was originated twice"
    by_attempt: dict[str, list[int]] = {}
    for (attempt, try_no) in sent:
        by_attempt.setdefault(attempt, []).append(int(try_no))
    for row in rows:
        tries = by_attempt.get(str(row["id"]), [])
        assert tries and max(tries) <= row["tries"]
    got = [(r["phones"][0][-1], r["state"], r["outcome"]) for r in rows]
    assert got == [(d, "done", EXPECTED[d][0]) for d in digits]
    # The kills did leave calls in flight that a later server settled from the PBX's AstDB.
    settled = [int(m) for m in re.findall(r"(\d+) from AstDB", log_path.read_text())]
    assert sum(settled) > 0
    unsettled = await robo_pool.fetchval(
        "SELECT count(*) FROM contact_log WHERE campaign_id = $1 AND result IS NULL", cid)
    assert unsettled == 0
