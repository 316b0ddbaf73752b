"""The readiness log in PostgreSQL and its one query: time in each state per agent per day."""
from __future__ import annotations

import asyncio
import datetime as dt

from features.agents.state_log import StateLog, TimeInState

from .readiness_stack import agents_db, agents_dsn, make_agent  # noqa: F401 (fixtures)

UTC = dt.timezone.utc


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


async def test_when_states_change_over_two_days_then_time_in_state_per_day_adds_up(agents_db):
    log = StateLog(agents_db)
    anna = await make_agent(agents_db, "Local/2001@agents/n", [])
    boris = await make_agent(agents_db, "Local/2002@agents/n", [])
    await log.record(anna, "ready", None, at(1, 9))
    await log.record(anna, "not_ready", "lunch", at(1, 13))
    await log.record(anna, "ready", None, at(1, 14))
    await log.record(anna, "logged_out", None, at(2, 2))  # a ready stretch across midnight
    await log.record(boris, "ready", None, at(1, 10))
    await log.record(boris, "ready", None, at(1, 11))  # no change: no new stretch
    await log.record(boris, "logged_out", None, at(1, 12))
    # A day in Moscow (UTC+3) is not a day in UTC.
    day_one = await log.time_in_states(dt.date(2026, 3, 1))
    assert day_one == [
        TimeInState(anna, "not_ready", "lunch", 3600.0),
        TimeInState(anna, "ready", "", 4 * 3600.0 + 10 * 3600.0),
        TimeInState(boris, "logged_out", "", 12 * 3600.0),
        TimeInState(boris, "ready", "", 2 * 3600.0),
    ]
    day_two_anna = await log.time_in_states(dt.date(2026, 3, 2), agent_id=anna)
    assert day_two_anna[1] == TimeInState(anna, "ready", "", 2 * 3600.0)
    assert day_two_anna[0].state == "logged_out" and day_two_anna[0].seconds > 20 * 3600
    moscow = await log.time_in_states(dt.date(2026, 3, 1), tz="Europe/Moscow", agent_id=boris)
    assert moscow == [TimeInState(boris, "logged_out", "", 9 * 3600.0),
                      TimeInState(boris, "ready", "", 2 * 3600.0)]
    assert [(s, r) for s, r, _a, _b in await log.history(boris)] == [("ready", ""),
                                                                    ("logged_out", "")]


async def test_when_a_change_is_stamped_before_the_open_stretch_then_the_log_stays_ordered(
        agents_db):
    """The projector stamps changes with the server's clock; a stretch opened later by a clock
    of its own must not be closed before it began, and a repeat opens nothing."""
    log = StateLog(agents_db)
    vera = await make_agent(agents_db, "Local/2003@agents/n", [])
    assert await log.record(vera, "ready", None, at(1, 10))
    assert not await log.record(vera, "ready", None, at(1, 10, 5))
    assert await log.record(vera, "not_ready", "lunch", at(1, 9))  # earlier than the open one
    assert not await log.record(vera, "not_ready", "lunch", at(1, 11))
    assert await log.record(vera, "not_ready", "training", at(1, 12))
    assert await log.history(vera) == [
        ("ready", "", at(1, 10), at(1, 10)),
        ("not_ready", "lunch", at(1, 10), at(1, 12)),
        ("not_ready", "training", at(1, 12), None),
    ]


async def test_when_changes_are_submitted_behind_then_they_land_in_order_in_few_round_trips(
        agents_db):
    """The projector's write-behind: the rows are those of recording one by one (repeats open
    nothing, each stretch closed where the next begins), in fewer batches than changes."""
    log = StateLog(agents_db)
    gleb = await make_agent(agents_db, "Local/2004@agents/n", [])
    dina = await make_agent(agents_db, "Local/2005@agents/n", [])
    for n in range(30):
        log.submit(gleb, "ready" if n % 2 else "not_ready", None if n % 2 else "lunch",
                   at(1, 9, n))
        log.submit(dina, "ready", None, at(1, 9, n))  # one stretch: repeats open nothing
    await log.flushed()
    assert log.pending == 0 and 1 <= log.batches < 30
    history = await log.history(gleb)
    assert [(s, r) for s, r, _a, _b in history] == [
        ("not_ready", "lunch") if n % 2 == 0 else ("ready", "") for n in range(30)]
    assert all(a[3] == b[2] for a, b in zip(history, history[1:]))
    assert await log.history(dina) == [("ready", "", at(1, 9, 0), None)]


async def test_when_postgresql_refuses_the_write_then_the_changes_are_kept_and_written_later(
        agents_db):
    log = StateLog(agents_db, retry_seconds=0.05)
    zoya = await make_agent(agents_db, "Local/2006@agents/n", [])
    await agents_db.execute("ALTER TABLE agent_state_log RENAME TO agent_state_log_away")
    try:
        log.submit(zoya, "ready", None, at(1, 9))
        log.submit(zoya, "not_ready", "lunch", at(1, 10))
        for _ in range(200):
            if log.failures >= 2:
                break
            await asyncio.sleep(0.01)
        assert log.failures >= 2 and log.pending == 2  # refused twice, nothing dropped
        log.submit(zoya, "ready", None, at(1, 11))  # arrives meanwhile: kept after the others
    finally:
        await agents_db.execute("ALTER TABLE agent_state_log_away RENAME TO agent_state_log")
    await log.flushed()
    assert [(s, r, a) for s, r, a, _e in await log.history(zoya)] == [
        ("ready", "", at(1, 9)), ("not_ready", "lunch", at(1, 10)), ("ready", "", at(1, 11))]


async def test_when_the_log_is_paused_while_postgresql_refuses_then_nothing_is_written_until_the_next_submit(
        agents_db):
    """A leader that stops (its lease lost) must not write its old changes later over the new
    leader's; if it leads again they go first."""
    log = StateLog(agents_db, retry_seconds=0.05)
    lev = await make_agent(agents_db, "Local/2007@agents/n", [])
    await agents_db.execute("ALTER TABLE agent_state_log RENAME TO agent_state_log_away")
    try:
        log.submit(lev, "ready", None, at(1, 9))
        for _ in range(200):
            if log.failures:
                break
            await asyncio.sleep(0.01)
        await log.pause()
    finally:
        await agents_db.execute("ALTER TABLE agent_state_log_away RENAME TO agent_state_log")
    await asyncio.sleep(0.2)
    assert await log.history(lev) == [] and log.pending == 1
    log.submit(lev, "not_ready", "lunch", at(1, 10))
    await log.flushed()
    assert [(s, r, a) for s, r, a, _e in await log.history(lev)] == [
        ("ready", "", at(1, 9)), ("not_ready", "lunch", at(1, 10))]
