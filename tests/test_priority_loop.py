"""The server's event loop (ccs/priority_loop.py): the AMI socket read ahead of queued work,
turns cut by a time budget without reordering anything, over real sockets and a real AMI link."""
from __future__ import annotations

import asyncio
import socket
import time

from ccs.priority_loop import PriorityLoop
from ccs.serving import event_loop_factory
from ccs.settings import Settings
from cti.connection import AmiConnection
from cti.simulator import Simulator
from cti.simulator.presets import recorded_config
from tests.cti.conftest import SECRET, ami_settings
from tests.helpers import spin

SPIN = 0.0005  # each queued callback's work, seconds of wall clock


def _spin() -> None:
    spin(SPIN)


def _run(main, budget: float = 0.001):
    with asyncio.Runner(loop_factory=lambda: PriorityLoop(budget)) as runner:
        return runner.run(main())


def _read_among_backlog(prioritized: bool) -> list:
    """40 queued callbacks of 0.5 ms; the 6th makes a socket readable. The order things ran."""
    async def main() -> list:
        loop = asyncio.get_running_loop()
        order: list = []
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        try:
            loop.add_reader(a.fileno(), lambda: (a.recv(16), order.append("read")))
            if prioritized:
                loop.prioritize_reader(a.fileno())

            def work(i: int) -> None:
                _spin()
                order.append(i)
                if i == 5:
                    b.send(b"x")

            for i in range(40):
                loop.call_soon(work, i)
            while len(order) < 41:
                await asyncio.sleep(0.01)
            loop.remove_reader(a.fileno())
            return order
        finally:
            a.close()
            b.close()
    return _run(main)


def test_when_a_prioritized_socket_becomes_readable_then_its_read_runs_before_the_queued_work():
    order = _read_among_backlog(prioritized=True)
    # A turn runs at most the budget's worth (1 ms: two or three of these callbacks), then
    # polls: the read comes within the next turn, not after the 34 callbacks still queued.
    assert 6 <= order.index("read") <= 6 + 3, order
    assert [x for x in order if x != "read"] == list(range(40))


def test_when_a_socket_is_not_prioritized_then_its_read_waits_behind_the_queued_work():
    order = _read_among_backlog(prioritized=False)
    assert order[-1] == "read", order


def test_when_turns_are_cut_by_the_budget_then_callbacks_run_in_the_order_they_were_queued():
    async def main() -> tuple[list[str], int]:
        loop = asyncio.get_running_loop()
        order: list[str] = []
        done = loop.create_future()

        def work(name: str, children: int) -> None:
            _spin()
            order.append(name)
            for k in range(children):  # queued while the backlog runs: after all of it
                loop.call_soon(work, f"{name}.{k}", 0)
            if len(order) == 30 + 30 * 2:
                done.set_result(None)

        for i in range(30):
            loop.call_soon(work, str(i), 2)
        await done
        return order, loop.cut_turns

    order, cut = _run(main)
    assert cut > 0  # the budget did cut turns: otherwise this says nothing
    assert order[:30] == [str(i) for i in range(30)]
    assert order[30:] == [f"{i}.{k}" for i in range(30) for k in range(2)]


def test_when_work_is_queued_then_timers_still_fire_and_never_early():
    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        fired: list[float] = []
        start = time.perf_counter()
        for _ in range(100):
            loop.call_soon(_spin)
        for delay in (0.001, 0.01, 0.03):
            loop.call_later(delay, lambda d=delay: fired.append((time.perf_counter() - start, d)))
        await asyncio.sleep(0.2)
        return fired

    fired = _run(main)
    assert len(fired) == 3
    assert all(at >= delay * 0.99 for at, delay in fired), fired
    assert [d for _, d in fired] == [0.001, 0.01, 0.03]


def test_when_the_ami_link_runs_on_the_priority_loop_then_its_socket_is_read_first_until_closed():
    async def main() -> tuple[bool, bool, int]:
        loop = asyncio.get_running_loop()
        sim = Simulator(recorded_config(), secret=SECRET, time_scale=0.025)
        await sim.start()
        try:
            conn = AmiConnection(ami_settings(sim.port), on_event=lambda event: None)
            await conn.start()
            await conn.wait_ready(5)
            fds = set(loop._priority_fds)
            sock = conn._protocol.transport.get_extra_info("socket")
            while_up = sock.fileno() in fds
            await conn.stop()
            await asyncio.sleep(0.05)
            return while_up, bool(loop._priority_fds), len(fds)
        finally:
            await sim.stop()

    while_up, left_after, count = _run(main)
    assert while_up and count == 1
    assert not left_after  # a closed socket's number is reused: it must not stay first


def test_when_the_settings_name_the_priority_loop_then_the_server_runs_on_it():
    factory = event_loop_factory(Settings(event_loop="priority"))
    loop = factory()
    try:
        assert isinstance(loop, PriorityLoop)
    finally:
        loop.close()
    assert Settings().event_loop == "priority"
