"""The agent desktop page is served by the application itself: the built index at / and /desk/
(never cached), hashed assets cached for a year, and a clear 503 when the page was never built."""
from __future__ import annotations

from pathlib import Path

import pytest

from agent_api.http_static import WEB_DIST
from ccs.app import create_app

INDEX = b'<!doctype html><script type="module" src="/desk/assets/index-Ab12.js"></script>'
SCRIPT = b"console.log('desk')"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_bytes(INDEX)
    (tmp_path / "assets" / "index-Ab12.js").write_bytes(SCRIPT)
    (tmp_path / "secret.txt").write_text("not an asset")
    return tmp_path


async def client_with(aiohttp_client, settings, dist: Path):
    app = create_app(settings)
    app[WEB_DIST] = dist
    return await aiohttp_client(app)


@pytest.mark.parametrize("path", ["/", "/desk/", "/board/", "/campaigns/"])
async def test_when_the_page_is_built_then_its_index_is_served_without_a_token_and_never_cached(
    aiohttp_client, app_settings, dist, path
):
    client = await client_with(aiohttp_client, app_settings, dist)
    response = await client.get(path)
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert await response.read() == INDEX


@pytest.mark.parametrize("path", ["/desk", "/board", "/campaigns"])
async def test_when_a_page_is_asked_without_its_slash_then_it_is_redirected_to_the_page(
    aiohttp_client, app_settings, dist, path
):
    client = await client_with(aiohttp_client, app_settings, dist)
    response = await client.get(path, allow_redirects=False)
    assert response.status == 308
    assert response.headers["Location"] == path + "/"


async def test_when_a_hashed_asset_is_asked_then_it_is_served_with_a_year_long_cache(
    aiohttp_client, app_settings, dist
):
    client = await client_with(aiohttp_client, app_settings, dist)
    response = await client.get("/desk/assets/index-Ab12.js")
    assert response.status == 200
    assert response.content_type in ("text/javascript", "application/javascript")
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert await response.read() == SCRIPT


@pytest.mark.parametrize("path", [
    "/desk/assets/index-Missing.js",
    "/desk/assets/..%2Fsecret.txt",
    "/desk/assets/%2E%2E%2Fsecret.txt",
    "/desk/assets/.hidden",
    "/desk/secret.txt",
])
async def test_when_a_missing_or_outside_file_is_asked_then_the_answer_is_404_and_not_cached(
    aiohttp_client, app_settings, dist, path
):
    client = await client_with(aiohttp_client, app_settings, dist)
    response = await client.get(path)
    assert response.status == 404
    assert "immutable" not in response.headers.get("Cache-Control", "")
    assert b"not an asset" not in await response.read()


async def test_when_the_page_was_never_built_then_root_answers_503_saying_how_to_build_it(
    aiohttp_client, app_settings, tmp_path
):
    client = await client_with(aiohttp_client, app_settings, tmp_path / "no-dist")
    response = await client.get("/")
    assert response.status == 503
    assert response.content_type == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    text = await response.text()
    assert "scripts/bootstrap.sh" in text and "npm run build" in text
    assert (await client.get("/desk/assets/index-Ab12.js")).status == 404
