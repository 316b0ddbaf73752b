"""Resync: replace the tracker's model by a PbxSnapshot and publish the differences.

After a cold start of this server the PBX may be in the middle of calls: a talking queue call
is rebuilt with its queue and member from the lists (the caller channel runs ``Queue`` and
shares a BridgeId with the member's channel; QueueMember ``InCall: 1``, recording 06), so its
later AgentComplete and hang-up are reported in full. Events for what the tracker did not see
begin carry ``rebuilt=True``; such calls get no CallStarted.
"""
from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from state.events import (
    CallAnswered, CallerLeftQueue, CallOffered, DomainEvent, MemberAdded, MemberRemoved,
    MemberState, MemberStateChanged,
)

from .channels import end_call, open_channel
from .members import state_changed
from .model import TALKING, Entry, Segment, TrackedMember

if TYPE_CHECKING:
    from cti.snapshot import PbxSnapshot, SnapshotChannel

    from . import Tracker


def apply_snapshot(t: Tracker, snap: PbxSnapshot) -> list[DomainEvent]:
    events: list[DomainEvent] = []
    publish = t._publish
    t._publish = events.append  # collect, then publish in order once the model is consistent
    try:
        # This server's wall clock: QueueEntry Wait and channel ages count up to the answer.
        now = t.clock()
        if snap.has_channels:
            _sync_channels(t, snap, now)
        if snap.all_queues:
            for name in [n for n in t.queue_map if n not in snap.queues]:
                _drop_queue(t, name, now)
        for name in snap.queues:
            _sync_queue(t, snap, name, now)
        if snap.has_channels:
            _rebuild_talking(t, snap, now)
        for name, sq in snap.queues.items():
            q = t.queue_state(name)
            # QueueParams Completed counts a call when it ends; the tracker counts it at
            # AgentConnect: the calls talking now are answered too, once.
            talking = sum(1 for s in snap.members if s.queue == name and s.in_call)
            q.answered, q.abandoned = sq.completed + talking, sq.abandoned
        t.stale = False
    finally:
        t._publish = publish
    for event in events:
        publish(event)
    return events


def _drop_queue(t: Tracker, name: str, now: float) -> None:
    """The PBX no longer has this queue (e.g. removed from queues.conf before a restart)."""
    q = t.queue_map.pop(name)
    for interface in list(q.members):
        t.emit(MemberRemoved(ts=now, queue=name, interface=interface))
    for entry in q.entries.values():
        t.emit(CallerLeftQueue(ts=now, queue=name, linkedid=entry.linkedid, channel=entry.channel))


def _sync_channels(t: Tracker, snap: PbxSnapshot, now: float) -> None:
    for uid in [u for u in t.channels if u not in snap.channels]:
        ch = t.channels.pop(uid)
        t.remember_gone(uid)
        call = t.call_map.get(ch.linkedid)
        if call is not None:
            call.channels.pop(uid, None)
            t.drop_caller(call, uid)
            if not call.channels:
                end_call(t, call, now, reason="lost")
    for sc in snap.channels.values():
        if sc.uniqueid in t.channels:
            continue
        t.gone.discard(sc.uniqueid)
        fields = {"CallerIDNum": sc.caller_number, "CallerIDName": sc.caller_name,
                  "ChannelStateDesc": sc.state}
        ch = open_channel(t, fields, sc.uniqueid, sc.name, sc.linkedid, rebuilt=True)
        ch.number, ch.cname, ch.bridge = sc.caller_number, sc.caller_name, sc.bridge
        ch.context, ch.exten = sc.context, sc.exten
        ch.vars.update(dict(sc.vars))


def _sync_queue(t: Tracker, snap: PbxSnapshot, name: str, now: float) -> None:
    q = t.queue_state(name)
    truth = {s.interface: s for s in snap.members if s.queue == name}
    for interface in [i for i in q.members if i not in truth]:
        del q.members[interface]
        t.emit(MemberRemoved(ts=now, queue=name, interface=interface))
    for interface, state in truth.items():
        member = q.members.get(interface)
        if member is None:
            q.members[interface] = TrackedMember(state)
            t.emit(MemberAdded(ts=now, member=state))
        else:
            old, member.state = member.state, state
            if state_changed(old, state):
                t.emit(MemberStateChanged(ts=now, member=state))
    entries = {e.uniqueid: e for e in snap.entries if e.queue == name}
    for uid in [u for u in q.entries if u not in entries]:
        gone = q.entries.pop(uid)
        call = t.call_map.get(gone.linkedid)
        seg = call.segments.get((name, uid)) if call else None
        if call is not None and seg is not None:
            t.close_segment(call, seg)
        t.emit(CallerLeftQueue(ts=now, queue=name, linkedid=gone.linkedid, channel=gone.channel))
    for uid, e in entries.items():
        known = q.entries.get(uid)
        if known is not None:
            known.position = e.position
            continue
        ch = t.channels.get(uid)
        linkedid = ch.linkedid if ch else uid
        joined = now - e.wait
        q.entries[uid] = Entry(uid, e.channel, linkedid, e.position, joined, e.caller_number,
                               e.caller_name)
        call = t.call_map.get(linkedid)
        if call is not None:
            seg = call.segments.get((name, uid))
            if seg is None:
                call.segments[(name, uid)] = Segment(name, uid, linkedid, e.channel, joined)
        t.emit(CallOffered(ts=now, queue=name, linkedid=linkedid, channel=e.channel,
                           uniqueid=uid, position=e.position, caller_number=e.caller_number,
                           caller_name=e.caller_name, vars=dict(ch.vars) if ch else {},
                           rebuilt=True))


