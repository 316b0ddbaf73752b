"""Agent readiness over REST reaches the PBX (the simulator over AMI) and, through the
projector (never the handler), the live state. The PUT answers 202 with the view pending."""
import uuid

import pytest
from pydantic import SecretStr

from ccs.app import create_app
from cti.simulator import Simulator
from cti.simulator.presets import recorded_config
from state.models import AgentIn, QueueMembership
from state.repositories.agents import upsert_agent
from tests.helpers import until

SECRET = "readiness-secret"


@pytest.fixture
async def simulator():
    sim = Simulator(recorded_config(), secret=SECRET, time_scale=0.05)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def settings(app_settings, simulator):
    return app_settings.model_copy(update={"ami": app_settings.ami.model_copy(update={
        "host": "127.0.0.1", "port": simulator.port, "secret": SecretStr(SECRET),
        "reconnect_min": 0.05, "reconnect_max": 0.2})})


async def make_agent(pg_pool, interface: str) -> str:
    await pg_pool.execute(
        "INSERT INTO queues (name, title) VALUES ('support', 'Поддержка') ON CONFLICT DO NOTHING")
    await pg_pool.execute("UPDATE agents SET interface = NULL WHERE interface = $1", interface)
    login = f"agent-{uuid.uuid4().hex[:8]}"
    await upsert_agent(pg_pool, AgentIn(login=login, full_name="Анна Иванова", password="pw-123456",
                                        interface=interface,
                                        queues=[QueueMembership(queue="support")]), rounds=4)
    return login


async def client_for(aiohttp_client, settings, login):
    client = await aiohttp_client(create_app(settings))
    token = (await (await client.post("/api/login", json={"login": login, "password": "pw-123456"})).json())["token"]
    client.headers = {"Authorization": f"Bearer {token}"}  # type: ignore[attr-defined]
    await until(lambda: _healthy(client), timeout=10)
    return client


async def _healthy(client):
    response = await client.get("/health")
    return response.status == 200


async def put(client, body):
    return await client.put("/api/agents/me/readiness", json=body, headers=client.headers)


def member(sim, interface):
    return sim.pbx.queues["support"].members.get(interface)


async def test_when_static_agent_goes_not_ready_ready_and_out_then_the_pbx_follows(
    aiohttp_client, settings, simulator, pg_pool
):
    interface = "Local/1001@agents/n"  # static in queues.conf
    client = await client_for(aiohttp_client, settings, await make_agent(pg_pool, interface))

    response = await put(client, {"state": "not_ready", "reason": "lunch"})
    assert response.status == 202, await response.text()
    assert member(simulator, interface).paused and member(simulator, interface).reason == "lunch"

    async def not_ready():
        me = await (await client.get("/api/agents/me", headers=client.headers)).json()
        return me["readiness"] if (me["readiness"] or {}).get("state") == "not_ready" else None

    me = await until(not_ready, timeout=5)  # written by the projector once the PBX confirmed
    assert me["reason"] == "lunch"

    assert (await put(client, {"state": "ready"})).status == 202
    assert not member(simulator, interface).paused

    assert (await put(client, {"state": "logged_out"})).status == 202
    # a static member cannot be removed: it is paused as logged out instead
    assert member(simulator, interface).paused
    assert member(simulator, interface).reason == "logged_out"


async def test_when_dynamic_agent_logs_in_and_out_then_it_joins_and_leaves_the_queue(
    aiohttp_client, settings, simulator, pg_pool
):
    interface = "Local/1099@agents/n"
    client = await client_for(aiohttp_client, settings, await make_agent(pg_pool, interface))
    assert member(simulator, interface) is None
    assert (await put(client, {"state": "ready"})).status == 202
    assert member(simulator, interface) is not None and not member(simulator, interface).paused
    assert (await put(client, {"state": "logged_out"})).status == 202
    assert member(simulator, interface) is None


@pytest.mark.parametrize("body", [
    {"state": "not_ready"},                       # a reason is required
    {"state": "ready", "reason": "x"},            # only not_ready takes one
    {"state": "on_call"},                         # the PBX decides that, not the agent
    {"state": "not_ready", "reason": "a\r\nAction: Originate"},  # no AMI header injection
])
async def test_when_readiness_body_is_invalid_then_422_and_pbx_untouched(
    aiohttp_client, settings, simulator, pg_pool, body
):
    interface = "Local/1002@agents/n"
    client = await client_for(aiohttp_client, settings, await make_agent(pg_pool, interface))
    before = member(simulator, interface).paused
    response = await put(client, body)
    assert response.status == 422
    assert member(simulator, interface).paused == before


async def test_when_no_pbx_is_configured_then_readiness_is_503(aiohttp_client, app_settings, pg_pool):
    login = await make_agent(pg_pool, "Local/1003@agents/n")
    client = await aiohttp_client(create_app(app_settings))
    token = (await (await client.post("/api/login", json={"login": login, "password": "pw-123456"})).json())["token"]
    response = await client.put("/api/agents/me/readiness", json={"state": "ready"},
                                headers={"Authorization": f"Bearer {token}"})
    assert response.status == 503
    assert (await response.json())["error_id"] == "pbx-unavailable"
