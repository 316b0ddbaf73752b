"""Run the PBX simulator alone: `python -m cti.simulator [--port 5038] [--calls-per-second 0.5]`."""
from __future__ import annotations

import argparse
import asyncio
import logging
import random

from cti.simulator.scenario import ScenarioSettings, drive, scenario_config
from cti.simulator.server import Simulator


async def main() -> None:
    parser = argparse.ArgumentParser(description="Fake Asterisk 22 AMI server with a call scenario")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--secret", default="ccs-demo")
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--calls-per-second", type=float, default=0.2)
    parser.add_argument("--duration", type=float, default=3600.0)
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    scenario = ScenarioSettings(agents=args.agents, calls_per_second=args.calls_per_second,
                                duration=args.duration)
    rng = random.Random(scenario.seed)
    sim = Simulator(scenario_config(scenario, rng), host=args.host, port=args.port,
                    secret=args.secret, time_scale=args.time_scale)
    await sim.start()
    logging.info("PBX simulator listening on %s:%d", args.host, sim.port)
    try:
        await drive(sim, scenario, rng)
        await asyncio.Event().wait()
    finally:
        await sim.stop()


if __name__ == "__main__":
    asyncio.run(main())
