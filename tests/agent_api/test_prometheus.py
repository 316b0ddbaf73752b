"""GET /metrics over a real server: who may scrape it without a user session, and the live
figures (queues from the PBX simulator over AMI, the AMI link, Socket.IO sockets, the IVR) read
at scrape time, with no consumer's data in them."""
from __future__ import annotations

import asyncio
import re
import socket

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from ccs.app import create_app
from cti.simulator import Simulator
from cti.simulator.presets import recorded_config
from tests.agent_api.conftest import login_token
from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    SIM_SECRET, Desk, app_settings, login, make_agent, ring, serve,
)
from tests.helpers import until
from tests.ivr.fake_asterisk import FakeAsteriskCall

SCRAPE_TOKEN = "scrape-token-0123456789-abcdefghijklmn"


def with_access(settings, *, token: str | None = SCRAPE_TOKEN, allow: list[str] | None = None):
    return settings.model_copy(update={"http": settings.http.model_copy(update={
        "metrics_token": SecretStr(token) if token else None, "metrics_allow": allow or []})})


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.fixture
async def simulator():
    """At the wall clock's pace (pop_rig's runs 20 times faster): a wait read at the scrape is
    then real seconds."""
    sim = Simulator(recorded_config(), secret=SIM_SECRET, time_scale=1.0)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def settings(app_settings, simulator):
    """pop_rig's settings (the simulator's AMI) with the scrape token."""
    return with_access(app_settings).model_copy(update={"ami": app_settings.ami.model_copy(
        update={"host": "127.0.0.1", "port": simulator.port, "secret": SecretStr(SIM_SECRET),
                "reconnect_min": 0.05, "reconnect_max": 0.2})})


async def scrape(http: aiohttp.ClientSession, base: str, token: str = SCRAPE_TOKEN) -> str:
    async with http.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 200, await r.text()
        return await r.text()


async def test_when_scraped_without_a_session_then_only_the_token_an_allowed_address_or_an_admin_may(
    aiohttp_client, app_settings, make_agent
):
    client = await aiohttp_client(create_app(with_access(app_settings)))
    assert (await client.get("/metrics")).status == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
    assert wrong.status == 401 and (await wrong.json())["error_id"] == "unauthorized"
    good = await client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
    assert good.status == 200 and "ccs_http_requests_total" in await good.text()
    for role, status in (("agent", 403), ("supervisor", 403), ("admin", 200)):
        _, name = await make_agent(role)  # the agent_api conftest's fixture
        token = await login_token(client, name)
        response = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert response.status == status, role

    # The test client comes from 127.0.0.1: an allow-list with it needs no token at all.
    allowed = await aiohttp_client(create_app(with_access(app_settings, token=None,
                                                          allow=["127.0.0.1/32"])))
    assert (await allowed.get("/metrics")).status == 200
    elsewhere = await aiohttp_client(create_app(with_access(app_settings, token=None,
                                                            allow=["10.0.0.0/8", "::1/128"])))
    assert (await elsewhere.get("/metrics")).status == 401


def test_when_the_scrape_token_is_short_or_a_network_is_garbled_then_settings_refuse(app_settings):
    from pydantic import ValidationError

    from agent_api.settings import HttpSettings

    with pytest.raises(ValidationError, match="at least 32 bytes"):
        HttpSettings(metrics_token=SecretStr("short"))
    with pytest.raises(ValidationError, match="not a network"):
        HttpSettings(metrics_allow=["10.0.0.0/33"])


