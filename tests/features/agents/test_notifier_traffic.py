"""The notifier under traffic: the PBX's other events never push a ring out of its queue.

Real server, PostgreSQL, Redis and Socket.IO; the events go straight onto the application's bus.
"""
from __future__ import annotations

from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    app_settings, desk_for, desks, make_account, make_agent, serve, settings, simulator,
)
from tests.helpers import until


async def test_when_a_ring_is_followed_by_more_unrelated_events_than_the_bus_keeps_then_the_pop_still_comes(
    serve, pg_pool, make_account, desks
):
    from agent_api.app_keys import BUS
    from state.events import AgentRinging, CallerLeftQueue, CallOffered

    account = await make_account()
    a_id, a_name = await make_agent(pg_pool, "Local/1001@agents/n")
    base, app = await serve()
    a = await desk_for(base, a_name, desks)
    await a.wait_for("state")
    bus = app[BUS]
    call = f"1700000007.{a_id}"
    common = dict(linkedid=call, channel="Local/support@ccs-in-7;2",
                  caller_number=account["phone"], vars={"CCS_ACCOUNT": account["number"]})
    bus.publish(CallOffered(ts=1_700_000_007.0, queue="support", uniqueid=call, position=1,
                            **common))
    bus.publish(AgentRinging(ts=1_700_000_008.0, queue="support",
                             interface="Local/1001@agents/n", **common))
    # More than a bus subscription keeps, all before the notifier gets to run once.
    for n in range(bus._maxsize + 1):
        bus.publish(CallerLeftQueue(ts=1_700_000_008.0, queue="nobody-s-queue",
                                    linkedid=f"1700000008.{n}", channel="Local/x;2"))
    pop = await a.wait_for("screen_pop")
    assert pop["call_id"] == call
    assert pop["card"]["account"]["number"] == account["number"]
    # Let the Redis relay work off the flood first: a server stopped with thousands of events
    # still to relay took minutes to shut down.
    await until(lambda: not any(len(sub) for sub in bus._subs), timeout=60)
