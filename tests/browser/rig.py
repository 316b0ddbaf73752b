"""What the browser tests share: Debian's chromium launched the one way the project allows, the
real server's settings and start, and the agent, account and login steps of the desk.

Needs what scripts/bootstrap.sh installs and builds: /usr/bin/chromium and web/dist.
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import BrowserContext, Page, async_playwright, expect
from pydantic import SecretStr

from agent_api.http_static import WEB_DIST
from ccs.app import create_app
from ccs.settings import Settings
from cti.simulator import AgentBehaviour, PbxConfig, QueueConfig, Simulator
from features.agents.plugin import SOCKETIO
from state.models import AgentIn, QueueMembership
from state.repositories.agents import upsert_agent
from tests.helpers import until

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "dist"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SECRET = "browser-test-secret"
PASSWORD = "pw-browser-123"
UI_TIMEOUT_MS = 20_000


def require_built_page() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/bootstrap.sh (installs Debian's chromium)")
    if not (DIST / "index.html").exists():
        pytest.fail("web/dist is missing: run scripts/bootstrap.sh "
                    "(npm ci && npm run build in web/)")


@asynccontextmanager
async def chromium(profile: Path, **options: Any) -> AsyncIterator[BrowserContext]:
    """Debian's chromium, headless, on `profile` (a fresh folder each test: no cache, no stored
    session from an earlier page); `options` add to or replace the page's locale and size."""
    require_built_page()
    page_options: dict[str, Any] = {"locale": "ru-RU", "timezone_id": "Europe/Moscow",
                                    "viewport": {"width": 1440, "height": 1000}, **options}
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            **page_options)
        try:
            yield context
        finally:
            await context.close()


@asynccontextmanager
async def running_simulator(config: PbxConfig, time_scale: float) -> AsyncIterator[Simulator]:
    sim = Simulator(config, secret=SECRET, time_scale=time_scale)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def queue_pbx(queue: str, answer_after: float) -> PbxConfig:
    """One ringall queue with no members: the server adds them with QueueAdd, and their phones
    answer after `answer_after` PBX seconds and then wait for the caller to hang up."""
    return PbxConfig(
        queues=[QueueConfig(name=queue, strategy="ringall", timeout=30, members=[])],
        default_agent=AgentBehaviour(answer_after=answer_after, talk=None),
    )


def server_settings(pg_dsn: str, redis_url: str, ami_port: int) -> Settings:
    """The server on this test's PostgreSQL, Redis (under keys of its own) and simulator."""
    base = Settings()
    return base.model_copy(update={
        "postgres": base.postgres.model_copy(update={"dsn": pg_dsn}),
        "redis": base.redis.model_copy(update={"url": redis_url,
                                               "key_prefix": f"b{uuid.uuid4().hex[:8]}"}),
        "auth": base.auth.model_copy(
            update={"secret_key": SecretStr("browser-test-secret-key-0123456789-abc")}),
        "ami": base.ami.model_copy(update={
            "host": "127.0.0.1", "port": ami_port, "secret": SecretStr(SECRET),
            "reconnect_min": 0.05, "reconnect_max": 0.2}),
        "speech": base.speech.model_copy(update={"enabled": False}),
        "ivr": base.ivr.model_copy(update={"enabled": False}),
    })


async def make_agent(pg_pool, queue: str) -> tuple[str, str]:
    """A new agent on a phone of its own: intents stored by earlier tests never touch it."""
    await pg_pool.execute(
        "INSERT INTO queues (name, title) VALUES ($1, 'Поддержка') ON CONFLICT DO NOTHING", queue)
    suffix = uuid.uuid4().hex[:8]
    login, interface = f"desk-{suffix}", f"PJSIP/desk-{suffix}"
    await upsert_agent(pg_pool, AgentIn(
        login=login, full_name="Анна Иванова", password=PASSWORD, interface=interface,
        queues=[QueueMembership(queue=queue)]), rounds=4)
    return login, interface


