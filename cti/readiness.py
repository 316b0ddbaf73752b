"""Agent readiness → queue membership on the PBX.

ready: a member of each of the agent's queues, unpaused. not_ready: a member, paused with the
reason (Asterisk shows it and keeps routing calls to others). logged_out: removed from its
queues; a static member (queues.conf) cannot be removed, so it is paused with the reason
``logged_out`` instead. Intents are recorded in the service, so they survive a PBX restart.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cti.errors import MemberAlreadyInQueue, MemberNotDynamic, MemberNotFound
from cti.service import CtiService

LOGGED_OUT_REASON = "logged_out"


@dataclass(frozen=True)
class QueueSeat:
    queue: str
    penalty: int = 0


async def apply_readiness(
    service: CtiService,
    interface: str,
    seats: Sequence[QueueSeat],
    state: str,
    reason: str = "",
    member_name: str = "",
) -> None:
    if state == "logged_out":
        for seat in seats:
            try:
                await service.leave_queue(seat.queue, interface)
            except MemberNotDynamic:
                await service.set_paused(interface, True, LOGGED_OUT_REASON, queue=seat.queue)
            except MemberNotFound:
                continue
        return
    if state not in ("ready", "not_ready"):
        raise ValueError(f"an agent sets ready, not_ready or logged_out, not {state!r}")
    paused = state == "not_ready"
    for seat in seats:
        try:
            await service.join_queue(seat.queue, interface, member_name=member_name,
                                     penalty=seat.penalty, paused=paused, reason=reason)
        except MemberAlreadyInQueue:
            pass  # static or already joined: the pause below sets its state
        await service.set_paused(interface, paused, reason if paused else "", queue=seat.queue)
