"""The call recorder's state machine: domain events in, queue legs out (synchronous, no I/O).

A leg is a caller's visit to one queue: it opens at ``CallOffered``, is answered at
``CallAnswered``, and ends at ``AgentCompleted`` (the agent's part is over), at the caller's
abandon (``CallAbandoned`` then ``CallerLeftQueue``), at a ``CallerLeftQueue`` whose reason
says the PBX let it go (timeout, redirect), when the caller joins another queue (a new linked
leg) or when the call ends (``CallEnded``). A ``CallTransferred`` marks the answered leg as
transferred. The agent's wrap-up after a leg comes from the projector's ``AgentStateChanged``
views (wrap_up from ... to the next state).

Public API (used by ``records.CallRecorder``): ``LegBook(agent_of, tracker=None)`` with
``apply(event)``, ``reconcile(tracker, now)``, ``take() -> Batch`` (what changed since the last
take: closed legs, ended calls, wrap-ups, Redis entries to write or delete), ``image(key)`` and
``load(images)`` (the Redis images of open legs, calls and awaited wrap-ups).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from features.supervisor.formulas import Leg
from state.events import (
    AgentCompleted, AgentStateChanged, CallAbandoned, CallAnswered, CallEnded, CallerLeftQueue,
    CallOffered, CallTransferred, DomainEvent,
)

log = logging.getLogger(__name__)

WAITING, LEFT, ABANDONED, TALKING = "waiting", "left", "abandoned", "talking"


def utc(ts: float) -> dt.datetime:
    # Whole microseconds, as PostgreSQL keeps them: the live figures and the stored rows then
    # fold the very same values.
    return dt.datetime.fromtimestamp(round(ts, 6), dt.timezone.utc)


def _since(view: dict[str, Any]) -> float | None:
    try:
        return dt.datetime.fromisoformat(str(view.get("since"))).timestamp()
    except (TypeError, ValueError):
        return None


def ivr_path(vars: dict[str, str]) -> dict[str, str]:
    """What the IVR did before the queue (its channel variables, ivr/flows/transfer.py); the
    account is the row's ``account_id``, never copied here."""
    path = {"intent": vars.get("CCS_INTENT", ""), "summary": vars.get("CCS_IVR", ""),
            "queue": vars.get("CCS_QUEUE", "")}
    return {k: v for k, v in path.items() if v}


@dataclass
class OpenLeg:
    call_id: str
    leg: int
    queue: str
    channel: str
    entered: float
    prev_leg: int | None = None
    caller_number: str = ""
    account: str = ""  # the number the IVR found (CCS_ACCOUNT); the row gets its id
    ivr: dict[str, str] = field(default_factory=dict)
    state: str = WAITING
    answered: float | None = None
    left: float | None = None
    interface: str = ""
    agent_id: int | None = None
    transfer_how: str | None = None
    transfer_target: str | None = None
    transferred: float | None = None
    left_reason: str = ""  # CallerLeftQueue.reason while the leg waits for what follows
    # The answer was not seen (a resync found the call talking): ``answered`` is an estimate
    # until the AgentComplete's HoldTime says when it was.
    answer_estimated: bool = False

    @property
    def key(self) -> str:
        return f"leg|{self.call_id}|{self.leg}"


@dataclass
class ClosedLeg:
    """A ``queue_calls`` row."""

    call_id: str
    leg: int
    prev_leg: int | None
    queue: str
    caller_number: str
    account: str
    ivr: dict[str, str]
    entered_at: dt.datetime
    answered_at: dt.datetime | None
    left_at: dt.datetime
    ended_at: dt.datetime | None
    agent_id: int | None
    interface: str
    outcome: str
    wait: float
    talk: float
    transfer_how: str | None
    transfer_target: str | None
    end_seen: bool = True
    wrapup: float | None = None

    def figures_leg(self) -> Leg:
        return Leg(self.call_id, self.leg, self.queue, self.entered_at, self.outcome, self.wait,
                   self.talk, self.wrapup, self.agent_id, self.caller_number)


