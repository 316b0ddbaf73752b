"""The whole path over real sockets: a simulated inbound call (PBX simulator over AMI) -> the
tracker -> the notifier -> Socket.IO -> the right agent's python-socketio client, and no other.

Queue ``support`` rings all (recorded_config): 1001 answers after 2 PBX seconds, 1002 never
does. ``outages``: nobody answers. Agent C (1003, queue billing) must hear nothing.
"""
from __future__ import annotations

from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    app_settings, desk_for, desks, login, make_account, make_agent, ring, serve, settings,
    simulator, started_desk,
)
from tests.helpers import until


async def test_when_a_known_caller_rings_a_ringall_queue_then_each_ringing_agent_gets_the_card_and_others_close_on_answer(
    serve, simulator, pg_pool, make_account, desks
):
    account = await make_account()
    a_id, a_name = await make_agent(pg_pool, "Local/1001@agents/n")
    b_id, b_name = await make_agent(pg_pool, "Local/1002@agents/n")
    c_id, c_name = await make_agent(pg_pool, "Local/1003@agents/n", queue="billing")
    server, _ = await serve()
    a, b, c = [await desk_for(server, n, desks) for n in (a_name, b_name, c_name)]
    for desk, agent_id in ((a, a_id), (b, b_id), (c, c_id)):
        state = await desk.wait_for("state")
        assert state["agent"]["id"] == agent_id and state["pops"] == []

    ring(simulator, "support", account["phone"], account=account["number"], patience=6)

    pop_a = await a.wait_for("screen_pop")
    pop_b = await b.wait_for("screen_pop")
    for pop in (pop_a, pop_b):
        assert pop["status"] == "ringing" and pop["queue"] == "support"
        assert pop["card"]["account"]["number"] == account["number"]
        assert pop["candidates"] == [] and pop["ivr"]["account"] == account["number"]
    assert pop_a["call_id"] == pop_b["call_id"]

    answered = await a.wait_for("pop_update", lambda p: p["status"] == "answered")
    assert answered["call_id"] == pop_a["call_id"] and answered["answered_at"]
    assert sorted(answered) == ["answered_at", "call_id", "status"]  # the card is not resent
    closed = await b.wait_for("pop_closed")
    assert closed == {"call_id": pop_a["call_id"], "reason": "answered_elsewhere"}

    ended = await a.wait_for("pop_update", lambda p: p["status"] == "ended")  # caller hangs up
    assert ended["ended_at"]
    assert sorted(ended) == ["call_id", "disposition", "ended_at", "status"]
    assert [e for e, _ in c.events] == ["state"]  # nothing addressed to others reached C
    assert len(a.named("screen_pop")) == 1 and len(b.named("screen_pop")) == 1
    assert b.named("pop_update") == []

    # A reconnecting browser gets the open (ended, in wrap-up) pop in its state at connect.
    again = await desk_for(server, a_name, desks)
    state = await again.wait_for("state")
    assert [p["call_id"] for p in state["pops"]] == [pop_a["call_id"]]
    # the answer recorded the call as A's, with the account of the card shown
    row = await pg_pool.fetchrow(
        "SELECT agent_id, account_id FROM interactions"
        " WHERE call_id = $1 AND direction = 'inbound'", pop_a["call_id"])
    assert dict(row) == {"agent_id": a_id, "account_id": account["id"]}


async def test_when_the_caller_hangs_up_while_ringing_then_the_pop_closes_caller_hung_up(
    serve, simulator, pg_pool, make_account, desks
):
    account = await make_account()
    _, name = await make_agent(pg_pool, "Local/1005@agents/n", queue="outages")
    server, _ = await serve()
    d = await desk_for(server, name, desks)
    await d.wait_for("state")
    ring(simulator, "outages", account["phone"], patience=3)  # nobody answers in outages
    pop = await d.wait_for("screen_pop")
    assert pop["card"]["account"]["number"] == account["number"]  # found by the caller's number
    assert pop["ivr"] is None
    closed = await d.wait_for("pop_closed", timeout=10)
    assert closed == {"call_id": pop["call_id"], "reason": "caller_hung_up"}


