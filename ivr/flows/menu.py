"""The whole call: greet, identify, serve from the menu, hand over to an operator when asked."""
from __future__ import annotations

from ivr.deps import IvrDeps
from ivr.dialog import Answer, Dialog, TooManyTries, WantsOperator
from ivr.flows.balance import tell_balance
from ivr.flows.identify import identify
from ivr.flows.outage import tell_outages
from ivr.flows.readings import give_readings
from ivr.flows.transfer import transfer
from speech import Command, parse_command

__all__ = ["run_call"]

_KEYS = {"1": "readings", "2": "balance", "3": "outage", "9": "done"}
_FLOWS = {"readings": give_readings, "balance": tell_balance, "outage": tell_outages}
_MAX_ROUNDS = 6  # menu visits per call: a caller going round in circles needs a person


async def run_call(d: Dialog, deps: IvrDeps) -> None:
    P, ctx = d.prompts, d.ctx
    await d.say(P.WELCOME)
    try:
        ctx.account = await identify(d, deps)
        ctx.intent = "menu"
        menu_words = tuple(w for ws in P.MENU_WORDS.values() for w in ws)

        def choose(answer: Answer) -> str | None:
            if answer.kind == "dtmf":
                return _KEYS.get(answer.digits)
            if parse_command(answer.text, d.lang) is Command.NO:
                return "done"
            said = answer.text.lower().split()
            for intent, words in P.MENU_WORDS.items():
                if any(w in said for w in words):
                    return intent
            return None

        prompt = P.MENU
        for _ in range(_MAX_ROUNDS):
            intent = await d.ask_until(
                prompt, choose, max_digits=1, words=menu_words, operator_key=True
            )
            if intent == "done":
                ctx.outcome = "completed"
                # Tells the dialplan the IVR ended the call on purpose: without it, a session
                # that ends with no queue chosen is taken for a broken one (operator fallback).
                await d.agi.set_variable("CCS_IVR_DONE", "1")
                await d.say(P.GOODBYE)
                return
            await _FLOWS[intent](d, deps)
            prompt = P.ANYTHING_ELSE + P.MENU
        raise TooManyTries()
    except WantsOperator:
        ctx.note("operator", asked=True)
    except TooManyTries:
        ctx.note("operator", asked=False)
    await transfer(d, deps)
