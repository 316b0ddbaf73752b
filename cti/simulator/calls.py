"""Call flows of the simulated PBX: channel lifecycles and a caller's visit to a queue.

Event order follows the recordings 01-04 (see their README's "Things an AMI tracker must expect").
"""
from __future__ import annotations

import asyncio
import math

from cti.simulator.channels import Channel
from cti.simulator.pbx import Pbx
from cti.simulator.queues import Member, Queue, Waiting

CAUSES = {0: "Unknown", 16: "Normal Clearing", 17: "User busy", 19: "User alerting, no answer",
          26: "Answered elsewhere", 34: "Circuit/channel congestion"}


async def wait_any(pbx: Pbx, deadline: float, *events: asyncio.Event) -> bool:
    """Sleep until the PBX time `deadline` or until one event is set; True if an event was."""
    if any(e.is_set() for e in events):
        return True
    delay = deadline - pbx.clock.now()
    if delay <= 0:
        return False
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        timeout = None if math.isinf(delay) else delay * pbx.clock.scale
        done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        return bool(done)
    finally:
        for w in waits:
            w.cancel()


def new_channel(pbx: Pbx, channel: Channel) -> None:
    pbx.emit("Newchannel", "call,all", channel.snapshot())


def new_state(pbx: Pbx, channel: Channel, state: int) -> None:
    channel.state = state
    pbx.emit("Newstate", "call,all", channel.snapshot())


def local_bridge(pbx: Pbx, one: Channel, two: Channel) -> None:
    pbx.emit("LocalBridge", "call,all", [*one.snapshot("LocalOne"), *two.snapshot("LocalTwo"),
                                         ("Context", one.context), ("Exten", one.exten),
                                         ("LocalOptimization", "Yes")])


def hangup_request(pbx: Pbx, channel: Channel, cause: int, soft: bool = False) -> None:
    name = "SoftHangupRequest" if soft else "HangupRequest"
    pbx.emit(name, "call,all", [*channel.snapshot(), ("Cause", str(cause))])


def hangup(pbx: Pbx, channel: Channel, cause: int) -> None:
    if pbx.factory.find(channel.name) is None:
        return
    flush_late(channel)
    pbx.factory.remove(channel)
    pbx.emit("Hangup", "call,all", [*channel.snapshot(), ("Cause", str(cause)),
                                    ("Cause-txt", CAUSES.get(cause, "Unknown"))])


def flush_late(channel: Channel) -> None:
    """The events app_queue kept for this channel's hang-up (see Channel.on_hangup)."""
    pending, channel.on_hangup = channel.on_hangup, []
    for emit_late in pending:
        emit_late()


def dial(pbx: Pbx, name: str, caller: Channel | None, dest: Channel, extra: list) -> None:
    head = caller.snapshot() if caller is not None else []
    pbx.emit(name, "call,all", [*head, *dest.snapshot("Dest"), *extra])


def agent_event(pbx: Pbx, name: str, caller: Channel | None, dest: Channel | None, queue: Queue,
                member: Member, extra: list) -> None:
    body = caller.snapshot() if caller is not None else []
    if dest is not None:
        body += dest.snapshot("Dest")
    body += [("Queue", queue.name), ("Interface", member.interface),
             ("MemberName", member.name or member.interface), *extra]
    pbx.emit(name, "agent,all", body)


def caller_queue_event(pbx: Pbx, name: str, caller: Channel, queue: Queue, extra: list) -> None:
    pbx.emit(name, "agent,all", [*caller.snapshot(), ("Queue", queue.name), *extra])


