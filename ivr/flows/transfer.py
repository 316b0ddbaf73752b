"""To an operator: channel variables for the screen pop, then back to the dialplan's Queue().

``CCS_ACCOUNT`` (the account number, empty if unknown), ``CCS_INTENT`` (what the caller wanted),
``CCS_IVR`` (what the IVR already did, e.g. ``readings:2;balance``), ``CCS_IDENTIFIED_BY`` (how
the account was found: phone, spoken, keyed; empty if not) and ``CCS_QUEUE`` (where to queue).
The screen pop shows what the caller did from these alone (features/agents/pops.py): the ring
waits for no query. manager.conf's ``channelvars`` carries them into AMI events for the tracker.
"""
from __future__ import annotations

from ivr.deps import IvrDeps
from ivr.dialog import Dialog

__all__ = ["transfer", "CHANNEL_VARIABLES"]

# Every variable the IVR sets for the operator; manager.conf's channelvars must list them all.
CHANNEL_VARIABLES = ("CCS_ACCOUNT", "CCS_INTENT", "CCS_IVR", "CCS_IDENTIFIED_BY", "CCS_QUEUE")


async def transfer(d: Dialog, deps: IvrDeps) -> None:
    ctx = d.ctx
    queue = deps.settings.intent_queues.get(ctx.intent, deps.settings.default_queue)
    ctx.queue = queue
    ctx.outcome = "transferred"
    await d.agi.set_variable("CCS_ACCOUNT", ctx.account.number if ctx.account else "")
    await d.agi.set_variable("CCS_INTENT", ctx.intent)
    await d.agi.set_variable("CCS_IVR", ctx.summary())
    await d.agi.set_variable("CCS_IDENTIFIED_BY", ctx.identified_by or "")
    await d.agi.set_variable("CCS_QUEUE", queue)
    ctx.note("transfer", queue=queue)
    await d.say(d.prompts.TRANSFER)