async def test_when_the_number_is_unknown_then_the_pop_has_no_card_and_no_candidates(
    serve, simulator, pg_pool, desks
):
    _, name = await make_agent(pg_pool, "Local/1006@agents/n", queue="outages")
    server, _ = await serve()
    d = await desk_for(server, name, desks)
    await d.wait_for("state")
    ring(simulator, "outages", "+79990000000", patience=2)
    pop = await d.wait_for("screen_pop")
    assert pop["card"] is None and pop["candidates"] == []


async def test_when_one_number_has_several_accounts_then_the_pop_offers_the_choice(
    serve, simulator, pg_pool, make_account, desks
):
    first = await make_account()
    second = await make_account()
    phone_id = await pg_pool.fetchval("SELECT id FROM phones WHERE e164 = $1", first["phone"])
    await pg_pool.execute("INSERT INTO account_phones (phone_id, account_id) VALUES ($1, $2)",
                          phone_id, second["id"])
    _, name = await make_agent(pg_pool, "Local/1005@agents/n", queue="outages")
    server, _ = await serve()
    d = await desk_for(server, name, desks)
    await d.wait_for("state")
    ring(simulator, "outages", first["phone"], patience=2)
    pop = await d.wait_for("screen_pop")
    assert pop["card"] is None
    assert sorted(c["account"] for c in pop["candidates"]) == sorted(
        [first["number"], second["number"]])


async def test_when_a_call_is_transferred_then_the_next_agent_pops_with_transferred_from(
    serve, pg_pool, desks
):
    """The tracker's events of a redirect into another queue, put on the server's event bus
    (the simulator models only the hang-up half of a Redirect)."""
    from agent_api.app_keys import BUS
    from state.events import AgentRinging, CallAnswered, CallOffered, CallTransferred

    a_id, a_name = await make_agent(pg_pool, "Local/1001@agents/n")
    _, c_name = await make_agent(pg_pool, "Local/1003@agents/n", queue="billing")
    base, app = await serve()
    a, c = await desk_for(base, a_name, desks), await desk_for(base, c_name, desks)
    await a.wait_for("state")
    await c.wait_for("state")
    full_name = await pg_pool.fetchval("SELECT full_name FROM agents WHERE id = $1", a_id)
    bus, call, ts = app[BUS], "1700000000.101", 1_700_000_000.0
    common = dict(linkedid=call, channel="Local/support@ccs-in-1;2", caller_number="+79990000001")
    bus.publish(CallOffered(ts=ts, queue="support", uniqueid=call, position=1, **common))
    bus.publish(AgentRinging(ts=ts + 1, queue="support", interface="Local/1001@agents/n", **common))
    bus.publish(CallAnswered(ts=ts + 2, queue="support", interface="Local/1001@agents/n",
                             linkedid=call, channel=common["channel"], hold_time=2, ring_time=1))
    await a.wait_for("pop_update", lambda p: p["status"] == "answered")
    bus.publish(CallTransferred(ts=ts + 30, linkedid=call, how="redirect", from_queue="support",
                                from_interface="Local/1001@agents/n", target="billing"))
    bus.publish(CallOffered(ts=ts + 30, queue="billing", uniqueid=call, position=1, **common))
    bus.publish(AgentRinging(ts=ts + 31, queue="billing", interface="Local/1003@agents/n", **common))
    ended = await a.wait_for("pop_update", lambda p: p["status"] == "ended")
    assert ended["call_id"] == call
    pop = await c.wait_for("screen_pop")
    assert pop["call_id"] == call and pop["transferred_from"] == full_name
    assert pop["queue"] == "billing"


