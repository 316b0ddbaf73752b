"""Back within seconds of the PBX: reconnect cadence, Login during boot, restart detection.

The simulator boots as Asterisk 22 did in recording 08_ami_login_during_boot: the AMI port
opens first, Login works at once, app_queue's actions answer "Invalid/unknown command" until
the FullyBooted broadcast.
"""
from __future__ import annotations

import logging
import time

import pytest
from pydantic import SecretStr

from cti.service import CtiService
from cti.settings import AmiSettings
from tests.helpers import until

from .conftest import ami_settings

AGENT = "Local/1099@agents/n"  # joins support dynamically: Asterisk forgets it on restart
STATIC = "Local/1001@agents/n"  # static member of support: Asterisk forgets its pause


def board(sim) -> set[tuple]:
    support = sim.pbx.queues["support"].members
    return {(i, m.paused, m.reason if m.paused else "") for i, m in support.items()
            if i in (AGENT, STATIC)}


WANTED = {(AGENT, False, ""), (STATIC, True, "lunch")}


async def start_service(sim, events: list, **overrides) -> CtiService:
    svc = CtiService(ami_settings(sim.port, **overrides), events.append)
    await svc.start()
    await svc.connection.wait_ready(5)
    await svc.join_queue("support", AGENT, member_name="Temp Agent")
    await svc.set_paused(STATIC, True, "lunch", queue="support")
    await until(lambda: board(sim) == WANTED, timeout=5)
    return svc


async def test_when_login_comes_while_pbx_boots_then_server_waits_for_fullybooted_quietly(
        make_sim, caplog):
    caplog.set_level(logging.INFO, logger="cti.connection")
    sim = await make_sim()
    await sim.restart(downtime=0.0, boot_time=0.6, shutdown=False)
    events: list = []
    svc = CtiService(ami_settings(sim.port), events.append)
    await svc.start()
    try:
        await until(lambda: svc.connection.logged_in, timeout=2)
        assert sim.booting  # logged in during the boot
        await svc.connection.wait_ready(3)
        assert sim.booted_at is not None and svc.connection.ready.is_set()
        assert sim.refused_while_booting == 0  # no QueueStatus before FullyBooted
        assert sim.logins == 1 and svc.connection.resyncs == 1  # the link was never dropped
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    finally:
        await svc.stop()


async def test_when_resync_meets_a_module_not_loaded_then_it_waits_and_retries_quietly(
        make_sim, caplog):
    # A PBX user without the `system` read class gets no FullyBooted: the server probes.
    caplog.set_level(logging.INFO, logger="cti.connection")
    sim = await make_sim()
    sim.booting = True  # app_queue "not loaded" and no FullyBooted will come
    svc = CtiService(ami_settings(sim.port, action_timeout=0.3, reconnect_interval=0.1),
                     lambda e: None)
    await svc.start()
    try:
        await until(lambda: sim.refused_while_booting >= 2, timeout=3)
        assert not svc.connection.ready.is_set() and sim.logins == 1
        sim.booting = False  # app_queue loaded
        await svc.connection.wait_ready(2)
        assert sim.logins == 1
        # one quiet line for the whole wait, however many probes it took
        assert [(r.levelname, "booting" in r.getMessage()) for r in caplog.records] == [
            ("INFO", True)]
    finally:
        await svc.stop()


async def test_when_link_drops_without_a_restart_then_pbx_booted_is_not_published(sim):
    # The PBX has been up for a minute (Uptime has whole-second precision: a restart within
    # a second or two of the previous start cannot be told from a re-login).
    sim.process_started -= 60
    events: list = []
    svc = await start_service(sim, events)
    try:
        sim.drop_connections()
        await until(lambda: svc.connection.resyncs >= 2 and svc.connection.ready.is_set(), 5)
        assert [e for e in events if e.kind == "pbx_booted"] == []
        await sim.restart()
        await until(lambda: svc.connection.resyncs >= 3 and board(sim) == WANTED, 5)
        assert [e.kind for e in events].count("pbx_booted") == 1
    finally:
        await svc.stop()


async def test_when_login_is_refused_then_attempts_back_off_unlike_an_unreachable_pbx(sim):
    svc = CtiService(ami_settings(sim.port, secret=SecretStr("wrong"), reconnect_interval=0.05,
                                  reconnect_min=0.1, reconnect_max=0.4), lambda e: None)
    await svc.start()
    try:
        await until(lambda: sim.failed_logins >= 6, timeout=5)
        times = list(svc.connection.attempts)
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert min(gaps[3:]) >= 0.2 - 0.01  # 0.1, 0.2, 0.4, 0.4 ... times U(0.5, 1)
    finally:
        await svc.stop()


@pytest.mark.slow
async def test_when_pbx_is_down_30s_then_attempts_stay_a_second_apart_and_agents_are_back_at_boot(
        sim):
    """The fault of issue 8: the PBX is away for 30 s, then boots as in recording 08. The
    production reconnect settings are used (the test only shortens the watchdog)."""
    defaults = AmiSettings()
    events: list = []
    svc = await start_service(sim, events, reconnect_interval=defaults.reconnect_interval,
                              connect_timeout=defaults.connect_timeout,
                              reconnect_min=defaults.reconnect_min,
                              reconnect_max=defaults.reconnect_max)
    try:
        conn = svc.connection
        went_down = time.monotonic()
        await sim.restart(downtime=30.0 / sim.clock.scale, shutdown=False)
        back_up = time.monotonic()
        await until(lambda: sim.booted_at is not None and board(sim) == WANTED, timeout=5,
                    interval=0.005)
        settled = time.monotonic()
        during = [t for t in conn.attempts if went_down <= t <= back_up]
        gaps = [b - a for a, b in zip(during, during[1:])]
        assert len(during) >= 25
        assert max(gaps) <= defaults.reconnect_interval * 1.25  # never waits longer ...
        assert min(gaps) >= defaults.reconnect_interval * 0.8  # ... and does not hammer
        assert sim.refused_while_booting == 0
        assert settled - sim.booted_at < 2.0  # no backoff between FullyBooted and re-applied
        assert [e.kind for e in events].count("pbx_booted") == 1
    finally:
        await svc.stop()