def _base(name: str) -> str:
    """The device part of a channel name: ``Local/1012@agents-0000000d;1`` ->
    ``Local/1012@agents``, ``PJSIP/agent1-00000003`` -> ``PJSIP/agent1``."""
    return name.rsplit("-", 1)[0] if "-" in name else name


def _interface_base(interface: str) -> str:
    """A member interface without its options: ``Local/1012@agents/n`` -> ``Local/1012@agents``."""
    tech, _, rest = interface.partition("/")
    return f"{tech}/{rest.split('/', 1)[0]}" if rest else interface


def _queue_of(sc: SnapshotChannel) -> str:
    """The queue a caller channel waits or talks in: Queue()'s first argument, else CCS_QUEUE."""
    if sc.application == "Queue" and sc.app_data:
        return sc.app_data.split(",", 1)[0].strip()
    return dict(sc.vars).get("CCS_QUEUE", "") if sc.application == "Queue" else ""


def _member_for(members: list[MemberState], sc: SnapshotChannel) -> MemberState | None:
    base = _base(sc.name)
    found = [s for s in members if _interface_base(s.interface) == base]
    busy = [s for s in found if s.in_call]
    return (busy or found or [None])[0]


def _rebuild_talking(t: Tracker, snap: PbxSnapshot, now: float) -> None:
    """Queue calls the PBX says are talking and the tracker has no talking visit for."""
    bridges: dict[str, list[SnapshotChannel]] = defaultdict(list)
    for sc in snap.channels.values():
        if sc.bridge:
            bridges[sc.bridge].append(sc)
    for chans in bridges.values():
        for caller in chans:
            queue = _queue_of(caller)
            call = t.call_map.get(caller.linkedid)
            if not queue or call is None or caller.uniqueid not in t.channels:
                continue
            known = call.segments.get((queue, caller.uniqueid))
            if known is not None and known.state == TALKING:
                continue
            members = [s for s in snap.members if s.queue == queue]
            pair = next(((sc, m) for sc in chans if sc is not caller
                         and (m := _member_for(members, sc)) is not None), None)
            if pair is None:
                continue
            _rebuild_one(t, queue, caller, *pair, now)


def _rebuild_one(t: Tracker, queue: str, caller: SnapshotChannel, agent: SnapshotChannel,
                 state: MemberState, now: float) -> None:
    call = t.call_map[caller.linkedid]
    seg = call.segments.get((queue, caller.uniqueid))
    if seg is None:
        seg = call.segments[(queue, caller.uniqueid)] = Segment(
            queue, caller.uniqueid, caller.linkedid, caller.name, now - caller.seconds)
    for interface in list(seg.ringing):
        t.stop_ringing(seg, interface)
    q = t.queue_state(queue)
    q.entries.pop(caller.uniqueid, None)
    # The member's channel was made when it began to ring: its age is ring + talk so far. The
    # real hold and talk times come with the AgentComplete.
    seg.state, seg.interface, seg.rebuilt = TALKING, state.interface, True
    seg.answered = now - agent.seconds if agent.seconds else now
    seg.context, seg.exten = caller.context, caller.exten
    seg.member_uid = agent.uniqueid if agent.uniqueid in t.channels else ""
    if seg.member_uid:
        t.member_channels[seg.member_uid] = seg
    member = q.members.get(state.interface)
    if member is None:
        member = q.members[state.interface] = TrackedMember(state)
    member.talking_for = caller.linkedid
    call.queue, call.interface = queue, state.interface
    t.emit(CallAnswered(ts=seg.answered, queue=queue, interface=state.interface,
                        member_name=state.name, linkedid=caller.linkedid, channel=caller.name,
                        hold_time=0.0, ring_time=0.0, rebuilt=True))
