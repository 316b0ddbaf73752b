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


async def test_when_a_json_payload_is_emitted_then_local_sockets_and_other_processes_get_it_encoded_once(
    redis_server, redis_client, aiohttp_server
):
    """The payload is encoded once and spliced into the local packet and the Redis message:
    both must carry what the standard path carries (Cyrillic as is, keys that are not strings
    as strings), to the room's sockets only, the skipped one left out."""
    from aiohttp import web

    manager = PopRedisManager(redis_server.url, channel="manager-splice")
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager,
                               serializer=JsonPacket)

    @sio.on("connect", namespace="/agent")
    async def connect(sid, environ, auth):  # noqa: ANN001 (python-socketio's handler)
        await sio.enter_room(sid, auth["room"], namespace="/agent")

    app = web.Application()
    sio.attach(app)
    server = await aiohttp_server(app)
    pubsub = redis_client.pubsub()
    await pubsub.subscribe("manager-splice")
    clients: dict[str, socketio.AsyncClient] = {}
    got: dict[str, list] = {"a1": [], "a2": [], "b": []}
    try:
        for name, room in (("a1", "agent:1"), ("a2", "agent:1"), ("b", "agent:2")):
            client = socketio.AsyncClient()

            def on_pop(data, name=name):  # noqa: ANN001
                got[name].append(data)
            client.on("screen_pop", on_pop, namespace="/agent")
            await client.connect(str(server.make_url("/")), namespaces=["/agent"],
                                 auth={"room": room}, transports=["websocket"])
            clients[name] = client
        payload = {"card": {"name": "Иванов Пётр", "debt": "1 234,50 ₽", "meters": [{"n": 1}]},
                   "none": None, "ok": True, 7: "seven", "quote": 'a "b" \\ c'}
        skipped = clients["a2"].get_sid("/agent")
        await manager.emit("screen_pop", JsonOnly(payload), to="agent:1", namespace="/agent",
                           skip_sid=skipped)
        expected = json.loads(json.dumps(payload))  # what json would have sent: "7" as a key
        await until(lambda: got["a1"], timeout=5)
        assert got["a1"] == [expected]
        message = None
        for _ in range(100):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
            if message is not None:
                break
        assert message is not None
        raw = message["data"]
        assert raw.endswith(f'"host_id": "{manager.host_id}"}}')  # dropped by its own _listen
        decoded = json.loads(raw)
        assert decoded["data"] == [expected]
        assert (decoded["event"], decoded["namespace"], decoded["room"], decoded["skip_sid"],
                decoded["callback"], decoded["binary"]) == (
                    "screen_pop", "/agent", "agent:1", skipped, None, False)
        await asyncio.sleep(0.2)
        assert got["a2"] == [] and got["b"] == []
    finally:
        for client in clients.values():
            await client.disconnect()
        await pubsub.aclose()
        await sio.shutdown()
        await manager.redis.aclose()