class Ring:
    """One member's phone ringing for one attempt: a Local pair toward the agent."""

    def __init__(self, pbx: Pbx, caller: Channel, queue: Queue, member: Member) -> None:
        self.member = member
        tech, _, resource = member.interface.partition("/")
        exten, _, rest = resource.partition("@")
        context = rest.split("/")[0] or "default"
        self.one, self.two = pbx.factory.local_pair(exten, context, caller.linkedid)
        self.started = pbx.clock.now()
        new_channel(pbx, self.one)
        new_channel(pbx, self.two)
        local_bridge(pbx, self.one, self.two)
        for ch in (self.one, self.two):
            ch.cid_num, ch.cid_name = caller.cid_num, caller.cid_name
            ch.conn_num, ch.conn_name = caller.cid_num, caller.cid_name
        self.one.exten = caller.exten
        agent_event(pbx, "AgentCalled", caller, self.one, queue, member, [])
        dial(pbx, "DialBegin", caller, self.one, [("DialString", resource)])
        new_state(pbx, self.one, 5)
        pbx.busy[member.interface] = "ringing"
        pbx.member_status(member.interface)
        dial(pbx, "DialState", caller, self.one, [("DialStatus", "RINGING")])

    def cancel(self, pbx: Pbx, caller: Channel, cause: int) -> None:
        dial(pbx, "DialEnd", caller, self.one, [("DialStatus", "CANCEL")])
        hangup_request(pbx, self.two, cause)
        hangup(pbx, self.one, cause)

    def finish(self, pbx: Pbx, cause: int) -> None:
        hangup_request(pbx, self.two, 16, soft=True)
        hangup(pbx, self.two, cause)
        pbx.busy.pop(self.member.interface, None)
        pbx.member_status(self.member.interface)


async def visit_queue(pbx: Pbx, queue: Queue, one: Channel, caller: Channel, gone_at: float,
                      timeout_at: float) -> None:
    """A caller (the ;2 half running Queue()) waits, members ring, someone answers or not."""
    joined = pbx.clock.now()
    patience = getattr(caller.script, "abandon_after", None)
    if patience is not None:  # a scripted caller's patience counts from the join
        gone_at = joined + patience
    queue.callers.append(Waiting(caller.name, caller.uniqueid, caller.cid_num, caller.cid_name, joined))
    original = len(queue.callers)
    caller.application, caller.app_data = "Queue", f"{queue.name},,,,{int(timeout_at - joined) if not math.isinf(timeout_at) else ''}"
    pbx.emit("DeviceStateChange", "call,all", [("Device", f"Queue:{queue.name}"), ("State", "RINGING")])
    caller_queue_event(pbx, "QueueCallerJoin", caller, queue,
                       [("Position", str(original)), ("Count", str(original))])
    pbx.emit("MusicOnHoldStart", "call,all", [*caller.snapshot(), ("Class", "default")])
    # A Redirect moves the caller out of Queue() as a hang-up would, minus the HangupRequest.
    hung = (one.hangup, caller.hangup, caller.redirected)
    while True:
        rings: list[Ring] = []
        if queue.position_of(caller.name) and pbx.clock.now() < min(gone_at, timeout_at):
            free = pbx.available(queue)
            only = getattr(caller.script, "agent", None)  # a scripted caller's own member
            if only:
                free = [m for m in free if m.interface == only]
            rings = [Ring(pbx, caller, queue, m) for m in queue.choose(free)]
        if not rings:
            poll = pbx.clock.now() + max(queue.config.retry / 2, 0.2)
            interrupted = await wait_any(pbx, min(poll, gone_at, timeout_at), *hung)
            if interrupted or pbx.clock.now() >= min(gone_at, timeout_at):
                _leave_unanswered(pbx, queue, one, caller, [], joined, original, gone_at)
                return
            continue
        answers = [(at, r) for r in rings
                   if (at := _answer_at(pbx, caller, r, joined)) < r.started + queue.config.timeout]
        start = rings[0].started
        first = min(answers, key=lambda a: a[0], default=(math.inf, None))
        ring_out = start + queue.config.timeout
        interrupted = await wait_any(pbx, min(first[0], ring_out, gone_at, timeout_at), *hung)
        now = pbx.clock.now()
        if interrupted or now >= min(gone_at, timeout_at) and now < first[0]:
            _leave_unanswered(pbx, queue, one, caller, rings, joined, original, gone_at)
            return
        if first[1] is not None and now >= first[0]:
            await _connect(pbx, queue, one, caller, first[1], rings, joined, gone_at)
            return
        for ring in rings:
            member = ring.member
            agent_event(pbx, "AgentRingNoAnswer", caller, ring.one, queue, member,
                        [("RingTime", str(int((now - ring.started) * 1000)))])
            if queue.config.autopause:
                pbx.set_paused(queue, member, True, "Auto-Pause")
            dial(pbx, "DialEnd", caller, ring.one, [("DialStatus", "NOANSWER")])
            hangup_request(pbx, ring.two, 0)
            hangup(pbx, ring.one, 0)
            ring.finish(pbx, 0)
        if await wait_any(pbx, min(now + queue.config.retry, gone_at, timeout_at), *hung):
            _leave_unanswered(pbx, queue, one, caller, [], joined, original, gone_at)
            return


