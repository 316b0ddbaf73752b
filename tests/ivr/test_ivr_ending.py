"""How an IVR call ends, as the dialplan sees it: the variables a real session leaves behind,
run through dialplans/extensions.conf's [ccs-ivr] after AGI()."""
from __future__ import annotations

from tests.ivr.conftest import seed_account, unique_phone
from tests.ivr.fake_asterisk import FakeAsteriskCall
from tests.test_dialplans import run_dialplan


async def test_when_caller_is_served_and_says_goodbye_then_the_dialplan_hangs_up(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    await seed_account(ivr_db, phone=phone)
    async with ivr_factory() as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, script=["keys:1", "keys:9"])
        await call.run()
    assert call.played[-1] == "ccs/ru/goodbye"
    assert call.variables["CCS_IVR_DONE"] == "1" and not call.variables.get("CCS_QUEUE")
    # Not taken for a broken session: no "self-service unavailable", no operator.
    assert run_dialplan("ccs-ivr", "s", agi={"AGISTATUS": "SUCCESS", **call.variables}) == [
        ("Hangup", "")]


async def test_when_caller_asks_for_an_operator_then_the_dialplan_queues_without_excuses(
    ivr_db, ivr_factory
):
    phone = unique_phone()
    await seed_account(ivr_db, phone=phone)
    async with ivr_factory() as (agi, _audio, _app):
        call = FakeAsteriskCall(agi.port, caller=phone, script=["keys:1", "keys:0"])
        await call.run()
    assert "CCS_IVR_DONE" not in call.variables
    assert run_dialplan("ccs-ivr", "s", agi={"AGISTATUS": "SUCCESS", **call.variables}) == [
        ("Queue", call.variables["CCS_QUEUE"])]
