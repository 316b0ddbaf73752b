import datetime as dt
import uuid
from decimal import Decimal

import pytest

from state.models import AgentIn, NewAppeal, NewInteraction, QueueDefinition, QueueMembership
from state.repositories import (
    InterfaceTaken,
    PasswordRequired,
    PasswordTooLong,
    UnknownQueue,
    active_outages_at,
    appeals_of_account,
    find_accounts_by_phone,
    get_account,
    get_agent,
    get_agent_by_interface,
    get_agent_by_login,
    get_agent_credentials,
    insert_appeal,
    insert_interaction,
    interactions_of_account,
    list_agents,
    list_queues,
    meters_of_account,
    update_interaction_outcome,
    upsert_agent,
    upsert_queue,
    verify_password,
)

ROUNDS = 4  # bcrypt's minimum: the tests check behaviour, not hashing cost


def login() -> str:
    return f"op{uuid.uuid4().hex[:8]}"


async def test_when_account_exists_then_it_is_found_by_number_and_phone(state_pool, rows):
    phone = rows.phone()
    account = await rows.account(phones=(phone,), apartment=None)

    by_number = await get_account(state_pool, account["number"])
    by_phone = await find_accounts_by_phone(state_pool, phone)

    assert by_number is not None and by_number.id == account["id"]
    assert by_number.address.apartment is None
    assert by_number.address.street == account["street"]
    assert [a.number for a in by_phone] == [account["number"]]
    assert await get_account(state_pool, "999999999999") is None
    assert await find_accounts_by_phone(state_pool, "+79990000001") == []


async def test_when_meter_has_readings_then_last_accepted_per_zone_is_returned(state_pool, rows):
    account = await rows.account()
    async with state_pool.acquire() as conn:
        meter_id = await conn.fetchval(
            """INSERT INTO meters (account_id, service, serial, zones, digits, decimals)
               VALUES ($1, 'electricity', $2, '{day,night,peak}', 6, 2) RETURNING id""",
            account["id"], f"R-{account['id']}",
        )
        await conn.execute(
            """INSERT INTO readings (meter_id, zone, period, value, source, status, reject_reason)
               VALUES ($1, 'day', '2026-08-01', 10.25, 'ivr', 'accepted', NULL),
                      ($1, 'day', '2026-09-01', 20.50, 'file', 'accepted', NULL),
                      ($1, 'night', '2026-10-01', 5, 'ivr', 'rejected', 'below_previous')""",
            meter_id,
        )

    meters = await meters_of_account(state_pool, account["id"])

    assert [m.id for m in meters] == [meter_id]
    assert set(meters[0].last_readings) == {"day"}
    assert meters[0].last_readings["day"].value == Decimal("20.50")
    assert meters[0].zones == ["day", "night", "peak"]
    assert await meters_of_account(state_pool, -1) == []


async def test_when_agent_is_created_then_password_verifies_and_hash_stays_hidden(state_pool):
    await upsert_queue(state_pool, QueueDefinition(name="support", title="Поддержка"))
    name = login()
    agent = await upsert_agent(
        state_pool,
        AgentIn(login=name, full_name="Петрова Анна", password="s3cret-пароль",
                interface=f"PJSIP/{name}", queues=[QueueMembership(queue="support", penalty=2)]),
        rounds=ROUNDS,
    )

    credentials = await get_agent_credentials(state_pool, name)

    assert credentials is not None and credentials.agent == agent
    assert credentials.password_hash.startswith("$2")
    assert await verify_password(credentials, "s3cret-пароль")
    assert not await verify_password(credentials, "wrong")
    assert not await verify_password(credentials, "x" * 100)
    assert "password_hash" not in credentials.model_dump()
    assert credentials.password_hash not in repr(credentials)
    assert "password" not in agent.model_dump_json()
    assert agent.queues == [QueueMembership(queue="support", penalty=2)]
    assert await get_agent_by_interface(state_pool, f"PJSIP/{name}") == agent
    assert await get_agent(state_pool, agent.id) == agent
    assert agent in await list_agents(state_pool)


async def test_when_agents_are_listed_with_a_pause_then_it_runs_between_them(state_pool):
    for _ in range(3):
        await upsert_agent(state_pool, AgentIn(login=login(), full_name="P", password="p-pass"),
                           rounds=ROUNDS)
    order: list[str] = []
    unpaused = await list_agents(state_pool)

    async def pause() -> None:
        order.append("pause")

    paused = await list_agents(state_pool, pause=pause)

    assert paused == unpaused and len(paused) >= 3
    assert order == ["pause"] * len(paused)


