"""AMI Redirect of a queue caller: how it shows on the wire and what the tracker reports.

Asterisk sends no event for a Redirect. It moves the channel at once (``ast_async_goto`` sets the
new context and extension before the channel leaves what it was doing), so the channel's next
snapshot names the new place (recording 09: the caller's BridgeLeave already says
``Context: ccs-xfer``, ``Exten: escalation``). An answered caller then leaves the bridge, the
member's channel leaves and hangs up, and app_queue sends the member's AgentComplete only when
the caller finally hangs up. A BlindTransfer looks the same at first (the caller's BridgeLeave
with the target's place comes *before* the BlindTransfer event), so the caller's BridgeLeave only
marks the redirect; the member's BridgeLeave or hang-up confirms it, a BlindTransfer,
AttendedTransfer or an AgentComplete with Reason ``transfer`` cancels it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from state.events import CallTransferred

from .model import RELEASED, TALKING, Segment

if TYPE_CHECKING:
    from . import Message, Tracker


def moved(seg: Segment, m: Message) -> str:
    """``exten@context`` when the channel's snapshot in ``m`` is no longer where this visit's
    Queue() runs, else ``""``."""
    context, exten = m.get("Context"), m.get("Exten")
    if not seg.context or not isinstance(context, str) or not isinstance(exten, str):
        return ""
    if (context, exten) == (seg.context, seg.exten):
        return ""
    return f"{exten}@{context}"


def mark(seg: Segment, m: Message, ts: float) -> None:
    """The caller's BridgeLeave: a Redirect if it left for another dialplan place."""
    if seg.state != TALKING or seg.transferred or seg.redirect_to is not None:
        return
    target = moved(seg, m)
    if target:
        seg.redirect_to = (target, ts)


def cancel(seg: Segment) -> None:
    """A bridge transfer (BlindTransfer/AttendedTransfer) explains the move: not a Redirect."""
    seg.redirect_to = None
    seg.transferred = True


def confirm(t: Tracker, seg: Segment, ts: float, queue: str = "") -> None:
    """The caller was moved away from the member: report the transfer, free the member.

    ``queue``: the caller already joined that queue (QueueCallerJoin); it names the target
    only when no snapshot showed where the Redirect sent the caller."""
    pending, seg.redirect_to = seg.redirect_to, None
    if seg.transferred or seg.state not in (TALKING, RELEASED):
        return
    seg.transferred = True
    target, left = pending if pending is not None else ("", ts)
    name = target or queue
    call = t.call_map.get(seg.linkedid)
    if call is not None:
        call.reason = "transfer"
    t.emit(CallTransferred(ts=left, linkedid=seg.linkedid, how="redirect", from_queue=seg.queue,
                           from_interface=seg.interface, target=name))
    if seg.state == TALKING:
        t.release_member(seg, left)
