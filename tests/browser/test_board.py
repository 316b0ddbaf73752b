"""The supervisor board in a real browser: Debian's chromium, driven by Playwright, against the
real server (aiohttp + Socket.IO namespace /supervisor), the PBX simulator over AMI, and real
PostgreSQL and Redis.

A supervisor logs in at /board/ and sees the queue's tile and the agent (ready, since the agent
went ready on the desk in another tab). The supervisor forces the agent to not ready with a
reason: the board, the agent's own desk and the PBX (the member paused) all say so. A caller
then waits in the queue (nobody is ready): the tile shows one waiting and a longest wait that
grows with the clock between pushes. The page's screenshot is kept in
tests/artifacts/supervisor_board.png (ignored by git). Beside it: a caller who hangs up while
waiting shows in today's abandoned list, with a button that calls them back; an agent who opens
the board is turned away with the page's own words.

Needs what scripts/bootstrap.sh installs and builds: /usr/bin/chromium and web/dist.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from playwright.async_api import BrowserContext, Page, expect

from cti.simulator import AgentBehaviour, Simulator
from cti.simulator.originate import inbound_call
from state.models import AgentIn
from state.repositories.agents import upsert_agent
from tests.browser.rig import (
    ARTIFACTS,
    PASSWORD,
    UI_TIMEOUT_MS,
    drop_links,
    log_in,
    log_in_as_supervisor,
    log_in_and_go_ready,
    make_agent,
    queue_pbx,
    running_simulator,
    serve,
    text,
    watch,
)


@pytest.fixture
def queue() -> str:
    """A queue of this test's own: agents other tests left ready never ring for its calls."""
    return f"board-{uuid.uuid4().hex[:8]}"


# The PBX's clock runs at the wall clock's pace here (the desk's test runs it 4x faster): the
# board shows waits as the browser's now minus the PBX's join stamps, which a faster PBX clock
# would put in the future.
SCALE = 1.0
RING_SECONDS = 2.0


@pytest.fixture
async def simulator(queue: str) -> AsyncIterator[Simulator]:
    async with running_simulator(queue_pbx(queue, RING_SECONDS), SCALE) as sim:
        yield sim


async def _make_supervisor(pg_pool, simulator: Simulator) -> str:
    """A supervisor with a phone of their own, which answers after a ring (a call back rings
    it first)."""
    suffix = uuid.uuid4().hex[:8]
    # A Local channel like the recorded members' phones: the simulator originates only those.
    login, interface = f"sup-{suffix}", f"Local/9{int(suffix, 16) % 10**6:06d}@agents/n"
    await upsert_agent(pg_pool, AgentIn(
        login=login, full_name="Елена Смирнова", role="supervisor", password=PASSWORD,
        interface=interface), rounds=4)
    simulator.pbx.behaviours[interface] = AgentBehaviour(answer_after=RING_SECONDS, talk=None)
    return login


async def _open_board(browser: BrowserContext, origin: str, login: str) -> Page:
    """A tab of its own (the session lives in the tab's sessionStorage), logged in at /board/."""
    page = await browser.new_page()
    await log_in_as_supervisor(page, origin + "/board/", login, "board")
    return page


