"""The live metrics' own parts: agents per queue from the projector's views and the tracker's
members, the sliding last hour, a whole board (a real tracker fed AMI messages, a real
recorder on PostgreSQL and Redis)."""
from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from cti.bus import EventBus
from cti.tracker import Tracker
from features.supervisor.settings import SupervisorSettings
from state.events import AgentStateChanged, DomainEvent
from tests.features.supervisor.conftest import build_parts, make_agent, stop_parts
from tests.features.supervisor.test_records import (
    ANNA, BORIS, NOW, SETTINGS, abandoned, answered, iso, publish,
)

STATIC = "Local/9001@agents/n"  # a queues.conf member that is nobody's phone


def member(interface: str, *, paused: bool = False, reason: str = "") -> dict[str, str]:
    return {"Event": "QueueMemberAdded", "Queue": "support", "Interface": interface,
            "MemberName": interface, "Status": "1", "Paused": "1" if paused else "0",
            "PausedReason": reason, "Membership": "static"}


async def test_when_agents_and_members_differ_then_the_tile_counts_each_once(
        sup_pool, sup_redis, sup_keys):
    anna = await make_agent(sup_pool, ANNA)
    await make_agent(sup_pool, BORIS, name="Борис Орлов")
    bus: EventBus[DomainEvent] = EventBus()
    tracker = Tracker(bus.publish, clock=lambda: NOW)
    parts = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, bus, tracker=tracker,
                              clock=lambda: NOW)
    changed: list[tuple[set, set]] = []
    parts.metrics.add_listener(lambda q, a: changed.append((q, a)))
    try:
        tracker.apply(member(ANNA))
        tracker.apply(member(BORIS, paused=True, reason="lunch"))
        tracker.apply(member(STATIC, paused=True, reason="wrap-up"))
        # Anna's view (the projector's): on a call. Boris has none yet: the PBX's word counts.
        bus.publish(AgentStateChanged(ts=NOW, agent_id=anna, view={
            "agent_id": anna, "state": "on_call", "since": iso(NOW - 30),
            "queues": ["support"], "call_id": "c99"}))
        tile = parts.metrics.tile("support")
        assert tile.agents.model_dump() == {
            "logged_in": 3, "ready": 0, "ringing": 0, "on_call": 1, "wrap_up": 1,
            "not_ready": 1, "not_ready_by_reason": {"lunch": 1}}
        assert ({"support"}, {anna}) in changed
        row = parts.metrics.row(anna)
        assert (row.state, row.call_id, row.full_name) == ("on_call", "c99", "Анна Иванова")
        assert row.since == dt.datetime.fromtimestamp(NOW - 30, dt.timezone.utc)
        board = parts.metrics.board()
        assert [q.name for q in board.queues] == ["support"]
        assert board.day == "2026-11-20" and board.timezone == "Europe/Moscow"
        assert {r.agent_id for r in board.agents} >= {anna}
    finally:
        await stop_parts(parts)


async def test_when_an_hour_passes_then_the_last_hour_lets_its_calls_go_and_today_keeps_them(
        sup_pool, sup_redis, sup_keys):
    await make_agent(sup_pool, ANNA)
    now = [NOW]
    bus: EventBus[DomainEvent] = EventBus()
    parts = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, bus,
                              clock=lambda: now[0])
    try:
        await publish(bus, parts.recorder, sorted(
            answered("h1", NOW - 4000, 3, 300, ANNA) + answered("h2", NOW - 600, 5, 100, ANNA)
            + abandoned("h3", NOW - 500, 12), key=lambda e: e.ts))
        hour = parts.metrics.last_hour("support")
        assert (hour.offered, hour.answered, hour.abandoned) == (2, 1, 1)
        assert hour.longest_handle == 100 and parts.metrics.today("support").offered == 3
        assert parts.metrics.today("support").longest_handle == 300
        now[0] = NOW + 3050  # h2 (entered 600 s before NOW) has left the window
        hour = parts.metrics.last_hour("support")
        assert (hour.offered, hour.answered, hour.longest_handle) == (1, 0, None)
        assert hour.avg_wait == 12
        now[0] = NOW + 3150
        assert parts.metrics.last_hour("support").offered == 0
        assert parts.metrics.today("support").offered == 3
    finally:
        await stop_parts(parts)


async def test_when_the_board_is_built_then_it_carries_titles_targets_colours_and_reasons(
        sup_pool, sup_redis, sup_keys):
    await make_agent(sup_pool, ANNA)
    await sup_pool.execute("UPDATE queues SET title = 'Техподдержка' WHERE name = 'support'")
    await sup_pool.execute("INSERT INTO queues (name, title, service_level_seconds) "
                           "VALUES ('outages', 'Аварии', 10)")
    settings = SupervisorSettings(
        sl_threshold=20, sl_target_per_queue={
            "outages": 0.9}, colour_waiting_amber=2, colour_waiting_red=4,
        short_abandon_seconds=7)
    bus: EventBus[DomainEvent] = EventBus()
    tracker = Tracker(bus.publish, clock=lambda: NOW)
    parts = await build_parts(sup_pool, sup_redis, sup_keys, settings, bus, tracker=tracker,
                              clock=lambda: NOW, pause_reasons=("lunch", "training"))
    try:
        tracker.apply(member(ANNA))
        tracker.apply({**member(ANNA), "Queue": "outages"})
        board = parts.metrics.board()
        tiles = {q.name: q for q in board.queues}
        assert (tiles["support"].title, tiles["outages"].title) == ("Техподдержка", "Аварии")
        assert tiles["support"].colours.model_dump() == {
            "sl_target": 0.8, "sl_red_below": 0.7, "waiting_amber": 2, "waiting_red": 4,
            "wait_amber": 20.0, "wait_red": 60.0}
        assert (tiles["outages"].sl_target, tiles["outages"].colours.sl_target) == (0.9, 0.9)
        assert (tiles["outages"].colours.wait_amber, tiles["outages"].colours.wait_red) == (
            10.0, 30.0)
        assert [c.code for c in board.pause_reasons] == ["lunch", "training"]
        assert board.short_abandon_seconds == 7
        wire = board.model_dump(mode="json")
        assert wire["queues"][0]["colours"] and wire["pause_reasons"][0] == {
            "code": "lunch", "label": None}
    finally:
        await stop_parts(parts)


