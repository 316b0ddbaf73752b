"""/health names each part's real state, and its HTTP status says whether the server serves."""
from ccs.app import create_app


async def test_when_no_pbx_and_no_speech_then_health_says_so_and_serves(aiohttp_client,
                                                                       app_settings):
    client = await aiohttp_client(create_app(app_settings))
    response = await client.get("/health")
    body = await response.json()
    assert response.status == 200 and body["status"] == "ok"
    components = body["components"]
    assert components["ami"]["status"] == "off"
    assert components["ami"]["state"] == "not configured"
    assert components["speech"]["state"].startswith("keys only")
    assert components["postgres"]["essential"] is True
    assert components["card_changes"]["state"] in ("listening", "reconnecting")
    assert all("state" in c for c in components.values())