def _answer_at(pbx: Pbx, caller: Channel, ring: Ring, joined: float) -> float:
    """When the ringing member answers: a scripted caller's own wait (scenario.CallScript),
    else the member's behaviour counted from the ring."""
    wait = getattr(caller.script, "answer_wait", ...)
    if wait is not ...:
        return math.inf if wait is None else max(ring.started, joined + wait)
    after = pbx.behaviour(ring.member.interface).answer_after
    return math.inf if after is None else ring.started + after


def _leave_unanswered(pbx: Pbx, queue: Queue, one: Channel, caller: Channel, rings: list[Ring],
                      joined: float, original: int, gone_at: float) -> None:
    """Caller hung up, Queue()'s timeout expired, or a Redirect moved the caller: app_queue
    reports each as an abandon; only a hang-up has a HangupRequest first (recordings 03, 08)."""
    caller_left = one.hangup.is_set() or caller.hangup.is_set() or pbx.clock.now() >= gone_at
    if caller_left:
        hangup_request(pbx, caller, 0)
        hangup(pbx, one, 0)
    pbx.emit("MusicOnHoldStop", "call,all", caller.snapshot())
    for ring in rings:
        ring.cancel(pbx, caller, 0)
    position = queue.position_of(caller.name)
    now = pbx.clock.now()
    caller_queue_event(pbx, "QueueCallerAbandon", caller, queue, [
        ("Position", str(position)), ("OriginalPosition", str(original)),
        ("HoldTime", str(int(now - joined)))])
    _remove_caller(pbx, queue, caller, position)
    queue.abandoned += 1
    if caller_left:  # on a Queue() timeout the caller goes on in the dialplan instead
        hangup_request(pbx, caller, 16, soft=True)
        hangup(pbx, caller, 0)
        hangup(pbx, one, 16)
    for ring in rings:
        ring.finish(pbx, 0)


def _remove_caller(pbx: Pbx, queue: Queue, caller: Channel, position: int) -> None:
    queue.callers = [c for c in queue.callers if c.channel_name != caller.name]
    if not queue.callers:
        pbx.emit("DeviceStateChange", "call,all", [("Device", f"Queue:{queue.name}"),
                                                   ("State", "NOT_INUSE")])
    caller_queue_event(pbx, "QueueCallerLeave", caller, queue,
                       [("Position", str(position)), ("Count", str(len(queue.callers)))])


