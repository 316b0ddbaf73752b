"""The simulated PBX: state, event fan-out, member actions and the status lists."""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from pydantic import BaseModel, Field

from cti.simulator import wire
from cti.simulator.channels import ChannelFactory, Clock
from cti.simulator.agent_phones import PhoneBehaviour, Phones
from cti.simulator.queues import AgentBehaviour, Member, Queue, QueueConfig
from cti.simulator.wire import Fields

Action = dict[str, str | list[str]]
Reply = Callable[[bytes], None]
# Called with each event's name and fields right after it was written to every AMI session
# (benchmarks take the time an event left the PBX; the wire format stays Asterisk's).
Observer = Callable[[str, Fields], None]

DEVICE_STATES = {"NOT_INUSE": 1, "INUSE": 2, "BUSY": 3, "UNAVAILABLE": 5, "RINGING": 6}


class CalleeBehaviour(BaseModel):
    """How a number dialled by Originate (context ccs-callee) behaves."""

    outcome: str = Field("answer", description="answer | busy | congestion | noanswer | nosuchexten")
    answer_after: float = Field(1.0, description="Seconds of ringing before answer.")
    result: str = Field("confirmed", description="Result field of the robot's CcsOutcome UserEvent.")
    listen: float = Field(1.4, description="Seconds the robot plays before its UserEvent.")


class PbxConfig(BaseModel):
    queues: list[QueueConfig] = []
    callees: dict[str, CalleeBehaviour] = {}
    default_callee: CalleeBehaviour = CalleeBehaviour()
    default_agent: AgentBehaviour = Field(
        AgentBehaviour(), description="Behaviour of members added by QueueAdd (without `phones`).")
    phones: PhoneBehaviour | None = Field(
        None, description="Phones played for members added by QueueAdd, times drawn per call "
        "(the demo's agents); None: `default_agent` (the recorded configuration).")
    ivr_seconds: float = Field(0.9, description="IVR time between answer and QueueCallerJoin.")
    extension_seconds: float = Field(
        3.0, description="Seconds a dialplan extension that is not a queue (a Redirect's target, "
        "e.g. dialplans' ccs-xfer survey: Answer, Playback, Hangup) runs before it hangs up.")


class Listener(Protocol):
    def deliver(self, data: bytes, privilege: str) -> None: ...


