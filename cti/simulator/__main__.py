"""Run the PBX simulator alone: `python -m cti.simulator [--port 5038] [--calls-per-second 0.5]`."""
from __future__ import annotations

import argparse
import asyncio
import logging
import random
import signal

from cti.simulator.scenario import ScenarioSettings, drive, scenario_config
from cti.simulator.server import Simulator

USERNAME = "ccs"
DEFAULT_SECRET = "ccs-demo"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m cti.simulator",
        description="Fake Asterisk 22 AMI server with a call scenario. Log in as AMI user "
        f"'{USERNAME}' with the secret (default '{DEFAULT_SECRET}', as the demo's "
        "CCS_SIMULATOR__SECRET); Ctrl-C stops it.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="listen address")
    parser.add_argument("--port", type=int, default=5038, help="AMI port (0: any free one)")
    parser.add_argument("--secret", default=DEFAULT_SECRET, help=f"AMI secret of user '{USERNAME}'")
    parser.add_argument("--agents", type=int, default=5, help="simulated agents")
    parser.add_argument("--calls-per-second", type=float, default=0.2, help="inbound call rate")
    parser.add_argument("--duration", type=float, default=3600.0, help="scenario seconds")
    parser.add_argument("--time-scale", type=float, default=1.0, help="simulated time speed-up")
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO)
    scenario = ScenarioSettings(agents=args.agents, calls_per_second=args.calls_per_second,
                                duration=args.duration)
    rng = random.Random(scenario.seed)
    sim = Simulator(scenario_config(scenario, rng), host=args.host, port=args.port,
                    username=USERNAME, secret=args.secret, time_scale=args.time_scale)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await sim.start()
    logging.info("PBX simulator listening on %s:%d (AMI user %r, secret %r); Ctrl-C stops it",
                 args.host, sim.port, USERNAME, args.secret)
    driver = asyncio.create_task(drive(sim, scenario, rng), name="scenario")
    try:
        await stop.wait()
    finally:
        driver.cancel()
        await asyncio.gather(driver, return_exceptions=True)
        await sim.stop()
        logging.info("PBX simulator stopped")


if __name__ == "__main__":
    asyncio.run(main())
