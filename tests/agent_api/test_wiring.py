"""The composition root with every part on: PBX simulator over AMI, real Vosk model, IVR ports."""
import asyncio
import json

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from ccs.app import create_app
from agent_api.app_keys import BUS, CTI, SPEECH
from cti.simulator import Simulator
from cti.simulator.originate import inbound_call
from cti.simulator.presets import recorded_config
from tests.helpers import until


@pytest.fixture
async def simulator():
    sim = Simulator(recorded_config(), secret="wiring-secret", time_scale=0.05)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def full_settings(app_settings, simulator):
    s = app_settings
    return s.model_copy(update={
        "ami": s.ami.model_copy(update={
            "host": "127.0.0.1", "port": simulator.port, "secret": SecretStr("wiring-secret"),
            "reconnect_min": 0.05, "reconnect_max": 0.2}),
        "speech": s.speech.model_copy(update={"enabled": True, "language": "ko"}),
        "ivr": s.ivr.model_copy(update={"enabled": True, "agi_port": 0, "audiosocket_port": 0}),
    })


async def test_when_everything_starts_then_health_is_ok_and_pbx_events_reach_redis(
    aiohttp_client, full_settings, simulator, redis_server
):
    app = create_app(full_settings)
    client = await aiohttp_client(app)
    assert app[SPEECH].started

    async def healthy():
        response = await client.get("/health")
        body = await response.json()
        return response.status == 200 and body

    body = await until(healthy, timeout=10)
    assert set(body["components"]) >= {"postgres", "redis", "events", "ami", "speech", "ivr"}
    assert body["components"]["ami"]["state"] == "Asterisk connected"
    # A Korean model under Russian prompts: the IVR takes keys only, and /health says so.
    assert body["components"]["speech"]["state"].startswith("keys only")
    assert body["status"] == "degraded"

    listener = aioredis.from_url(redis_server.url, decode_responses=True)
    pubsub = listener.pubsub()
    await pubsub.subscribe(f"{full_settings.redis.key_prefix}:events")
    try:
        simulator.spawn(inbound_call(simulator.pbx, "support", "+79120000001", "Ivan Petrov",
                                     patience=5, account="100200300401", intent="readings"))
        kinds: list[str] = []

        async def saw_ringing():
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message:
                kinds.append(json.loads(message["data"]).get("kind"))
            return "agent_ringing" in kinds

        await until(saw_ringing, timeout=10)
        assert app[BUS].status()["published"] > 0
        assert app[CTI].tracker.calls()
    finally:
        await pubsub.aclose()
        await listener.aclose()
