"""Today's abandoned callers over the whole path: simulated calls -> the tracker -> the call
recorder's rows -> the list (REST and the board's push); a caller who got through later drops
off by themselves, one called back is marked, and the call back rings the supervisor's phone.

recorded_config: nobody answers in ``outages``; ``support`` rings 1001 (answers after 2 s).
"""
from __future__ import annotations

import asyncio
import random

from cti.simulator import wire
from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    app_settings, make_account, make_agent, ring, serve, served, server, settings, simulator,
)
from features.supervisor.plugin import BOARD
from tests.features.supervisor.supervisor_rig import BoardClient, logged_in
from tests.helpers import until

SUPERVISOR_PHONE = "Local/1012@agents/n"  # a member phone of ``common``: answers after 1 s


def _numbers(count: int) -> list[str]:
    # The suite's database is shared: numbers of this test only.
    start = random.randrange(1_000_000, 9_000_000)
    return [f"7916{start + i:07d}" for i in range(count)]


async def test_when_callers_abandon_then_the_board_lists_them_until_they_get_through_or_are_called_back(
    serve, simulator, pg_pool, make_account
):
    account = await make_account()
    made = await make_agent(pg_pool, "Local/1001@agents/n", queue="support")
    boss_made = await make_agent(pg_pool, SUPERVISOR_PHONE, role="supervisor", queue="common")
    server, _app = await serve()
    await logged_in(server, *made)
    boss = await logged_in(server, *boss_made)
    board = await BoardClient.open(server, boss.token)
    first, later, known = _numbers(3)
    try:
        await board.wait_for("board")
        ring(simulator, "outages", first, patience=3)
        ring(simulator, "outages", later, patience=3)
        ring(simulator, "outages", known, patience=3, account=account["number"])

        async def listed(numbers: set[str]):
            status, body = await boss.request("GET", "/api/supervisor/abandoned")
            assert status == 200, body
            rows = {r["caller_number"]: r for r in body["abandoned"]
                    if r["caller_number"] in {first, later, known}}
            return rows if set(rows) == numbers else None

        rows = await until(lambda: listed({first, later, known}), timeout=10)
        assert rows[known]["account"] == account["number"] and rows[first]["account"] is None
        for row in rows.values():
            assert row["queue"] == "outages" and row["called_back"] is False
            assert 1.0 < row["waited"] < 4.0  # PBX seconds in the queue (patience 3 - IVR)
        pushed = await board.wait_for("abandoned", lambda d: {first, later, known} <= {
            r["caller_number"] for r in d["abandoned"]}, timeout=10)
        assert len(pushed["abandoned"]) >= 3

        # `later` calls again and gets through: off the list.
        ring(simulator, "support", later, patience=5)
        rows = await until(lambda: listed({first, known}), timeout=10)
        await board.wait_for("abandoned", lambda d: later not in {
            r["caller_number"] for r in d["abandoned"]} and first in {
            r["caller_number"] for r in d["abandoned"]}, timeout=10)

        # One click calls `first` back from the supervisor's phone: marked, still listed.
        status, body = await boss.request(
            "POST", f"/api/supervisor/abandoned/{rows[first]['record_id']}/callback")
        assert status == 202, body
        action = next(a for a in simulator.pbx.originates
                      if wire.first(a, "ChannelId") == body["call_id"])
        assert (wire.first(action, "Channel"), wire.first(action, "Exten")) == (
            SUPERVISOR_PHONE, first)
        rows = await listed({first, known})
        assert rows[first]["called_back"] is True and rows[first]["called_back_at"]
        assert rows[known]["called_back"] is False
        await board.wait_for("abandoned", lambda d: any(
            r["caller_number"] == first and r["called_back"] for r in d["abandoned"]))
        audit = await pg_pool.fetchrow(
            "SELECT action, target, result FROM supervisor_audit WHERE actor_id = $1",
            boss.agent_id)
        assert dict(audit) == {"action": "call_back_abandoned",
                               "target": str(rows[first]["record_id"]), "result": "ok"}
        assert (await boss.request("POST", "/api/supervisor/abandoned/0/callback"))[0] == 404
    finally:
        await board.close()


async def test_when_callers_get_through_then_the_list_is_read_again_only_for_those_on_it(
    serve, simulator, pg_pool
):
    made = await make_agent(pg_pool, "Local/1001@agents/n", queue="support")
    server, app = await serve()
    agent = await logged_in(server, *made)
    # The suite's database holds other tests' agents on this phone, whose wishes (a pause, a
    # wrap-up) the new leader may put back: this agent's own, ready, comes last.
    status, body = await agent.request("PUT", "/api/agents/me/readiness", {"state": "ready"})
    assert status == 202, body

    def phone_free() -> bool:
        return not any(m.paused for m in simulator.pbx.queues["support"].members.values()
                       if m.interface == "Local/1001@agents/n")

    await until(phone_free, timeout=10)
    notifier = app[BOARD]
    stranger, quitter = _numbers(2)

    async def answered_and_stored(number: str, queue: str) -> None:
        ring(simulator, queue, number, patience=15)
        await until(lambda: pg_pool.fetchval(
            "SELECT 1 FROM queue_calls WHERE caller_number = $1 AND outcome = 'answered'",
            number), timeout=20)
        # The recorder tells its listeners right after the row and its Redis copy are written.
        await asyncio.sleep(0.5)

    # A caller who never abandoned gets through: the list is not read again for that.
    before = notifier.abandoned_marks
    await answered_and_stored(stranger, "common")  # not the agent's phone: no wrap-up after
    assert notifier.abandoned_marks == before
    # One who abandons joins it; once listed, getting through takes them off at once.
    ring(simulator, "outages", quitter, patience=3)
    await until(lambda: quitter in {c.caller_number for c in notifier.listed("abandoned")},
                timeout=10)
    marks = notifier.abandoned_marks
    await until(phone_free, timeout=10)
    await answered_and_stored(quitter, "support")
    assert notifier.abandoned_marks == marks + 1
    await until(lambda: quitter not in {c.caller_number for c in notifier.listed("abandoned")},
                timeout=4)  # the periodic re-read is every 5 s: this is the answer's