@pytest.mark.timeout(120)
async def test_when_a_supervisor_forces_an_agent_not_ready_then_board_desk_and_pbx_agree_and_a_waiting_call_shows(  # noqa: E501
    aiohttp_server, settings, simulator, queue, pg_pool, browser: BrowserContext
):
    ARTIFACTS.mkdir(exist_ok=True)
    login, interface = await make_agent(pg_pool, queue)
    supervisor = await _make_supervisor(pg_pool, simulator)
    app, origin = await serve(aiohttp_server, settings)

    desk: Page = browser.pages[0] if browser.pages else await browser.new_page()
    desk_state = await log_in_and_go_ready(desk, origin, login, interface, simulator, queue)

    board = await _open_board(browser, origin, supervisor)
    foreign, console_errors = watch(board, origin)
    tile = board.locator(f"[data-testid=queue-tile][data-queue='{queue}']")
    await expect(tile).to_be_visible(timeout=UI_TIMEOUT_MS)
    row = board.locator(f"[data-testid=agent-row][data-agent='{login}']")
    await expect(row).to_have_attribute("data-state", "ready", timeout=UI_TIMEOUT_MS)
    await expect(row.get_by_test_id("agent-state")).to_contain_text("Готов")
    await expect(tile.get_by_test_id("waiting")).to_have_text("0")
    # The server's word, not the page's guesses: the queue's title (queues.title), its service
    # level target (the 0.8 default), the way figures count talking calls.
    await expect(tile.locator(".queue-name")).to_have_text("Поддержка")
    await expect(tile).to_contain_text(re.compile(r"цель 80\s%\sза 20 с"))
    await expect(tile.get_by_test_id("formula-counted")).to_contain_text("когда он закончился")
    await expect(tile.get_by_test_id("last-hour-chart")).to_have_attribute("data-buckets", "12")

    # The supervisor forces the agent to not ready (lunch): the PBX pauses the member, and the
    # board and the agent's own desk both show it once the PBX confirmed.
    await row.get_by_test_id("force-reason").select_option("lunch")
    await row.get_by_test_id("force-not-ready").click()
    await expect(row).to_have_attribute("data-state", "not_ready", timeout=UI_TIMEOUT_MS)
    await expect(row.get_by_test_id("agent-reason")).to_have_text("Обед")
    await expect(desk_state).to_have_attribute("data-state", "not_ready", timeout=UI_TIMEOUT_MS)
    await expect(desk.get_by_test_id("state")).to_contain_text("Обед")
    member = simulator.pbx.queues[queue].members[interface]
    assert member.paused
    assert await pg_pool.fetchval(
        "SELECT count(*) FROM supervisor_audit WHERE action = 'force_not_ready' "
        "AND actor_login = $1", supervisor) == 1

    # A caller waits (nobody is ready): the tile shows them, and the longest wait grows with the
    # clock while nothing else happens in the queue.
    simulator.spawn(inbound_call(simulator.pbx, queue, "+79990000002", "Caller", patience=3600))
    await expect(tile.get_by_test_id("waiting")).to_have_text("1", timeout=UI_TIMEOUT_MS)
    wait = tile.get_by_test_id("longest-wait")
    first = await wait.inner_text()
    await expect(wait).not_to_have_text(first, timeout=5_000)
    # The time in state of the agent ticks too.
    in_state = row.get_by_test_id("agent-time")
    shown = await in_state.inner_text()
    await expect(in_state).not_to_have_text(shown, timeout=5_000)

    shot = ARTIFACTS / "supervisor_board.png"
    await board.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")

    assert foreign == [], foreign
    assert [e for e in console_errors if "favicon" not in e] == []
    assert urlsplit(board.url).path == "/board/"

    # The link drops (the server closes every /supervisor connection): the banner shows, the
    # page reconnects by itself and gets the whole board again, without a refresh.
    await drop_links(board, app, "/supervisor")
    await expect(row).to_have_attribute("data-state", "not_ready")
    await expect(tile.get_by_test_id("waiting")).to_have_text("1")

    # Logged out by the supervisor: out of the PBX's queue, and the desk and the board say so.
    await row.get_by_test_id("force-logout").click()
    await expect(row).to_have_attribute("data-state", "logged_out", timeout=UI_TIMEOUT_MS)
    await expect(desk_state).to_have_attribute("data-state", "logged_out", timeout=UI_TIMEOUT_MS)
    assert interface not in simulator.pbx.queues[queue].members


