"""Queue members: QueueMemberAdded/Removed/Status/Pause(d)/Penalty/Ringinuse.

QueueMemberStatus is sent for every queue the interface belongs to, and for Local members it
says 2 (in use) while they only ring; the tracker reports what the PBX says and adds, from the
queue events, which call the member rings or talks for.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from state.events import MemberAdded, MemberRemoved, MemberState, MemberStateChanged

from .model import DEVICE_STATUS, to_int

if TYPE_CHECKING:
    from . import Message, Tracker


def _flag(value: object) -> bool:
    return isinstance(value, str) and value.lower() in ("1", "true", "yes")


def member_state(m: Message, old: MemberState | None) -> MemberState | None:
    """A MemberState from a QueueMember* event or a QueueMember list item (``Location`` and
    ``Name`` there, ``Interface``/``MemberName`` in events); fields absent keep ``old``'s."""
    queue = m.get("Queue")
    interface = m.get("Interface") or m.get("Location")
    if not isinstance(queue, str) or not isinstance(interface, str) or not interface:
        return None
    base = old.model_dump() if old is not None else {"queue": queue, "interface": interface}
    name = m.get("MemberName") or m.get("Name")
    if isinstance(name, str) and name:
        base["name"] = name
    for key, field in (("StateInterface", "state_interface"), ("Membership", "membership")):
        value = m.get(key)
        if isinstance(value, str):
            base[field] = value
    if "Penalty" in m:
        base["penalty"] = to_int(m["Penalty"])
    if "Status" in m:
        status = to_int(m["Status"])
        base["status"], base["status_text"] = status, DEVICE_STATUS.get(status, "unknown")
    if "Paused" in m:
        base["paused"] = _flag(m["Paused"])
        reason = m.get("PausedReason") or m.get("Reason") or ""
        base["paused_reason"] = reason if isinstance(reason, str) else ""
    if "InCall" in m:
        base["in_call"] = _flag(m["InCall"])
    if "CallsTaken" in m:
        base["calls_taken"] = to_int(m["CallsTaken"])
    if "LastCall" in m:
        base["last_call"] = float(to_int(m["LastCall"]))
    return MemberState(**base)


def state_changed(old: MemberState, new: MemberState) -> bool:
    return (old.status, old.paused, old.paused_reason, old.in_call, old.penalty) != (
        new.status, new.paused, new.paused_reason, new.in_call, new.penalty)


def on_member_update(t: Tracker, m: Message) -> None:
    queue = m.get("Queue")
    interface = m.get("Interface") or m.get("Location")
    if not isinstance(queue, str) or not isinstance(interface, str):
        return
    q = t.queue_state(queue)
    member = q.members.get(interface)
    new = member_state(m, member.state if member else None)
    if new is None:
        return
    if member is None:
        member = t.member(queue, interface, new.name)
        member.state = new
        t.emit(MemberStateChanged(ts=t.ts(m), member=new))
        return
    old, member.state = member.state, new
    if state_changed(old, new):
        t.emit(MemberStateChanged(ts=t.ts(m), member=new))


def on_member_added(t: Tracker, m: Message) -> None:
    queue = m.get("Queue")
    interface = m.get("Interface") or m.get("Location")
    if not isinstance(queue, str) or not isinstance(interface, str):
        return
    member = t.queue_state(queue).members.get(interface)
    new = member_state(m, member.state if member else None)
    if new is None:
        return
    t.member(queue, interface, new.name).state = new
    t.emit(MemberAdded(ts=t.ts(m), member=new))


def on_member_removed(t: Tracker, m: Message) -> None:
    queue = m.get("Queue")
    interface = m.get("Interface") or m.get("Location")
    if not isinstance(queue, str) or not isinstance(interface, str):
        return
    q = t.queue_map.get(queue)
    if q is not None and q.members.pop(interface, None) is not None:
        t.emit(MemberRemoved(ts=t.ts(m), queue=queue, interface=interface))
