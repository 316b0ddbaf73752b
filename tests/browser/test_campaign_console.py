"""The campaign console in a real browser: Debian's chromium, driven by Playwright, against the
real server (aiohttp, the campaigns' REST and their pushes on Socket.IO /supervisor, the pacer
as leader work), the PBX simulator's robocall callees over AMI, and real PostgreSQL and Redis.

A supervisor logs in at /campaigns/, creates a campaign from the debt scenario's stage-1
template for a city of the test's own, previews it (how many, who is skipped and why, counts by
city and stage), creates and starts it, watches the figures and the chart advance while the
simulator's callees answer (the last digit of each number picks what the callee does:
cti/simulator/robocall.py), pauses and resumes it, downloads the results CSV, stops it and
clones it; the page shows every change at once. The form's templates, outages and cities are
the server's; pushes come on the console's own namespace /campaigns (never the board); a
reload lists the campaigns with their counts from the one list request. Last, the switch that stops all dialling is
engaged and lifted from the page. The screenshots are kept in tests/artifacts/
(campaign_console.png running, campaign_console_preview.png the form's preview; ignored by git).

The consumers live in a time zone where it is about noon now, so the contact rules' calling
hours never hold the test back whenever it runs.

Needs what scripts/bootstrap.sh installs and builds: /usr/bin/chromium and web/dist.
"""
from __future__ import annotations

import random
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import BrowserContext, Page, expect

from ccs.settings import Settings
from cti.simulator import PbxConfig, Simulator
from state.models import AgentIn
from state.repositories.agents import upsert_agent
from tests.browser.rig import (
    ARTIFACTS,
    PASSWORD,
    UI_TIMEOUT_MS,
    chromium,
    log_in,
    log_in_as_supervisor,
    running_simulator,
    serve,
    watch,
)

SCALE = 0.5  # PBX seconds run twice as fast: a callee rings 0.5 s and listens 0.7 s
# Last digits of the targets' numbers (cti/simulator/robocall.py): 1 confirms, 3 opts out,
# 4 hears it all, 5 hangs up half-way, 6 is busy (retried in 30 minutes: the campaign does not
# finish by itself before the test stops it).
DIGITS = ["1", "1", "1", "3", "4", "4", "5", "6"]


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    async with running_simulator(PbxConfig(queues=[]), SCALE) as sim:
        yield sim


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared server's, with progress pushed every second."""
    return settings.model_copy(update={
        "campaigns": settings.campaigns.model_copy(update={"progress_push_seconds": 1.0})})


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    async with chromium(tmp_path / "chromium-profile", accept_downloads=True,
                        viewport={"width": 1440, "height": 1100}) as context:
        yield context


def _noon_zone(now: datetime) -> str:
    """A fixed-offset zone where it is between 11:00 and 13:59 now (Etc/GMT-5 is UTC+5)."""
    for offset in range(-12, 15):
        if 11 <= (now.hour + offset) % 24 <= 13:
            return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}" if offset else "Etc/GMT"
    raise AssertionError("no zone at noon")


async def _make_targets(pg_pool, city: str) -> list[dict]:
    """One consumer per account; debts of stage 1 (≥ 1,000 RUB, ≥ 1 month): DIGITS with a
    phone each, one without a phone (skipped: no phone), one with too small a debt (not
    selected)."""
    tz = _noon_zone(datetime.now(timezone.utc))
    rng = random.Random()
    made = []
    rows = [(d, Decimal("1500.00"), 2) for d in DIGITS]
    rows += [(None, Decimal("2500.00"), 3), ("1", Decimal("300.00"), 1)]
    async with pg_pool.acquire() as conn, conn.transaction():
        for digit, debt, months in rows:
            consumer = await conn.fetchval(
                "INSERT INTO consumers (kind, full_name) VALUES ('person', 'Тест') RETURNING id")
            account = await conn.fetchval(
                """INSERT INTO accounts (number, consumer_id, city, street, house, apartment,
                                         timezone)
                   VALUES ($1, $2, $3, 'ул. Мира', '7', $4, $5) RETURNING id""",
                str(uuid.uuid4().int % 10**11).rjust(11, "1"), consumer, city,
                str(len(made) + 1), tz)
            if digit is not None:
                phone = f"+7912{rng.randrange(10**6):06d}{digit}"
                phone_id = await conn.fetchval(
                    """INSERT INTO phones (e164) VALUES ($1) ON CONFLICT (e164)
                       DO UPDATE SET e164 = EXCLUDED.e164 RETURNING id""", phone)
                await conn.execute(
                    "INSERT INTO account_phones (phone_id, account_id, kind) "
                    "VALUES ($1, $2, 'mobile')", phone_id, account)
            await conn.execute(
                """INSERT INTO balances (account_id, service, period, debt, months_overdue)
                   VALUES ($1, 'electricity', date '2026-11-01', $2, $3)""",
                account, debt, months)
            made.append({"id": account, "digit": digit})
    return made


