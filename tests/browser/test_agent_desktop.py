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

from urllib.parse import urlsplit

import pytest
from playwright.async_api import BrowserContext, Page, expect

from cti.simulator.originate import inbound_call
from tests.browser.rig import (
    ARTIFACTS,
    UI_TIMEOUT_MS,
    drop_links,
    log_in_and_go_ready,
    make_account,
    make_agent,
    serve,
    text,
    watch,
)


@pytest.mark.timeout(120)
async def test_when_an_agent_goes_ready_and_a_call_comes_then_the_card_pops_and_an_appeal_is_registered(  # noqa: E501
    aiohttp_server, settings, simulator, queue, pg_pool, browser: BrowserContext
):
    ARTIFACTS.mkdir(exist_ok=True)
    login, interface = await make_agent(pg_pool, queue)
    account = await make_account(pg_pool)

    app, origin = await serve(aiohttp_server, settings)

    page: Page = browser.pages[0] if browser.pages else await browser.new_page()
    foreign, console_errors = watch(page, origin)

    state = await log_in_and_go_ready(page, origin, login, interface, simulator, queue)

    # A caller from the account's phone: the card pops while the agent's phone rings.
    simulator.spawn(inbound_call(simulator.pbx, queue, account["phone"], "Petr Sidorov",
                                 patience=3600))
    pop = page.get_by_test_id("pop")
    await expect(pop).to_have_attribute("data-status", "ringing", timeout=UI_TIMEOUT_MS)
    card = page.get_by_test_id("card")
    await expect(card).to_have_attribute("data-account", account["number"])
    await expect(page.get_by_test_id("consumer-name")).to_have_text("Пётр Сидоров")
    assert text(await page.get_by_test_id("total-debt").inner_text()) == "36 201,67"

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
    await drop_links(page, app, "/agent")
    await expect(state).to_have_attribute("data-state", "on_call")
    await expect(pop).to_have_attribute("data-call-id", call_id or "")


@pytest.mark.timeout(60)
async def test_when_the_pbx_refuses_a_pause_then_the_page_shows_it_failed_with_the_pbx_reason(
    aiohttp_server, settings, simulator, queue, pg_pool, browser: BrowserContext
):
    login, interface = await make_agent(pg_pool, queue)
    _, origin = await serve(aiohttp_server, settings)
    page: Page = browser.pages[0] if browser.pages else await browser.new_page()
    state = await log_in_and_go_ready(page, origin, login, interface, simulator, queue)

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
    login, interface = await make_agent(pg_pool, queue)
    account = await make_account(pg_pool)
    _, origin = await serve(aiohttp_server, settings)
    page: Page = browser.pages[0] if browser.pages else await browser.new_page()
    await log_in_and_go_ready(page, origin, login, interface, simulator, queue)

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
    login, interface = await make_agent(pg_pool, queue)
    _, origin = await serve(aiohttp_server, settings)
    page: Page = browser.pages[0] if browser.pages else await browser.new_page()
    state = await log_in_and_go_ready(page, origin, login, interface, simulator, queue)

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
