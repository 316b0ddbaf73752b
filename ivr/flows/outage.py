"""Outages at the caller's address, with the expected restoration in the consumer's time zone."""
from __future__ import annotations

from ivr.deps import IvrDeps
from ivr.dialog import Dialog
from state.repositories.outages import active_outages_at

__all__ = ["tell_outages"]


async def tell_outages(d: Dialog, deps: IvrDeps) -> None:
    P, ctx = d.prompts, d.ctx
    account = ctx.account
    assert account is not None
    ctx.intent = "outage"
    outages = await active_outages_at(deps.db, account.city, account.street, account.house)
    if not outages:
        await d.say(P.NO_OUTAGES)
    else:
        zone = (await deps.local_now(account.timezone)).tzinfo
        await d.say(P.outages_count(len(outages)))
        for o in outages:
            restore = o.expected_restoration_at
            restore = restore.astimezone(zone) if restore is not None else None
            await d.say(P.outage_line(o.service, o.kind == "planned", restore))
        ctx.note("outage", count=len(outages), ids=[o.id for o in outages])
    ctx.outage_heard = True