@pytest.mark.timeout(90)
async def test_when_a_caller_hangs_up_while_waiting_then_the_board_lists_them_to_call_back(
    aiohttp_server, settings, simulator, queue, pg_pool, browser: BrowserContext
):
    await make_agent(pg_pool, queue)  # in the queue, never ready: the caller waits alone
    supervisor = await _make_supervisor(pg_pool, simulator)
    _, origin = await serve(aiohttp_server, settings)
    board = await _open_board(browser, origin, supervisor)
    tile = board.locator(f"[data-testid=queue-tile][data-queue='{queue}']")
    await expect(tile).to_be_visible(timeout=UI_TIMEOUT_MS)

    # The chart is made once and fed each push in place: the same canvas before and after.
    canvas = await tile.get_by_test_id("last-hour-chart").locator("canvas").element_handle(
        timeout=UI_TIMEOUT_MS)
    number = "+7913" + str(uuid.uuid4().int)[:7]
    # The caller hangs up after 8 s of waiting (past the 5 s of a short abandon).
    simulator.spawn(inbound_call(simulator.pbx, queue, number, "Caller", patience=8))
    await expect(tile.get_by_test_id("waiting")).to_have_text("1", timeout=UI_TIMEOUT_MS)
    await expect(tile.get_by_test_id("waiting")).to_have_text("0", timeout=UI_TIMEOUT_MS)
    abandoned = board.get_by_test_id("abandoned-row").filter(has_text=queue)
    await expect(abandoned).to_have_count(1, timeout=UI_TIMEOUT_MS)
    shown = text(await abandoned.inner_text())
    assert f"+7 913 {number[5:8]}-{number[8:10]}-{number[10:12]}" in shown, shown
    assert "нет" in shown  # nobody has called back yet
    await expect(tile.locator("[data-figure=abandoned] [data-period=today]")).to_have_text("1")
    # The last hour's chart was given the call: one bucket (the current one, or the one before
    # if a bucket boundary passed) with 1 offered and 1 abandoned, the other 11 empty. The figure
    # carries the columns read back from the uPlot instance (canvas has no DOM to inspect).
    chart = tile.get_by_test_id("last-hour-chart")
    one_call = re.compile(r"^(0,)*1(,0)*$")
    await expect(chart).to_have_attribute("data-abandoned", one_call)
    await expect(chart).to_have_attribute("data-offered", one_call)
    for column in ("offered", "abandoned"):
        assert len((await chart.get_attribute(f"data-{column}")).split(",")) == 12
    await expect(chart.locator("canvas")).to_have_count(1)
    assert await canvas.evaluate("c => c.isConnected")
    ARTIFACTS.mkdir(exist_ok=True)
    await tile.screenshot(path=str(ARTIFACTS / "supervisor_board_tile.png"))

    # One click calls them back: the supervisor's phone rings first (click-to-call).
    await abandoned.get_by_test_id("call-back").click()
    await expect(abandoned).to_contain_text("Вызов начат", timeout=UI_TIMEOUT_MS)
    # The list says someone called back (pushed to every board), and the audit line shows.
    await expect(abandoned).to_contain_text("да, в", timeout=UI_TIMEOUT_MS)
    await expect(board.get_by_test_id("audit")).to_contain_text(
        "перезванивает", timeout=UI_TIMEOUT_MS)


@pytest.mark.timeout(90)
async def test_when_a_supervisor_listens_to_a_call_then_their_phone_rings_into_chanspy_on_the_agent(
    aiohttp_server, settings, simulator, queue, pg_pool, browser: BrowserContext
):
    login, interface = await make_agent(pg_pool, queue)
    supervisor = await _make_supervisor(pg_pool, simulator)
    _, origin = await serve(aiohttp_server, settings)
    desk: Page = browser.pages[0] if browser.pages else await browser.new_page()
    await log_in_and_go_ready(desk, origin, login, interface, simulator, queue)
    board = await _open_board(browser, origin, supervisor)
    row = board.locator(f"[data-testid=agent-row][data-agent='{login}']")
    await expect(row).to_have_attribute("data-state", "ready", timeout=UI_TIMEOUT_MS)
    await expect(row.get_by_test_id("spy-listen")).to_be_disabled()

    simulator.spawn(inbound_call(simulator.pbx, queue, "+79990000003", "Caller", patience=3600))
    await expect(row).to_have_attribute("data-state", "on_call", timeout=UI_TIMEOUT_MS)
    # The call being talked shows beside the figures, which count it once it ends.
    tile = board.locator(f"[data-testid=queue-tile][data-queue='{queue}']")
    await expect(tile.get_by_test_id("talking-now").locator("b")).to_have_text(
        "1", timeout=UI_TIMEOUT_MS)
    await expect(tile.locator("[data-figure=answered] [data-period=today]")).to_have_text("0")
    await row.get_by_test_id("spy-listen").click()
    await expect(row.get_by_test_id("action-note")).to_contain_text(
        "сейчас зазвонит ваш телефон", timeout=UI_TIMEOUT_MS)
    await expect(board.get_by_test_id("audit")).to_contain_text(
        "слушает разговор", timeout=UI_TIMEOUT_MS)
    spy = [a for a in simulator.pbx.originates if a.get("context") == "ccs-spy"]
    assert [a.get("exten") for a in spy] == ["listen"]


@pytest.mark.timeout(60)
async def test_when_an_agent_opens_the_board_then_the_page_turns_them_away_in_its_own_words(
    aiohttp_server, settings, simulator, queue, pg_pool, browser: BrowserContext
):
    login, _ = await make_agent(pg_pool, queue)
    _, origin = await serve(aiohttp_server, settings)
    page = await browser.new_page()
    await log_in(page, origin + "/board/", login)
    await expect(page.get_by_test_id("login-form")).to_contain_text(
        "только супервизорам", timeout=UI_TIMEOUT_MS)
    await expect(page.get_by_test_id("board")).to_have_count(0)
