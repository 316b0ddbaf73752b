"""The AMI tracker: AMI events in wire order -> calls, queues, members, and domain events.

Synchronous on purpose (STYLE.md 6): ``apply`` mutates the model and calls ``publish`` with
frozen domain events; I/O happens after it. Find the handler of any AMI event in ``HANDLERS``.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Union

from cti.amitext import ami_float
from state.events import DomainEvent, MemberState, MemberStateChanged

from . import channels, members, pbx_events, queues
from .model import (
    RELEASED, TALKING, WAITING, Call, CallView, ChannelView, EntryView, MemberView, QueueView,
    Segment, TrackedMember, TrackedQueue,
)

if TYPE_CHECKING:
    from cti.snapshot import PbxSnapshot

log = logging.getLogger(__name__)

Message = Mapping[str, Union[str, list[str]]]
Handler = Callable[["Tracker", Message], None]

HANDLERS: dict[str, Handler] = {
    "Newchannel": channels.on_newchannel,
    "Newstate": channels.on_newstate,
    "NewCallerid": channels.on_channel_event,
    "DialBegin": channels.on_channel_event,
    "DialEnd": channels.on_dial_end,
    "BridgeEnter": channels.on_bridge_enter,
    "BridgeLeave": channels.on_bridge_leave,
    "Hangup": channels.on_hangup,
    "HangupRequest": channels.on_hangup_request,
    "SoftHangupRequest": channels.on_hangup_request,
    "VarSet": channels.on_varset,
    "BlindTransfer": channels.on_blind_transfer,
    "AttendedTransfer": channels.on_attended_transfer,
    "QueueCallerJoin": queues.on_caller_join,
    "QueueCallerLeave": queues.on_caller_leave,
    "QueueCallerAbandon": queues.on_caller_abandon,
    "AgentCalled": queues.on_agent_called,
    "AgentConnect": queues.on_agent_connect,
    "AgentComplete": queues.on_agent_complete,
    "AgentRingNoAnswer": queues.on_ring_no_answer,
    "AgentDump": queues.on_agent_dump,
    "QueueMemberAdded": members.on_member_added,
    "QueueMemberRemoved": members.on_member_removed,
    "QueueMemberStatus": members.on_member_update,
    "QueueMemberPause": members.on_member_update,
    "QueueMemberPaused": members.on_member_update,  # AMI v1 name
    "QueueMemberPenalty": members.on_member_update,
    "QueueMemberRinginuse": members.on_member_update,
    "OriginateResponse": pbx_events.on_originate_response,
    "UserEvent": pbx_events.on_user_event,
    "FullyBooted": pbx_events.on_fully_booted,
    "Shutdown": pbx_events.on_shutdown,
}

_GONE_MEMORY = 4096


class Tracker:
    def __init__(self, publish: Callable[[DomainEvent], None],
                 clock: Callable[[], float] = time.time) -> None:
        # Event times are wall-clock epoch seconds a report can use: the PBX's Timestamp field
        # (manager.conf timestampevents = yes), else this clock at reception. Never monotonic.
        self._publish = publish
        self._clock = clock
        # When the PBX last started (this clock, estimated from FullyBooted's Uptime); None
        # until the first FullyBooted. A later start means the PBX restarted.
        self.pbx_started: float | None = None
        self.channels: dict[str, channels.TrackedChannel] = {}
        self.call_map: dict[str, Call] = {}
        self.queue_map: dict[str, TrackedQueue] = {}
        self.member_channels: dict[str, Segment] = {}
        self.gone: set[str] = set()
        self._gone_order: deque[str] = deque()
        self.stale = False
        self.applied = 0
        self.ignored = 0
        self.rejected = 0
        self.late_events = 0
        self._last_ts = 0.0
        # True once any HangupRequest/SoftHangupRequest came: without them (an eventfilter, a
        # reduced capture) a hang-up cannot be told from a Queue() timeout.
        self.sees_hangup_requests = False

    # --- input ----------------------------------------------------------------------------
    def apply(self, message: Message) -> None:
        """Apply one AMI message. Unknown events and malformed fields are counted, never fatal."""
        name = message.get("Event")
        handler = HANDLERS.get(name) if isinstance(name, str) else None
        if handler is None:
            self.ignored += 1
            return
        self.applied += 1
        try:
            handler(self, message)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            # Never the message itself in the log: it carries callers' numbers and accounts.
            self.rejected += 1
            log.warning("tracker: %s event not applied (%s)", name, type(exc).__name__)

    def on_link_lost(self) -> None:
        """The AMI link dropped: keep the model for readers but mark it stale until resync."""
        self.stale = True

    def resync(self, snapshot: PbxSnapshot) -> list[DomainEvent]:
        """Replace the model by the PBX's truth; publish and return the differences."""
        from .sync import apply_snapshot

        return apply_snapshot(self, snapshot)

    # --- helpers for the handler modules -----------------------------------------------------
    def emit(self, event: DomainEvent) -> None:
        self._publish(event)

    def ts(self, m: Message) -> float:
        stamp = ami_float(m.get("Timestamp"), -1.0)
        if stamp >= 0.0:
            self._last_ts = stamp
            return stamp
        return self._clock()

    def clock(self) -> float:
        """This server's wall clock (not the PBX's), for what must not depend on PBX time."""
        return self._clock()

    def now(self) -> float:
        return self._last_ts or self._clock()

    def remember_gone(self, uid: str) -> None:
        # Late events about a hung-up channel must not bring it back to life.
        if uid in self.gone:
            return
        self.gone.add(uid)
        self._gone_order.append(uid)
        if len(self._gone_order) > _GONE_MEMORY:
            self.gone.discard(self._gone_order.popleft())

    def queue_state(self, name: str) -> TrackedQueue:
        q = self.queue_map.get(name)
        if q is None:
            q = self.queue_map[name] = TrackedQueue(name)
        return q

    def member(self, queue: str, interface: str, name: str = "") -> TrackedMember:
        q = self.queue_state(queue)
        member = q.members.get(interface)
        if member is None:
            member = q.members[interface] = TrackedMember(
                MemberState(queue=queue, interface=interface, name=name))
        return member

    def stop_ringing(self, seg: Segment, interface: str) -> None:
        uid = seg.ringing.pop(interface, None)
        if uid and self.member_channels.get(uid) is seg and seg.member_uid != uid:
            self.member_channels.pop(uid, None)
        q = self.queue_map.get(seg.queue)
        member = q.members.get(interface) if q else None
        if member is not None and member.ringing_for == seg.linkedid:
            member.ringing_for = ""

    def release_member(self, seg: Segment, ts: float) -> None:
        """The member left a queue call that the caller goes on with (hung up, redirected)."""
        seg.state, seg.released = RELEASED, ts
        if self.member_channels.get(seg.member_uid) is seg:
            self.member_channels.pop(seg.member_uid, None)
        q = self.queue_map.get(seg.queue)
        member = q.members.get(seg.interface) if q else None
        if member is not None and member.talking_for == seg.linkedid:
            member.talking_for = ""
            self.set_in_call(member, False, ts or self.now())

    def set_in_call(self, member: TrackedMember, in_call: bool, ts: float) -> None:
        """Asterisk turns a member's InCall on at AgentConnect without any event (and sends
        InCall 0 only with the QueueMemberStatus that follows the call): the tracker sets it."""
        if member.state.in_call == in_call:
            return
        member.state = member.state.model_copy(update={"in_call": in_call})
        self.emit(MemberStateChanged(ts=ts, member=member.state))

    def close_segment(self, call: Call, seg: Segment, ts: float = 0.0) -> None:
        for interface in list(seg.ringing):
            self.stop_ringing(seg, interface)
        if seg.state == TALKING:
            self.release_member(seg, ts)
        if self.member_channels.get(seg.member_uid) is seg:
            self.member_channels.pop(seg.member_uid, None)
        call.segments.pop((seg.queue, seg.caller_uid), None)

    def drop_caller(self, call: Call, uid: str) -> None:
        """A caller channel is gone: its queue entries and unanswered visits go with it."""
        for seg in list(call.segments.values()):
            if seg.caller_uid == uid:
                q = self.queue_map.get(seg.queue)
                if q is not None:
                    q.entries.pop(uid, None)
                if seg.state != TALKING and seg.state != RELEASED:
                    self.close_segment(call, seg)
        for q in self.queue_map.values():
            q.entries.pop(uid, None)

    # --- readers -----------------------------------------------------------------------------
    def calls_view(self) -> tuple[CallView, ...]:
        out = []
        for call in self.call_map.values():
            state, queue, interface = "active", "", ""
            for seg in call.segments.values():
                if seg.state == TALKING:
                    state, queue, interface = "talking", seg.queue, seg.interface
                elif seg.state == WAITING and state != "talking":
                    state, queue = ("ringing" if seg.ringing else "queued"), seg.queue
            merged = channels.call_vars(call)
            out.append(CallView(
                linkedid=call.linkedid, started=call.started,
                channels=tuple(ChannelView(c.uniqueid, c.name, c.state, c.number, c.bridge)
                               for c in call.channels.values()),
                vars=tuple(sorted(merged.items())), queue=queue, state=state,
                interface=interface))
        return tuple(out)

    def calls(self) -> tuple[CallView, ...]:
        return self.calls_view()

    def queues(self, now: float | None = None) -> tuple[QueueView, ...]:
        return self.queues_view(now)

    def queue(self, name: str, now: float | None = None) -> QueueView | None:
        """The queue as of ``now`` (default: this tracker's wall clock at the call, so waits
        grow between events)."""
        q = self.queue_map.get(name)
        return self._queue_view(q, self._clock() if now is None else now) if q is not None else None

    def queues_view(self, now: float | None = None) -> tuple[QueueView, ...]:
        at = self._clock() if now is None else now
        return tuple(self._queue_view(q, at) for q in self.queue_map.values())

    def members(self) -> tuple[MemberView, ...]:
        return tuple(MemberView(m.state, m.ringing_for, m.talking_for)
                     for q in self.queue_map.values() for m in q.members.values())

    def _queue_view(self, q: TrackedQueue, now: float) -> QueueView:
        entries = tuple(
            EntryView(q.name, e.uniqueid, e.channel, e.linkedid, e.position, e.number, e.cname,
                      e.joined, max(0.0, now - e.joined))
            for e in sorted(q.entries.values(), key=lambda e: e.position))
        talking = sum(1 for call in self.call_map.values() for s in call.segments.values()
                      if s.queue == q.name and s.state == TALKING)
        since = min((e.joined for e in entries), default=None)
        return QueueView(
            name=q.name, entries=entries,
            members=tuple(MemberView(m.state, m.ringing_for, m.talking_for)
                          for m in q.members.values()),
            waiting=len(q.entries), talking=talking, answered=q.answered, abandoned=q.abandoned,
            timed_out=q.timed_out, longest_wait_since=since,
            longest_wait=max(0.0, now - since) if since is not None else 0.0)

    def status(self) -> dict[str, object]:
        return {
            "stale": self.stale, "calls": len(self.call_map), "channels": len(self.channels),
            "queues": len(self.queue_map), "applied": self.applied, "ignored": self.ignored,
            "rejected": self.rejected, "late_events": self.late_events,
        }

