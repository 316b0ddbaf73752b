"""The agent desktop in a real browser: Debian's chromium, driven by Playwright, against the real
server (aiohttp + Socket.IO), the PBX simulator over AMI, and real PostgreSQL and Redis.

An agent logs in, goes ready (the simulator's queue gets the member unpaused), a simulated caller
rings the queue, the card of the caller's account pops while the phone rings, the agent's phone
answers, and the agent registers an appeal from the pop, tied to the call, and its outcome; the
page's screenshot is kept in tests/artifacts/ (ignored by git). Beside it: a pause the PBX
refuses shows as failed with the PBX's reason, and an unknown caller gets a search in the pop.

Needs what scripts/bootstrap.sh installs and builds: /usr/bin/chromium and web/dist.
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from playwright.async_api import BrowserContext, Page, async_playwright, expect
from pydantic import SecretStr

from agent_api.http_static import WEB_DIST
from ccs.app import create_app
from ccs.settings import Settings
from cti.simulator import AgentBehaviour, PbxConfig, QueueConfig, Simulator
from cti.simulator.originate import inbound_call
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
# PBX seconds run 4x faster than wall-clock ones: the phone rings 1.5 s before it is answered,
# long enough to see the pop while ringing.
SCALE = 0.25
RING_PBX_SECONDS = 6.0
UI_TIMEOUT_MS = 20_000


def _require_built_page() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/bootstrap.sh (installs Debian's chromium)")
    if not (DIST / "index.html").exists():
        pytest.fail("web/dist is missing: run scripts/bootstrap.sh (npm ci && npm run build in web/)")


@pytest.fixture
def queue() -> str:
    """A queue of this test's own: agents that earlier tests left ready (their intents are
    durable and re-applied to every PBX that comes up) never ring for its calls."""
    return f"desk-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def simulator(queue: str) -> AsyncIterator[Simulator]:
    config = PbxConfig(
        queues=[QueueConfig(name=queue, strategy="ringall", timeout=30, members=[])],
        # Members the server adds with QueueAdd: the agent's phone answers after a few rings
        # and then waits for the caller to hang up.
        default_agent=AgentBehaviour(answer_after=RING_PBX_SECONDS, talk=None),
    )
    sim = Simulator(config, secret=SECRET, time_scale=SCALE)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def settings(pg_dsn, redis_server, simulator) -> Settings:
    base = Settings()
    return base.model_copy(update={
        "postgres": base.postgres.model_copy(update={"dsn": pg_dsn}),
        "redis": base.redis.model_copy(update={"url": redis_server.url,
                                               "key_prefix": f"b{uuid.uuid4().hex[:8]}"}),
        "auth": base.auth.model_copy(
            update={"secret_key": SecretStr("browser-test-secret-key-0123456789-abc")}),
        "ami": base.ami.model_copy(update={
            "host": "127.0.0.1", "port": simulator.port, "secret": SecretStr(SECRET),
            "reconnect_min": 0.05, "reconnect_max": 0.2}),
        "speech": base.speech.model_copy(update={"enabled": False}),
        "ivr": base.ivr.model_copy(update={"enabled": False}),
    })


async def _make_agent(pg_pool, queue: str) -> tuple[str, str]:
    """A new agent on a phone of its own: intents stored by earlier tests never touch it."""
    await pg_pool.execute(
        "INSERT INTO queues (name, title) VALUES ($1, 'Поддержка') ON CONFLICT DO NOTHING", queue)
    suffix = uuid.uuid4().hex[:8]
    login, interface = f"desk-{suffix}", f"PJSIP/desk-{suffix}"
    await upsert_agent(pg_pool, AgentIn(
        login=login, full_name="Анна Иванова", password=PASSWORD, interface=interface,
        queues=[QueueMembership(queue=queue)]), rounds=4)
    return login, interface


async def _make_account(pg_pool) -> dict:
    number = str(uuid.uuid4().int)[:12]
    phone = "+7913" + number[-7:]
    async with pg_pool.acquire() as conn:
        consumer = await conn.fetchval(
            "INSERT INTO consumers (kind, full_name) VALUES ('person', 'Пётр Сидоров') RETURNING id")
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


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    _require_built_page()
    async with async_playwright() as playwright:
        # A fresh profile each run: no cache, no stored session from an earlier page.
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, locale="ru-RU", timezone_id="Europe/Moscow",
            viewport={"width": 1440, "height": 1000})
        try:
            yield context
        finally:
            await context.close()


async def _wait_until_leading(origin: str) -> None:
    """The server holds the PBX lease (its AMI link is up): pops will flow."""
    async with aiohttp.ClientSession() as session:

        async def leading() -> bool:
            async with session.get(origin + "/health") as response:
                body = await response.json()
            return body["components"].get("agents", {}).get("state") == "leader"

        await until(leading, timeout=15, interval=0.1)


async def _log_in_and_go_ready(page: Page, origin: str, login: str, interface: str,
                               simulator: Simulator, queue: str):
    await page.goto(origin + "/")
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    state = page.get_by_test_id("state")
    await expect(state).to_have_attribute("data-state", "logged_out", timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("disconnected")).to_have_count(0)
    # Ready: the PBX gets the member, unpaused, and the page says so once the PBX confirmed.
    await page.get_by_test_id("go-ready").click()
    await expect(state).to_have_attribute("data-state", "ready", timeout=UI_TIMEOUT_MS)
    member = simulator.pbx.queues[queue].members.get(interface)
    assert member is not None and not member.paused
    return state


async def _serve(aiohttp_server, settings):
    app = create_app(settings)
    app[WEB_DIST] = DIST
    server = await aiohttp_server(app)
    origin = str(server.make_url("/")).rstrip("/")
    await _wait_until_leading(origin)
    return app, origin


def _text(value: str) -> str:
    return value.replace("\u00a0", " ")


@pytest.mark.timeout(120)
async def test_when_an_agent_goes_ready_and_a_call_comes_then_the_card_pops_and_an_appeal_is_registered(  # noqa: E501
    aiohttp_server, settings, simulator, queue, pg_pool, browser: BrowserContext
):
    ARTIFACTS.mkdir(exist_ok=True)
    login, interface = await _make_agent(pg_pool, queue)
    account = await _make_account(pg_pool)

    app, origin = await _serve(aiohttp_server, settings)

    page: Page = browser.pages[0] if browser.pages else await browser.new_page()
    foreign: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(origin) or r.url.startswith("data:")
            else foreign.append(r.url))
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

    state = await _log_in_and_go_ready(page, origin, login, interface, simulator, queue)

    # A caller from the account's phone: the card pops while the agent's phone rings.
    simulator.spawn(inbound_call(simulator.pbx, queue, account["phone"], "Petr Sidorov",
                                 patience=3600))
    pop = page.get_by_test_id("pop")
    await expect(pop).to_have_attribute("data-status", "ringing", timeout=UI_TIMEOUT_MS)
    card = page.get_by_test_id("card")
    await expect(card).to_have_attribute("data-account", account["number"])
    await expect(page.get_by_test_id("consumer-name")).to_have_text("Пётр Сидоров")
    assert _text(await page.get_by_test_id("total-debt").inner_text()) == "36 201,67"

    # The phone answers: the same pop turns to a call, the timeline shows the answer.
    await expect(pop).to_have_attribute("data-status", "answered", timeout=UI_TIMEOUT_MS)
    await expect(state).to_have_attribute("data-state", "on_call", timeout=UI_TIMEOUT_MS)
    await expect(page.locator("[data-testid=timeline] [data-step=answered]")).to_have_count(1)
    call_id = await pop.get_attribute("data-call-id")

    # An appeal from the pop, tied to the call.
    form = page.get_by_test_id("appeal-form")
    await form.locator("select[name=type]").select_option("Перерасчёт")
    await form.locator("select[name=topic]").select_option("Перерасчёт по показаниям")
    await form.locator("select[name=priority]").select_option("high")
    await form.locator("textarea[name=comment]").fill("Просит пересчитать отопление за октябрь")
    await form.locator("button[type=submit]").click()
    note = page.get_by_test_id("appeal-note")
    await expect(note).to_contain_text("зарегистрировано", timeout=UI_TIMEOUT_MS)

    row = await pg_pool.fetchrow(
        "SELECT type, topic, priority, comment, call_id FROM appeals WHERE account_id = $1",
        account["id"])
    assert row is not None
    assert dict(row) == {"type": "Перерасчёт", "topic": "Перерасчёт по показаниям",
                         "priority": "high", "comment": "Просит пересчитать отопление за октябрь",
                         "call_id": call_id}
    # The card shown is refreshed with the new appeal.
    await expect(page.get_by_test_id("appeals")).to_contain_text("Перерасчёт по показаниям")

    # The call's outcome, from the same pop.
    outcome = page.get_by_test_id("disposition")
    await outcome.locator("select").select_option("appeal_registered")
    await outcome.locator("button[type=submit]").click()
    await expect(outcome).to_contain_text("Итог сохранён", timeout=UI_TIMEOUT_MS)
    assert await pg_pool.fetchval(
        "SELECT disposition FROM interactions WHERE call_id = $1", call_id) == "appeal_registered"

    shot = ARTIFACTS / "agent_desktop.png"
    await page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")

    # Everything the page loaded came from this server: it works offline, no CDN.
    assert foreign == [], foreign
    assert [e for e in console_errors if "favicon" not in e] == []
    assert urlsplit(page.url).path == "/"

    # The link drops (the server closes every Socket.IO connection): the page says so instead
    # of looking live, reconnects by itself and gets the whole state again, without a refresh.
    # The page reconnects within a second, so the banner is caught by a DOM observer.
    await page.evaluate("""() => new MutationObserver((_, observer) => {
        if (document.querySelector('[data-testid=disconnected]')) {
            window.sawBanner = true; observer.disconnect();
        }
    }).observe(document.body, {childList: true, subtree: true})""")
    sio = app[SOCKETIO]
    links = [sid for sid, _ in sio.manager.get_participants("/agent", None)]
    assert links, "the page holds no Socket.IO connection"
    for sid in links:
        await sio.disconnect(sid, namespace="/agent")
    await page.wait_for_function("() => window.sawBanner === true", timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("disconnected")).to_have_count(0, timeout=UI_TIMEOUT_MS)
    await expect(state).to_have_attribute("data-state", "on_call")
    await expect(pop).to_have_attribute("data-call-id", call_id or "")


@pytest.mark.timeout(60)
async def test_when_the_pbx_refuses_a_pause_then_the_page_shows_it_failed_with_the_pbx_reason(
    aiohttp_server, settings, simulator, queue, pg_pool, browser: BrowserContext
):
    login, interface = await _make_agent(pg_pool, queue)
    _, origin = await _serve(aiohttp_server, settings)
    page: Page = browser.pages[0] if browser.pages else await browser.new_page()
    state = await _log_in_and_go_ready(page, origin, login, interface, simulator, queue)

    # The member vanishes from the PBX without an event: the next pause is refused by the PBX.
    del simulator.pbx.queues[queue].members[interface]
    await page.get_by_test_id("reason").select_option("lunch")
    await page.get_by_test_id("go-not-ready").click()

    failed = page.get_by_test_id("failed")
    await expect(failed).to_contain_text("Interface not found", timeout=UI_TIMEOUT_MS)
    await expect(failed).to_contain_text("Не готов")
    await expect(state).to_have_attribute("data-state", "ready")
    await expect(page.get_by_test_id("pending")).to_have_count(0)


@pytest.mark.timeout(60)
async def test_when_an_unknown_number_calls_then_the_pop_offers_a_search_that_opens_the_card(
    aiohttp_server, settings, simulator, queue, pg_pool, browser: BrowserContext
):
    login, interface = await _make_agent(pg_pool, queue)
    account = await _make_account(pg_pool)
    _, origin = await _serve(aiohttp_server, settings)
    page: Page = browser.pages[0] if browser.pages else await browser.new_page()
    await _log_in_and_go_ready(page, origin, login, interface, simulator, queue)

    simulator.spawn(inbound_call(simulator.pbx, queue, "+79990000000", "Unknown", patience=3600))
    await expect(page.get_by_test_id("pop")).to_be_visible(timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("card")).to_have_count(0)
    search = page.get_by_test_id("search")
    await search.locator("input[name=q]").fill(account["number"])
    await search.locator("button[type=submit]").click()
    await search.get_by_role("button", name="Открыть").click()
    await expect(page.get_by_test_id("card")).to_have_attribute(
        "data-account", account["number"], timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("consumer-name")).to_have_text("Пётр Сидоров")


@pytest.mark.timeout(60)
async def test_when_a_call_ends_then_the_wrapup_counts_down_the_agent_extends_then_ends_it_after_the_outcome(
    aiohttp_server, settings, simulator, queue, pg_pool, browser: BrowserContext
):
    login, interface = await _make_agent(pg_pool, queue)
    _, origin = await _serve(aiohttp_server, settings)
    page: Page = browser.pages[0] if browser.pages else await browser.new_page()
    state = await _log_in_and_go_ready(page, origin, login, interface, simulator, queue)

    simulator.spawn(inbound_call(simulator.pbx, queue, "+79990000001", "Caller", patience=3600))
    pop = page.get_by_test_id("pop")
    await expect(pop).to_have_attribute("data-status", "answered", timeout=UI_TIMEOUT_MS)
    # The caller hangs up.
    for channel in list(simulator.pbx.factory.channels.values()):
        if channel.name.startswith(f"Local/{queue}@ccs-in"):
            channel.hangup.set()

    await expect(state).to_have_attribute("data-state", "wrap_up", timeout=UI_TIMEOUT_MS)
    await expect(pop).to_have_attribute("data-status", "ended", timeout=UI_TIMEOUT_MS)
    wrapup = page.get_by_test_id("wrapup")
    await expect(wrapup).to_contain_text("Обработка вызова: осталось")
    await expect(page.locator("[data-testid=timeline] [data-step=wrapup]")).to_have_count(1)
    await wrapup.get_by_role("button", name="Продлить на 30 с").click()
    await expect(wrapup.get_by_role("button", name="Уже продлено")).to_be_disabled(
        timeout=UI_TIMEOUT_MS)
    # Not before the call has its outcome: the server refuses, the page says why in Russian.
    await wrapup.get_by_role("button", name="Завершить обработку").click()
    await expect(page.get_by_role("alert")).to_contain_text(
        "сначала укажите результат вызова", timeout=UI_TIMEOUT_MS)
    await expect(state).to_have_attribute("data-state", "wrap_up")
    outcome = page.get_by_test_id("disposition")
    await outcome.locator("select").select_option("resolved")
    await outcome.locator("button[type=submit]").click()
    await expect(outcome).to_contain_text("Итог сохранён", timeout=UI_TIMEOUT_MS)
    await wrapup.get_by_role("button", name="Завершить обработку").click()
    await expect(state).to_have_attribute("data-state", "ready", timeout=UI_TIMEOUT_MS)
    await expect(wrapup).to_have_count(0)
    member = simulator.pbx.queues[queue].members[interface]
    assert not member.paused