async def test_when_agent_is_updated_without_password_then_old_password_still_works(state_pool):
    name = login()
    first = await upsert_agent(
        state_pool, AgentIn(login=name, full_name="Old", password="first-pass"), rounds=ROUNDS
    )

    second = await upsert_agent(
        state_pool, AgentIn(login=name, full_name="New", role="supervisor", active=False),
        rounds=ROUNDS,
    )

    assert second.id == first.id and second.full_name == "New" and second.role == "supervisor"
    credentials = await get_agent_credentials(state_pool, name)
    assert credentials is not None and await verify_password(credentials, "first-pass")
    assert second not in await list_agents(state_pool)
    assert second in await list_agents(state_pool, active_only=False)


async def test_when_new_agent_has_no_password_then_password_required(state_pool):
    name = login()
    with pytest.raises(PasswordRequired):
        await upsert_agent(state_pool, AgentIn(login=name, full_name="X"), rounds=ROUNDS)
    with pytest.raises(PasswordTooLong):
        await upsert_agent(state_pool, AgentIn(login=name, full_name="X", password="я" * 40),
                           rounds=ROUNDS)
    assert await get_agent_by_login(state_pool, name) is None


async def test_when_interface_or_queue_is_wrong_then_domain_error_and_nothing_changes(
    state_pool,
):
    taken = login()
    await upsert_agent(state_pool, AgentIn(login=taken, full_name="A", password="pw",
                                           interface=f"PJSIP/{taken}"), rounds=ROUNDS)
    name = login()
    with pytest.raises(InterfaceTaken):
        await upsert_agent(state_pool, AgentIn(login=name, full_name="B", password="pw",
                                               interface=f"PJSIP/{taken}"), rounds=ROUNDS)
    with pytest.raises(UnknownQueue):
        await upsert_agent(state_pool, AgentIn(login=name, full_name="B", password="pw",
                                               queues=[QueueMembership(queue="nope")]),
                           rounds=ROUNDS)
    # Both failures rolled back: the agent was never created.
    assert await get_agent_by_login(state_pool, name) is None


async def test_when_queues_are_upserted_then_they_are_listed(state_pool):
    await upsert_queue(state_pool, QueueDefinition(name="debt", title="Долги", service_level_seconds=30))
    await upsert_queue(state_pool, QueueDefinition(name="debt", title="Задолженность"))

    queues = {q.name: q for q in await list_queues(state_pool)}

    assert queues["debt"] == QueueDefinition(
        name="debt", title="Задолженность", service_level_seconds=20
    )


async def test_when_interaction_is_inserted_twice_then_one_row_is_completed(state_pool, rows):
    account = await rows.account()
    call_id = f"1700000000.{uuid.uuid4().int % 10**6}"
    started = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.timezone.utc)
    new = NewInteraction(call_id=call_id, direction="inbound", phone="+79123456789",
                         started_at=started, ivr_context={"intent": "readings"})

    first = await insert_interaction(state_pool, new)
    again = await insert_interaction(
        state_pool, new.model_copy(update={"account_id": account["id"],
                                           "ivr_context": {"account": account["number"]}})
    )

    assert again.id == first.id
    assert again.account_id == account["id"]
    assert again.ivr_context == {"intent": "readings", "account": account["number"]}

    ended = started + dt.timedelta(minutes=3)
    done = await update_interaction_outcome(state_pool, call_id, "inbound",
                                            outcome="readings_taken", ended_at=ended)
    assert done is not None and (done.outcome, done.ended_at) == ("readings_taken", ended)
    assert done.account_id == account["id"]
    assert await update_interaction_outcome(state_pool, "no-such-call", "inbound",
                                            outcome="x") is None
    assert [i.id for i in await interactions_of_account(state_pool, account["id"])] == [first.id]


async def test_when_appeal_is_inserted_then_consumer_comes_from_account(state_pool, rows):
    account = await rows.account()
    due = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)

    appeal = await insert_appeal(
        state_pool,
        NewAppeal(account_id=account["id"], type="request", topic="Поверка счётчика",
                  channel="phone", priority="high", due_at=due),
    )

    assert appeal.consumer_id == account["consumer_id"]
    assert (appeal.status, appeal.is_open, appeal.due_at) == ("new", True, due)
    assert await appeals_of_account(state_pool, account["id"]) == [appeal]


async def test_when_asking_for_outages_at_address_then_street_wide_and_own_house_match(
    state_pool, rows
):
    account = await rows.account(house="12")
    city, street = account["city"], account["street"]
    whole = await rows.outage(city, street, None)
    own = await rows.outage(city, street, "12")
    await rows.outage(city, street, "14")
    await rows.outage(city, street, "12", restored=True)

    at_house = await active_outages_at(state_pool, city, street, "12")
    street_only = await active_outages_at(state_pool, city, street)

    assert sorted(o.id for o in at_house) == sorted([whole, own])
    assert [o.id for o in street_only] == [whole]
