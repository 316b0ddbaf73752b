"""The tracker's mutable inside (plain slotted classes) and the frozen views handed to readers."""
from __future__ import annotations

from dataclasses import dataclass

from cti.amitext import ami_int
from state.events import MemberState

DEVICE_STATUS = {
    0: "unknown", 1: "not_in_use", 2: "in_use", 3: "busy", 4: "invalid",
    5: "unavailable", 6: "ringing", 7: "ring_in_use", 8: "on_hold",
}

WAITING, LEFT, TALKING, RELEASED = "waiting", "left", "talking", "released"


class TrackedChannel:
    __slots__ = ("uniqueid", "name", "linkedid", "state", "number", "cname", "vars", "bridge",
                 "hangup_requested", "context", "exten")

    def __init__(self, uniqueid: str, name: str, linkedid: str) -> None:
        self.uniqueid = uniqueid
        self.name = name
        self.linkedid = linkedid
        self.state = ""
        self.number = ""
        self.cname = ""
        self.vars: dict[str, str] = {}
        self.bridge = ""
        # A HangupRequest/SoftHangupRequest was seen: the channel is going away. Before a
        # QueueCallerAbandon it tells a caller's hang-up from a Queue() timeout (recordings 03, 08).
        self.hangup_requested = False
        # Where the channel runs in the dialplan (from its latest snapshot).
        self.context = ""
        self.exten = ""


class Segment:
    """One visit of a caller channel to one queue, from join to AgentComplete."""

    __slots__ = (
        "queue", "caller_uid", "linkedid", "channel", "state", "ringing", "interface",
        "member_uid", "joined", "abandoned", "answered", "released", "transferred",
        "context", "exten", "leave_reason", "redirect_to", "rebuilt",
    )

    def __init__(self, queue: str, caller_uid: str, linkedid: str, channel: str, joined: float):
        self.queue = queue
        self.caller_uid = caller_uid
        self.linkedid = linkedid
        self.channel = channel
        self.state = WAITING
        self.ringing: dict[str, str] = {}  # interface -> member channel uniqueid
        self.interface = ""
        self.member_uid = ""
        self.joined = joined
        self.abandoned = False
        self.answered = 0.0
        self.released = 0.0
        self.transferred = False
        # The dialplan place of Queue() (QueueCallerJoin's Context/Exten): a caller seen
        # elsewhere while still in this visit was moved by an AMI Redirect.
        self.context = ""
        self.exten = ""
        self.leave_reason = ""  # CallerLeftQueue.reason, decided at QueueCallerAbandon
        # A caller left the bridge for another dialplan place ("exten@context"): a Redirect,
        # unless a BlindTransfer/AttendedTransfer follows (they leave the bridge the same way).
        self.redirect_to: tuple[str, float] | None = None  # (target, when it left the bridge)
        self.rebuilt = False  # made by a resync from the PBX's lists, not seen from the start


class Call:
    __slots__ = (
        "linkedid", "started", "channels", "segments", "reason", "talk_time", "queue",
        "interface", "abandoned", "announced", "first_channel",
    )

    def __init__(self, linkedid: str, started: float) -> None:
        self.linkedid = linkedid
        self.started = started
        self.announced = False  # CallStarted published
        self.first_channel = ""
        self.channels: dict[str, TrackedChannel] = {}
        self.segments: dict[tuple[str, str], Segment] = {}
        self.reason = ""
        self.talk_time = 0.0
        self.queue = ""
        self.interface = ""
        self.abandoned = False


class Entry:
    __slots__ = ("uniqueid", "channel", "linkedid", "position", "joined", "number", "cname")

    def __init__(self, uniqueid: str, channel: str, linkedid: str, position: int, joined: float,
                 number: str, cname: str) -> None:
        self.uniqueid = uniqueid
        self.channel = channel
        self.linkedid = linkedid
        self.position = position
        self.joined = joined
        self.number = number
        self.cname = cname


class TrackedMember:
    __slots__ = ("state", "ringing_for", "talking_for")

    def __init__(self, state: MemberState) -> None:
        self.state = state
        self.ringing_for = ""
        self.talking_for = ""


class TrackedQueue:
    __slots__ = ("name", "entries", "members", "answered", "abandoned", "timed_out")

    def __init__(self, name: str) -> None:
        self.name = name
        self.entries: dict[str, Entry] = {}
        self.members: dict[str, TrackedMember] = {}
        self.answered = 0
        self.abandoned = 0  # callers who hung up while waiting (not Queue() timeouts)
        self.timed_out = 0


# --- frozen views -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ChannelView:
    uniqueid: str
    name: str
    state: str
    caller_number: str
    bridge: str


@dataclass(frozen=True, slots=True)
class CallView:
    linkedid: str
    started: float
    channels: tuple[ChannelView, ...]
    vars: tuple[tuple[str, str], ...]
    queue: str = ""
    state: str = "active"  # active | queued | ringing | talking
    interface: str = ""


@dataclass(frozen=True, slots=True)
class EntryView:
    queue: str
    uniqueid: str
    channel: str
    linkedid: str
    position: int
    caller_number: str
    caller_name: str
    joined: float  # wall-clock epoch of QueueCallerJoin
    wait: float  # seconds waited up to the `now` the view was made at


@dataclass(frozen=True, slots=True)
class MemberView:
    state: MemberState
    ringing_for: str = ""
    talking_for: str = ""

    @property
    def interface(self) -> str:
        return self.state.interface


@dataclass(frozen=True, slots=True)
class QueueView:
    name: str
    entries: tuple[EntryView, ...]
    members: tuple[MemberView, ...]
    waiting: int
    talking: int
    answered: int
    abandoned: int
    timed_out: int = 0
    # Epoch of the longest-waiting caller's join (None: nobody waits); a reader computes
    # now - longest_wait_since so the wait advances with the clock between events.
    longest_wait_since: float | None = None
    longest_wait: float = 0.0  # seconds, at `now` of the view


def to_int(value: object, default: int = 0) -> int:
    """An AMI field as an int; fields are text and may be missing, garbled or absurdly long."""
    return ami_int(value, default)
