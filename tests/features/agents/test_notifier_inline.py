"""The pop notifier is a callback of the bus: an event reaches its lane inside the tracker's
publish (no queue and no loop turn between), a ring whose card is ready is popped right there,
and a notifier whose lanes are full drops and counts instead of growing without bound."""
from __future__ import annotations

from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    app_settings, desks, make_account, ring, serve, settings, simulator, started_desk,
)
from tests.helpers import until


async def test_when_the_bus_publishes_then_the_event_is_in_its_lane_before_any_await(
    serve, pg_pool, desks
):
    from agent_api.app_keys import BUS
    from features.agents.plugin import NOTIFIER
    from state.events import AgentStateChanged

    agent_id, app, desk = await started_desk(serve, pg_pool, desks, "Local/1007@agents/n",
                                             queue="outages")
    notifier = app[NOTIFIER]
    before = notifier.pending
    app[BUS].publish(AgentStateChanged(ts=1.0, agent_id=agent_id, view={"state": "ready"}))
    assert notifier.pending == before + 1  # taken inline, not left in a bus queue
    got = await desk.wait_for("state", lambda s: s.get("readiness") == {"state": "ready"})
    assert got == {"readiness": {"state": "ready"}}
    assert notifier.pending == 0


async def test_when_the_lanes_are_full_then_new_events_are_dropped_and_counted(
    serve, pg_pool, desks, monkeypatch
):
    from agent_api.app_keys import BUS
    from features.agents import notifier as notifier_module
    from features.agents.plugin import NOTIFIER
    from state.events import AgentStateChanged

    agent_id, app, desk = await started_desk(serve, pg_pool, desks, "Local/1008@agents/n",
                                             queue="outages")
    monkeypatch.setattr(notifier_module, "MAX_PENDING", 2)
    notifier = app[NOTIFIER]
    for n in range(3):  # one publish after another, no await between: the lane holds them
        app[BUS].publish(AgentStateChanged(ts=1.0 + n, agent_id=agent_id, view={"n": n}))
    assert (notifier.pending, notifier.dropped) == (2, 1)
    await desk.wait_for("state", lambda s: s.get("readiness") == {"n": 1})
    assert [s["readiness"] for e, s in desk.events if e == "state"][1:] == [{"n": 0}, {"n": 1}]


async def test_when_the_card_is_ready_then_the_ring_is_popped_inside_the_publish(
    serve, pg_pool, make_account, desks
):
    from agent_api.app_keys import BUS
    from features.agents.plugin import NOTIFIER
    from state.events import AgentRinging, CallStarted

    account = await make_account()
    interface = "Local/1009@agents/n"
    _, app, desk = await started_desk(serve, pg_pool, desks, interface, queue="outages")
    notifier = app[NOTIFIER]
    await until(lambda: notifier._agent_known(interface)[0], timeout=5)  # the map is loaded
    call = "1700000009.77"
    common = dict(linkedid=call, channel="Local/outages@ccs-in-00000009;2",
                  caller_number=account["phone"])
    app[BUS].publish(CallStarted(ts=1_700_000_009.0, **common))
    # The caller is in the IVR: the card by their number is looked up meanwhile.
    await until(lambda: notifier._builder.ready_now(call, account["phone"], {}) is not None,
                timeout=5)
    await until(lambda: notifier.pending == 0, timeout=5)  # the CallStarted's lane is done
    before = notifier.emitted
    app[BUS].publish(AgentRinging(ts=1_700_000_010.0, queue="outages", interface=interface,
                                  **common))
    assert (notifier.emitted, notifier.pending) == (before + 1, 0)  # no await in between
    pop = await desk.wait_for("screen_pop")
    assert pop["call_id"] == call and pop["card"]["account"]["number"] == account["number"]
    assert len(desk.named("screen_pop")) == 1


async def test_when_the_ivr_announces_the_account_then_the_card_is_ready_and_popped_inside_the_publish(
    serve, simulator, pg_pool, make_account, desks
):
    # The simulator's IVR sends UserEvent CcsIdentified halfway, as ours does; QueueCallerJoin
    # (the account in its variables) and AgentCalled come later, together. The caller's number
    # is nobody's: the card can only be the account's, looked up from the UserEvent on.
    from features.agents.plugin import NOTIFIER

    account = await make_account()
    interface = "Local/1005@agents/n"
    _, app, desk = await started_desk(serve, pg_pool, desks, interface, queue="outages")
    notifier = app[NOTIFIER]
    await until(lambda: notifier._agent_known(interface)[0], timeout=5)  # the map is loaded
    before = notifier.emitted_at_once
    ring(simulator, "outages", "+79990000097", account=account["number"], intent="balance",
         patience=3, ivr_vars={"CCS_IVR": "balance", "CCS_IDENTIFIED_BY": "keyed"})
    pop = await desk.wait_for("screen_pop")
    assert pop["card"]["account"]["number"] == account["number"]
    assert pop["ivr"]["identified_by"] == "keyed"
    assert notifier.emitted_at_once == before + 1
