"""The service (connection + tracker + intended readiness) across link loss and PBX restarts."""
from __future__ import annotations

import pytest

from cti.service import CtiService
from cti.simulator import MemberConfig, QueueConfig
from cti.simulator.originate import inbound_call
from cti.simulator.presets import recorded_config
from tests.helpers import until

from .conftest import ami_settings


@pytest.fixture
async def service(sim):
    events: list = []
    svc = CtiService(ami_settings(sim.port), events.append)
    await svc.start()
    await svc.connection.wait_ready(5)
    yield svc
    await svc.stop()


def pbx_board(sim) -> set[tuple]:
    return {(q.name, m.interface, m.paused, m.reason if m.paused else "")
            for q in sim.pbx.queues.values() for m in q.members.values()}


def tracker_board(svc, queues=None) -> set[tuple]:
    return {(m.state.queue, m.interface, m.state.paused,
             m.state.paused_reason if m.state.paused else "") for m in svc.tracker.members()
            if queues is None or m.state.queue in queues}


def pbx_calls(sim) -> set[str]:
    return {ch.linkedid for ch in sim.pbx.factory.channels.values()}


def tracker_calls(svc) -> set[str]:
    return {c.linkedid for c in svc.tracker.calls()}


async def test_when_pbx_restarts_then_intended_pauses_and_dynamic_members_are_reapplied(sim, service):
    await service.join_queue("support", "Local/1099@agents/n", member_name="Temp Agent")
    await service.set_paused("Local/1001@agents/n", True, "lunch", queue="support")
    await until(lambda: tracker_board(service) == pbx_board(sim), timeout=5)
    config = recorded_config()
    config.queues[0].members.append(MemberConfig(interface="Local/1003@agents/n", name="Vera"))
    await sim.restart(config)
    support = lambda: sim.pbx.queues["support"].members  # noqa: E731
    await until(lambda: "Local/1099@agents/n" in support() and support()["Local/1001@agents/n"].paused,
                timeout=5)
    assert support()["Local/1001@agents/n"].reason == "lunch"
    assert support()["Local/1099@agents/n"].dynamic
    await until(lambda: tracker_board(service) == pbx_board(sim), timeout=5)
    assert ("support", "Local/1003@agents/n", False, "") in tracker_board(service)
    # The PBX's events come before the actions' answers, which is when the worker counts.
    await until(lambda: service.reapplied >= 2, timeout=5)


async def test_when_restart_brings_different_queues_then_tracker_follows_the_new_truth(sim, service):
    sim.spawn(inbound_call(sim.pbx, "outages", "+79120000003", "Petr Sidorov", patience=30,
                           account="100200300403", intent="outage"))
    await until(lambda: tracker_calls(service) and tracker_calls(service) == pbx_calls(sim), timeout=5)
    config = recorded_config()
    config.queues = [QueueConfig(name="night", members=[
        MemberConfig(interface="Local/2001@agents/n", name="Night Agent")])]
    await sim.restart(config)
    # The resync asks QueueStatus for every queue, so queues the PBX no longer has are dropped.
    await until(lambda: service.connection.ready.is_set()
                and tracker_board(service) == pbx_board(sim), timeout=5)
    assert tracker_calls(service) == set() == pbx_calls(sim)
    assert {q.name for q in service.tracker.queues()} == {"night"}


async def test_when_link_drops_mid_call_and_call_ends_meanwhile_then_resync_clears_it(
        make_sim):
    sim = await make_sim()
    svc = CtiService(ami_settings(sim.port, reconnect_min=0.5, reconnect_max=0.6), lambda e: None)
    await svc.start()
    try:
        await svc.connection.wait_ready(5)
        sim.spawn(inbound_call(sim.pbx, "support", "+79120000001", "Ivan Petrov", patience=8))
        await until(lambda: any(c.state == "talking" for c in svc.tracker.calls()), timeout=5)
        sim.drop_connections()
        for ch in list(sim.pbx.factory.channels.values()):
            if ch.name.startswith("Local/support@ccs-in"):
                ch.hangup.set()  # the caller hangs up while we are blind
        await until(lambda: not pbx_calls(sim), timeout=5)
        await until(lambda: svc.connection.ready.is_set() and svc.connection.resyncs >= 2, timeout=5)
        assert tracker_calls(svc) == set()
        assert all(m.talking_for == "" for m in svc.tracker.members())
        assert tracker_board(svc) == pbx_board(sim)
    finally:
        await svc.stop()



async def test_when_a_client_reconnects_during_the_shutdown_then_that_session_dies_with_the_old_pbx(
        make_sim, raw_client):
    """A client that reconnects the instant it reads Shutdown (as ours does) can be accepted by
    the old listener in the same loop turn in which the restart closes it; that session must die
    with the old process, not live on beside the restarted PBX (it did: its connection_made came
    after the restart had closed the sessions it knew, and it never saw the new boot)."""
    import asyncio
    import socket
    import time

    sim = await make_sim(scale=1.0)  # Asterisk's own pace: 15 ms from Shutdown to the close
    watcher = await raw_client(sim.port)
    watcher.login()
    await until(lambda: watcher.events("FullyBooted"), timeout=2)
    restart = asyncio.get_running_loop().create_task(sim.restart(downtime=0.05, boot_time=0.05))
    await until(lambda: watcher.events("Shutdown"), timeout=5, interval=0.001)
    # Connect while the loop is held, and hold it past the restart's pause: the accept and the
    # restart's close then become ready in one loop turn, the accept first (a loaded machine).
    late = socket.create_connection(("127.0.0.1", sim.port))
    time.sleep(0.05)
    await restart
    reader, writer = await asyncio.open_connection(sock=late)
    try:
        async with asyncio.timeout(2):
            while await reader.read(4096):
                pass
    except ConnectionError:
        pass  # reset is as closed as EOF
    except TimeoutError:
        raise AssertionError("a session of the old PBX still open after the restart") from None
    finally:
        writer.close()
    assert all(s.generation == sim.generation for s in sim.sessions)