async def test_when_callers_wait_and_abandon_then_metrics_show_the_queue_the_link_and_sockets(
    serve, simulator, pg_pool, settings
):
    # An agent of the "support" queue, for a desk socket; "outages" (nobody ever answers there:
    # recorded_config) is left to the PBX's own members 1005 and 1006.
    _, agent_login = await make_agent(pg_pool, "Local/1001@agents/n", queue="support")
    base, app = await serve()
    async with aiohttp.ClientSession() as http:
        first = samples(await scrape(http, base))
        outages = (("queue", "outages"),)
        assert first[("ccs_ami_up", ())] == 1
        async with http.get(f"{base}/health") as response:
            ami = (await response.json())["components"]["ami"]
        assert first[("ccs_ami_resyncs_total", ())] == ami["resyncs"] >= 1
        assert first[("ccs_queue_waiting", outages)] == 0
        assert first[("ccs_queue_longest_wait_seconds", outages)] == 0
        # Nobody waits: both members of outages are ready, as the PBX shows them.
        assert {state: first[("ccs_queue_agents", (("queue", "outages"), ("state", state)))]
                for state in ("ready", "ringing", "on_call", "wrap_up", "not_ready")} == {
            "ready": 2, "ringing": 0, "on_call": 0, "wrap_up": 0, "not_ready": 0}

        token = await login(http, base, agent_login)
        desk = await Desk.open(base, token)
        try:
            ring(simulator, "outages", "79160000001", patience=4000)   # waits on
            ring(simulator, "outages", "79160000002", patience=1)      # hangs up after 1 s

            async def settled() -> dict | None:
                now = samples(await scrape(http, base))
                done = (now[("ccs_queue_waiting", outages)] == 1
                        and now[("ccs_queue_abandoned_total", outages)] == 1)
                return now if done else None

            seen = await until(settled, timeout=10)
            assert seen[("ccs_queue_answered_total", outages)] == 0
            assert seen[("ccs_queue_timed_out_total", outages)] == 0
            assert seen[("ccs_queue_offered_total", outages)] == 1  # the abandon; one waits on
            assert seen[("ccs_socketio_connections", (("namespace", "/agent"),))] == 1
            assert seen[("ccs_socketio_connections", (("namespace", "/supervisor"),))] == 0
            # The longest wait is read at the scrape: it grows with no event in between.
            await asyncio.sleep(0.3)
            text = await scrape(http, base)
            later = samples(text)
            assert (later[("ccs_queue_longest_wait_seconds", outages)]
                    >= seen[("ccs_queue_longest_wait_seconds", outages)] + 0.25)
            # Names, labels and help texts, not the sample values: a value such as a
            # timestamp (1.76510053e+09) may hold any digits.
            exposed = "\n".join(line if line.startswith("#") else
                                 re.match(r"[^ {]+(\{.*\})?", line).group(0)
                                 for line in text.splitlines() if line)
            for private in ("79160000001", "79160000002", agent_login, "1005", "Daria"):
                assert private not in exposed
        finally:
            await desk.close()

        async def closed() -> bool:
            now = samples(await scrape(http, base))
            return now[("ccs_socketio_connections", (("namespace", "/agent"),))] == 0
        await until(closed, timeout=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_when_an_ivr_call_ends_then_metrics_count_it_by_outcome(aiohttp_server, app_settings):
    port = free_port()
    settings = with_access(app_settings).model_copy(update={"ivr": app_settings.ivr.model_copy(
        update={"enabled": True, "agi_port": port, "audiosocket_port": 0})})
    server = await aiohttp_server(create_app(settings))
    base = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        before = samples(await scrape(http, base))
        assert before[("ccs_ivr_calls_in_progress", ())] == 0
        assert not any(name == "ccs_ivr_calls_total" for name, _ in before)
        call = FakeAsteriskCall(port, caller="+79120000077", script=["hangup"])
        await call.run()

        async def counted() -> dict | None:
            now = samples(await scrape(http, base))
            return now if now.get(("ccs_ivr_calls_total", (("outcome", "hangup"),))) else None

        after = await until(counted, timeout=10)
        assert after[("ccs_ivr_calls_total", (("outcome", "hangup"),))] == 1
        assert after[("ccs_ivr_calls_in_progress", ())] == 0