class Pbx:
    def __init__(self, config: PbxConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.started = clock.now()
        self.factory = ChannelFactory(clock)
        self.listeners: set[Listener] = set()
        self.queues: dict[str, Queue] = {}
        self.busy: dict[str, str] = {}  # interface -> "ringing" | "incall"
        self.custom_state: dict[str, int] = {}
        self.originates: list[Action] = []
        self.astdb: dict[str, str] = {}  # family/key -> value (robocall.py: DBGet, DBDelTree)
        self.bridge_seq = 0
        now = int(self.started)
        for qc in config.queues:
            queue = Queue(qc)
            for mc in qc.members:
                queue.members[mc.interface] = Member(mc.interface, mc.name, mc.penalty, False, now)
            self.queues[qc.name] = queue
        self.behaviours = {m.interface: m.behaviour for qc in config.queues for m in qc.members}
        self.phones = Phones(config.phones) if config.phones is not None else None
        self.observers: list[Observer] = []

    def behaviour(self, interface: str) -> AgentBehaviour:
        static = self.behaviours.get(interface)
        if static is not None:
            return static
        return self.phones.draw() if self.phones is not None else self.config.default_agent

    # -- events -----------------------------------------------------------------------------
    def emit(self, name: str, privilege: str, body: Fields, stamped: bool = True) -> None:
        data = wire.event(name, privilege, self.clock.now() if stamped else None, body)
        for listener in list(self.listeners):
            listener.deliver(data, privilege)
        for observer in self.observers:
            observer(name, body)

    def device_status(self, member: Member) -> int:
        if member.state_interface in self.custom_state:
            return self.custom_state[member.state_interface]
        return 2 if member.interface in self.busy else 1

    def member_status(self, interface: str) -> None:
        """QueueMemberStatus for every queue the interface belongs to, as app_queue sends it."""
        for queue in self.queues.values():
            member = queue.members.get(interface)
            if member is not None:
                self.emit("QueueMemberStatus", "agent,all", member.body(
                    queue.name, self.device_status(member), self.busy.get(interface) == "incall"))

    def _member_event(self, name: str, queue: Queue, member: Member) -> None:
        self.emit(name, "agent,all", member.body(
            queue.name, self.device_status(member), self.busy.get(member.interface) == "incall"))

    def available(self, queue: Queue) -> list[Member]:
        return [m for m in queue.members.values()
                if not m.paused and m.interface not in self.busy and self.device_status(m) == 1]

    def next_bridge_id(self) -> str:
        self.bridge_seq += 1
        return f"{self.bridge_seq:08x}-0000-4000-8000-{int(self.started) % 10**12:012d}"

    # -- member management (05_member_management) ------------------------------------------
    def queue_add(self, action: Action, reply: Reply) -> None:
        aid = wire.first(action, "ActionID") or None
        queue = self.queues.get(wire.first(action, "Queue"))
        interface = wire.first(action, "Interface")
        if queue is None or not interface:
            reply(wire.response(aid, "Unable to add interface to queue: No such queue", "Error"))
            return
        if interface in queue.members:
            reply(wire.response(aid, "Unable to add interface: Already there", "Error"))
            return
        paused = wire.first(action, "Paused").lower() in ("true", "yes", "1")
        penalty = wire.first(action, "Penalty", "0")
        member = Member(interface, wire.first(action, "MemberName"),
                        int(penalty) if penalty.lstrip("-").isdigit() else 0, True,
                        int(self.clock.now()), wire.first(action, "StateInterface"), paused,
                        wire.first(action, "Reason") if paused else "")
        if paused:
            member.last_pause = int(self.clock.now())
        queue.members[interface] = member
        reply(wire.response(aid, "Added interface to queue"))
        self.emit("DeviceStateChange", "call,all", [
            ("Device", f"Queue:{queue.name}_pause_{interface}"),
            ("State", "INUSE" if paused else "NOT_INUSE")])
        self._member_event("QueueMemberAdded", queue, member)

    def queue_remove(self, action: Action, reply: Reply) -> None:
        aid = wire.first(action, "ActionID") or None
        queue = self.queues.get(wire.first(action, "Queue"))
        if queue is None:
            reply(wire.response(aid, "Unable to remove interface from queue: No such queue", "Error"))
            return
        member = queue.members.get(wire.first(action, "Interface"))
        if member is None:
            reply(wire.response(aid, "Unable to remove interface: Not there", "Error"))
            return
        if not member.dynamic:
            reply(wire.response(aid, "Member not dynamic", "Error"))
            return
        del queue.members[member.interface]
        reply(wire.response(aid, "Removed interface from queue"))
        self._member_event("QueueMemberRemoved", queue, member)

    def queue_pause(self, action: Action, reply: Reply) -> None:
        aid = wire.first(action, "ActionID") or None
        interface = wire.first(action, "Interface")
        paused = wire.first(action, "Paused").lower() in ("true", "yes", "1")
        name = wire.first(action, "Queue")
        targets = [q for q in self.queues.values()
                   if (not name or q.name == name) and interface in q.members]
        if not targets:
            reply(wire.response(aid, "Interface not found", "Error"))
            return
        word = "paused" if paused else "unpaused"
        reply(wire.response(aid, f"Interface {word} successfully"))
        for queue in targets:
            self.set_paused(queue, queue.members[interface], paused, wire.first(action, "Reason"))

    def set_paused(self, queue: Queue, member: Member, paused: bool, reason: str) -> None:
        member.paused = paused
        member.reason = reason
        member.last_pause = int(self.clock.now()) if paused else member.last_pause
        self.emit("DeviceStateChange", "call,all", [
            ("Device", f"Queue:{queue.name}_pause_{member.interface}"),
            ("State", "INUSE" if paused else "NOT_INUSE")])
        self._member_event("QueueMemberPause", queue, member)
        if not paused:  # the unpause reason is shown once, then forgotten
            member.reason = ""

    def queue_penalty(self, action: Action, reply: Reply) -> None:
        aid = wire.first(action, "ActionID") or None
        interface = wire.first(action, "Interface")
        penalty = wire.first(action, "Penalty")
        name = wire.first(action, "Queue")
        targets = [q for q in self.queues.values()
                   if (not name or q.name == name) and interface in q.members]
        if not targets or not penalty.isdigit():
            reply(wire.response(aid, "Invalid interface, queuename or penalty", "Error"))
            return
        reply(wire.response(aid, "Interface penalty set successfully"))
        for queue in targets:
            queue.members[interface].penalty = int(penalty)
            self._member_event("QueueMemberPenalty", queue, queue.members[interface])

    def setvar(self, action: Action, reply: Reply) -> None:
        aid = wire.first(action, "ActionID") or None
        variable, value = wire.first(action, "Variable"), wire.first(action, "Value")
        channel_name = wire.first(action, "Channel")
        if channel_name:
            channel = self.factory.find(channel_name)
            if channel is None:
                reply(wire.response(aid, "Channel not found", "Error"))
                return
            channel.variables[variable] = value
            reply(wire.response(aid, "Variable Set"))
            return
        reply(wire.response(aid, "Variable Set"))
        if variable.startswith("DEVICE_STATE(") and variable.endswith(")"):
            device = variable[len("DEVICE_STATE("):-1]
            self.custom_state[device] = DEVICE_STATES.get(value.upper(), 4)
            for queue in self.queues.values():
                for member in queue.members.values():
                    if member.state_interface == device:
                        self._member_event("QueueMemberStatus", queue, member)
            self.emit("DeviceStateChange", "call,all", [("Device", device), ("State", value.upper())])

    def getvar(self, action: Action, reply: Reply) -> None:
        aid = wire.first(action, "ActionID") or None
        variable = wire.first(action, "Variable")
        channel = self.factory.find(wire.first(action, "Channel"))
        if wire.first(action, "Channel") and channel is None:
            reply(wire.response(aid, "No such channel", "Error"))
            return
        value = channel.variables.get(variable, "") if channel else ""
        fields: Fields = [("Response", "Success")]
        if aid:
            fields.append(("ActionID", aid))
        reply(wire.frame([*fields, ("Variable", variable), ("Value", value)]))

    # -- status lists (06_status_lists) -----------------------------------------------------
    def queue_status(self, action: Action, reply: Reply) -> None:
        aid = wire.first(action, "ActionID") or None
        name = wire.first(action, "Queue")
        tail = [("ActionID", aid)] if aid else []
        reply(wire.list_start(aid, "Queue status will follow"))
        count = 0
        now = self.clock.now()
        for queue in self.queues.values():
            if name and queue.name != name:
                continue
            qc = queue.config
            done = queue.completed
            reply(wire.frame([
                ("Event", "QueueParams"), ("Queue", queue.name), ("Max", "0"),
                ("Strategy", qc.strategy), ("Calls", str(len(queue.callers))),
                ("Holdtime", str(int(queue.holdtime / done) if done else 0)),
                ("TalkTime", str(int(queue.talktime / done) if done else 0)),
                ("Completed", str(done)), ("Abandoned", str(queue.abandoned)),
                ("ServiceLevel", str(qc.servicelevel)), ("ServicelevelPerf", "0.0"),
                ("ServicelevelPerf2", "0.0"), ("Weight", "0"), *tail]))
            count += 1
            for member in queue.members.values():
                reply(wire.frame([("Event", "QueueMember"), *member.list_item(
                    queue.name, self.device_status(member),
                    self.busy.get(member.interface) == "incall"), *tail]))
                count += 1
            for position, caller in enumerate(queue.callers, start=1):
                reply(wire.frame([
                    ("Event", "QueueEntry"), ("Queue", queue.name), ("Position", str(position)),
                    ("Channel", caller.channel_name), ("Uniqueid", caller.uniqueid),
                    ("CallerIDNum", caller.cid_num), ("CallerIDName", caller.cid_name),
                    ("ConnectedLineNum", caller.cid_num), ("ConnectedLineName", caller.cid_name),
                    ("Wait", str(int(now - caller.joined))), ("Priority", "0"), *tail]))
                count += 1
        reply(wire.list_complete("QueueStatusComplete", aid, count))

    def queue_summary(self, action: Action, reply: Reply) -> None:
        aid = wire.first(action, "ActionID") or None
        name = wire.first(action, "Queue")
        tail = [("ActionID", aid)] if aid else []
        reply(wire.list_start(aid, "Queue summary will follow"))
        count = 0
        now = self.clock.now()
        for queue in self.queues.values():
            if name and queue.name != name:
                continue
            done = queue.completed
            longest = max((now - c.joined for c in queue.callers), default=0)
            reply(wire.frame([
                ("Event", "QueueSummary"), ("Queue", queue.name),
                ("LoggedIn", str(len(queue.members))), ("Available", str(len(self.available(queue)))),
                ("Callers", str(len(queue.callers))),
                ("HoldTime", str(int(queue.holdtime / done) if done else 0)),
                ("TalkTime", str(int(queue.talktime / done) if done else 0)),
                ("LongestHoldTime", str(int(longest))), *tail]))
            count += 1
        reply(wire.list_complete("QueueSummaryComplete", aid, count))

    def core_show_channels(self, action: Action, reply: Reply) -> None:
        aid = wire.first(action, "ActionID") or None
        reply(wire.list_start(aid, "Channels will follow"))
        now = self.clock.now()
        channels = list(self.factory.channels.values())
        for channel in channels:
            seconds = int(now - channel.created)
            duration = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            head = [("Event", "CoreShowChannel")] + ([("ActionID", aid)] if aid else [])
            reply(wire.frame([*head, *channel.snapshot(), ("Application", channel.application),
                              ("ApplicationData", channel.app_data), ("Duration", duration),
                              ("BridgeId", channel.bridge_id)]))
        reply(wire.list_complete("CoreShowChannelsComplete", aid, len(channels)))

    def status(self, action: Action, reply: Reply) -> None:
        aid = wire.first(action, "ActionID") or None
        reply(wire.list_start(aid, "Channel status will follow"))
        now = self.clock.now()
        channels = list(self.factory.channels.values())
        for channel in channels:
            reply(wire.frame([
                ("Event", "Status"), ("Privilege", "Call"), *channel.snapshot(), ("Type", "Local"),
                ("DNID", ""), ("EffectiveConnectedLineNum", channel.conn_num),
                ("EffectiveConnectedLineName", channel.conn_name), ("TimeToHangup", "0"),
                ("BridgeID", channel.bridge_id), ("Application", channel.application),
                ("Data", channel.app_data), ("Nativeformats", "(slin)"), ("Readformat", "slin"),
                ("Readtrans", ""), ("Writeformat", "slin"), ("Writetrans", ""), ("Callgroup", "0"),
                ("Pickupgroup", "0"), ("Seconds", str(int(now - channel.created))),
                *([("ActionID", aid)] if aid else [])]))
        n = str(len(channels))
        reply(wire.list_complete("StatusComplete", aid, len(channels), [("Items", n)]))