async def _connect(pbx: Pbx, queue: Queue, one: Channel, caller: Channel, ring: Ring,
                   rings: list[Ring], joined: float, gone_at: float) -> None:
    member = ring.member
    new_state(pbx, ring.two, 6)
    new_state(pbx, ring.one, 6)
    dial(pbx, "DialEnd", caller, ring.one, [("DialStatus", "ANSWER")])
    others = [r for r in rings if r is not ring]
    for other in others:
        other.cancel(pbx, caller, 26)
    pbx.emit("MusicOnHoldStop", "call,all", caller.snapshot())
    now = pbx.clock.now()
    _remove_caller(pbx, queue, caller, queue.position_of(caller.name))
    hold = now - joined
    agent_event(pbx, "AgentConnect", caller, ring.one, queue, member,
                [("HoldTime", str(int(hold))), ("RingTime", str(int(now - ring.started)))])
    pbx.busy[member.interface] = "incall"
    for other in others:
        other.finish(pbx, 26)
    bridge = pbx.next_bridge_id()
    _bridge_event(pbx, "BridgeCreate", bridge, 0)
    for count, ch in enumerate((ring.one, caller), start=1):
        ch.bridge_id = bridge
        pbx.emit("BridgeEnter", "call,all", [*_bridge(bridge, count), *ch.snapshot()])
    script = caller.script
    talk = getattr(script, "talk", None) if script is not None else member_talk(pbx, member)
    agent_end = now + talk if talk is not None else math.inf
    transfer = getattr(script, "transfer_to", None)
    transfer_at = now + getattr(script, "transfer_after", 0.0) if transfer else math.inf
    await wait_any(pbx, min(agent_end, gone_at, transfer_at), one.hangup, caller.hangup,
                   ring.one.hangup, ring.two.hangup, caller.redirected)
    end = pbx.clock.now()
    alive = not any(e.is_set() for e in (one.hangup, caller.hangup, ring.one.hangup,
                                         ring.two.hangup)) and end < gone_at
    if alive and transfer and end >= transfer_at and not caller.redirected.is_set():
        exten, _, context = transfer.partition("@")
        redirect(caller, context, exten)  # the agent's desktop sends the AMI Redirect
    if alive and caller.redirected.is_set():
        _redirected_away(pbx, queue, caller, ring, bridge, hold, now)
        return
    caller_ended = (one.hangup.is_set() or caller.hangup.is_set() or end >= gone_at) \
        and not (ring.one.hangup.is_set() or ring.two.hangup.is_set())
    complete = [("HoldTime", str(int(hold))), ("TalkTime", str(int(end - now)))]
    if caller_ended:
        hangup_request(pbx, caller, 0)
        agent_event(pbx, "AgentComplete", caller, ring.one, queue, member, [*complete, ("Reason", "caller")])
        flush_late(caller)  # a member redirected away from earlier: right after (recording 09)
        hangup(pbx, one, 0)
        pbx.emit("BridgeLeave", "call,all", [*_bridge(bridge, 1), *caller.snapshot()])
        hangup_request(pbx, caller, 16, soft=True)
        hangup(pbx, caller, 16)
        pbx.emit("BridgeLeave", "call,all", [*_bridge(bridge, 0), *ring.one.snapshot()])
        hangup_request(pbx, ring.two, 16)
        hangup(pbx, ring.one, 16)
        _bridge_event(pbx, "BridgeDestroy", bridge, 0)
        _close_member(pbx, queue, member, end, ring)
    else:
        hangup_request(pbx, ring.two, 16, soft=True)
        hangup_request(pbx, ring.one, 16)
        hangup(pbx, ring.two, 16)
        agent_event(pbx, "AgentComplete", caller, ring.one, queue, member, [*complete, ("Reason", "agent")])
        pbx.emit("BridgeLeave", "call,all", [*_bridge(bridge, 1), *ring.one.snapshot()])
        hangup(pbx, ring.one, 16)
        _close_member(pbx, queue, member, end, ring)
        pbx.emit("BridgeLeave", "call,all", [*_bridge(bridge, 0), *caller.snapshot()])
        _bridge_event(pbx, "BridgeDestroy", bridge, 0)
        hangup_request(pbx, caller, 16, soft=True)
        hangup_request(pbx, one, 16)
        hangup(pbx, caller, 16)
        hangup(pbx, one, 16)
    queue.completed += 1
    queue.holdtime += hold
    queue.talktime += end - now


