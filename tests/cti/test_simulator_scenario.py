"""The scenario driver produces a consistent stream: every caller ends, counts add up."""
from __future__ import annotations

import random

from cti.service import CtiService
from cti.simulator import Simulator
from cti.simulator.scenario import ScenarioSettings, drive, scenario_config, wait_idle
from tests.helpers import until

from .conftest import SECRET, ami_settings


async def test_when_a_scenario_runs_then_tracker_and_pbx_agree_on_answered_and_abandoned():
    settings = ScenarioSettings(agents=3, calls_per_second=0.5, duration=40, talk_mean=8,
                                patience_mean=12, seed=7)
    rng = random.Random(settings.seed)
    sim = Simulator(scenario_config(settings, rng), secret=SECRET, time_scale=0.01)
    await sim.start()
    svc = CtiService(ami_settings(sim.port), lambda e: None)
    await svc.start()
    try:
        await svc.connection.wait_ready(5)
        run = await drive(sim, settings, rng)
        assert await wait_idle(sim, timeout=10)
        queue = sim.pbx.queues["support"]
        assert run.started > 5
        assert queue.completed + queue.abandoned == run.started
        await until(lambda: (svc.tracker.queue("support").answered,
                             svc.tracker.queue("support").abandoned)
                    == (queue.completed, queue.abandoned), timeout=5)
        assert svc.tracker.calls() == ()
    finally:
        await svc.stop()
        await sim.stop()