async def _make_supervisor(pg_pool) -> str:
    login = f"camp-{uuid.uuid4().hex[:8]}"
    await upsert_agent(pg_pool, AgentIn(login=login, full_name="Елена Смирнова",
                                        role="supervisor", password=PASSWORD), rounds=4)
    return login


async def _until_figure(page: Page, name: str, at_least: int) -> None:
    await page.wait_for_function(
        """([name, n]) => {
            const b = document.querySelector(`[data-figure=${name}] b`);
            return b !== null && Number(b.textContent) >= n;
        }""", arg=[name, at_least], timeout=30_000)


@pytest.mark.timeout(150)
async def test_when_a_supervisor_creates_previews_starts_and_stops_a_campaign_then_the_console_shows_it_live(  # noqa: E501
    aiohttp_server, settings, simulator, pg_pool, browser: BrowserContext
):
    ARTIFACTS.mkdir(exist_ok=True)
    city = f"Город-{uuid.uuid4().hex[:6]}"
    await _make_targets(pg_pool, city)
    supervisor = await _make_supervisor(pg_pool)
    _, origin = await serve(aiohttp_server, settings)

    page: Page = browser.pages[0] if browser.pages else await browser.new_page()
    foreign, console_errors = watch(page, origin, "blob:")

    async def say_yes(dialog) -> None:  # "Остановить кампанию …?", the kill switch's reason
        await dialog.accept("учения" if dialog.type == "prompt" else None)

    page.on("dialog", say_yes)
    frames: list[str] = []  # Socket.IO frames the page received
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda f: frames.append(f if isinstance(f, str) else "")))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {urlsplit(r.url).path}"))
    outage = await pg_pool.fetchval(
        "INSERT INTO outages (service, description, started_at) VALUES ('electricity', $1, now()) "
        "RETURNING id", f"Авария {city}")
    await pg_pool.execute(
        "INSERT INTO outage_addresses (outage_id, city, street) VALUES ($1, $2, 'ул. Мира')",
        outage, city)

    await log_in_as_supervisor(page, origin + "/campaigns/", supervisor, "campaigns")

    # From the debt scenario's first stage, for our city only.
    await page.get_by_test_id("new-campaign").click()
    form = page.get_by_test_id("campaign-form")
    await expect(form.get_by_test_id("template")).to_have_value("debt_stage_1")
    await expect(form.locator("input[name=minDebt]")).to_have_value("1000")
    # The pickers are the server's: the open outage, the cities, the city's streets.
    await expect(form.locator(f"select[name=outageId] option[value='{outage}']")).to_contain_text(
        f"Авария {city}", timeout=UI_TIMEOUT_MS)
    await expect(form.locator(f"#campaign-cities option[value='{city}']")).to_have_count(1)
    await form.locator("input[name=name]").fill("Долг, этап 1 — тест")
    await form.locator("input[name=city]").fill(city)
    await form.locator("input[name=city]").dispatch_event("change")
    await expect(form.locator("#campaign-streets option[value='ул. Мира']")).to_have_count(
        1, timeout=UI_TIMEOUT_MS)

    # Preview: 9 selected (the small debt is not), 1 skipped for having no phone; by city
    # and by stage (stage 2 needs 2 months overdue: all 9 have them).
    await form.get_by_test_id("preview").click()
    result = form.get_by_test_id("preview-result")
    await expect(result).to_have_attribute("data-matched", "9", timeout=UI_TIMEOUT_MS)
    await expect(result).to_have_attribute("data-skipped", "1")
    await expect(result.get_by_test_id("preview-skipped")).to_contain_text("1 из 9")
    await expect(result.locator("[data-reason=no_phone]")).to_contain_text("нет телефона")
    await expect(result.get_by_test_id("by-city")).to_contain_text(city)
    await expect(result.get_by_test_id("by-stage")).to_contain_text("Этап 2")
    # Stage counts use the preview's rule: the account without a phone is matched in both.
    await expect(result.locator("[data-stage='1'] td.num")).to_have_text("9")
    await expect(result.get_by_test_id("sample").locator("tbody tr")).to_have_count(9)
    await page.screenshot(path=str(ARTIFACTS / "campaign_console_preview.png"), full_page=True)

    await form.get_by_test_id("create").click()
    detail = page.get_by_test_id("campaign-detail")
    await expect(detail).to_have_attribute("data-state", "created", timeout=UI_TIMEOUT_MS)
    campaign_id = int(await detail.get_attribute("data-id"))
    row = page.locator(f"[data-testid=campaign-row][data-id='{campaign_id}']")
    await expect(row).to_contain_text("Создана")

    # Start: the figures and the chart advance as the callees answer, pushed by the server.
    await detail.get_by_test_id("start").click()
    await expect(detail).to_have_attribute("data-state", "running", timeout=UI_TIMEOUT_MS)
    await expect(row).to_have_attribute("data-state", "running")
    await expect(detail.locator("[data-figure=total] b")).to_have_text("9", timeout=UI_TIMEOUT_MS)
    # The chart is made once and fed each push in place: the same canvas as the figures advance.
    canvas = await detail.get_by_test_id("progress-chart").locator("canvas").element_handle(
        timeout=UI_TIMEOUT_MS)
    await _until_figure(page, "dialled", 4)
    await _until_figure(page, "confirmed", 3)
    await _until_figure(page, "answered", 6)
    await expect(detail.locator("[data-outcome=confirmed] td.num").first).to_have_text("3")
    await expect(detail.locator("[data-outcome=opted_out] td.num").first).to_have_text(
        "1", timeout=UI_TIMEOUT_MS)
    # The chart (uPlot, on a canvas) was given the figures: its dialled line, read back from the
    # instance onto the figure, starts at 0 when the campaign started and reaches what was shown.
    chart = detail.get_by_test_id("progress-chart")
    points = int(await chart.get_attribute("data-points"))
    assert points >= 2, points
    await expect(chart).to_have_attribute("data-dialled", re.compile(r"^0,(\d+,)*[4-9]$"))
    assert "dialled" in (await chart.get_attribute("data-series")).split(",")
    await expect(chart.locator("canvas")).to_have_count(1)
    assert await canvas.evaluate("c => c.isConnected")

    shot = ARTIFACTS / "campaign_console.png"
    await page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")

    # Pause shows at once (before the server's reply), and the server has it paused.
    await detail.get_by_test_id("pause").click()
    await expect(detail).to_have_attribute("data-state", "paused", timeout=500)
    await expect(detail.get_by_test_id("resume")).to_be_enabled(timeout=UI_TIMEOUT_MS)
    assert await pg_pool.fetchval(
        "SELECT state FROM campaigns WHERE id = $1", campaign_id) == "paused"
    await detail.get_by_test_id("resume").click()
    await expect(detail).to_have_attribute("data-state", "running", timeout=UI_TIMEOUT_MS)

    # The results as CSV for Excel: `;`, UTF-8 with a BOM, one row per target.
    async with page.expect_download() as download_info:
        await detail.get_by_test_id("results-csv").click()
    download = await download_info.value
    data = Path(await download.path()).read_bytes()
    assert data.startswith("\ufeff".encode()), data[:10]
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("account;city;"), lines[0]
    assert len(lines) == 1 + 9

    # Stop: the page says so at once, the server too, and nothing queued is dialled after.
    await detail.get_by_test_id("stop").click()
    await expect(detail).to_have_attribute("data-state", "stopped", timeout=500)
    await expect(row).to_have_attribute("data-state", "stopped")
    await expect(detail.get_by_test_id("campaign-state")).to_have_text("Остановлена")
    await expect(detail.get_by_test_id("stop")).to_have_count(0, timeout=UI_TIMEOUT_MS)
    assert await pg_pool.fetchval(
        "SELECT state FROM campaigns WHERE id = $1", campaign_id) == "stopped"
    assert await pg_pool.fetchval(
        "SELECT count(*) FROM campaign_attempts WHERE campaign_id = $1 "
        "AND state IN ('queued', 'retry_wait')", campaign_id) == 0

    # The pushes came on /campaigns; the page never joined the board's namespace.
    assert any(f.startswith('42/campaigns,["campaign"') for f in frames), frames[:5]
    assert not any("/supervisor" in f for f in frames)

    # A reload (the session is kept in the tab): the list shows the campaign with its counts
    # and its final state with the date it reached it, all from the list's one request.
    requests.clear()
    await page.reload()
    await expect(row).to_have_attribute("data-state", "stopped", timeout=UI_TIMEOUT_MS)
    await expect(row.locator("td.num")).to_contain_text("9 · ", timeout=UI_TIMEOUT_MS)
    since = await pg_pool.fetchval("SELECT state_since FROM campaigns WHERE id = $1",
                                   campaign_id)
    await expect(row).to_contain_text(
        since.astimezone(ZoneInfo("Europe/Moscow")).strftime("%d.%m.%Y %H:%M"))
    one_by_one = [r for r in requests if re.fullmatch(r"GET /api/campaigns/\d+", r)]
    assert one_by_one == [], one_by_one

    # Clone: a new campaign with the same spec, not started, shown at once.
    await row.click()
    await expect(detail).to_have_attribute("data-id", str(campaign_id), timeout=UI_TIMEOUT_MS)
    await detail.get_by_test_id("clone").click()
    await expect(detail).to_have_attribute("data-state", "created", timeout=UI_TIMEOUT_MS)
    await expect(detail).to_contain_text(f"копия №{campaign_id}")
    clone_id = int(await detail.get_attribute("data-id"))
    assert clone_id != campaign_id
    await expect(page.locator(f"[data-testid=campaign-row][data-id='{clone_id}']")).to_contain_text(
        "Создана")

    # The switch that stops every campaign's dialling: engaged with a reason, then lifted.
    switch = page.get_by_test_id("kill-switch")
    await expect(switch).to_have_attribute("data-engaged", "false")
    try:
        await switch.get_by_test_id("kill-switch-engage").click()
        await expect(switch).to_have_attribute("data-engaged", "true", timeout=UI_TIMEOUT_MS)
        await expect(switch).to_contain_text("учения")
        assert await pg_pool.fetchval("SELECT engaged FROM campaign_kill_switch")
        await switch.get_by_test_id("kill-switch-release").click()
        await expect(switch).to_have_attribute("data-engaged", "false", timeout=UI_TIMEOUT_MS)
        assert not await pg_pool.fetchval("SELECT engaged FROM campaign_kill_switch")
    finally:  # never left on for the tests after this one
        await pg_pool.execute("UPDATE campaign_kill_switch SET engaged = false")

    assert foreign == [], foreign
    assert [e for e in console_errors if "favicon" not in e] == []
    assert urlsplit(page.url).path == "/campaigns/"


@pytest.mark.timeout(60)
async def test_when_an_agent_opens_the_campaign_console_then_the_page_turns_them_away_in_its_own_words(  # noqa: E501
    aiohttp_server, settings, pg_pool, browser: BrowserContext
):
    login = f"camp-agent-{uuid.uuid4().hex[:8]}"
    await upsert_agent(pg_pool, AgentIn(login=login, full_name="Анна Иванова",
                                        password=PASSWORD, interface=f"PJSIP/{login}"), rounds=4)
    _, origin = await serve(aiohttp_server, settings)
    page = await browser.new_page()
    await log_in(page, origin + "/campaigns", login)  # without the slash: redirected
    await expect(page.get_by_test_id("login-form")).to_contain_text(
        "Кампании обзвона доступны только супервизорам", timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("campaigns")).to_have_count(0)
    assert urlsplit(page.url).path == "/campaigns/"
