"""`ccs demo`: the server with demo data and, without a real Asterisk, the PBX simulator."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from ccs.serving import event_loop_factory
from ccs.settings import Settings
from state.db import create_pool, migrate_sync

if TYPE_CHECKING:
    from cti.simulator import PbxConfig
    from cti.simulator.scenario import ScenarioSettings

log = logging.getLogger("ccs.demo")


def _kept_secret(path: Path, make) -> str:
    """A secret made on first use and kept in ``path``, readable by its owner only (0600)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(make())
    return path.read_text().strip()


def demo_password(settings: Settings) -> str:
    """The configured demo password, or one made on first run and kept in the data folder."""
    if settings.demo.password is not None:
        return settings.demo.password.get_secret_value()
    return _kept_secret(Path(settings.local.data_dir) / "demo-password",
                        lambda: secrets.token_urlsafe(9))


def demo_secret_key(settings: Settings) -> str:
    """The demo's token-signing key, made on first run and kept in the data folder, so that a
    restart of the demo does not log every browser out."""
    return _kept_secret(Path(settings.local.data_dir) / "demo-secret-key",
                        lambda: secrets.token_urlsafe(32))


async def load_demo_data(settings: Settings, password: str) -> None:
    from state.demo_data import install_demo_staff
    from state.generator import generate

    pool = await create_pool(settings.postgres.dsn, min_size=1, max_size=4)
    try:
        if await pool.fetchval("SELECT count(*) FROM accounts") == 0:
            report = await generate(pool, accounts=settings.demo.accounts, seed=settings.demo.seed)
            log.info("demo data loaded: %s", report)
        await install_demo_staff(pool, password)
    finally:
        await pool.close()


async def _serve(settings: Settings, password: str) -> None:
    from ccs.app import create_app
    from ccs.serving import serve_until_stopped

    await load_demo_data(settings, password)
    async with contextlib.AsyncExitStack() as stack:
        if not settings.ami.host:
            settings = await _start_simulator(settings, stack)
        if settings.speech.model_path is None and settings.ivr.speech_language is None:
            # The only model the registries ship is Korean: let the demo IVR listen in Korean
            # (prompts stay Russian) rather than fall back to keys only.
            settings = settings.model_copy(
                update={"ivr": settings.ivr.model_copy(update={"speech_language": "ko"})})

        def ready() -> None:
            print(
                f"ccs demo: http://{settings.http.host}:{settings.http.port}/health\n"
                f"  log in with POST /api/login as agent1001 .. agent1018 or supervisor, "
                f"password: {password}",
                flush=True,
            )

        # The server parts a failed start got to are stopped by serve_until_stopped; the
        # simulator by the stack.
        await serve_until_stopped(settings, create_app(settings), ready)


def demo_pbx(settings: Settings) -> tuple[PbxConfig, ScenarioSettings]:
    """The demo's simulated PBX and callers: the demo data's queues, without static members
    (the demo agents log in from the desktop with their own interfaces), a phone played for
    each agent who does, and callers at the demo rate into those queues."""
    from cti.simulator.scenario import ScenarioSettings, demo_config
    from state.demo_data import DEMO_QUEUES

    queues = [q.name for q in DEMO_QUEUES]
    scenario = ScenarioSettings(
        queue=queues[0], queues=queues, calls_per_second=settings.demo.calls_per_second,
        # patient callers: most calls end when the simulated agent hangs up
        patience_mean=3 * settings.simulator.phones.talk_max,
        duration=365 * 24 * 3600, seed=settings.demo.seed)
    return demo_config(queues, settings.simulator.phones), scenario


async def _start_simulator(settings: Settings, stack: contextlib.AsyncExitStack) -> Settings:
    """The PBX simulator with a stream of callers; returns settings that point the server at it."""
    from cti.simulator import Simulator
    from cti.simulator.scenario import drive

    config, scenario = demo_pbx(settings)
    rng = random.Random(scenario.seed)
    cfg = settings.simulator
    sim = Simulator(config, host=cfg.host, port=cfg.port, username=cfg.username,
                    secret=cfg.secret.get_secret_value(), time_scale=cfg.time_scale)
    await sim.start()
    stack.push_async_callback(sim.stop)
    driver = asyncio.create_task(drive(sim, scenario, rng), name="demo-scenario")

    async def stop_driver() -> None:
        driver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await driver

    stack.push_async_callback(stop_driver)
    log.info("no CCS_AMI__HOST: PBX simulator on %s:%d", cfg.host, sim.port)
    # Nothing dials the IVR of a simulated PBX: unless set, let its ports be any free ones so
    # that two demos (two checkouts) on one machine do not collide.
    ports = {k: 0 for k in ("agi_port", "audiosocket_port") if k not in settings.ivr.model_fields_set}
    return settings.model_copy(update={
        "ami": settings.ami.model_copy(update={
            "host": cfg.host, "port": sim.port, "username": cfg.username, "secret": cfg.secret,
            "simulated": True}),
        "ivr": settings.ivr.model_copy(update=ports),
    })


def run_demo(settings: Settings) -> None:
    migrate_sync(settings.postgres.dsn)
    password = demo_password(settings)
    with asyncio.Runner(loop_factory=event_loop_factory(settings)) as runner:
        runner.run(_serve(settings, password))
