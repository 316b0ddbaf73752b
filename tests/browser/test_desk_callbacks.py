"""Callback commitments on the agent desk in a real browser: Debian's chromium, driven by
Playwright, against the real server, the PBX simulator over AMI, real PostgreSQL and Redis.

The single service standard of the network companies: when the operator cannot answer during the
call, the company calls back with the answer (within 4 hours). An agent answers a call, promises
from the pop to call back (bound to the call and the card's account, due by the server's
default), sees it in their own list by due time, another one turning overdue by the clock,
dials it (the PBX gets the Originate: the agent's phone first) and closes it with an outcome: it
leaves the list and PostgreSQL says done. Screenshot: tests/artifacts/desk_callbacks.png.

Needs what scripts/bootstrap.sh installs and builds: /usr/bin/chromium and web/dist.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from playwright.async_api import BrowserContext, Page, expect

from cti.simulator import Simulator
from cti.simulator.originate import inbound_call
from tests.browser.rig import (
    ARTIFACTS,
    UI_TIMEOUT_MS,
    log_in_and_go_ready,
    make_account,
    make_agent,
    serve,
    text,
)


async def _agent_with_a_local_phone(pg_pool, queue: str) -> tuple[str, str, int]:
    """The desk's agent, on a Local channel like the recorded members' phones: the simulator
    rings only those for a click-to-call."""
    login, _ = await make_agent(pg_pool, queue)
    interface = f"Local/8{uuid.uuid4().int % 10**6:06d}@agents/n"
    agent_id = await pg_pool.fetchval(
        "UPDATE agents SET interface = $1 WHERE login = $2 RETURNING id", interface, login)
    return login, interface, agent_id


async def _promise(page: Page, note: str, due: str = "") -> None:
    await page.get_by_test_id("promise-callback").click()
    form = page.get_by_test_id("promise-form")
    await form.locator("textarea[name=note]").fill(note)
    if due:
        await form.locator("select[name=due]").select_option(due)
    await form.locator("button[type=submit]").click()
    await expect(page.get_by_test_id("promise-note")).to_contain_text(
        "Записано: перезвонить до", timeout=UI_TIMEOUT_MS)


@pytest.mark.timeout(120)
async def test_when_an_agent_promises_a_callback_from_the_pop_then_it_is_listed_dialled_and_closed(
    aiohttp_server, settings, simulator: Simulator, queue, pg_pool, browser: BrowserContext
):
    ARTIFACTS.mkdir(exist_ok=True)
    login, interface, agent_id = await _agent_with_a_local_phone(pg_pool, queue)
    account = await make_account(pg_pool)
    _, origin = await serve(aiohttp_server, settings)
    page: Page = browser.pages[0] if browser.pages else await browser.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    await log_in_and_go_ready(page, origin, login, interface, simulator, queue)
    mine = page.get_by_test_id("my-callback")
    await expect(page.get_by_test_id("my-callbacks")).to_contain_text("Открытых обещаний нет")

    # The caller's question needs an answer the agent does not have: a promise from the pop.
    simulator.spawn(inbound_call(simulator.pbx, queue, account["phone"], "Petr Sidorov",
                                 patience=3600))
    pop = page.get_by_test_id("pop")
    await expect(pop).to_have_attribute("data-status", "answered", timeout=UI_TIMEOUT_MS)
    call_id = await pop.get_attribute("data-call-id")
    await page.get_by_test_id("promise-callback").click()
    await expect(page.get_by_test_id("promise-account")).to_have_text(account["number"])
    await page.get_by_test_id("promise-form").locator("button", has_text="Отмена").click()
    await _promise(page, "Уточнить перерасчёт отопления за октябрь")
    await expect(mine).to_have_count(1, timeout=UI_TIMEOUT_MS)
    row = await pg_pool.fetchrow(
        "SELECT id, phone, account_id, call_id, agent_id, note, status, "
        "due_at - created_at AS due_in FROM callbacks WHERE call_id = $1", call_id)
    assert row is not None
    first = row["id"]
    assert dict(row) == {
        "id": first, "phone": account["phone"], "account_id": account["id"], "call_id": call_id,
        "agent_id": agent_id, "note": "Уточнить перерасчёт отопления за октябрь",
        "status": "open", "due_in": dt.timedelta(hours=4)}  # the server's default
    shown = text(await mine.first.inner_text())
    phone = account["phone"]
    assert f"+7 913 {phone[5:8]}-{phone[8:10]}-{phone[10:12]}" in shown, shown
    # Time left ticks from the due time (the page's clock may be a second behind the server's).
    assert account["number"] in shown and re.search(r"осталось (4:00:00|3:59:\d\d)", shown), shown

    # A second promise, sooner: it comes first in the list.
    await _promise(page, "Сообщить срок поверки", due="30")
    await expect(mine).to_have_count(2, timeout=UI_TIMEOUT_MS)
    second = await pg_pool.fetchval(
        "SELECT id FROM callbacks WHERE call_id = $1 AND id <> $2", call_id, first)
    assert await pg_pool.fetchval(
        "SELECT due_at - created_at FROM callbacks WHERE id = $1", second) == dt.timedelta(
        minutes=30)
    await expect(mine.first).to_have_attribute("data-callback", str(second))

    # The caller hangs up; the sooner one is made due in a few seconds (as if 30 minutes had
    # passed), and the page learns it with the refresh that follows the next action.
    for channel in list(simulator.pbx.factory.channels.values()):
        if channel.name.startswith(f"Local/{queue}@ccs-in"):
            channel.hangup.set()
    await pg_pool.execute(
        "UPDATE callbacks SET due_at = now() + interval '4 seconds' WHERE id = $1", second)

    # «Позвонить»: click-to-call through the server, the agent's phone first.
    target = page.locator(f"[data-testid=my-callback][data-callback='{first}']")
    soon = page.locator(f"[data-testid=my-callback][data-callback='{second}']")
    await target.get_by_test_id("callback-dial").click()
    await expect(target.get_by_test_id("callback-row-note")).to_contain_text(
        "Вызов начат", timeout=UI_TIMEOUT_MS)
    dialled = [a for a in simulator.pbx.originates if a.get("exten") == phone.lstrip("+")]
    assert [a.get("channel") for a in dialled] == [interface]
    dial = await pg_pool.fetchrow(
        "SELECT dialled_at, dial_call_id FROM callbacks WHERE id = $1", first)
    assert dial["dialled_at"] is not None and dial["dial_call_id"]

    # The sooner one turns overdue with the clock, on the page as it stands.
    await expect(soon).to_have_attribute("data-overdue", "false", timeout=UI_TIMEOUT_MS)
    await expect(soon.get_by_test_id("callback-left")).to_contain_text("осталось 0:0")
    await expect(soon).to_have_attribute("data-overdue", "true", timeout=10_000)
    await expect(soon.get_by_test_id("callback-left")).to_contain_text("просрочено на 0:")
    await expect(target).to_have_attribute("data-overdue", "false")

    shot = ARTIFACTS / "desk_callbacks.png"
    await page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")

    # «Итог»: an outcome from the list and a comment close it; it leaves the list.
    await target.get_by_test_id("callback-outcome").click()
    outcome = target.get_by_test_id("callback-outcome-form")
    await outcome.locator("select[name=outcome]").select_option("answer_given")
    await outcome.locator("textarea[name=comment]").fill("Перерасчёт будет в ноябрьской квитанции")
    await outcome.locator("button[type=submit]").click()
    await expect(target).to_have_count(0, timeout=UI_TIMEOUT_MS)
    await expect(mine).to_have_count(1)
    closed = await pg_pool.fetchrow(
        "SELECT status, outcome, outcome_comment, closed_by FROM callbacks WHERE id = $1", first)
    assert dict(closed) == {"status": "done", "outcome": "answer_given",
                            "outcome_comment": "Перерасчёт будет в ноябрьской квитанции",
                            "closed_by": agent_id}
    assert [e for e in console_errors if "favicon" not in e] == []
