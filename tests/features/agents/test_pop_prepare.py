"""The card is ready before any agent rings: looked up by the caller's number when the call
starts, again by account when the IVR names one; the pop's Redis bookkeeping in one round trip.
Real server, PostgreSQL, Redis and Socket.IO; the tracker's events go straight onto the bus."""
from __future__ import annotations

import datetime as dt

from features.agents.pop_schemas import Pop
from features.agents.pops import PopStore
from state.cards import CardCache
from state.redis_keys import RedisKeys
from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    app_settings, desk_for, desks, make_account, make_agent, serve, settings, simulator,
)
from tests.helpers import until


async def test_when_a_call_starts_then_the_card_by_the_caller_s_number_is_looked_up_at_once(
    serve, make_account
):
    from agent_api.app_keys import BUS, REDIS, REDIS_KEYS
    from state.events import CallStarted

    account = await make_account()
    _, app = await serve()
    key = app[REDIS_KEYS].card(account["number"])
    assert await app[REDIS].exists(key) == 0
    # Only CallStarted: the caller is still in the IVR, no queue yet.
    app[BUS].publish(CallStarted(ts=1_700_000_011.0, linkedid="1700000011.1",
                                 channel="PJSIP/trunk-1", caller_number=account["phone"]))
    await until(lambda: app[REDIS].exists(key), timeout=5)


async def test_when_the_ivr_names_an_account_after_the_lookup_by_number_then_the_pop_shows_it(
    serve, pg_pool, make_account, desks
):
    from agent_api.app_keys import BUS, REDIS, REDIS_KEYS
    from state.events import AgentRinging, CallOffered, CallStarted

    first = await make_account()
    second = await make_account()
    phone_id = await pg_pool.fetchval("SELECT id FROM phones WHERE e164 = $1", first["phone"])
    await pg_pool.execute("INSERT INTO account_phones (phone_id, account_id) VALUES ($1, $2)",
                          phone_id, second["id"])
    a_id, a_name = await make_agent(pg_pool, "Local/1001@agents/n")
    base, app = await serve()
    a = await desk_for(base, a_name, desks)
    await a.wait_for("state")
    call = f"1700000012.{a_id}"
    app[BUS].publish(CallStarted(ts=1_700_000_012.0, linkedid=call, channel="PJSIP/trunk-2",
                                 caller_number=first["phone"]))
    # The lookup by number is done (both cards cached) before the IVR names the account.
    for number in (first["number"], second["number"]):
        await until(lambda n=number: app[REDIS].exists(app[REDIS_KEYS].card(n)), timeout=5)
    common = dict(linkedid=call, channel="Local/support@ccs-in-12;2",
                  caller_number=first["phone"], vars={"CCS_ACCOUNT": second["number"]})
    app[BUS].publish(CallOffered(ts=1_700_000_013.0, queue="support", uniqueid=call, position=1,
                                 **common))
    app[BUS].publish(AgentRinging(ts=1_700_000_013.1, queue="support",
                                  interface="Local/1001@agents/n", **common))
    pop = await a.wait_for("screen_pop")
    assert pop["card"]["account"]["number"] == second["number"]
    assert pop["candidates"] == []


def _pop(call_id: str, status: str) -> Pop:
    now = dt.datetime.now(dt.timezone.utc)
    return Pop(call_id=call_id, queue="support", caller_number="+79990000001", status=status,
               ringing_at=now, answered_at=now if status != "ringing" else None,
               ended_at=now if status == "ended" else None)


async def test_when_a_new_pop_rings_then_it_is_stored_and_the_agent_s_ended_pops_dropped(
    redis_client
):
    store = PopStore(redis_client, RedisKeys("poptest"))
    await store.put(7, _pop("call-ended", "ended"))
    await store.set_disposition(7, "call-ended", "resolved")
    await store.put(7, _pop("call-answered", "answered"))
    await store.ring(7, "call-new", _pop("call-new", "ringing").model_dump_json())
    await store.written()
    assert [p.call_id for p in await store.pops_of(7)] == ["call-answered", "call-new"]
    assert await store.agents_of("call-ended") == {}
    assert await store.agents_of("call-new") == {7: "ringing"}
    # the ended pop's disposition went with it
    assert sorted(await redis_client.hkeys(RedisKeys("poptest").agent_pops(7))) == [
        "call-answered", "call-new"]


async def test_when_writes_are_queued_together_then_they_land_in_order_and_answers_come_back(
    redis_client
):
    store = PopStore(redis_client, RedisKeys("poptest"))
    answered = _pop("call-1", "answered")
    await store.set_disposition(8, "call-1", "x")  # no pop yet: nothing recorded
    ringing = store.ring(8, "call-1", _pop("call-1", "ringing").model_dump_json())
    store.put_json(8, "call-1", "answered", answered.model_dump_json())
    ended = store.put_ended(8, "call-1", _pop("call-1", "ended").model_dump_json())
    assert not ringing.done()  # queued: nothing waited for Redis yet
    assert await ended is None  # the disposition, read in the same round trip
    assert (await store.get(8, "call-1")).status == "ended"
    assert await store.agents_of("call-1") == {8: "ended"}
    assert await store.set_disposition(8, "call-1", "resolved") is not None
    ended = store.put_ended(8, "call-1", _pop("call-1", "ended").model_dump_json())
    assert await ended == "resolved"
    store.forget(8, "call-1")
    await store.written()
    assert await store.pops_of(8) == [] and await store.agents_of("call-1") == {}
    await redis_client.script_flush()  # as after a Redis restart: the ring script is gone
    await store.ring(8, "call-2", _pop("call-2", "ringing").model_dump_json())
    assert await store.agents_of("call-2") == {8: "ringing"}


async def test_when_a_card_is_read_with_write_behind_then_it_is_returned_and_cached_after(
    pg_pool, redis_client, make_account
):
    account = await make_account()
    cache = CardCache(redis_client, 60, keys=RedisKeys("writebehind"))
    card = await cache.card_by_account(pg_pool, account["number"], write_behind=True)
    assert card is not None and card.account.number == account["number"]
    await cache.flushed()
    assert await cache.get(account["number"]) == card
