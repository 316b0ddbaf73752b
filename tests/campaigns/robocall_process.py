"""A server process of its own for the kill -9 test: the CTI service on a given PBX and the
campaign pacer on a given database, as the PBX's leader. Prints ``ready`` once the pacer runs.
The campaigns' clock is the rig's fast clock anchored at the given wall time, so every process
of one test shares it.

    python -m tests.campaigns.robocall_process <ami_port> <dsn> <clock_anchor_epoch>
"""
from __future__ import annotations

import asyncio
import logging
import sys
import time
from datetime import datetime, timezone

from campaigns.pacer import Pacer
from campaigns.rules import Rules
from cti.bus import EventBus
from cti.service import CtiService
from state.db import create_pool
from tests.campaigns.robocall_rig import SPEED, START, robo_settings
from tests.cti.conftest import ami_settings


def anchored_clock(anchor: float):
    def now() -> datetime:
        return datetime.fromtimestamp(START.timestamp() + (time.time() - anchor) * SPEED,
                                      timezone.utc)
    return now


async def main(port: int, dsn: str, anchor: float) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = robo_settings()
    pool = await create_pool(dsn, min_size=1, max_size=8)
    bus = EventBus()
    cti = CtiService(ami_settings(port), bus.publish)
    await cti.start()
    await cti.connection.wait_ready(20)
    rules = await Rules.build(settings)
    pacer = Pacer(pool, cti, bus, rules, settings, now=anchored_clock(anchor))
    await pacer.start()
    while not pacer.ready:
        await asyncio.sleep(0.01)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], float(sys.argv[3])))
