"""Who is calling: caller number → accounts; otherwise the account number said or keyed."""
from __future__ import annotations

import logging

from ivr.agi_protocol import AgiCommandError
from ivr.call import CallerAccount
from ivr.deps import IvrDeps
from ivr.dialog import Answer, Dialog, TooManyTries
from speech import parse_digits
from state.events import IVR_IDENTIFIED
from state.repositories.accounts import find_accounts_by_phone, get_account

__all__ = ["identify"]

log = logging.getLogger(__name__)


def _account(row) -> CallerAccount:
    return CallerAccount(row.id, row.number, row.timezone, row.city, row.street, row.house)


async def identify(d: Dialog, deps: IvrDeps) -> CallerAccount:
    """Raises WantsOperator or TooManyTries when the caller cannot be identified."""
    account = await _identify(d, deps)
    deps.identified(account.number)
    await _announce(d, account.number)
    return account


async def _announce(d: Dialog, number: str) -> None:
    """Tell the PBX's event stream whom the caller is, while they are still in the IVR: the
    screen pop has the card ready before the queue (state/events.py IVR_IDENTIFIED). Only
    speed depends on it: a refusal is logged and the call goes on (a hang-up still ends it)."""
    try:
        await d.agi.exec("UserEvent", f"{IVR_IDENTIFIED},Account: {number}", timeout=5)
    except AgiCommandError as exc:
        log.warning("EXEC UserEvent refused (%s); the pop looks the card up at the queue",
                    exc.result.code)


async def _identify(d: Dialog, deps: IvrDeps) -> CallerAccount:
    P, ctx = d.prompts, d.ctx
    if ctx.caller:
        rows = await find_accounts_by_phone(deps.db, ctx.caller)
        if len(rows) == 1:
            ctx.note("identify", by="phone", candidates=1)
            if await d.confirm(P.confirm_account(rows[0].number)):
                ctx.identified_by = "phone"
                return _account(rows[0])
        elif len(rows) > 1:
            ctx.note("identify", by="phone", candidates=len(rows))
            shown = rows[:9]

            def pick(answer: Answer) -> int | None:
                if answer.kind == "dtmf" and answer.digits.isdigit():
                    n = int(answer.digits)
                elif answer.kind == "speech" and (said := parse_digits(answer.text, d.lang)):
                    n = int(said)
                else:
                    return None
                return n if 1 <= n <= len(shown) else None

            choice = await d.ask_until(
                P.choose_account([r.number for r in shown]), pick, max_digits=1,
                operator_key=True,
            )
            ctx.identified_by = "phone"
            return _account(shown[choice - 1])
    return await _by_number(d, deps)


async def _by_number(d: Dialog, deps: IvrDeps) -> CallerAccount:
    P, ctx = d.prompts, d.ctx

    def number(answer: Answer) -> str | None:
        text = answer.digits if answer.kind == "dtmf" else parse_digits(answer.text, d.lang)
        return text if text and text.isdigit() and 8 <= len(text) <= 12 else None

    for _ in range(d.max_tries):
        said = await d.ask_until(
            P.ASK_ACCOUNT, lambda a: a if number(a) else None, max_digits=12
        )
        digits = number(said)
        assert digits is not None
        if said.kind == "speech" and not await d.confirm(P.confirm_account(digits)):
            continue
        row = await get_account(deps.db, digits)
        if row is not None:
            ctx.identified_by = "keyed" if said.kind == "dtmf" else "spoken"
            ctx.note("identify", by=ctx.identified_by, found=True)
            return _account(row)
        ctx.note("identify", by="number", found=False)
        await d.say(P.ACCOUNT_NOT_FOUND)
    raise TooManyTries()
