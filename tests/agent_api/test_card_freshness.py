"""After any write, the next card over HTTP shows it: the database notifies the change and the
server drops the cached card (migration 0002's triggers, state.card_listener)."""
import datetime as dt
from decimal import Decimal

import pytest

from ccs.app import create_app
from agent_api.app_keys import CARD_LISTENER
from state.billing_import import import_billing
from state.models import NewAppeal
from state.readings import ReadingLimits, submit_reading
from state.repositories.appeals import insert_appeal
from tests.agent_api.conftest import login_token
from tests.helpers import until


@pytest.fixture
async def desk(aiohttp_client, app_settings, make_agent, make_account):
    """A client with a token, an account, and the account's card already cached."""
    app = create_app(app_settings)
    client = await aiohttp_client(app)
    await until(lambda: app[CARD_LISTENER].listening)
    _, login = await make_agent()
    account = await make_account()
    headers = {"Authorization": f"Bearer {await login_token(client, login)}"}

    async def card() -> dict:
        response = await client.get(f"/api/cards/account/{account['number']}", headers=headers)
        assert response.status == 200
        return await response.json()

    first = await card()
    assert (await card())["built_at"] == first["built_at"]  # served from the cache
    return account, card


async def test_when_billing_import_changes_the_balance_then_the_next_card_shows_it(
    desk, pg_pool, tmp_path
):
    account, card = desk
    csv = tmp_path / "billing.csv"
    csv.write_text(
        "account;full_name;city;street;house;service;period;charged;balance;debt\n"
        f"{account['number']};Пётр Сидоров;Омск;ул. Ленина;5;electricity;2026-11;10.00;"
        "-999.99;999.99\n", encoding="utf-8")
    report = await import_billing(pg_pool, csv)
    assert report.rows_applied == 1

    async def shows_import():
        return (await card())["total_debt"] == "999.99"

    await until(shows_import)


async def test_when_a_reading_is_stored_then_the_next_card_shows_it(desk, pg_pool):
    account, card = desk
    this_month = dt.date.today().replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    meter_id = await pg_pool.fetchval(
        """INSERT INTO meters (account_id, service, serial, digits, installed_on)
           VALUES ($1, 'electricity', $2, 6, '2020-01-01') RETURNING id""",
        account["id"], f"fresh-{account['number']}")
    await pg_pool.execute(
        """INSERT INTO readings (meter_id, zone, period, value, source, status)
           VALUES ($1, 'total', $2, 100, 'file', 'accepted')""", meter_id, last_month)
    await until(lambda: _has_meter(card))

    stored = await submit_reading(pg_pool, meter_id=meter_id, zone="total", period=this_month,
                                  value=Decimal("150"), source="agent", limits=ReadingLimits())
    assert stored.status == "accepted"

    async def shows_reading():
        meters = (await card())["meters"]
        return meters and Decimal(meters[0]["last_readings"]["total"]["value"]) == 150

    await until(shows_reading)


async def _has_meter(card) -> bool:
    return bool((await card())["meters"])


async def test_when_an_appeal_is_written_then_the_next_card_shows_it(desk, pg_pool):
    account, card = desk
    await insert_appeal(pg_pool, NewAppeal(account_id=account["id"], type="complaint",
                                           topic="no-light", channel="phone"))

    async def shows_appeal():
        return [a["topic"] for a in (await card())["appeals"]] == ["no-light"]

    await until(shows_appeal)


async def test_when_account_or_balance_is_updated_then_the_next_card_shows_it(desk, pg_pool):
    account, card = desk
    await pg_pool.execute("UPDATE accounts SET apartment = '99' WHERE id = $1", account["id"])

    async def shows_apartment():
        return (await card())["account"]["apartment"] == "99"

    await until(shows_apartment)
    await pg_pool.execute("UPDATE balances SET penalty = 7.5 WHERE account_id = $1", account["id"])

    async def shows_penalty():
        return (await card())["total_penalty"] == "7.50"

    await until(shows_penalty)


async def test_when_cards_are_served_then_money_has_two_decimals_cached_or_not(desk):
    _, card = desk
    for _ in range(2):  # the second comes from the cache
        body = await card()
        assert body["total_debt"] == "1520.30"
        assert body["total_penalty"] == "0.00"
        assert body["balances"][0]["balance"] == "1520.30"
        assert body["balances"][0]["penalty"] == "0.00"
