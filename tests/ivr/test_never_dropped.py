"""Callers are never dropped by the IVR: what a real Asterisk 22 answers for a missing prompt, a
failed or timed-out AudioSocket and a quiet line is a failed command, not a hang-up (against the
fake Asterisk held to tests/data/agi/asterisk-22-recorded)."""
from __future__ import annotations

import pytest

from speech import RecognitionResult, ScriptedSpeechEngine
from tests.ivr.conftest import (
    ivr_test_settings,
    seed_account,
    unique_digits,
    unique_phone,
    wait_interaction,
)
from tests.ivr.fake_asterisk import FakeAsteriskCall


def said(text: str) -> RecognitionResult:
    return RecognitionResult(text=text, confidence=0.9)


async def twelve_digit_account(db) -> str:
    acc = await seed_account(db)
    number = unique_digits(12)
    await db.execute("UPDATE accounts SET number = $1 WHERE id = $2", number, acc.account_id)
    return number


async def test_when_prompts_are_missing_then_the_call_goes_on_and_is_not_a_hangup(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    await seed_account(ivr_db, phone=phone)
    async with ivr_factory() as (agi, _audio, _app):
        # The greeting and the menu question are missing: 200 result=-1 endpos=0 (recording 02).
        call = FakeAsteriskCall(
            agi.port, caller=phone, script=["after:1", "after:9"],
            missing_files=frozenset({"ccs/ru/welcome", "ccs/ru/menu"}),
        )
        await call.run()
    assert "200 result=-1 endpos=0" in call.replies
    assert "ccs/ru/goodbye" in call.played
    assert not call.hung_up  # the IVR ended the session, the caller did not leave
    interaction = await wait_interaction(ivr_db, call.linkedid)
    assert interaction["outcome"] == "completed"


async def test_when_a_prompt_is_missing_before_the_transfer_then_caller_still_reaches_operator(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    async with ivr_factory() as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, script=["keys:1", "keys:0"],
                                missing_files=frozenset({"ccs/ru/transfer"}))
        await call.run()
    assert (call.variables["CCS_QUEUE"], call.variables["CCS_ACCOUNT"]) == ("common", acc.number)
    interaction = await wait_interaction(ivr_db, call.linkedid)
    assert (interaction["outcome"], interaction["queue_name"]) == ("transferred", "common")


async def test_when_caller_line_sends_no_media_then_audiosocket_is_kept_alive_and_keys_taken(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    engine = ScriptedSpeechEngine([])
    # Our own read timeout longer than Asterisk's 2 s: without silence frames from the server,
    # Asterisk ends AudioSocket first, with 200 result=-1 (recording 05, call A).
    settings = ivr_test_settings().model_copy(update={"audiosocket_read_timeout": 2.5})
    async with ivr_factory(engine, settings=settings) as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, caller_media=False,
                                script=["silence", "after:1", "after:0"])
        await call.run()
    assert call.audiosocket_results == ["200 result=0"]  # never the 2 s timeout
    # The quiet turn went on to keys; a line without media is not listened to again.
    assert sum(c.startswith("EXEC AudioSocket") for c in call.commands) == 1
    assert (call.variables["CCS_QUEUE"], call.variables["CCS_ACCOUNT"]) == ("common", acc.number)
    interaction = await wait_interaction(ivr_db, call.linkedid)
    assert interaction["outcome"] == "transferred"


async def test_when_audiosocket_fails_then_keys_are_taken_and_the_call_goes_on(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    acc = await seed_account(ivr_db, phone=phone)
    engine = ScriptedSpeechEngine([])
    async with ivr_factory(engine) as (agi, audio, app):
        # Asterisk cannot reach the advertised AudioSocket address: AudioSocket() fails, -1.
        await audio.stop()
        call = FakeAsteriskCall(agi.port, caller=phone, script=["after:1", "after:0"])
        await call.run()
    assert call.audiosocket_results == ["200 result=-1"]
    assert sum(c.startswith("EXEC AudioSocket") for c in call.commands) == 1
    assert (call.variables["CCS_QUEUE"], call.variables["CCS_ACCOUNT"]) == ("common", acc.number)
    interaction = await wait_interaction(ivr_db, call.linkedid)
    assert interaction["outcome"] == "transferred"


async def test_when_caller_stays_silent_on_a_quiet_line_then_operator_not_a_hangup(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    await seed_account(ivr_db, phone=phone)
    engine = ScriptedSpeechEngine([])
    async with ivr_factory(engine) as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, caller_media=False, script=[])
        await call.run()
    assert call.variables["CCS_QUEUE"] == "frontdesk"  # never confirmed who is calling
    assert "200 result=-1" not in call.audiosocket_results
    interaction = await wait_interaction(ivr_db, call.linkedid)
    assert interaction["outcome"] == "transferred"
    assert interaction["ivr_context"]["ivr"]["no_input"] == 3


@pytest.mark.parametrize("how", ["keys", "audiosocket"])
async def test_when_twelve_digits_then_hash_are_keyed_then_the_menu_goes_on_cleanly(
    ivr_db, ivr_factory, how
):
    number = await twelve_digit_account(ivr_db)
    engine = ScriptedSpeechEngine([]) if how == "audiosocket" else None
    # "keys": the first key cuts the question, GET DATA takes the rest and returns at 12 digits;
    # "audiosocket": the keys come as DTMF frames while the IVR listens (recording 01).
    entry = f"keys:{number}#" if how == "keys" else f"after:{number}#"
    async with ivr_factory(engine) as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=unique_phone(), script=[entry, "keys:0"])
        await call.run()
    assert "ccs/ru/not-understood" not in call.played
    assert call.played.count("ccs/ru/menu") == 1
    assert "200 result=35" not in " ".join(call.replies)  # the "#" answered nothing
    assert call.variables["CCS_ACCOUNT"] == number
    interaction = await wait_interaction(ivr_db, call.linkedid)
    assert interaction["ivr_context"]["ivr"]["not_understood"] == 0


@pytest.mark.parametrize("where", ["prompt", "get_data", "audiosocket"])
async def test_when_caller_really_hangs_up_then_it_is_a_hangup(ivr_db, ivr_factory, where):
    phone = unique_phone()
    if where != "get_data":  # an unknown caller keys the account: the rest is a GET DATA
        await seed_account(ivr_db, phone=phone)
    engine = ScriptedSpeechEngine([]) if where == "audiosocket" else None
    script = {"prompt": ["hangup"], "get_data": ["keys:1", "hangup@listen"],
              "audiosocket": ["hangup@listen"]}[where]
    async with ivr_factory(engine) as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, script=script)
        await call.run()
    assert call.hung_up
    # Nothing but the check that found the channel gone reached the dead channel.
    assert call.replies.count("511 Command Not Permitted on a dead channel or intercept "
                              "routine") <= 1
    interaction = await wait_interaction(ivr_db, call.linkedid)
    assert interaction["outcome"] == "hangup"


async def test_when_call_comes_over_a_local_channel_then_it_is_recorded_under_its_linkedid(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    await seed_account(ivr_db, phone=phone)
    async with ivr_factory() as (agi, _audio, _app):
        # As recorded (01): agi_uniqueid is the ;2 half's id, the linkedid the ;1 half's.
        first = unique_digits(10)
        call = FakeAsteriskCall(agi.port, caller=phone, channel_type="Local",
                                uniqueid=f"{first}.25", linkedid=f"{first}.24",
                                script=["keys:1", "keys:9"])
        await call.run()
    assert "GET VARIABLE CHANNEL(linkedid)" in call.commands
    interaction = await wait_interaction(ivr_db, call.linkedid)
    assert interaction["outcome"] == "completed"
    assert await ivr_db.fetchval(
        "SELECT count(*) FROM interactions WHERE call_id = $1", call.uniqueid) == 0
