"""Meter readings: for each meter and tariff zone, take a value, read it back, store it.

Each confirmed value is stored in its own transaction before the next prompt is played, so a
caller who hangs up right after confirming loses nothing. Rejected values are stored too, with
their reason, and the caller is told why.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ivr.deps import IvrDeps
from ivr.dialog import Answer, Dialog, TooManyTries
from speech import parse_number
from state.readings import submit_reading
from state.repositories.accounts import meters_of_account

__all__ = ["give_readings", "keyed_value"]


def keyed_value(keys: str) -> Decimal | None:
    """DTMF entry to a number: ``*`` is the decimal point (one at most)."""
    text = keys.replace("*", ".")
    if not text or text.count(".") > 1 or text in (".",) or not text.replace(".", "").isdigit():
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


async def _take_value(d: Dialog, intro, max_digits: int) -> Decimal:
    P = d.prompts

    def value(answer: Answer) -> Decimal | None:
        if answer.kind == "dtmf":
            return keyed_value(answer.digits)
        reading = parse_number(answer.text, d.lang)
        return reading.value if reading is not None else None

    for _ in range(d.max_tries):
        said = await d.ask_until(intro + P.ASK_READING, value, max_digits=max_digits)
        if await d.confirm(P.readback(said)):
            return said
    raise TooManyTries()


async def give_readings(d: Dialog, deps: IvrDeps) -> None:
    P, ctx = d.prompts, d.ctx
    assert ctx.account is not None
    ctx.intent = "readings"
    meters = await meters_of_account(deps.db, ctx.account.id)
    if not meters:
        await d.say(P.NO_METERS)
        return
    period = await deps.period_for(ctx.account.timezone)
    for meter in meters:
        for zone in meter.zones:
            intro = P.meter_intro(meter.service, meter.serial, zone)
            # digits + decimals + the '*' and some slack: validation, not the keypad, says no.
            value = await _take_value(d, intro, meter.digits + meter.decimals + 2)
            stored = await submit_reading(
                deps.db, meter_id=meter.id, zone=zone, period=period, value=value,
                source="ivr", limits=deps.limits, entered_by="ivr", call_id=ctx.call_id,
            )
            ctx.note("reading", meter_id=meter.id, zone=zone, value=str(value),
                     status=stored.status, reason=stored.reason.value if stored.reason else None)
            if stored.reason is None:
                ctx.readings_accepted += 1
                await d.say(P.READING_SAVED)
            else:
                ctx.readings_rejected += 1
                await d.say(P.REJECTED[stored.reason.value], P.REJECTED_TAIL)
