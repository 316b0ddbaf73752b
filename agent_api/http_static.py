"""The agent desktop and the supervisor board: the front-end that ``web/`` builds into
``web/dist`` (``npm run build``, run by ``scripts/bootstrap.sh``), served as it is.

``index.html`` answers at ``/`` and ``/desk/`` (the desk), ``/board/`` (the board: the same
page, which picks the board by its path) and ``/campaigns/`` (the campaign console, likewise),
and is never cached (a new build must reach the next page load); the files under ``assets/``
carry a content hash in their names, so browsers keep them for a year. All of it is public: the
page holds no data, and everything it shows comes through the authenticated API and Socket.IO.

When the page was never built (a checkout without the set-up), ``/`` answers a 503 page saying
how to build it, instead of a bare 404 or a crash.
"""
from __future__ import annotations

import asyncio
import re
from pathlib import Path

from aiohttp import web

from agent_api.auth import public

# Where the built page is; an application may point elsewhere (tests, a packaged install).
WEB_DIST = web.AppKey("web_dist", Path)
DEFAULT_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"
# Vite's base (web/vite.config.ts): the built index.html asks for /desk/assets/<name>.
ASSETS_PREFIX = "/desk/assets/"

_ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
# The page loads nothing but its own files and talks only to this server (REST, Socket.IO):
# the policy says so, so an injected script or a stray CDN link cannot run or load.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_INDEX_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
}
_ASSET_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}

NOT_BUILT_PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>CCS: страница оператора не собрана</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>Страница оператора не собрана</h1>
<p>Сервер работает, но в <code>web/dist</code> нет собранной страницы.
Выполните установку: <code>make bootstrap</code> (или <code>bash scripts/bootstrap.sh</code>),
она соберёт страницу (<code>npm ci &amp;&amp; npm run build</code> в папке <code>web/</code>).</p>
<hr>
<p lang="en">The agent desktop page is not built: <code>web/dist</code> is missing.
Run the set-up (<code>make bootstrap</code> or <code>bash scripts/bootstrap.sh</code>), which
builds it with <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>.</p>
</body></html>
"""


def dist_of(app: web.Application) -> Path:
    return app.get(WEB_DIST, DEFAULT_DIST)


def _read_index(dist: Path) -> bytes | None:
    try:
        return (dist / "index.html").read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


@public
async def index(request: web.Request) -> web.Response:
    # A small file read in a worker thread: the event loop never waits on the disk.
    body = await asyncio.get_running_loop().run_in_executor(
        None, _read_index, dist_of(request.app))
    if body is None:
        return web.Response(status=503, text=NOT_BUILT_PAGE, content_type="text/html",
                            headers={"Cache-Control": "no-store", "Retry-After": "60"})
    return web.Response(body=body, content_type="text/html", charset="utf-8",
                        headers=_INDEX_HEADERS)


@public
async def add_slash(request: web.Request) -> web.Response:
    """A page asked without its trailing slash: redirected to it (its assets are relative)."""
    raise web.HTTPPermanentRedirect(request.path + "/")


@public
async def asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    # One flat folder of hashed names: no slashes, no dot-files, nothing outside it.
    if not _ASSET_NAME.match(name) or ".." in name:
        raise web.HTTPNotFound()
    path = dist_of(request.app) / "assets" / name
    # Checked first so a missing file is a plain 404, not one cached for a year.
    if not await asyncio.get_running_loop().run_in_executor(None, path.is_file):
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers=_ASSET_HEADERS)


PAGES = ("desk", "board", "campaigns")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", index)
    # The agent desk, the supervisor board and the campaign console: one page that opens
    # the right screen for its path.
    for page in PAGES:
        router.add_get(f"/{page}", add_slash)
        router.add_get(f"/{page}/", index)
    router.add_get(ASSETS_PREFIX + "{name}", asset)