@dataclass
class CallInfo:
    call_id: str
    next_leg: int = 1
    last_leg: int | None = None
    caller_number: str = ""
    account: str = ""
    first_entered: float | None = None
    first_answered: float | None = None
    agent_id: int | None = None
    queue: str = ""
    last_outcome: str = ""

    @property
    def key(self) -> str:
        return f"call|{self.call_id}"


@dataclass
class AwaitedWrapUp:
    agent_id: int
    call_id: str
    leg: int
    ended: float
    since: float | None = None  # when the wrap-up view began

    @property
    def key(self) -> str:
        return f"wrap|{self.agent_id}"


@dataclass
class Batch:
    closed: list[ClosedLeg] = field(default_factory=list)
    ended_calls: list[tuple[CallInfo, float]] = field(default_factory=list)
    wrapups: list[tuple[str, int, float]] = field(default_factory=list)
    dirty: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)


class LegBook:
    """The recorder's state machine (synchronous, no I/O): events in, closed legs out."""

    def __init__(self, agent_of: Callable[[str], int | None], tracker: Any = None) -> None:
        self.agent_of = agent_of
        self.tracker = tracker
        self.legs: dict[str, list[OpenLeg]] = {}
        self.calls: dict[str, CallInfo] = {}
        self.wraps: dict[int, AwaitedWrapUp] = {}
        self.batch = Batch()

    # --- helpers ---------------------------------------------------------------------------
    def take(self) -> Batch:
        batch, self.batch = self.batch, Batch()
        return batch

    def _touch(self, obj: OpenLeg | CallInfo | AwaitedWrapUp) -> None:
        self.batch.dirty.add(obj.key)
        self.batch.gone.discard(obj.key)

    def _forget(self, key: str) -> None:
        self.batch.gone.add(key)
        self.batch.dirty.discard(key)

    def _find(self, call_id: str, queue: str, *, channel: str = "", states: tuple[str, ...] = (),
              interface: str = "") -> OpenLeg | None:
        found = None
        for leg in self.legs.get(call_id, ()):
            if queue and leg.queue != queue or states and leg.state not in states:
                continue
            if interface and leg.interface != interface:
                continue
            if channel and leg.channel and leg.channel != channel:
                continue
            found = leg  # the latest one
        return found

    def open_leg(self, call_id: str, queue: str, channel: str, entered: float, number: str,
                 vars: dict[str, str]) -> OpenLeg:
        call = self.calls.get(call_id)
        if call is None:
            call = self.calls[call_id] = CallInfo(call_id)
        leg = OpenLeg(call_id, call.next_leg, queue, channel, entered, prev_leg=call.last_leg,
                      caller_number=number, account=vars.get("CCS_ACCOUNT", ""),
                      ivr=ivr_path(vars))
        call.next_leg += 1
        call.last_leg = leg.leg
        call.caller_number = call.caller_number or number
        call.account = call.account or leg.account
        if call.first_entered is None:
            call.first_entered = entered
        call.queue = call.queue or queue
        self.legs.setdefault(call_id, []).append(leg)
        self._touch(leg)
        self._touch(call)
        return leg

    def _answer(self, leg: OpenLeg, at: float, interface: str) -> None:
        leg.state, leg.answered, leg.interface = TALKING, at, interface
        leg.left = leg.left if leg.left is not None and leg.left <= at else at
        leg.agent_id = self.agent_of(interface)
        call = self.calls[leg.call_id]
        if call.first_answered is None:
            call.first_answered = at
        if call.agent_id is None:
            call.agent_id = leg.agent_id
        if leg.agent_id is not None:
            # A new call: a wrap-up still running ends now; one that never began was none.
            old = self.wraps.pop(leg.agent_id, None)
            if old is not None:
                self._forget(old.key)
                if old.since is not None:
                    self.batch.wrapups.append(
                        (old.call_id, old.leg, round(max(0.0, at - old.since), 6)))
        self._touch(leg)
        self._touch(call)

    def close(self, leg: OpenLeg, outcome: str, at: float, *, end_seen: bool = True) -> ClosedLeg:
        self.legs[leg.call_id].remove(leg)
        if not self.legs[leg.call_id]:
            del self.legs[leg.call_id]
        self._forget(leg.key)
        ended: float | None = None
        if leg.answered is not None:
            end = at
            if leg.transfer_how == "redirect" and leg.transferred is not None:
                end = min(end, leg.transferred)  # AgentComplete comes when the caller hangs up
            ended = max(end, leg.answered)
        entered = utc(leg.entered)
        answered_at = utc(leg.answered) if leg.answered is not None else None
        left_at = max(utc(leg.left if leg.left is not None else at), entered)
        ended_at = utc(ended) if ended is not None else None
        # Seconds from the stored (microsecond) times, so the report's and the board's agree.
        wait = max(0.0, ((answered_at or left_at) - entered).total_seconds())
        talk = max(0.0, (ended_at - answered_at).total_seconds()) \
            if ended_at is not None and answered_at is not None else 0.0
        closed = ClosedLeg(
            call_id=leg.call_id, leg=leg.leg, prev_leg=leg.prev_leg, queue=leg.queue,
            caller_number=leg.caller_number, account=leg.account, ivr=leg.ivr,
            entered_at=entered, answered_at=answered_at, left_at=left_at,
            ended_at=ended_at, agent_id=leg.agent_id, interface=leg.interface, outcome=outcome,
            wait=wait, talk=talk, transfer_how=leg.transfer_how,
            transfer_target=leg.transfer_target, end_seen=end_seen)
        self.batch.closed.append(closed)
        call = self.calls.get(leg.call_id)
        if call is not None:
            call.last_outcome = outcome
            self._touch(call)
        if closed.answered_at is not None and leg.agent_id is not None:
            wrap = AwaitedWrapUp(leg.agent_id, leg.call_id, leg.leg, ended or at)
            self.wraps[leg.agent_id] = wrap
            self._touch(wrap)
        return closed

    def _close_unanswered(self, leg: OpenLeg, at: float, reason: str = "") -> None:
        if leg.state == ABANDONED:
            outcome = "timeout" if reason == "timeout" else "abandoned"
        elif reason == "timeout":
            outcome = "timeout"
        elif leg.state == LEFT and leg.left_reason == "exit" and not reason:
            # Gone from the PBX's queue while nobody watched, then the call ended unanswered.
            outcome = "abandoned"
        elif leg.state == LEFT or reason in ("exit", "redirect"):
            outcome = "redirected"
        else:
            outcome = "abandoned"  # gone while waiting without the PBX saying why
        self.close(leg, outcome, at)

    def _close_answered(self, leg: OpenLeg, at: float, reason: str = "", *,
                        end_seen: bool = True) -> None:
        outcome = "transferred" if leg.transfer_how or reason == "transfer" else "answered"
        self.close(leg, outcome, at, end_seen=end_seen)

    # --- events ----------------------------------------------------------------------------
    def apply(self, event: DomainEvent) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def on_offered(self, e: CallOffered) -> None:
        same = self._find(e.linkedid, e.queue, channel=e.channel, states=(WAITING, LEFT))
        if same is not None:
            # A repeated join (a resync rebuilding the waiting caller): the same visit.
            return
        for leg in list(self.legs.get(e.linkedid, ())):
            if leg.channel == e.channel and leg.state in (WAITING, LEFT, ABANDONED):
                # The caller moved on before anyone answered (Redirect, Queue() gave up).
                self._close_unanswered(leg, e.ts, "redirect" if leg.state != ABANDONED else "")
        entered = e.ts
        if getattr(e, "rebuilt", False) and self.tracker is not None:
            # A resync's event is stamped with the resync's time; the tracker's entry knows
            # when the caller joined (from the PBX's Wait).
            q = self.tracker.queue_map.get(e.queue)
            entry = q.entries.get(e.uniqueid) if q is not None else None
            if entry is not None:
                entered = entry.joined
        self.open_leg(e.linkedid, e.queue, e.channel, entered, e.caller_number, e.vars)

    def on_answered(self, e: CallAnswered) -> None:
        leg = self._find(e.linkedid, e.queue, channel=e.channel, states=(WAITING, LEFT))
        if leg is None:
            if self._find(e.linkedid, e.queue, states=(TALKING,), interface=e.interface):
                return  # already seen answered (a rebuilt call after a resync)
            # The join was never seen (the recorder started mid-call): from the answer's times.
            leg = self.open_leg(e.linkedid, e.queue, e.channel, e.ts - e.hold_time, "", {})
        self._answer(leg, e.ts, e.interface)
        leg.answer_estimated = bool(getattr(e, "rebuilt", False))

    def on_abandoned(self, e: CallAbandoned) -> None:
        leg = self._find(e.linkedid, e.queue, channel=e.channel, states=(WAITING, LEFT))
        if leg is None:
            return
        leg.state, leg.left = ABANDONED, e.ts
        self._touch(leg)

    def on_left(self, e: CallerLeftQueue) -> None:
        reason = getattr(e, "reason", "") or ""
        leg = self._find(e.linkedid, e.queue, channel=e.channel, states=(WAITING, LEFT, ABANDONED))
        if leg is None:
            return
        if leg.state == ABANDONED or reason in ("timeout", "redirect"):
            if leg.left is None:
                leg.left = e.ts
            self._close_unanswered(leg, e.ts, reason)
            return
        # Asterisk says QueueCallerLeave just before AgentConnect; a resync says "exit" also
        # for a caller answered while the link was down: wait for what follows.
        leg.state, leg.left, leg.left_reason = LEFT, e.ts, reason
        self._touch(leg)

    def on_transferred(self, e: CallTransferred) -> None:
        leg = None
        for candidate in self.legs.get(e.linkedid, ()):
            if candidate.state != TALKING or candidate.transfer_how:
                continue
            if e.from_queue and candidate.queue != e.from_queue:
                continue
            if e.from_interface and candidate.interface != e.from_interface:
                continue
            leg = candidate
        if leg is None:
            return
        leg.transfer_how, leg.transfer_target, leg.transferred = e.how, e.target or None, e.ts
        self._touch(leg)

    def on_completed(self, e: AgentCompleted) -> None:
        leg = self._find(e.linkedid, e.queue, states=(TALKING,), interface=e.interface)
        if leg is not None:
            if leg.answer_estimated and e.hold_time > 0:
                leg.answered = min(leg.entered + e.hold_time, e.ts)
            self._close_answered(leg, e.ts, e.reason)

    def on_ended(self, e: CallEnded) -> None:
        self.end_call(e.linkedid, e.ts, e.reason)

    def end_call(self, call_id: str, at: float, reason: str = "", *,
                 end_seen: bool = True) -> None:
        for leg in list(self.legs.get(call_id, ())):
            if leg.state == TALKING:
                self._close_answered(leg, at, "transfer" if reason == "transfer" else "",
                                     end_seen=end_seen)
            else:
                self._close_unanswered(leg, at)
                if not end_seen:
                    self.batch.closed[-1].end_seen = False
        call = self.calls.pop(call_id, None)
        if call is not None:
            self._forget(call.key)
            self.batch.ended_calls.append((call, at))

    def on_agent_state(self, e: AgentStateChanged) -> None:
        wrap = self.wraps.get(e.agent_id)
        if wrap is None:
            return
        since = _since(e.view)
        state = e.view.get("state")
        if state == "wrap_up":
            if wrap.since is None:
                wrap.since = since if since is not None else e.ts
                self._touch(wrap)
            return
        if wrap.since is None:
            return  # still on the call's tail, or no wrap-up at all (the next answer drops it)
        end = since if since is not None else e.ts
        seconds = round(max(0.0, end - wrap.since), 6)
        del self.wraps[e.agent_id]
        self._forget(wrap.key)
        self.batch.wrapups.append((wrap.call_id, wrap.leg, seconds))

    # --- reconcile with the tracker (after a restart or a lease move) ------------------------
    def reconcile(self, tracker: Any, now: float) -> None:
        from cti.tracker.model import RELEASED, TALKING as SEG_TALKING

        alive = tracker.call_map
        for call_id in [c for c in self.legs if c not in alive]:
            self.end_call(call_id, now, end_seen=False)
        for call_id in [c for c in self.calls if c not in alive and c not in self.legs]:
            call = self.calls.pop(call_id)
            self._forget(call.key)
            self.batch.ended_calls.append((call, now))
        # An answered leg of a call still alive is left open: its AgentCompleted or the call's
        # end closes it (a rebuilt tracker may not know the call's queue visits yet). One the
        # PBX let go unanswered, and that neither waits nor talks now, was moved elsewhere.
        for call_id in list(self.legs):
            segs = alive[call_id].segments
            for leg in list(self.legs.get(call_id, ())):
                seg = segs.get((leg.queue, _uid_of(alive[call_id], leg.channel)))
                if leg.state == LEFT and leg.left_reason == "exit" and (
                        seg is None or seg.state not in ("waiting", SEG_TALKING)):
                    self._close_unanswered(leg, leg.left or now, "exit")
        for call in alive.values():
            for seg in call.segments.values():
                leg = self._find(call.linkedid, seg.queue, channel=seg.channel)
                talking = seg.state in (SEG_TALKING, RELEASED) and seg.answered
                if leg is None:
                    if seg.state not in ("waiting", SEG_TALKING, RELEASED):
                        continue
                    number = ""
                    ch = call.channels.get(seg.caller_uid)
                    if ch is not None:
                        number = ch.number
                    vars: dict[str, str] = {}
                    for channel in call.channels.values():
                        vars.update(channel.vars)
                    leg = self.open_leg(call.linkedid, seg.queue, seg.channel, seg.joined,
                                        number, vars)
                if talking and leg.state != TALKING:
                    self._answer(leg, seg.answered, seg.interface)
                    leg.answer_estimated = bool(getattr(seg, "rebuilt", False))

    # --- Redis images --------------------------------------------------------------------------
    def image(self, key: str) -> str | None:
        kind, _, rest = key.partition("|")
        if kind == "leg":
            call_id, _, number = rest.rpartition("|")
            for leg in self.legs.get(call_id, ()):
                if leg.leg == int(number):
                    return json.dumps({"kind": "leg", **asdict(leg)})
        elif kind == "call":
            call = self.calls.get(rest)
            return json.dumps({"kind": "call", **asdict(call)}) if call else None
        elif kind == "wrap":
            wrap = self.wraps.get(int(rest))
            return json.dumps({"kind": "wrap", **asdict(wrap)}) if wrap else None
        return None

    def load(self, images: list[str]) -> None:
        for text in images:
            try:
                data = json.loads(text)
                kind = data.pop("kind")
                if kind == "leg":
                    leg = OpenLeg(**data)
                    self.legs.setdefault(leg.call_id, []).append(leg)
                elif kind == "call":
                    call = CallInfo(**data)
                    self.calls[call.call_id] = call
                elif kind == "wrap":
                    wrap = AwaitedWrapUp(**data)
                    self.wraps[wrap.agent_id] = wrap
            except (ValueError, TypeError, KeyError):
                log.warning("call recorder: an unreadable open-leg entry was skipped")
        for legs in self.legs.values():
            legs.sort(key=lambda leg: leg.leg)
        for call_id, legs in self.legs.items():
            if call_id not in self.calls:  # its call entry was lost: numbering goes on
                self.calls[call_id] = CallInfo(call_id, next_leg=legs[-1].leg + 1,
                                               last_leg=legs[-1].leg)


def _uid_of(call: Any, channel: str) -> str:
    for ch in call.channels.values():
        if ch.name == channel:
            return ch.uniqueid
    return ""


_HANDLERS: dict[type, Callable[[LegBook, Any], None]] = {
    CallOffered: LegBook.on_offered, CallAnswered: LegBook.on_answered,
    CallAbandoned: LegBook.on_abandoned, CallerLeftQueue: LegBook.on_left,
    CallTransferred: LegBook.on_transferred, AgentCompleted: LegBook.on_completed,
    CallEnded: LegBook.on_ended, AgentStateChanged: LegBook.on_agent_state,
}
