"""Bad input at the edge: a clear 4xx, never a 500."""
import pytest

from ccs.app import create_app


async def test_when_login_holds_a_nul_then_a_clear_4xx(aiohttp_client, app_settings):
    client = await aiohttp_client(create_app(app_settings))
    response = await client.post("/api/login", json={"login": "ag\u0000ent", "password": "x"})
    assert response.status == 422
    body = await response.json()
    assert body["error_id"] == "invalid-request"
    assert body["details"]["errors"][0]["loc"] == ["login"]


async def test_when_body_is_nested_100000_deep_then_400(aiohttp_client, app_settings):
    client = await aiohttp_client(create_app(app_settings))
    body = b"[" * 100_000 + b"]" * 100_000
    response = await client.post("/api/login", data=body,
                                 headers={"Content-Type": "application/json"})
    assert response.status == 400
    answer = await response.json()
    assert answer["error_id"] == "bad-request" and "not valid JSON" in answer["message"]


@pytest.mark.parametrize("content_type", [
    "application/json; charset=base64",      # a codec, but not a text one
    "application/json; charset=no-such-codec",
    "application/json; charset=utf-16",      # JSON is UTF-8
    "text/plain",
])
async def test_when_body_is_not_utf8_json_then_415(aiohttp_client, app_settings, content_type):
    client = await aiohttp_client(create_app(app_settings))
    response = await client.post("/api/login", data=b'{"login": "a", "password": "b"}',
                                 headers={"Content-Type": content_type})
    assert response.status == 415
    assert (await response.json())["error_id"] == "unsupported-media-type"


async def test_when_body_is_not_utf8_then_400(aiohttp_client, app_settings):
    client = await aiohttp_client(create_app(app_settings))
    response = await client.post("/api/login", data=b'{"login": "\xff\xfe", "password": "b"}',
                                 headers={"Content-Type": "application/json"})
    assert response.status == 400