def _redirected_away(pbx: Pbx, queue: Queue, caller: Channel, ring: Ring, bridge: str,
                     hold: float, connected: float) -> None:
    """A Redirect took the caller out of the bridge (recording 09): both leave it, the member's
    channel hangs up, and app_queue sends the member's AgentComplete (no Dest* fields, talk time
    up to then, Reason caller) only when the caller finally hangs up."""
    member = ring.member
    pbx.emit("BridgeLeave", "call,all", [*_bridge(bridge, 1), *caller.snapshot()])
    caller.bridge_id = ""
    pbx.emit("BridgeLeave", "call,all", [*_bridge(bridge, 0), *ring.one.snapshot()])
    hangup_request(pbx, ring.two, 16)
    _bridge_event(pbx, "BridgeDestroy", bridge, 0)
    hangup(pbx, ring.one, 16)
    _close_member(pbx, queue, member, pbx.clock.now(), ring)

    def complete() -> None:
        talked = pbx.clock.now() - connected
        agent_event(pbx, "AgentComplete", caller, None, queue, member, [
            ("HoldTime", str(int(hold))), ("TalkTime", str(int(talked))), ("Reason", "caller")])
        queue.completed += 1
        queue.holdtime += hold
        queue.talktime += talked

    caller.on_hangup.append(complete)


def redirect(channel: Channel, context: str, exten: str) -> None:
    """Asterisk's ast_async_goto: the channel's place changes at once, then it leaves what it
    was doing (a queue caller's flow runs the target: see after_queue)."""
    channel.context, channel.exten, channel.priority = context, exten, 1
    channel.redirect_to = (context, exten)
    if channel.script is None and channel.application != "Queue":
        channel.hangup.set()  # no flow here follows a Redirect: it only leaves
    channel.redirected.set()


async def after_queue(pbx: Pbx, one: Channel, two: Channel, gone_at: float) -> None:
    """The caller's dialplan once Queue() returned without a hang-up: a Redirect's target (a
    queue, or an extension that plays and hangs up), or after a Queue() timeout the project's
    dialplan (Playback, Hangup) until the caller hangs up."""
    while pbx.factory.find(two.name) is not None:
        target, two.redirect_to = two.redirect_to, None
        two.redirected.clear()
        queue = pbx.queues.get(target[1]) if target is not None else None
        if queue is not None:
            await visit_queue(pbx, queue, one, two, gone_at, math.inf)
            continue
        until = gone_at
        if target is not None:
            two.application, two.app_data = "Playback", "ccs/ru/survey-thanks"
            until = min(gone_at, pbx.clock.now() + pbx.config.extension_seconds)
        await wait_any(pbx, until, one.hangup, two.hangup, two.redirected)
        if two.redirected.is_set() and not (one.hangup.is_set() or two.hangup.is_set()):
            continue
        hangup_request(pbx, two, 16)
        hangup(pbx, two, 16)
        hangup(pbx, one, 16)
        return


def _close_member(pbx: Pbx, queue: Queue, member: Member, end: float, ring: Ring) -> None:
    if pbx.factory.find(ring.two.name) is not None:
        hangup_request(pbx, ring.two, 16, soft=True)
        hangup(pbx, ring.two, 16)
    member.calls += 1
    member.last_call = int(end)
    pbx.busy.pop(member.interface, None)
    pbx.member_status(member.interface)


def member_talk(pbx: Pbx, member: Member) -> float | None:
    return pbx.behaviour(member.interface).talk


def _bridge(bridge: str, count: int) -> list[tuple[str, str]]:
    return [("BridgeUniqueid", bridge), ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"), ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"), ("BridgeNumChannels", str(count)),
            ("BridgeVideoSourceMode", "none")]


def _bridge_event(pbx: Pbx, name: str, bridge: str, count: int) -> None:
    pbx.emit(name, "call,all", _bridge(bridge, count))
