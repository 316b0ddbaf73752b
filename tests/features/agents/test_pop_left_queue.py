"""A caller who leaves the queue alive (Queue()'s timeout, a Redirect) closes the pops ringing
for them at once: the call goes on in the dialplan (voicemail, a survey, another queue), so its
CallEnded may come much later. Real server, PostgreSQL, Redis, Socket.IO and the PBX simulator
over AMI. Queue ``outages`` (recorded_config) rings all and nobody answers.
"""
from __future__ import annotations

from cti.simulator.originate import inbound_call
from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    app_settings, desk_for, desks, make_account, make_agent, serve, settings, simulator,
)


async def test_when_the_queue_times_out_while_ringing_then_the_pop_closes_queue_timeout_before_the_call_ends(
    serve, simulator, pg_pool, make_account, desks
):
    account = await make_account()
    _, name = await make_agent(pg_pool, "Local/1005@agents/n", queue="outages")
    server, _ = await serve()
    d = await desk_for(server, name, desks)
    await d.wait_for("state")
    # PBX seconds (x0.05 real): Queue() gives up at 10 s, below the 15 s ring timeout; the
    # caller then stays in the dialplan until 200 s, well after the pop must be gone.
    call = simulator.spawn(inbound_call(simulator.pbx, "outages", account["phone"], "Caller",
                                        patience=200, qtimeout=10))
    pop = await d.wait_for("screen_pop")
    closed = await d.wait_for("pop_closed", timeout=5)
    assert closed == {"call_id": pop["call_id"], "reason": "queue_timeout"}
    assert not call.done()  # the caller is still on the line: not closed by the hang-up


async def test_when_a_ringing_caller_is_redirected_away_then_the_pop_closes_moved_elsewhere(
    serve, simulator, pg_pool, make_account, desks
):
    from agent_api.app_keys import CTI

    account = await make_account()
    _, name = await make_agent(pg_pool, "Local/1006@agents/n", queue="outages")
    server, app = await serve()
    d = await desk_for(server, name, desks)
    await d.wait_for("state")
    simulator.spawn(inbound_call(simulator.pbx, "outages", account["phone"], "Caller",
                                 patience=200))
    pop = await d.wait_for("screen_pop")
    caller = next(n for n in simulator.pbx.factory.channels
                  if n.startswith("Local/outages@ccs-in-") and n.endswith(";2"))
    await app[CTI].actions.redirect(caller, "ccs-xfer", "survey")
    closed = await d.wait_for("pop_closed", timeout=5)
    assert closed == {"call_id": pop["call_id"], "reason": "moved_elsewhere"}
    assert d.named("pop_update") == []


async def test_when_the_caller_leaves_the_queue_after_the_answer_then_the_answered_pop_stays(
    serve, pg_pool, desks
):
    """The tracker's events put straight on the server's bus: a (late) CallerLeftQueue of a
    timeout must not close the pop of an agent who took the call."""
    from agent_api.app_keys import BUS
    from state.events import (
        AgentCompleted, AgentRinging, CallAnswered, CallerLeftQueue, CallOffered,
    )

    _, name = await make_agent(pg_pool, "Local/1001@agents/n")
    base, app = await serve()
    a = await desk_for(base, name, desks)
    await a.wait_for("state")
    bus, call, ts = app[BUS], "1700000000.301", 1_700_000_000.0
    common = dict(linkedid=call, channel="Local/support@ccs-in-3;2", caller_number="+79990000003")
    bus.publish(CallOffered(ts=ts, queue="support", uniqueid=call, position=1, **common))
    bus.publish(AgentRinging(ts=ts + 1, queue="support", interface="Local/1001@agents/n",
                             **common))
    bus.publish(CallAnswered(ts=ts + 2, queue="support", interface="Local/1001@agents/n",
                             linkedid=call, channel=common["channel"], hold_time=2, ring_time=1))
    await a.wait_for("pop_update", lambda p: p["status"] == "answered")
    bus.publish(CallerLeftQueue(ts=ts + 2, queue="support", linkedid=call,
                                channel=common["channel"], reason="timeout"))
    # The same call's next event: its lane handles it after the CallerLeftQueue.
    bus.publish(AgentCompleted(ts=ts + 9, queue="support", interface="Local/1001@agents/n",
                               linkedid=call, reason="caller", hold_time=2, talk_time=7))
    ended = await a.wait_for("pop_update", lambda p: p["status"] == "ended")
    assert ended["call_id"] == call
    assert a.named("pop_closed") == []
