"""The Socket.IO client manager of the agents: python-socketio's, without the search of JSON
payloads for bytes and without decoding its own publications. Real Redis."""
from __future__ import annotations

import asyncio
import json

import socketio

from features.agents.socket_manager import JsonOnly, JsonPacket, PopRedisManager
from tests.helpers import until


def test_when_a_payload_is_marked_json_then_it_is_not_searched_for_bytes_and_others_still_are():
    assert JsonPacket.data_is_binary(["screen_pop", JsonOnly({"card": {"a": [1, "x"]}})]) is False
    assert JsonPacket.data_is_binary(["raw", {"blob": b"\x00"}]) is True
    encoded = JsonPacket(data=["screen_pop", JsonOnly({"card": {"a": 1}})],
                         namespace="/agent").encode()
    assert encoded == '2/agent,["screen_pop",{"card":{"a":1}}]'


async def test_when_the_manager_reads_the_channel_then_its_own_messages_are_dropped_before_decoding(
    redis_server, redis_client
):
    manager = PopRedisManager(redis_server.url, channel="manager-test")
    manager.set_server(socketio.AsyncServer(async_mode="aiohttp", client_manager=manager))
    received: list[bytes] = []

    async def read() -> None:
        async for message in manager._listen():
            received.append(message)

    reader = asyncio.create_task(read())
    try:
        async def subscribed() -> bool:
            return (await redis_client.pubsub_numsub("manager-test"))[0][1] == 1
        for _ in range(100):
            if await subscribed():
                break
            await asyncio.sleep(0.02)
        own = {"method": "emit", "event": "state", "data": [{}], "host_id": manager.host_id}
        other = {"method": "emit", "event": "state", "data": [{}], "host_id": "another-host"}
        await redis_client.publish("manager-test", json.dumps(own))
        await redis_client.publish("manager-test", json.dumps(other))
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        assert [json.loads(m)["host_id"] for m in received] == ["another-host"]
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


async def test_when_many_emits_come_at_once_then_other_processes_get_them_all_in_order(
    redis_server, redis_client
):
    manager = PopRedisManager(redis_server.url, channel="manager-order")
    manager.set_server(socketio.AsyncServer(async_mode="aiohttp", client_manager=manager))
    pubsub = redis_client.pubsub()
    await pubsub.subscribe("manager-order")
    try:
        for n in range(300):  # no await in between would let a publication go one by one
            await manager.emit("state", JsonOnly({"n": n}), to="agent:1", namespace="/agent")
        got: list[int] = []
        for _ in range(500):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
            if message is not None:
                got.append(json.loads(message["data"])["data"][0]["n"])
            if len(got) == 300:
                break
        assert got == list(range(300))
        await until(lambda: manager.published == 300, timeout=5)  # the flusher's own count
    finally:
        await pubsub.aclose()
        await manager.redis.aclose()
