"""Balance and debt: per service, then the total debt, in rubles and kopecks.

Signs as in the billing import: positive ``debt``/``penalty`` is overdue and owed; a negative
``balance`` without overdue debt is owed now (charged, not yet due), a positive one overpaid.
"""
from __future__ import annotations

from decimal import Decimal

from ivr.deps import IvrDeps
from ivr.dialog import Dialog
from state.repositories.accounts import balances_of

__all__ = ["tell_balance"]


async def tell_balance(d: Dialog, deps: IvrDeps) -> None:
    P, ctx = d.prompts, d.ctx
    assert ctx.account is not None
    ctx.intent = "balance"
    rows = await balances_of(deps.db, ctx.account.id)
    if not rows:
        await d.say(P.NO_BALANCE)
    else:
        total = sum((r.debt + r.penalty for r in rows if r.debt > 0), Decimal(0))
        due = sum((-r.balance for r in rows if r.debt + r.penalty <= 0 and r.balance < 0),
                  Decimal(0))
        for r in rows:
            await d.say(P.balance_line(r.service, r.debt + r.penalty, r.balance))
        if total > 0:
            await d.say(P.total_debt(total))
        else:
            await d.say(P.total_due(due) if due > 0 else P.NO_DEBT)
        ctx.note("balance", services=len(rows), total_debt=str(total))
        if total > 0:
            ctx.intent = "debt"
    ctx.balance_heard = True
