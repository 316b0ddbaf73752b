"""The call recorder and the live figures fed the tracker's domain events directly (the same
events the tracker publishes; the simulator tests are in test_metrics_simulated.py): the issue's
ten-call example worked out by hand, stored rows, interactions, restarts, wrap-up."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from cti.bus import EventBus
from cti.tracker import Tracker
from features.supervisor.records import CallRecorder
from features.supervisor.settings import SupervisorSettings
from state.events import (
    AgentCompleted, AgentStateChanged, CallAbandoned, CallAnswered, CallEnded, CallerLeftQueue,
    CallOffered, CallTransferred, DomainEvent,
)
from state.repositories.interactions import record_ivr_start
from tests.features.supervisor.conftest import (
    MOSCOW, build_parts, make_agent, stop_parts,
)
from tests.helpers import until

ANNA, BORIS = "Local/2001@agents/n", "Local/2002@agents/n"
# A fixed day, so the test never straddles the call center's midnight.
T0 = dt.datetime(2026, 11, 20, 12, 0, tzinfo=MOSCOW).timestamp()
NOW = T0 + 3600 * 2  # the board's clock: two hours later, same day
SETTINGS = SupervisorSettings(sl_threshold=20, short_abandon_seconds=5)


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat()


def answered(call: str, at: float, wait: float, talk: float, agent: str, *,
             queue: str = "support", transfer: str = "", number: str = "+79120000001",
             vars: dict | None = None) -> list[DomainEvent]:
    ch = f"Local/support@ccs-in-{call};2"
    answer, end = at + wait, at + wait + talk
    events: list[DomainEvent] = [
        CallOffered(ts=at, queue=queue, linkedid=call, channel=ch, uniqueid=f"{call}.2",
                    position=1, caller_number=number, vars=vars or {}),
        CallerLeftQueue(ts=answer, queue=queue, linkedid=call, channel=ch),
        CallAnswered(ts=answer, queue=queue, interface=agent, linkedid=call, channel=ch,
                     hold_time=int(wait), ring_time=1)]
    if transfer:
        events += [
            CallTransferred(ts=end, linkedid=call, how="blind", from_queue=queue,
                            from_interface=agent, target=transfer),
            AgentCompleted(ts=end, queue=queue, interface=agent, linkedid=call,
                           reason="transfer", hold_time=int(wait), talk_time=int(talk)),
            CallEnded(ts=end + 60, linkedid=call, reason="transfer", queue=queue,
                      interface=agent)]
    else:
        events += [
            AgentCompleted(ts=end, queue=queue, interface=agent, linkedid=call, reason="agent",
                           hold_time=int(wait), talk_time=int(talk)),
            CallEnded(ts=end, linkedid=call, reason="agent", queue=queue, interface=agent)]
    return events


def abandoned(call: str, at: float, wait: float, queue: str = "support") -> list[DomainEvent]:
    ch = f"Local/support@ccs-in-{call};2"
    return [
        CallOffered(ts=at, queue=queue, linkedid=call, channel=ch, uniqueid=f"{call}.2",
                    position=1, caller_number="+79120000002"),
        CallAbandoned(ts=at + wait, queue=queue, linkedid=call, channel=ch, position=1,
                      wait=int(wait)),
        CallerLeftQueue(ts=at + wait, queue=queue, linkedid=call, channel=ch),
        CallEnded(ts=at + wait, linkedid=call, reason="abandoned")]


def wrapup(agent_id: int, start: float, seconds: float) -> list[DomainEvent]:
    return [AgentStateChanged(ts=start, agent_id=agent_id, view={
                "agent_id": agent_id, "state": "wrap_up", "since": iso(start),
                "queues": ["support"]}),
            AgentStateChanged(ts=start + seconds, agent_id=agent_id, view={
                "agent_id": agent_id, "state": "ready", "since": iso(start + seconds),
                "queues": ["support"]})]


def ten_calls(anna_id: int) -> list[DomainEvent]:
    """The issue's example: 2 abandoned (3 s, 40 s), 6 answered within 20 s, 1 answered at
    35 s, 1 transferred; the first answered call has a 10 s wrap-up."""
    events: list[DomainEvent] = []
    events += abandoned("c01", T0, 3)
    events += abandoned("c02", T0 + 60, 40)
    for i, (wait, talk) in enumerate([(2, 30), (4, 60), (6, 90), (8, 120), (10, 150), (12, 180)]):
        agent = ANNA if i % 2 == 0 else BORIS
        events += answered(f"c0{3 + i}", T0 + 600 * (i + 1), wait, talk, agent)
    events += wrapup(anna_id, T0 + 600 + 2 + 30, 10)
    events += answered("c09", T0 + 5000, 35, 45, ANNA)
    events += answered("c10", T0 + 5400, 5, 20, BORIS, transfer="survey@ccs-survey")
    return sorted(events, key=lambda e: e.ts)


# Worked out by hand from ten_calls():
#   offered 10; answered 8 (6 + the one at 35 s + the transferred one, answered at 5 s);
#   abandoned 2, of which short 1 (3 s <= 5 s); within 20 s: 6 + 1 (the transferred) = 7.
#   SL = 7 / (10 - 1); ASA = (2+4+6+8+10+12+35+5) / 8 = 82 / 8;
#   average wait = (82 + 3 + 40) / 10; talk = 30+60+90+120+150+180+45+20 = 695, wrap-up 10,
#   AHT = 705 / 8; longest handle 180; average wrap-up 10 / 8; abandon rate (2 - 1) / 9.
EXPECTED = {
    "offered": 10, "answered": 8, "abandoned": 2, "short_abandoned": 1, "timeout": 0,
    "transferred": 1, "redirected": 0, "answered_in_threshold": 7,
    "service_level": 7 / 9, "asa": 82 / 8, "avg_wait": 125 / 10, "aht": 705 / 8,
    "longest_handle": 180.0, "avg_wrapup": 10 / 8, "abandon_rate": 1 / 9,
}


def assert_figures(figures, expected=EXPECTED, tol=1e-6) -> None:
    got = figures.model_dump()
    for name, value in expected.items():
        if isinstance(value, int):
            assert got[name] == value, (name, got[name], value)
        else:
            assert got[name] == pytest.approx(value, abs=tol), (name, got[name], value)


def assert_same(live, report) -> None:
    a, b = live.model_dump(), report.model_dump()
    assert a.keys() == b.keys()
    for name in a:
        if isinstance(a[name], float) or isinstance(b[name], float):
            assert a[name] == pytest.approx(b[name], abs=1e-9), name
        else:
            assert a[name] == b[name], name


async def publish(bus: EventBus, recorder: CallRecorder, events: list[DomainEvent]) -> None:
    for event in events:
        bus.publish(event)
    await recorder.idle()


async def test_when_the_ten_calls_of_the_issue_end_then_rows_board_and_report_give_the_hand_figures(
        sup_pool, sup_redis, sup_keys):
    anna = await make_agent(sup_pool, ANNA)
    boris = await make_agent(sup_pool, BORIS, name="Борис Орлов")
    bus: EventBus[DomainEvent] = EventBus()
    parts = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, bus, clock=lambda: NOW)
    try:
        await publish(bus, parts.recorder, ten_calls(anna))
        rows = await sup_pool.fetch("SELECT * FROM queue_calls ORDER BY entered_at")
        assert [r["outcome"] for r in rows] == ["abandoned", "abandoned"] + ["answered"] * 7 + [
            "transferred"]
        assert [r["wait_seconds"] for r in rows] == [3, 40, 2, 4, 6, 8, 10, 12, 35, 5]
        assert [r["talk_seconds"] for r in rows] == [0, 0, 30, 60, 90, 120, 150, 180, 45, 20]
        assert [r["agent_id"] for r in rows[2:]] == [anna, boris] * 3 + [anna, boris]
        assert rows[2]["wrapup_seconds"] == 10 and rows[3]["wrapup_seconds"] is None
        assert rows[9]["transfer_how"] == "blind"
        assert rows[9]["transfer_target"] == "survey@ccs-survey"
        assert all(r["leg"] == 1 and r["end_seen"] for r in rows)
        # Only the wrap-ups still awaited after each agent's last call stay in Redis.
        assert sorted(await sup_redis.hkeys(sup_keys.supervisor_open_legs())) == sorted(
            [f"wrap|{anna}", f"wrap|{boris}"])

        live = parts.metrics.today("support")
        assert_figures(live)
        day = dt.datetime.fromtimestamp(T0, MOSCOW).date().isoformat()
        report = await parts.reports.queues(parts.reports.interval(day, day))
        assert [q.queue for q in report.queues] == ["support"]
        assert_figures(report.queues[0].figures)
        assert_same(live, report.queues[0].figures)
        assert_same(parts.metrics.today(), report.total)

        board = parts.metrics.board()
        rows_by_id = {r.agent_id: r for r in board.agents}
        # Anna: c03 (30 + 10 wrap-up), c05 (90), c07 (150), c09 (45): 4 calls, 325 / 4.
        assert rows_by_id[anna].calls_today == 4
        assert rows_by_id[anna].aht_today == pytest.approx(325 / 4)
        agents = await parts.reports.agents(parts.reports.interval(day, day))
        by_id = {a.agent_id: a for a in agents.agents}
        assert by_id[anna].answered == 4 and by_id[anna].aht == pytest.approx(325 / 4)
        assert by_id[boris].answered == 4  # c04, c06, c08, c10
        assert by_id[boris].aht == pytest.approx((60 + 120 + 180 + 20) / 4)
    finally:
        await stop_parts(parts)


async def test_when_a_call_ends_then_its_interaction_row_gets_end_agent_and_answer(
        sup_pool, sup_redis, sup_keys):
    anna = await make_agent(sup_pool, ANNA)
    bus: EventBus[DomainEvent] = EventBus()
    parts = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, bus, clock=lambda: NOW)
    try:
        # The IVR took c20 and sent it to the queue: its row has no end and no agent yet.
        await record_ivr_start(sup_pool, "c20", "+79120000001",
                               dt.datetime.fromtimestamp(T0 - 30, dt.timezone.utc),
                               {"intent": "readings"})
        consumer = await sup_pool.fetchval(
            "INSERT INTO consumers (kind, full_name) VALUES ('person', 'Пётр Сидоров') "
            "RETURNING id")
        account = await sup_pool.fetchval(
            """INSERT INTO accounts (number, consumer_id, city, street, house)
               VALUES ('100200300001', $1, 'Омск', 'ул. Ленина', '5') RETURNING id""", consumer)
        await publish(bus, parts.recorder, answered(
            "c20", T0, 4, 50, ANNA, vars={"CCS_INTENT": "readings", "CCS_IVR": "readings:1",
                                          "CCS_ACCOUNT": "100200300001"})
            + abandoned("c21", T0 + 10, 8))
        ivr = await sup_pool.fetchrow("SELECT * FROM interactions WHERE call_id = 'c20'")
        assert ivr["agent_id"] == anna and ivr["account_id"] == account
        assert ivr["ended_at"].timestamp() == pytest.approx(T0 + 54)
        assert ivr["queue_name"] == "support"
        gone = await sup_pool.fetchrow("SELECT * FROM interactions WHERE call_id = 'c21'")
        assert gone["ended_at"].timestamp() == pytest.approx(T0 + 18)
        assert gone["agent_id"] is None and gone["outcome"] == "abandoned"
        leg = await sup_pool.fetchrow("SELECT * FROM queue_calls WHERE call_id = 'c20'")
        assert leg["account_id"] == account
        path = leg["ivr_path"]
        path = json.loads(path) if isinstance(path, str) else path
        assert path == {"intent": "readings", "summary": "readings:1"}
    finally:
        await stop_parts(parts)


async def test_when_the_recorder_restarts_mid_call_then_no_leg_is_lost(
        sup_pool, sup_redis, sup_keys):
    await make_agent(sup_pool, ANNA)
    events = answered("c30", T0, 6, 100, ANNA) + abandoned("c31", T0 + 5, 30)
    events.sort(key=lambda e: e.ts)
    head = [e for e in events if e.ts <= T0 + 10]  # c30 answered, c31 still waiting
    tail = [e for e in events if e.ts > T0 + 10]
    bus: EventBus[DomainEvent] = EventBus()
    first = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, bus, clock=lambda: NOW)
    await publish(bus, first.recorder, head)
    assert len(await sup_redis.hkeys(sup_keys.supervisor_open_legs())) >= 2
    await stop_parts(first)  # the server goes away with both legs open

    bus2: EventBus[DomainEvent] = EventBus()
    second = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, bus2, clock=lambda: NOW)
    try:
        assert {leg.call_id for leg in second.recorder.open_legs()} == {"c30", "c31"}
        await publish(bus2, second.recorder, tail)
        rows = {r["call_id"]: r for r in await sup_pool.fetch("SELECT * FROM queue_calls")}
        assert rows["c30"]["outcome"] == "answered" and rows["c30"]["wait_seconds"] == 6
        assert rows["c30"]["talk_seconds"] == 100
        assert rows["c31"]["outcome"] == "abandoned" and rows["c31"]["wait_seconds"] == 30
        assert all(k.startswith("wrap|")
                   for k in await sup_redis.hkeys(sup_keys.supervisor_open_legs()))
        assert second.metrics.today("support").offered == 2
    finally:
        await stop_parts(second)


async def test_when_a_call_ended_while_no_recorder_ran_then_its_leg_is_written_as_unseen(
        sup_pool, sup_redis, sup_keys):
    await make_agent(sup_pool, ANNA)
    bus: EventBus[DomainEvent] = EventBus()
    first = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, bus, clock=lambda: NOW)
    await publish(bus, first.recorder, answered("c40", T0, 3, 100, ANNA)[:3])
    await stop_parts(first)
    # The new process's tracker is synchronised with a PBX that no longer has the call.
    tracker = Tracker(lambda event: None)
    bus2: EventBus[DomainEvent] = EventBus()
    second = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, bus2, tracker=tracker,
                               clock=lambda: T0 + 500)
    try:
        row = await until(lambda: sup_pool.fetchrow("SELECT * FROM queue_calls"))
        assert row["call_id"] == "c40" and row["outcome"] == "answered"
        assert row["end_seen"] is False and row["talk_seconds"] == 497
        assert await until(lambda: sup_pool.fetchval(
            "SELECT ended_at IS NOT NULL FROM interactions WHERE call_id = 'c40'"))
    finally:
        await stop_parts(second)


async def test_when_the_caller_is_redirected_to_another_queue_then_legs_are_linked(
        sup_pool, sup_redis, sup_keys):
    await make_agent(sup_pool, ANNA)
    await make_agent(sup_pool, BORIS, queue="billing")
    bus: EventBus[DomainEvent] = EventBus()
    parts = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, bus, clock=lambda: NOW)
    ch = "Local/support@ccs-in-c50;2"
    try:
        await publish(bus, parts.recorder, [
            CallOffered(ts=T0, queue="support", linkedid="c50", channel=ch, uniqueid="c50.2",
                        position=1),
            CallerLeftQueue(ts=T0 + 4, queue="support", linkedid="c50", channel=ch),
            CallAnswered(ts=T0 + 4, queue="support", interface=ANNA, linkedid="c50",
                         channel=ch, hold_time=4, ring_time=1),
            # Anna redirects the caller into billing (the tracker reports it at the join).
            CallTransferred(ts=T0 + 30, linkedid="c50", how="redirect", from_queue="support",
                            from_interface=ANNA, target="billing"),
            CallOffered(ts=T0 + 30, queue="billing", linkedid="c50", channel=ch,
                        uniqueid="c50.2", position=1),
            CallerLeftQueue(ts=T0 + 33, queue="billing", linkedid="c50", channel=ch),
            CallAnswered(ts=T0 + 33, queue="billing", interface=BORIS, linkedid="c50",
                         channel=ch, hold_time=3, ring_time=1),
            # After a Redirect, AgentComplete of the first member comes at the very end.
            AgentCompleted(ts=T0 + 93, queue="billing", interface=BORIS, linkedid="c50",
                           reason="caller", hold_time=3, talk_time=60),
            AgentCompleted(ts=T0 + 93, queue="support", interface=ANNA, linkedid="c50",
                           reason="caller", hold_time=4, talk_time=26),
            CallEnded(ts=T0 + 93, linkedid="c50", reason="caller"),
        ])
        rows = await sup_pool.fetch("SELECT * FROM queue_calls ORDER BY leg")
        assert [(r["leg"], r["prev_leg"], r["queue"], r["outcome"]) for r in rows] == [
            (1, None, "support", "transferred"), (2, 1, "billing", "answered")]
        assert rows[0]["talk_seconds"] == 26 and rows[0]["transfer_how"] == "redirect"
        assert rows[1]["wait_seconds"] == 3 and rows[1]["talk_seconds"] == 60
    finally:
        await stop_parts(parts)


async def test_when_the_day_changes_then_today_starts_from_zero(sup_pool, sup_redis, sup_keys):
    now = [T0 + 100]
    bus: EventBus[DomainEvent] = EventBus()
    parts = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, bus,
                              clock=lambda: now[0])
    try:
        await publish(bus, parts.recorder, abandoned("c60", T0, 10))
        assert parts.metrics.today("support").offered == 1
        now[0] = dt.datetime(2026, 11, 21, 0, 0, 1, tzinfo=MOSCOW).timestamp()
        assert parts.metrics.today("support").offered == 0
    finally:
        await stop_parts(parts)


async def test_when_postgresql_refuses_a_batch_then_it_is_stored_once_it_accepts_again(
        sup_pool, sup_redis, sup_keys):
    await make_agent(sup_pool, ANNA)
    bus: EventBus[DomainEvent] = EventBus()
    parts = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, bus, clock=lambda: NOW)
    try:
        await sup_pool.execute("ALTER TABLE queue_calls RENAME TO queue_calls_away")
        for event in answered("c70", T0, 4, 30, ANNA) + abandoned("c71", T0 + 1, 9):
            bus.publish(event)
        await until(lambda: parts.recorder.errors > 0)
        # Nothing lost meanwhile: the rows wait in Redis, and are not on the board yet.
        assert {k for k in await sup_redis.hkeys(sup_keys.supervisor_open_legs())
                if k.startswith("row|")} == {"row|c70|1", "row|c71|1"}
        assert parts.metrics.today("support").offered == 0
        await sup_pool.execute("ALTER TABLE queue_calls_away RENAME TO queue_calls")
        await until(lambda: parts.metrics.today("support").offered == 2, timeout=5)
        await parts.recorder.idle()
        rows = await sup_pool.fetch("SELECT call_id, outcome FROM queue_calls ORDER BY call_id")
        assert [(r["call_id"], r["outcome"]) for r in rows] == [("c70", "answered"),
                                                                 ("c71", "abandoned")]
        assert not [k for k in await sup_redis.hkeys(sup_keys.supervisor_open_legs())
                    if k.startswith(("leg|", "call|", "row|", "end|"))]
    finally:
        await stop_parts(parts)


async def test_when_the_server_stops_while_postgresql_refuses_then_the_next_one_stores_the_rows(
        sup_pool, sup_redis, sup_keys):
    await make_agent(sup_pool, ANNA)
    bus: EventBus[DomainEvent] = EventBus()
    first = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, bus, clock=lambda: NOW)
    await sup_pool.execute("ALTER TABLE queue_calls RENAME TO queue_calls_away")
    for event in answered("c80", T0, 4, 30, ANNA):
        bus.publish(event)
    await until(lambda: first.recorder.errors > 0)
    await stop_parts(first)
    await sup_pool.execute("ALTER TABLE queue_calls_away RENAME TO queue_calls")
    second = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, EventBus(),
                               clock=lambda: NOW)
    try:
        await until(lambda: second.metrics.today("support").answered == 1, timeout=5)
        row = await sup_pool.fetchrow("SELECT * FROM queue_calls WHERE call_id = 'c80'")
        assert row["talk_seconds"] == 30 and row["end_seen"]
        assert await sup_pool.fetchval(
            "SELECT ended_at IS NOT NULL FROM interactions WHERE call_id = 'c80'")
    finally:
        await stop_parts(second)
