"""A queue's service level threshold is its ``queues`` row (``service_level_seconds``), on the
live board and in the SQL report alike; ``CCS_SUPERVISOR__SL_THRESHOLD`` only for a queue that
has no row."""
from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from cti.bus import EventBus
from features.supervisor.reports import Reports
from features.supervisor.settings import SupervisorSettings
from state.events import DomainEvent
from tests.features.supervisor.conftest import MOSCOW, build_parts, make_agent, stop_parts
from tests.features.supervisor.test_records import ANNA, NOW, SETTINGS, T0, answered, publish

DAY = dt.datetime.fromtimestamp(T0, MOSCOW).date().isoformat()


async def test_when_a_queue_has_30_s_in_its_row_then_a_25_s_answer_is_in_service_level_there_only(
        sup_pool, sup_redis, sup_keys):
    await make_agent(sup_pool, ANNA)  # queue "support": a row with the column's default, 20 s
    await sup_pool.execute("INSERT INTO queues (name, title, service_level_seconds) "
                           "VALUES ('billing', 'Расчёты', 30)")
    # "walk-in" has no row: the settings' threshold (20 s) is its.
    bus: EventBus[DomainEvent] = EventBus()
    parts = await build_parts(sup_pool, sup_redis, sup_keys, SETTINGS, bus, clock=lambda: NOW)
    try:
        await publish(bus, parts.recorder, sorted(
            answered("t1", T0, 25, 60, ANNA, queue="billing")
            + answered("t2", T0 + 300, 25, 60, ANNA, queue="support")
            + answered("t3", T0 + 600, 25, 60, ANNA, queue="walk-in"), key=lambda e: e.ts))
        tiles = {t.name: t for t in parts.metrics.board().queues}
        assert {name: (t.sl_threshold, t.today.answered_in_threshold, t.today.service_level)
                for name, t in tiles.items()} == {
            "billing": (30, 1, 1.0), "support": (20, 0, 0.0), "walk-in": (20, 0, 0.0)}
        assert tiles["billing"].colours.wait_amber == 30.0  # the tile's colours follow it

        report = await parts.reports.queues(parts.reports.interval(DAY, DAY))
        figures = {q.queue: q.figures for q in report.queues}
        assert {q: (f.answered, f.answered_in_threshold) for q, f in figures.items()} == {
            "billing": (1, 1), "support": (1, 0), "walk-in": (1, 0)}
        assert figures["billing"] == tiles["billing"].today  # live == report, by the same row

        # The settings' value counts only where there is no row: 26 s takes in walk-in's call,
        # not support's (its row says 20).
        lenient = Reports(sup_pool, SETTINGS.model_copy(update={"sl_threshold": 26}))
        report = await lenient.queues(lenient.interval(DAY, DAY))
        assert {q.queue: q.figures.answered_in_threshold for q in report.queues} == {
            "billing": 1, "support": 0, "walk-in": 1}

        # A changed row reaches the board when the metrics start again (as a new leader
        # does): today's figures are refolded with it, and agree with the report again.
        await sup_pool.execute("UPDATE queues SET service_level_seconds = 20 "
                               "WHERE name = 'billing'")
        await parts.metrics.stop()
        await parts.metrics.start()
        billing = parts.metrics.tile("billing")
        assert (billing.sl_threshold, billing.today.answered, billing.today.answered_in_threshold
                ) == (20, 1, 0)
        report = await parts.reports.queues(parts.reports.interval(DAY, DAY))
        assert next(q.figures for q in report.queues if q.queue == "billing") == billing.today
    finally:
        await stop_parts(parts)


def test_when_thresholds_per_queue_are_still_configured_then_the_settings_say_where_they_went():
    with pytest.raises(ValidationError, match="queues.service_level_seconds"):
        SupervisorSettings(sl_threshold_per_queue={"billing": 30})
