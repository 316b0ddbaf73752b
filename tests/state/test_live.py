import asyncio
import contextlib
import datetime as dt

import pytest
import redis.asyncio as aioredis

from state.redis_keys import RedisKeys
from state.live import LiveState
from state.models import AgentReadiness
from state.settings import RedisSettings
from tests.helpers import until


@pytest.fixture
def live(redis_client) -> LiveState:
    return LiveState(redis_client, RedisKeys("livetest"), call_ttl=600)


@pytest.fixture
async def other_client(redis_server):
    """A second, independent connection pool: another server process, as far as Redis sees."""
    client = aioredis.from_url(redis_server.url)  # bytes on purpose: both modes must work
    yield client
    await client.aclose()


def test_when_keys_come_from_settings_then_every_name_carries_the_prefix():
    keys = RedisKeys.from_settings(RedisSettings(key_prefix="tenant1"))
    names = [keys.agent_state(7), keys.agents(), keys.queue("support"), keys.queues(),
             keys.call("1700000000.1"), keys.card("1234567890"), keys.lock("pacer"),
             keys.events(), keys.agent_events(7), keys.queue_events("support")]
    assert all(n.startswith("tenant1:") for n in names)
    assert keys.agent_state(7) == "tenant1:agent:7:state"
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("prefix", ["", "a:b", "a b", "x*"])
def test_when_prefix_is_unsafe_then_keys_refuse_it(prefix):
    with pytest.raises(ValueError):
        RedisKeys(prefix)


async def test_when_agent_state_is_set_then_it_reads_back(live, redis_client):
    assert await live.get_agent_state(5) is None
    since = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.timezone.utc)

    await live.set_agent_state(5, AgentReadiness.NOT_READY, reason="обед", since=since)
    state = await live.get_agent_state(5)

    assert state is not None
    assert (state.state, state.reason, state.since) == (AgentReadiness.NOT_READY, "обед", since)
    assert await redis_client.hget("livetest:agent:5:state", "state") == "not_ready"


async def test_when_agent_becomes_ready_then_old_reason_is_gone(live):
    await live.set_agent_state(5, "not_ready", reason="обучение")
    await live.set_agent_state(5, "ready")

    state = await live.get_agent_state(5)

    assert state is not None and state.state == AgentReadiness.READY and state.reason is None
    assert state.since.tzinfo is not None


async def test_when_reason_is_given_for_ready_then_value_error(live):
    with pytest.raises(ValueError):
        await live.set_agent_state(5, "ready", reason="обед")
    with pytest.raises(ValueError):
        await live.set_agent_state(5, "sleeping")
    assert await live.get_agent_state(5) is None


async def test_when_several_agents_have_states_then_all_are_listed(live):
    await live.set_agent_state(2, "on_call")
    await live.set_agent_state(1, "wrap_up")
    await live.set_agent_state(3, "logged_out")
    await live.clear_agent(3)

    states = await live.agent_states()

    assert [(s.agent_id, s.state) for s in states] == [
        (1, AgentReadiness.WRAP_UP), (2, AgentReadiness.ON_CALL)]


async def test_when_state_hash_is_broken_then_it_reads_as_unknown(live, redis_client):
    await redis_client.hset("livetest:agent:9:state", mapping={"state": "dancing", "since": "x"})
    assert await live.get_agent_state(9) is None


async def test_when_queue_counters_change_then_they_add_up(live):
    assert await live.incr_queue("support", "waiting") == 1
    assert await live.incr_queue("support", "waiting") == 2
    assert await live.incr_queue("support", "waiting", -1) == 1
    await live.incr_queue("debt", "answered", 5)

    assert await live.queue_counters("support") == {"waiting": 1}
    assert await live.queue_names() == ["debt", "support"]

    await live.set_queue_counters("support", {"waiting": 0, "answered": 3})
    assert await live.queue_counters("support") == {"waiting": 0, "answered": 3}


async def test_when_call_fields_are_put_then_they_merge_and_expire(live, redis_client):
    await live.put_call("1700000000.12", {"caller": "+79123456789", "queue": "support"})
    await live.put_call("1700000000.12", {"agent_id": 4, "queue": None})

    assert await live.get_call("1700000000.12") == {"caller": "+79123456789", "agent_id": "4"}
    assert 0 < await redis_client.ttl("livetest:call:1700000000.12") <= 600

    await live.end_call("1700000000.12")
    assert await live.get_call("1700000000.12") == {}


async def next_message(sub, timeout: float = 5.0):
    return await asyncio.wait_for(anext(sub), timeout)


async def test_when_published_by_one_client_then_another_receives_json(live, other_client):
    publisher = LiveState(other_client, RedisKeys("livetest"))
    channel = live.keys.events()
    async with live.subscribe(channel, live.keys.agent_events(1)) as sub:
        assert await publisher.publish(channel, {"type": "agent_state", "state": "ready"}) == 1
        await other_client.publish(channel, "{not json")
        await publisher.publish(live.keys.agent_events(1), {"type": "screen_pop", "n": 1})

        first = await next_message(sub)
        second = await next_message(sub)

    assert (first.channel, first.data) == (channel, {"type": "agent_state", "state": "ready"})
    assert (second.channel, second.data["type"]) == (live.keys.agent_events(1), "screen_pop")
    assert await publisher.publish(channel, {"after": "exit"}) == 0


async def test_when_pubsub_connection_is_killed_then_subscriber_resubscribes(
    live, other_client, redis_client
):
    reconnects: list[int] = []

    async def on_reconnect() -> None:
        reconnects.append(1)

    publisher = LiveState(other_client, RedisKeys("livetest"))
    channel = live.keys.events()
    async with live.subscribe(channel, on_reconnect=on_reconnect, backoff=(0.05, 0.2),
                              idle_ping=0.2) as sub:
        reader = asyncio.create_task(next_message(sub, timeout=10), name="reader")
        killed = await redis_client.execute_command("CLIENT KILL TYPE pubsub")
        assert killed >= 1

        async def delivered() -> bool:
            await publisher.publish(channel, {"type": "ping"})
            return reader.done()

        await until(delivered, timeout=8)
        message = reader.result()

    assert message.data == {"type": "ping"}
    assert reconnects and sub.reconnects >= 1


async def test_when_consumer_is_cancelled_then_cancellation_propagates(live):
    async with live.subscribe(live.keys.events()) as sub:
        task = asyncio.create_task(anext(sub), name="waiting-consumer")
        await until(lambda: not task.done() and task.get_stack(), timeout=2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert task.cancelled()


async def test_when_redis_is_unreachable_then_subscriber_keeps_retrying(redis_server):
    # A client aimed at a closed port: entering must not raise, iteration retries until cancelled.
    client = aioredis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    try:
        live = LiveState(client, RedisKeys("livetest"))
        async with live.subscribe(live.keys.events(), backoff=(0.01, 0.05)) as sub:
            task = asyncio.create_task(anext(sub), name="retrying-consumer")
            await until(lambda: sub.failures >= 4, timeout=5)
            assert not task.done()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert task.cancelled()
    finally:
        await client.aclose()