async def make_account(pg_pool) -> dict:
    number = str(uuid.uuid4().int)[:12]
    phone = "+7913" + number[-7:]
    async with pg_pool.acquire() as conn:
        consumer = await conn.fetchval(
            "INSERT INTO consumers (kind, full_name) VALUES ('person', 'Пётр Сидоров') "
            "RETURNING id")
        account_id = await conn.fetchval(
            """INSERT INTO accounts (number, consumer_id, city, street, house, apartment)
               VALUES ($1, $2, 'Омск', 'ул. Ленина', '5', '12') RETURNING id""", number, consumer)
        phone_id = await conn.fetchval(
            """INSERT INTO phones (e164) VALUES ($1)
               ON CONFLICT (e164) DO UPDATE SET e164 = EXCLUDED.e164 RETURNING id""", phone)
        await conn.execute("INSERT INTO account_phones (phone_id, account_id) VALUES ($1, $2)",
                           phone_id, account_id)
        await conn.execute(
            """INSERT INTO balances (account_id, service, period, balance, debt, penalty,
                                     months_overdue)
               VALUES ($1, 'heating', '2026-10-01', 36201.67, 36201.67, 0, 15)""", account_id)
    return {"id": account_id, "number": number, "phone": phone}


async def _wait_until_leading(origin: str) -> None:
    """The server holds the PBX lease (its AMI link is up): pops will flow."""
    async with aiohttp.ClientSession() as session:

        async def leading() -> bool:
            async with session.get(origin + "/health") as response:
                body = await response.json()
            return body["components"].get("agents", {}).get("state") == "leader"

        await until(leading, timeout=15, interval=0.1)


async def serve(aiohttp_server, settings):
    app = create_app(settings)
    app[WEB_DIST] = DIST
    server = await aiohttp_server(app)
    origin = str(server.make_url("/")).rstrip("/")
    await _wait_until_leading(origin)
    return app, origin


async def log_in(page: Page, url: str, login: str) -> None:
    await page.goto(url)
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")


async def log_in_as_supervisor(page: Page, url: str, login: str, shows: str) -> None:
    """Logged in at a supervisor's page (`url`) until it shows the test id `shows`, linked."""
    await page.goto(url)
    await expect(page.get_by_role("heading", name="Вход супервизора")).to_be_visible()
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id(shows)).to_be_visible(timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("disconnected")).to_have_count(0, timeout=UI_TIMEOUT_MS)


async def log_in_and_go_ready(page: Page, origin: str, login: str, interface: str,
                              simulator: Simulator, queue: str):
    await log_in(page, origin + "/", login)
    state = page.get_by_test_id("state")
    await expect(state).to_have_attribute("data-state", "logged_out", timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("disconnected")).to_have_count(0)
    # Ready: the PBX gets the member, unpaused, and the page says so once the PBX confirmed.
    await page.get_by_test_id("go-ready").click()
    await expect(state).to_have_attribute("data-state", "ready", timeout=UI_TIMEOUT_MS)
    member = simulator.pbx.queues[queue].members.get(interface)
    assert member is not None and not member.paused
    return state


def watch(page: Page, origin: str, *also_local: str) -> tuple[list[str], list[str]]:
    """The requests to anywhere but this server (and data: URLs, and the `also_local` URL
    prefixes), and the console's errors, as the page makes them."""
    local = (origin, "data:", *also_local)
    foreign: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(local) else foreign.append(r.url))
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    return foreign, console_errors


async def drop_links(page: Page, app, namespace: str) -> None:
    """The server closes every Socket.IO connection of `namespace`: the page says so instead of
    looking live, and reconnects by itself. It reconnects within a second, so the banner is
    caught by a DOM observer."""
    await page.evaluate("""() => new MutationObserver((_, observer) => {
        if (document.querySelector('[data-testid=disconnected]')) {
            window.sawBanner = true; observer.disconnect();
        }
    }).observe(document.body, {childList: true, subtree: true})""")
    sio = app[SOCKETIO]
    links = [sid for sid, _ in sio.manager.get_participants(namespace, None)]
    assert links, f"the page holds no {namespace} connection"
    for sid in links:
        await sio.disconnect(sid, namespace=namespace)
    await page.wait_for_function("() => window.sawBanner === true", timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("disconnected")).to_have_count(0, timeout=UI_TIMEOUT_MS)


def text(value: str) -> str:
    return value.replace("\u00a0", " ")
