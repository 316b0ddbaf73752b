"""Resync: replace the tracker's model by a PbxSnapshot and publish the differences."""
from __future__ import annotations

from typing import TYPE_CHECKING

from state.events import (
    CallerLeftQueue, CallOffered, DomainEvent, MemberAdded, MemberRemoved, MemberStateChanged,
)

from .channels import end_call, open_channel
from .members import state_changed
from .model import Entry, Segment, TrackedMember

if TYPE_CHECKING:
    from cti.snapshot import PbxSnapshot

    from . import Tracker


def apply_snapshot(t: Tracker, snap: PbxSnapshot) -> list[DomainEvent]:
    events: list[DomainEvent] = []
    publish = t._publish
    t._publish = events.append  # collect, then publish in order once the model is consistent
    try:
        now = t.now()
        if snap.has_channels:
            _sync_channels(t, snap, now)
        if snap.all_queues:
            for name in [n for n in t.queue_map if n not in snap.queues]:
                _drop_queue(t, name, now)
        for name, sq in snap.queues.items():
            _sync_queue(t, snap, name, now)
            q = t.queue_state(name)
            q.answered, q.abandoned = sq.completed, sq.abandoned
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
        ch = open_channel(t, fields, sc.uniqueid, sc.name, sc.linkedid)
        ch.number, ch.cname, ch.bridge = sc.caller_number, sc.caller_name, sc.bridge
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
                           caller_name=e.caller_name, vars=dict(ch.vars) if ch else {}))
