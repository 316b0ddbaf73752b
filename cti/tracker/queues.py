"""Queue calls: QueueCaller* and Agent* events (app_queue), AMI v2 field names.

Traps handled (see ami-captures/asterisk-22-recorded/README.md): QueueCallerLeave comes before
AgentConnect; a Queue() timeout and a Redirect of a waiting caller are QueueCallerAbandon too
(told apart below, see ``on_caller_abandon``); AgentRingNoAnswer.RingTime is ms while
AgentConnect/Complete times are s; AgentComplete may lack the caller (or the member) fields and,
after a Redirect, arrives long after the member left; Asterisk turns the member's InCall on at
AgentConnect without an event.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from cti.amitext import ami_float
from state.events import (
    AgentCompleted, AgentRingNoAnswer, AgentRinging, CallAbandoned, CallAnswered, CallerLeftQueue,
    CallOffered, CallTransferred,
)

from . import redirects
from .channels import call_vars, touch
from .model import LEFT, RELEASED, TALKING, WAITING, Entry, Segment, to_int

if TYPE_CHECKING:
    from . import Message, Tracker


def _float(value: object, default: float = 0.0) -> float:
    return ami_float(value, default)


def _segment(t: Tracker, m: Message, create: bool = False) -> Segment | None:
    queue = m.get("Queue")
    if not isinstance(queue, str):
        return None
    ch = touch(t, m)
    if ch is None:
        return None
    call = t.call_map[ch.linkedid]
    seg = call.segments.get((queue, ch.uniqueid))
    if seg is None and create:
        seg = Segment(queue, ch.uniqueid, ch.linkedid, ch.name, t.ts(m))
        call.segments[(queue, ch.uniqueid)] = seg
    return seg


def on_caller_join(t: Tracker, m: Message) -> None:
    queue = m.get("Queue")
    ch = touch(t, m)
    if ch is None or not isinstance(queue, str):
        return
    call = t.call_map[ch.linkedid]
    ts = t.ts(m)
    # The same caller channel entering a queue while still "talking" in another one was moved
    # out of the bridge (AMI Redirect): the first member is done with it.
    for seg in list(call.segments.values()):
        if seg.caller_uid != ch.uniqueid or seg.queue == queue and seg.state == WAITING:
            continue
        if seg.state in (TALKING, RELEASED):
            if not seg.transferred:
                redirects.confirm(t, seg, ts, queue=queue)
            elif seg.state == TALKING:  # a bridge transfer already reported it
                t.release_member(seg, ts)
        elif seg.state in (WAITING, LEFT):
            t.close_segment(call, seg)
    seg = _segment(t, m, create=True)
    assert seg is not None
    seg.state, seg.joined = WAITING, ts
    context, exten = m.get("Context"), m.get("Exten")
    if isinstance(context, str) and isinstance(exten, str):
        seg.context, seg.exten = context, exten
    q = t.queue_state(queue)
    position = to_int(m.get("Position"))
    q.entries[ch.uniqueid] = Entry(ch.uniqueid, ch.name, ch.linkedid, position, ts, ch.number,
                                   ch.cname)
    t.emit(CallOffered(ts=ts, queue=queue, linkedid=ch.linkedid, channel=ch.name,
                       uniqueid=ch.uniqueid, position=position, caller_number=ch.number,
                       caller_name=ch.cname, vars=call_vars(call)))


def on_caller_leave(t: Tracker, m: Message) -> None:
    queue = m.get("Queue")
    uid = m.get("Uniqueid")
    if not isinstance(queue, str) or not isinstance(uid, str):
        return
    q = t.queue_map.get(queue)
    entry = q.entries.pop(uid, None) if q else None
    if q is not None:
        for other in q.entries.values():
            if entry is not None and other.position > entry.position:
                other.position -= 1
    seg = _segment(t, m)
    if seg is not None and seg.state == WAITING:
        seg.state = LEFT
        if seg.abandoned:
            t.close_segment(t.call_map[seg.linkedid], seg)
    if entry is not None:
        t.emit(CallerLeftQueue(ts=t.ts(m), queue=queue, linkedid=entry.linkedid,
                               channel=entry.channel, reason=seg.leave_reason if seg else ""))


def on_caller_abandon(t: Tracker, m: Message) -> None:
    """app_queue's record_abandoned: the caller hung up, Queue() timed out, or the waiting
    caller was redirected. Recordings 03 and 08 (Asterisk 22.10.1) tell them apart:

    - hang-up: a HangupRequest of the caller channel comes *before* QueueCallerAbandon;
    - timeout: no request; QueueCallerLeave, then VarSet QUEUESTATUS=TIMEOUT and the dialplan
      goes on in the same place (the VarSet needs the `dialplan` read class, so it is not used);
    - Redirect: the channel's snapshot already names the new place (see redirects.py).

    A stream without any HangupRequest (an eventfilter; the verbara captures had them removed)
    cannot tell a hang-up from a timeout: then every one is an abandon, as app_queue counts it.
    """
    queue = m.get("Queue")
    seg = _segment(t, m)
    if seg is None or not isinstance(queue, str) or seg.abandoned:
        return
    seg.abandoned = True
    ts = t.ts(m)
    call = t.call_map[seg.linkedid]
    for interface in list(seg.ringing):
        t.stop_ringing(seg, interface)
    ch = t.channels.get(seg.caller_uid)
    target = redirects.moved(seg, m)
    if target:
        seg.leave_reason, seg.transferred = "redirect", True
        call.reason = "transfer"
        t.emit(CallTransferred(ts=ts, linkedid=seg.linkedid, how="redirect", from_queue=queue,
                               target=target))
    elif ch is not None and not ch.hangup_requested and t.sees_hangup_requests:
        seg.leave_reason = "timeout"
        call.reason = "timeout"
        t.queue_state(queue).timed_out += 1
    else:
        call.abandoned, call.reason = True, "abandoned"
        t.queue_state(queue).abandoned += 1
        t.emit(CallAbandoned(ts=ts, queue=queue, linkedid=seg.linkedid, channel=seg.channel,
                             position=to_int(m.get("Position")), wait=_float(m.get("HoldTime"))))


def on_agent_called(t: Tracker, m: Message) -> None:
    seg = _segment(t, m, create=True)
    interface = m.get("Interface") or m.get("AgentCalled")  # AMI v1 name
    if seg is None or not isinstance(interface, str):
        return
    dest_uid = m.get("DestUniqueid")
    dest = dest_uid if isinstance(dest_uid, str) else ""
    seg.ringing[interface] = dest
    if dest:
        t.member_channels[dest] = seg
    name = m.get("MemberName") or m.get("AgentName") or ""
    member = t.member(seg.queue, interface, str(name))
    member.ringing_for = seg.linkedid
    call = t.call_map[seg.linkedid]
    caller = call.channels.get(seg.caller_uid)
    dest_channel = m.get("DestChannel") or m.get("DestinationChannel") or ""
    t.emit(AgentRinging(
        ts=t.ts(m), queue=seg.queue, interface=interface, member_name=member.state.name,
        linkedid=seg.linkedid, channel=seg.channel, member_channel=str(dest_channel),
        caller_number=caller.number if caller else "", caller_name=caller.cname if caller else "",
        vars=call_vars(call),
    ))


def on_ring_no_answer(t: Tracker, m: Message) -> None:
    seg = _segment(t, m)
    interface = m.get("Interface")
    if seg is None or not isinstance(interface, str):
        return
    t.stop_ringing(seg, interface)
    t.emit(AgentRingNoAnswer(ts=t.ts(m), queue=seg.queue, interface=interface,
                             linkedid=seg.linkedid, ring_time=_float(m.get("RingTime")) / 1000))


def on_agent_dump(t: Tracker, m: Message) -> None:
    seg = _segment(t, m)
    interface = m.get("Interface")
    if seg is not None and isinstance(interface, str):
        t.stop_ringing(seg, interface)


def on_agent_connect(t: Tracker, m: Message) -> None:
    seg = _segment(t, m, create=True)
    interface = m.get("Interface") or m.get("Member")
    if seg is None or not isinstance(interface, str) or seg.state == TALKING:
        return
    q = t.queue_state(seg.queue)
    q.entries.pop(seg.caller_uid, None)
    for other in list(seg.ringing):
        t.stop_ringing(seg, other)
    dest = m.get("DestUniqueid")
    seg.state, seg.interface, seg.answered = TALKING, interface, t.ts(m)
    seg.member_uid = dest if isinstance(dest, str) else ""
    if seg.member_uid:
        t.member_channels[seg.member_uid] = seg
    q.answered += 1
    member = t.member(seg.queue, interface, str(m.get("MemberName") or ""))
    member.talking_for = seg.linkedid
    call = t.call_map[seg.linkedid]
    call.queue, call.interface = seg.queue, interface
    t.emit(CallAnswered(ts=t.ts(m), queue=seg.queue, interface=interface,
                        member_name=member.state.name, linkedid=seg.linkedid, channel=seg.channel,
                        hold_time=_float(m.get("HoldTime")), ring_time=_float(m.get("RingTime"))))
    t.set_in_call(member, True, t.ts(m))


def _find_completed(t: Tracker, m: Message, queue: str, interface: str) -> Segment | None:
    uid = m.get("Uniqueid")
    if isinstance(uid, str):
        ch = t.channels.get(uid)
        if ch is not None:
            seg = t.call_map[ch.linkedid].segments.get((queue, uid))
            if seg is not None:
                return seg
    dest = m.get("DestUniqueid")
    seg = t.member_channels.get(dest) if isinstance(dest, str) else None
    if seg is not None and seg.queue == queue:
        return seg
    member = t.queue_map[queue].members.get(interface) if queue in t.queue_map else None
    if member is not None and member.talking_for in t.call_map:
        for seg in t.call_map[member.talking_for].segments.values():
            if seg.queue == queue and seg.interface == interface:
                return seg
    return None


def on_agent_complete(t: Tracker, m: Message) -> None:
    queue, interface = m.get("Queue"), m.get("Interface") or m.get("Member")
    if not isinstance(queue, str) or not isinstance(interface, str):
        return
    seg = _find_completed(t, m, queue, interface)
    if seg is None or seg.interface != interface:
        t.late_events += 1  # the call is already gone: nothing to resurrect
        return
    call = t.call_map[seg.linkedid]
    reason = str(m.get("Reason") or "")
    if seg.redirect_to is not None:
        if reason == "transfer":
            redirects.cancel(seg)
        else:
            redirects.confirm(t, seg, t.ts(m))
    talk = _float(m.get("TalkTime"))
    if seg.state == RELEASED and seg.released >= seg.answered > 0:
        # After a Redirect the PBX counts talk time until the caller hangs up, long after
        # this member left; the member's own share is what the board needs.
        talk = float(round(seg.released - seg.answered))
    if seg.state == TALKING or call.interface == interface and call.queue == queue:
        # The member's own reason, unless this member moved the caller on (Redirect).
        call.reason = "transfer" if seg.transferred else reason
    call.talk_time += talk
    t.emit(AgentCompleted(ts=t.ts(m), queue=queue, interface=interface, linkedid=seg.linkedid,
                          reason=reason, hold_time=_float(m.get("HoldTime")), talk_time=talk))
    t.close_segment(call, seg, t.ts(m))