def test_when_colour_settings_are_out_of_order_then_they_are_refused():
    with pytest.raises(ValidationError, match="colour_waiting_red"):
        SupervisorSettings(colour_waiting_amber=5, colour_waiting_red=3)
    with pytest.raises(ValidationError, match="colour_wait_red_seconds"):
        SupervisorSettings(colour_wait_amber_seconds=60, colour_wait_red_seconds=30)
    with pytest.raises(ValidationError, match="targets"):
        SupervisorSettings(sl_target_per_queue={"support": 1.5})


async def test_when_calls_come_over_the_last_hour_then_the_chart_buckets_agree_with_the_report(
        sup_pool, sup_redis, sup_keys):
    await make_agent(sup_pool, ANNA)
    bus: EventBus[DomainEvent] = EventBus()
    now = NOW + 120  # NOW is on a bucket's edge: now is 2 minutes into the next bucket
    parts = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, bus,
                              clock=lambda: now)
    try:
        # Spread over the hour: one before it (not charted), answered in and out of the
        # threshold, a short and a long abandon, two in the bucket NOW is in.
        await publish(bus, parts.recorder, sorted(
            answered("s0", NOW - 3900, 3, 30, ANNA)
            + answered("s1", NOW - 3000, 5, 30, ANNA)
            + answered("s2", NOW - 2990, 40, 30, ANNA)
            + abandoned("s3", NOW - 1800, 3) + abandoned("s4", NOW - 1790, 30)
            + answered("s5", NOW - 900, 10, 20, ANNA)
            + answered("s6", NOW + 5, 2, 10, ANNA) + abandoned("s7", NOW + 20, 9),
            key=lambda e: e.ts))
        series = parts.metrics.tile("support").last_hour_series
        assert len(series) == 12 and all(p.seconds == 300 for p in series)
        starts = [p.start.timestamp() for p in series]
        assert starts == sorted(starts) and all(s % 300 == 0 for s in starts)
        assert starts[0] >= now - 3600 and starts[-1] <= now < starts[-1] + 300
        assert sum(p.offered for p in series) == 7
        charted = [p for p in series if p.offered]
        assert len(charted) >= 4
        for point in charted:
            end = point.start + dt.timedelta(seconds=point.seconds)
            report = await parts.reports.queues(parts.reports.interval(
                point.start.isoformat(), end.isoformat()))
            f = report.queues[0].figures
            # The report's `to` is inclusive for days, exclusive for datetimes: one bucket.
            assert (point.offered, point.answered, point.abandoned, point.service_level) == (
                f.offered, f.answered, f.abandoned, f.service_level)
        last = series[-1]
        assert (last.offered, last.answered, last.abandoned) == (2, 1, 1)
    finally:
        await stop_parts(parts)


def test_when_the_chart_is_asked_again_then_it_changes_exactly_when_a_bucket_or_the_clock_does():
    """The last hour's series is reused between pushes; a leg added, a bucket expired or the
    clock entering the next bucket must each show in it."""
    from features.supervisor.formulas import Leg
    from features.supervisor.metrics import BUCKET_SECONDS, Window

    def leg(n: int, at: float, outcome: str = "answered") -> Leg:
        return Leg(call_id=f"c{n}", leg=1, queue="q", outcome=outcome, wait=5.0, talk=30.0,
                   entered_at=dt.datetime.fromtimestamp(at, dt.timezone.utc))

    hour = 3600.0
    now = 10 * hour + 10.0  # 10 s into a bucket
    window = Window()
    window.add(leg(1, now - 5), 20, 5)
    first = window.series(now, hour)
    assert [p.offered for p in first][-1] == 1
    again = window.series(now + 1, hour)
    assert again == first and again[-1] is first[-1]  # nothing changed: the point reused
    window.add(leg(2, now - 2, "abandoned"), 20, 5)
    second = window.series(now + 1, hour)
    assert second[-1].offered == 2 and second[-1].abandoned == 1
    later = now + BUCKET_SECONDS  # the next bucket: the chart moves one step
    moved = window.series(later, hour)
    assert moved[-2].offered == 2 and moved[-1].offered == 0
    assert moved[0].start > second[0].start
    window.expire(later + hour, 20, 5)  # an hour on: every leg and bucket gone
    assert sum(p.offered for p in window.series(later + hour, hour)) == 0