async def test_when_the_agent_sets_the_disposition_in_wrap_up_then_their_pop_shows_it(
    serve, pg_pool, desks
):
    import aiohttp

    from agent_api.app_keys import BUS
    from state.events import AgentCompleted, AgentRinging, CallAnswered, CallOffered

    a_id, a_name = await make_agent(pg_pool, "Local/1001@agents/n")
    base, app = await serve()
    a = await desk_for(base, a_name, desks)
    await a.wait_for("state")
    bus, call, ts = app[BUS], f"1700000001.{a_id}", 1_700_000_001.0
    common = dict(linkedid=call, channel="Local/support@ccs-in-2;2", caller_number="+79990000002")
    bus.publish(CallOffered(ts=ts, queue="support", uniqueid=call, position=1, **common))
    bus.publish(AgentRinging(ts=ts + 1, queue="support", interface="Local/1001@agents/n", **common))
    bus.publish(CallAnswered(ts=ts + 2, queue="support", interface="Local/1001@agents/n",
                             linkedid=call, channel=common["channel"], hold_time=2, ring_time=1))
    bus.publish(AgentCompleted(ts=ts + 9, queue="support", interface="Local/1001@agents/n",
                               linkedid=call, reason="caller", hold_time=2, talk_time=7))
    await a.wait_for("pop_update", lambda p: p["status"] == "ended")
    async with aiohttp.ClientSession() as http:
        token = await login(http, base, a_name)
        async with http.put(f"{base}/api/calls/{call}/disposition",
                            json={"disposition": "resolved"},
                            headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 200, await response.text()
    update = await a.wait_for("pop_update", lambda p: p.get("disposition") == "resolved")
    assert update["call_id"] == call and update["status"] == "ended"
    again = await desk_for(base, a_name, desks)
    assert (await again.wait_for("state"))["pops"][0]["disposition"] == "resolved"


async def test_when_a_phone_moves_to_another_agent_after_start_then_the_new_agent_gets_the_pop(
    serve, simulator, pg_pool, desks
):
    _, old_name = await make_agent(pg_pool, "Local/1006@agents/n", queue="outages")
    server, _ = await serve()
    old = await desk_for(server, old_name, desks)
    _, new_name = await make_agent(pg_pool, "Local/1006@agents/n", queue="outages")  # takes it
    new = await desk_for(server, new_name, desks)
    await old.wait_for("state")
    await new.wait_for("state")
    ring(simulator, "outages", "+79990000003", patience=2)
    await new.wait_for("screen_pop")
    assert old.named("screen_pop") == []


async def test_when_the_ivr_recorded_the_call_then_the_pop_says_what_the_caller_did(
    serve, pg_pool, make_account, desks
):
    import json

    from agent_api.app_keys import BUS
    from state.events import AgentRinging, CallOffered

    account = await make_account()
    a_id, a_name = await make_agent(pg_pool, "Local/1001@agents/n")
    base, app = await serve()
    a = await desk_for(base, a_name, desks)
    await a.wait_for("state")
    call = f"1700000002.{a_id}"
    ivr = {"identified_by": "spoken", "intent": "readings", "summary": "readings:2;balance",
           "readings_accepted": 2, "balance_heard": True, "outage_heard": False}
    await pg_pool.execute(
        """INSERT INTO interactions (call_id, direction, phone, started_at, ivr_context)
           VALUES ($1, 'inbound', $2, now(), $3::text::jsonb)""",
        call, account["phone"], json.dumps({"ivr": ivr}))
    common = dict(linkedid=call, channel="Local/support@ccs-in-3;2",
                  caller_number=account["phone"],
                  vars={"CCS_ACCOUNT": account["number"], "CCS_INTENT": "readings"})
    app[BUS].publish(CallOffered(ts=1_700_000_002.0, queue="support", uniqueid=call, position=1,
                                 **common))
    app[BUS].publish(AgentRinging(ts=1_700_000_003.0, queue="support",
                                  interface="Local/1001@agents/n", **common))
    pop = await a.wait_for("screen_pop")
    assert pop["ivr"] == {"identified_by": "spoken", "account": account["number"],
                          "intent": "readings", "readings": 2, "balance_heard": True,
                          "outage_heard": False, "summary": "readings:2;balance"}
    assert pop["card"]["account"]["number"] == account["number"]


async def test_when_the_ivr_says_what_the_caller_did_in_its_variables_then_the_pop_shows_it_without_its_record(
    serve, simulator, pg_pool, make_account, desks
):
    # Our IVR sets CCS_IVR and CCS_IDENTIFIED_BY with the account (ivr/flows/transfer.py): how
    # the caller was identified comes from them (no interactions row is written here).
    account = await make_account()
    _, _, d = await started_desk(serve, pg_pool, desks, "Local/1005@agents/n", queue="outages")
    ring(simulator, "outages", "+79990000031", account=account["number"], intent="readings",
         patience=3, ivr_vars={"CCS_IVR": "readings:2;balance", "CCS_IDENTIFIED_BY": "spoken"})
    pop = await d.wait_for("screen_pop")
    assert pop["ivr"] == {"identified_by": "spoken", "account": account["number"],
                          "intent": "readings", "readings": 2, "balance_heard": True,
                          "outage_heard": False, "summary": "readings:2;balance"}
    assert pop["card"]["account"]["number"] == account["number"]


async def test_when_the_main_database_pool_is_taken_then_the_pop_still_brings_the_card(
    serve, simulator, pg_pool, make_account, desks
):
    # A busy hour's answers, wrap-ups and reports may hold every connection of the main pool:
    # the pop's card lookups have a pool of their own (PG_POP_POOL).
    from agent_api.app_keys import PG_POOL

    account = await make_account()
    _, app, d = await started_desk(serve, pg_pool, desks, "Local/1005@agents/n", queue="outages")
    main = app[PG_POOL]
    held = []
    try:
        while True:  # every connection the server's own listeners do not hold already
            try:
                held.append(await main.acquire(timeout=0.5))
            except TimeoutError:
                break
        assert main.get_size() == main.get_max_size()
        ring(simulator, "outages", account["phone"], patience=3)
        pop = await d.wait_for("screen_pop", timeout=4)  # the main pool would wait 5 s for one
        assert pop["card"]["account"]["number"] == account["number"]
    finally:
        for conn in held:
            await main.release(conn)


async def test_when_nobody_answers_within_the_ring_timeout_then_the_pop_closes_not_answered_and_pops_again(
    serve, simulator, pg_pool, desks
):
    _, name = await make_agent(pg_pool, "Local/1005@agents/n", queue="outages")
    server, _ = await serve()
    d = await desk_for(server, name, desks)
    await d.wait_for("state")
    ring(simulator, "outages", "+79990000004", patience=25)  # outages rings 15 s, retries after 2
    first = await d.wait_for("screen_pop")
    closed = await d.wait_for("pop_closed", timeout=10)
    assert closed == {"call_id": first["call_id"], "reason": "not_answered"}
    await until(lambda: len(d.named("screen_pop")) == 2, timeout=10)  # the retry rings again


async def test_when_the_caller_joins_the_queue_then_the_card_is_cached_before_any_agent_rings(
    serve, pg_pool, make_account
):
    from agent_api.app_keys import BUS, REDIS, REDIS_KEYS
    from state.events import CallOffered

    account = await make_account()
    _, app = await serve()
    key = app[REDIS_KEYS].card(account["number"])
    assert await app[REDIS].exists(key) == 0
    app[BUS].publish(CallOffered(
        ts=1_700_000_005.0, queue="support", linkedid="1700000005.1", channel="Local/x;2",
        uniqueid="1700000005.1", position=1, caller_number=account["phone"],
        vars={"CCS_ACCOUNT": account["number"]}))
    await until(lambda: app[REDIS].exists(key), timeout=5)


async def test_when_a_caller_known_by_number_is_answered_then_the_call_is_the_card_accounts(
    serve, simulator, pg_pool, make_account, desks
):
    # No account from an IVR: the card found by the number is what ties the call to an account
    # (the pop keeps that card as JSON only, features/agents/pops.py CallFacts.kept).
    account = await make_account()
    agent_id, _, d = await started_desk(serve, pg_pool, desks, "Local/1001@agents/n")
    ring(simulator, "support", account["phone"], patience=30)
    answered = await d.wait_for("pop_update", lambda p: p["status"] == "answered")
    row = await until(lambda: pg_pool.fetchrow(
        "SELECT agent_id, account_id FROM interactions"
        " WHERE call_id = $1 AND direction = 'inbound'", answered["call_id"]), timeout=5)
    assert dict(row) == {"agent_id": agent_id, "account_id": account["id"]}
