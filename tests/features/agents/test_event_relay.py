"""The Redis channel ``{prefix}:events`` for integrations: every domain event, once per PBX.

Two real servers against one simulated PBX: only the lease holder relays, so a subscriber gets
each event once, in order, however many processes track the PBX.
"""
from __future__ import annotations

import asyncio

from agent_api.app_keys import BUS, LIVE
from state.events import CallerLeftQueue
from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    app_settings, serve, settings, simulator,
)
from tests.helpers import until


async def test_when_two_servers_track_one_pbx_then_each_event_reaches_the_channel_once_in_order(
    serve, aiohttp_server, settings
):
    from ccs.app import create_app

    base, app = await serve()
    follower = await aiohttp_server(create_app(settings))
    live = app[LIVE]
    received: list[dict] = []

    async def listen() -> None:
        async with live.subscribe(live.keys.events()) as sub:
            async for message in sub:
                received.append(message.data)

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.3)  # subscribed before the burst
    try:
        # The same events on both processes' buses, as both trackers would see them.
        for n in range(600):
            event = CallerLeftQueue(ts=1_700_000_000.0 + n, queue="support",
                                    linkedid=f"1700000000.{n}", channel="Local/x;2")
            app[BUS].publish(event)
            follower.app[BUS].publish(event)
        await until(lambda: len(received) >= 600, timeout=15)
        await asyncio.sleep(0.5)  # a second copy would have come by now
    finally:
        listener.cancel()
    linkedids = [m["linkedid"] for m in received]
    assert linkedids == [f"1700000000.{n}" for n in range(600)]
