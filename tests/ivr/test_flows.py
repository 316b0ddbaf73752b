"""Whole IVR calls through FastAGI, driven by a fake Asterisk over TCP, against PostgreSQL."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from ivr.prompts import ru, word_file
from speech import RecognitionResult, ScriptedSpeechEngine, number_to_words
from tests.ivr.conftest import (
    add_meter,
    add_reading,
    link_phone,
    month_shift,
    seed_account,
    unique_digits,
    unique_phone,
    wait_interaction,
)
from tests.ivr.fake_asterisk import FakeAsteriskCall


def this_period(timezone: str = "Europe/Moscow") -> dt.date:
    return dt.datetime.now(MOSCOW).date().replace(day=1)


MOSCOW = ZoneInfo("Europe/Moscow")  # loaded at import, outside the event loop
NOVOSIBIRSK = ZoneInfo("Asia/Novosibirsk")


def said(text: str) -> RecognitionResult:
    return RecognitionResult(text=text, confidence=0.9)


async def readings_of(db, meter_id: int):
    return await db.fetch(
        "SELECT value, status, reject_reason, call_id, source FROM readings"
        " WHERE meter_id = $1 AND source = 'ivr' ORDER BY id",
        meter_id,
    )


async def test_when_caller_keys_a_reading_then_it_is_stored_accepted_and_call_recorded(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    meter = await add_meter(ivr_db, acc.account_id, digits=6)
    await add_reading(ivr_db, meter, month_shift(this_period(), -1), "1000")
    async with ivr_factory() as (agi, _audio, _app):
        call = FakeAsteriskCall(
            agi.port, caller=phone,
            script=["keys:1", "keys:1", "keys:1250#", "after:1", "keys:9"],
        )
        await call.run()
    rows = await readings_of(ivr_db, meter)
    assert [(r["value"], r["status"], r["call_id"]) for r in rows] == [
        (Decimal("1250"), "accepted", call.uniqueid)
    ]
    interaction = await wait_interaction(ivr_db, call.uniqueid)
    assert interaction["outcome"] == "completed"
    assert interaction["account_id"] == acc.account_id
    assert interaction["ivr_context"]["ivr"]["summary"] == "readings:1"
    assert "ccs/ru/reading-saved" in call.played
    # The value was read back word by word before it was confirmed.
    expected_words = [word_file(ru.WORDS, w) for w in number_to_words(1250, "ru").split()]
    start = call.played.index("ccs/ru/you-said") + 1
    assert call.played[start : start + len(expected_words)] == expected_words


async def test_when_caller_speaks_then_recognised_reading_is_stored(ivr_db, ivr_factory):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    meter = await add_meter(ivr_db, acc.account_id, digits=6)
    await add_reading(ivr_db, meter, month_shift(this_period(), -1), "1000")
    engine = ScriptedSpeechEngine(
        [said("да"), said("показания"), said("тысяча двести пятьдесят"), said("да"), said("нет")]
    )
    async with ivr_factory(engine) as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, script=["voice"] * 5)
        await call.run()
    assert engine.remaining == 0
    # Every listening turn got audio through AudioSocket before its result was taken.
    assert all(s.bytes_fed > 0 for s in engine.sessions)
    rows = await readings_of(ivr_db, meter)
    assert [(r["value"], r["status"]) for r in rows] == [(Decimal("1250"), "accepted")]
    assert sum(c.startswith("EXEC AudioSocket") for c in call.commands) == 5


async def test_when_reading_is_below_previous_then_rejected_row_with_reason_and_caller_told(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    meter = await add_meter(ivr_db, acc.account_id, digits=6)
    await add_reading(ivr_db, meter, month_shift(this_period(), -1), "5000")
    async with ivr_factory() as (agi, _audio, _app):
        call = FakeAsteriskCall(
            agi.port, caller=phone,
            script=["keys:1", "keys:1", "keys:4000#", "keys:1", "keys:9"],
        )
        await call.run()
    rows = await readings_of(ivr_db, meter)
    assert [(r["value"], r["status"], r["reject_reason"]) for r in rows] == [
        (Decimal("4000"), "rejected", "below_previous")
    ]
    assert "ccs/ru/rejected-below" in call.played
    interaction = await wait_interaction(ivr_db, call.uniqueid)
    assert interaction["ivr_context"]["ivr"]["readings_rejected"] == 1


async def test_when_meter_rolled_over_then_reading_is_accepted(ivr_db, ivr_factory):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    meter = await add_meter(ivr_db, acc.account_id, digits=4)
    await add_reading(ivr_db, meter, month_shift(this_period(), -1), "9990")
    async with ivr_factory() as (agi, _audio, _app):
        call = FakeAsteriskCall(
            agi.port, caller=phone,
            script=["keys:1", "keys:1", "keys:15#", "keys:1", "keys:9"],
        )
        await call.run()
    rows = await readings_of(ivr_db, meter)
    assert [(r["value"], r["status"]) for r in rows] == [(Decimal("15"), "accepted")]


async def test_when_period_is_closed_then_reading_rejected_as_period_closed(ivr_db, ivr_factory):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    meter = await add_meter(ivr_db, acc.account_id, digits=6)
    # A clock in a past month whose billing period is closed; other tests use the present.
    past = dt.datetime(2019, 3, 15, 12, tzinfo=dt.UTC)
    await ivr_db.execute(
        "INSERT INTO billing_periods (period, closed_at) VALUES ('2019-03-01', now())"
        " ON CONFLICT (period) DO UPDATE SET closed_at = now()"
    )
    async with ivr_factory(clock=lambda: past) as (agi, _audio, _app):
        call = FakeAsteriskCall(
            agi.port, caller=phone,
            script=["keys:1", "keys:1", "keys:100#", "keys:1", "keys:9"],
        )
        await call.run()
    rows = await readings_of(ivr_db, meter)
    assert [(r["status"], r["reject_reason"]) for r in rows] == [("rejected", "period_closed")]
    assert "ccs/ru/rejected-closed" in call.played


async def test_when_unknown_account_keyed_repeatedly_then_call_goes_to_operator(
    ivr_db, ivr_factory
):
    missing = unique_digits(10)
    async with ivr_factory() as (agi, _audio, _app):
        call = FakeAsteriskCall(
            agi.port, caller=unique_phone(), script=[f"keys:{missing}#"] * 3
        )
        await call.run()
    assert call.played.count("ccs/ru/account-not-found") == 3
    assert call.variables == {
        "CCS_ACCOUNT": "", "CCS_INTENT": "identify", "CCS_IVR": "unidentified",
        "CCS_IDENTIFIED_BY": "", "CCS_QUEUE": "frontdesk",
    }
    interaction = await wait_interaction(ivr_db, call.uniqueid)
    assert (interaction["outcome"], interaction["queue_name"]) == ("transferred", "frontdesk")


async def test_when_unknown_caller_keys_a_known_account_then_identified(ivr_db, ivr_factory):
    acc = await seed_account(ivr_db)
    async with ivr_factory() as (agi, _audio, _app):
        call = FakeAsteriskCall(
            agi.port, caller=unique_phone(), script=[f"keys:{acc.number}#", "keys:0"]
        )
        await call.run()
    assert call.variables["CCS_ACCOUNT"] == acc.number
    interaction = await wait_interaction(ivr_db, call.uniqueid)
    assert interaction["ivr_context"]["ivr"]["identified_by"] == "keyed"
    # The PBX's event stream hears whom the caller is as soon as the IVR knows, before the
    # transfer's variables (the screen pop looks the card up from then on).
    announce = f'EXEC UserEvent "CcsIdentified,Account: {acc.number}"'
    assert call.commands.count(announce) == 1
    assert call.commands.index(announce) < call.commands.index(
        f'SET VARIABLE CCS_ACCOUNT "{acc.number}"')


async def test_when_caller_is_silent_then_reprompted_and_sent_to_operator(ivr_db, ivr_factory):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    engine = ScriptedSpeechEngine([said("да"), None, None, None])
    async with ivr_factory(engine) as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, script=["voice", "silence"])
        await call.run()
    assert call.played.count("ccs/ru/no-input") == 3
    assert call.variables["CCS_QUEUE"] == "common"
    assert call.variables["CCS_ACCOUNT"] == acc.number
    interaction = await wait_interaction(ivr_db, call.uniqueid)
    assert interaction["ivr_context"]["ivr"]["no_input"] == 3


async def test_when_caller_hangs_up_right_after_confirming_then_reading_is_kept(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    meter = await add_meter(ivr_db, acc.account_id, digits=6)
    async with ivr_factory() as (agi, _audio, _app):
        call = FakeAsteriskCall(
            agi.port, caller=phone, script=["keys:1", "keys:1", "keys:777#", "keys:1"],
            hangup_on_file="ccs/ru/reading-saved",
        )
        await call.run()
    assert call.hung_up
    rows = await readings_of(ivr_db, meter)
    assert [(r["value"], r["status"]) for r in rows] == [(Decimal("777"), "accepted")]
    interaction = await wait_interaction(ivr_db, call.uniqueid)
    assert interaction["outcome"] == "hangup"
    assert interaction["ivr_context"]["ivr"]["readings_accepted"] == 1


async def test_when_caller_hears_balance_then_debt_said_in_rubles_and_operator_gets_context(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    await ivr_db.execute(
        """INSERT INTO balances (account_id, service, period, balance, debt, penalty)
           VALUES ($1, 'electricity', $2, 0, 1234.56, 0), ($1, 'hot_water', $2, 100, 0, 0)""",
        acc.account_id, this_period(),
    )
    async with ivr_factory() as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, script=["keys:1", "keys:2", "keys:0"])
        await call.run()
    from speech import money_to_words

    money = [word_file(ru.WORDS, w) for w in money_to_words(Decimal("1234.56"), "ru").split()]
    start = call.played.index("ccs/ru/total-debt") + 1
    assert call.played[start : start + len(money)] == money
    assert call.variables == {
        "CCS_ACCOUNT": acc.number, "CCS_INTENT": "debt", "CCS_IVR": "balance",
        "CCS_IDENTIFIED_BY": "phone", "CCS_QUEUE": "debt",
    }


async def test_when_outage_at_address_then_restoration_said_in_account_time_zone(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone, timezone="Asia/Novosibirsk")
    restore = dt.datetime.now(dt.UTC).replace(minute=30, second=0, microsecond=0) + dt.timedelta(
        hours=3
    )
    outage = await ivr_db.fetchval(
        """INSERT INTO outages (service, kind, description, started_at, expected_restoration_at)
           VALUES ('electricity', 'emergency', 'line', now(), $1) RETURNING id""",
        restore,
    )
    await ivr_db.execute(
        "INSERT INTO outage_addresses (outage_id, city, street, house) VALUES ($1, $2, $3, NULL)",
        outage, acc.city, acc.street,
    )
    async with ivr_factory() as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, script=["keys:1", "keys:3", "keys:9"])
        await call.run()
    local = restore.astimezone(NOVOSIBIRSK)
    hour = [word_file(ru.WORDS, w) for w in number_to_words(local.hour, "ru").split()]
    start = call.played.index("ccs/ru/at") + 1
    assert "ccs/ru/emergency-outage" in call.played
    assert call.played[start : start + len(hour)] == hour
    interaction = await wait_interaction(ivr_db, call.uniqueid)
    assert interaction["ivr_context"]["ivr"]["outage_heard"] is True


async def test_when_phone_has_several_accounts_then_caller_chooses_one(ivr_db, ivr_factory):
    phone = unique_phone()
    first = await seed_account(ivr_db, phone=phone)
    second = await seed_account(ivr_db)
    await link_phone(ivr_db, phone, second.account_id)
    ordered = sorted([first.number, second.number])
    async with ivr_factory() as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, script=["keys:2", "keys:0"])
        await call.run()
    assert call.variables["CCS_ACCOUNT"] == ordered[1]


async def test_when_recognizer_hears_only_noise_then_caller_is_asked_again_then_operator(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    await seed_account(ivr_db, phone=phone)
    engine = ScriptedSpeechEngine([said("да"), said("[unk]"), said("[unk] [unk]"), said("[unk]")])
    async with ivr_factory(engine) as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, script=["voice"] * 4)
        await call.run()
    assert call.played.count("ccs/ru/not-understood") == 3
    assert call.variables["CCS_QUEUE"] == "common"
    interaction = await wait_interaction(ivr_db, call.uniqueid)
    assert interaction["ivr_context"]["ivr"]["not_understood"] == 3


async def test_when_language_is_english_then_english_prompts_and_words_are_used(
    ivr_db, ivr_factory
):
    from tests.ivr.conftest import ivr_test_settings

    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    meter = await add_meter(ivr_db, acc.account_id, digits=6)
    settings = ivr_test_settings().model_copy(update={"language": "en"})
    async with ivr_factory(settings=settings) as (agi, _audio, _app):
        call = FakeAsteriskCall(
            agi.port, caller=phone,
            script=["keys:1", "keys:1", "keys:42#", "after:1", "keys:9"],
        )
        await call.run()
    assert call.played[0] == "ccs/en/welcome"
    start = call.played.index("ccs/en/you-said") + 1
    assert call.played[start : start + 2] == ["ccs/en/words/forty_two", "ccs/en/confirm-hint"]
    rows = await readings_of(ivr_db, meter)
    assert [(r["value"], r["status"]) for r in rows] == [(Decimal("42"), "accepted")]


async def test_when_the_ivr_fails_mid_call_then_caller_still_reaches_an_operator(
    ivr_db, ivr_factory, route_errors
):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    engine = ScriptedSpeechEngine([said("да")])  # the second listening turn finds no result
    async with ivr_factory(engine) as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, script=["voice", "voice"])
        await call.run()
        interaction = await wait_interaction(ivr_db, call.uniqueid)
        assert [type(e).__name__ for e in route_errors] == ["ScriptExhausted"]
        route_errors.clear()  # expected here; any other test fails on route errors
    assert call.variables["CCS_QUEUE"] == "common"
    assert call.variables["CCS_ACCOUNT"] == acc.number
    assert call.variables["CCS_IVR"] == "error"
    assert interaction["outcome"] == "error"


async def test_when_asterisk_has_no_audiosocket_then_keys_still_work_for_the_whole_call(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    meter = await add_meter(ivr_db, acc.account_id, digits=6)
    engine = ScriptedSpeechEngine([])
    async with ivr_factory(engine) as (agi, _audio, _app):
        call = FakeAsteriskCall(
            agi.port, caller=phone, has_audiosocket=False,
            script=["after:1", "after:1", "keys:321#", "after:1", "after:9"],
        )
        await call.run()
    assert sum(c.startswith("EXEC AudioSocket") for c in call.commands) == 1
    rows = await readings_of(ivr_db, meter)
    assert [(r["value"], r["status"]) for r in rows] == [(Decimal("321"), "accepted")]


async def test_when_caller_keys_star_as_decimal_point_then_fractional_reading_is_stored(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    meter = await add_meter(ivr_db, acc.account_id, service="cold_water", digits=5, decimals=3)
    await add_reading(ivr_db, meter, month_shift(this_period(), -1), "10.5")
    async with ivr_factory() as (agi, _audio, _app):
        call = FakeAsteriskCall(
            agi.port, caller=phone,
            script=["keys:1", "keys:1", "keys:12*25#", "after:1", "keys:9"],
        )
        await call.run()
    rows = await readings_of(ivr_db, meter)
    assert [(r["value"], r["status"]) for r in rows] == [(Decimal("12.25"), "accepted")]
    words = [word_file(ru.WORDS, w) for w in number_to_words(Decimal("12.25"), "ru").split()]
    start = call.played.index("ccs/ru/you-said") + 1
    assert call.played[start : start + len(words)] == words


async def test_when_real_vosk_hears_only_line_silence_then_caller_is_reprompted_then_operator(
    ivr_db, ivr_factory, vosk_engine
):
    from tests.ivr.conftest import ivr_test_settings

    phone = unique_phone()
    await seed_account(ivr_db, phone=phone)
    # The installed model is Korean: its grammar must be Korean (prompts stay Russian).
    settings = ivr_test_settings().model_copy(update={"speech_language": "ko"})
    async with ivr_factory(vosk_engine, settings=settings) as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, script=["voice"] * 3)
        await call.run()
    assert call.played.count("ccs/ru/no-input") == 3
    assert call.variables["CCS_QUEUE"] == "frontdesk"
    assert call.variables["CCS_IVR"] == "unidentified"


async def test_when_model_knows_no_word_of_the_language_then_ivr_runs_on_keys_only(
    ivr_factory, vosk_engine
):
    # Russian grammar on the installed Korean model: every word unknown.
    async with ivr_factory(vosk_engine) as (_agi, _audio, app):
        assert app.engine is None
    from tests.ivr.conftest import ivr_test_settings

    settings = ivr_test_settings().model_copy(update={"speech_language": "ko"})
    async with ivr_factory(vosk_engine, settings=settings) as (_agi, _audio, app):
        assert app.engine is vosk_engine


async def test_when_agi_token_is_set_then_only_peers_with_it_reach_the_ivr(ivr_db, ivr_factory):
    from pydantic import SecretStr

    from tests.ivr.conftest import ivr_test_settings

    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    await add_meter(ivr_db, acc.account_id, digits=6)
    settings = ivr_test_settings().model_copy(update={"agi_token": SecretStr("dialplan-secret-1")})
    async with ivr_factory(settings=settings) as (agi, _audio, _app):
        stranger = FakeAsteriskCall(agi.port, caller=phone, script=["keys:9"])
        await stranger.run()
        wrong = FakeAsteriskCall(agi.port, caller=phone, script=["keys:9"], agi_token="guess")
        await wrong.run()
        asterisk = FakeAsteriskCall(agi.port, caller=phone, script=["keys:1", "keys:9"],
                                    agi_token="dialplan-secret-1")
        await asterisk.run()
    assert stranger.commands == [] and wrong.commands == []
    assert asterisk.commands, "the peer with the token must be served"
    assert await ivr_db.fetchval(
        "SELECT count(*) FROM interactions WHERE call_id = ANY($1)",
        [stranger.uniqueid, wrong.uniqueid]) == 0
    await wait_interaction(ivr_db, asterisk.uniqueid)


async def test_when_caller_speaks_a_reading_of_a_hundred_billion_then_it_is_stored_rejected(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    meter = await add_meter(ivr_db, acc.account_id, digits=6)
    engine = ScriptedSpeechEngine(
        [said("да"), said("показания"), said("сто миллиардов"), said("да"), said("нет")]
    )
    async with ivr_factory(engine) as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, script=["voice"] * 5)
        await call.run()
    rows = await readings_of(ivr_db, meter)
    assert [(r["value"], r["status"], r["reject_reason"]) for r in rows] == [
        (Decimal(10**11), "rejected", "too_many_digits")
    ]
    assert "ccs/ru/rejected-digits" in call.played
    interaction = await wait_interaction(ivr_db, call.uniqueid)
    assert interaction["ivr_context"]["ivr"]["readings_rejected"] == 1


async def test_when_balance_is_negative_without_overdue_debt_then_the_amount_due_is_said(
    ivr_db, ivr_factory
):
    # The billing format's sign: a negative balance is what the consumer owes now (charged,
    # not yet overdue); a positive one is an overpayment.
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    await ivr_db.execute(
        """INSERT INTO balances (account_id, service, period, balance, debt, penalty)
           VALUES ($1, 'electricity', $2, -520.40, 0, 0), ($1, 'hot_water', $2, 150, 0, 0)""",
        acc.account_id, this_period(),
    )
    async with ivr_factory() as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, script=["keys:1", "keys:2", "keys:9"])
        await call.run()
    from speech import money_to_words

    def money_files(amount: str) -> list[str]:
        return [word_file(ru.WORDS, w) for w in money_to_words(Decimal(amount), "ru").split()]

    due = call.played.index("ccs/ru/amount-due") + 1
    assert call.played[due : due + len(money_files("520.40"))] == money_files("520.40")
    overpaid = call.played.index("ccs/ru/overpaid") + 1
    assert call.played[overpaid : overpaid + len(money_files("150"))] == money_files("150")
    assert "ccs/ru/no-debt" not in call.played
    total = call.played.index("ccs/ru/total-due") + 1
    assert call.played[total : total + len(money_files("520.40"))] == money_files("520.40")


async def test_when_the_caller_is_identified_then_their_card_is_cached_before_the_queue(
        ivr_db, redis_server):
    """The IVR tells the server whom it identified; the card is built then, in the seconds the
    caller still spends in the IVR, so the screen pop reads it from Redis on the ring."""
    import uuid

    import redis.asyncio as aioredis

    from ivr.app import ivr_servers
    from ivr.deps import IvrDeps
    from state.cards import CardCache
    from state.readings import ReadingLimits
    from state.redis_keys import RedisKeys
    from tests.helpers import until
    from tests.ivr.conftest import ivr_test_settings

    acc = await seed_account(ivr_db)
    client = aioredis.from_url(redis_server.url, decode_responses=True, socket_timeout=5)
    cards = CardCache(client, 60, keys=RedisKeys(f"t{uuid.uuid4().hex[:8]}"))
    settings = ivr_test_settings()
    told: list[str] = []

    def identified(number: str) -> None:
        told.append(number)
        cards.prefetch(ivr_db, number)

    deps = IvrDeps(ivr_db, settings, ReadingLimits(), on_identified=identified)
    try:
        assert await cards.get(acc.number) is None
        async with ivr_servers(settings, ivr_db, None, deps=deps) as (agi, _audio, _app):
            call = FakeAsteriskCall(
                agi.port, caller=unique_phone(), script=[f"keys:{acc.number}#", "keys:0"])
            await call.run()
        assert told == [acc.number]
        card = await until(lambda: cards.get(acc.number), timeout=5)
        assert card.account.number == acc.number and cards.prefetch_failures == 0
    finally:
        await cards.flushed()
        await client.aclose()
