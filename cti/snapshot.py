"""What the PBX says it has, built from the list answers to QueueStatus, QueueSummary,
CoreShowChannels and Status. The tracker's model is replaced by it after a reconnect."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from state.events import MemberState

from .tracker.channels import clean_number, read_vars
from .tracker.members import member_state
from .tracker.model import to_int


@dataclass(frozen=True, slots=True)
class SnapshotChannel:
    uniqueid: str
    name: str
    linkedid: str
    state: str = ""
    caller_number: str = ""
    caller_name: str = ""
    vars: tuple[tuple[str, str], ...] = ()
    bridge: str = ""
    application: str = ""
    seconds: float = 0.0
    app_data: str = ""  # ApplicationData (CoreShowChannel) / Data (Status): Queue()'s arguments
    context: str = ""
    exten: str = ""


def _duration(value: object) -> float:
    """CoreShowChannel's ``Duration: HH:MM:SS`` as seconds (0 when absent or garbled)."""
    if not isinstance(value, str):
        return 0.0
    parts = value.split(":")
    if len(parts) != 3 or not all(p.isdigit() and len(p) <= 6 for p in parts):
        return 0.0
    h, m, s = (int(p) for p in parts)
    return float(h * 3600 + m * 60 + s)


@dataclass(frozen=True, slots=True)
class SnapshotEntry:
    queue: str
    position: int
    channel: str
    uniqueid: str
    caller_number: str = ""
    caller_name: str = ""
    wait: float = 0.0


@dataclass(frozen=True, slots=True)
class SnapshotQueue:
    name: str
    strategy: str = ""
    calls: int = 0
    completed: int = 0
    abandoned: int = 0


@dataclass(frozen=True)
class PbxSnapshot:
    """``queues`` lists the queues QueueStatus reported: only those are replaced (a
    QueueStatus for one queue says nothing about the others). ``has_channels`` tells whether
    CoreShowChannels/Status answered: without it channels and calls are left alone."""

    queues: dict[str, SnapshotQueue] = field(default_factory=dict)
    members: tuple[MemberState, ...] = ()
    entries: tuple[SnapshotEntry, ...] = ()
    channels: dict[str, SnapshotChannel] = field(default_factory=dict)
    has_channels: bool = False
    # True when QueueStatus was asked for every queue: a queue it does not list is gone.
    all_queues: bool = False

    @classmethod
    def from_messages(
        cls, messages: Iterable[Mapping[str, str | list[str]]], *, all_queues: bool = False
    ) -> PbxSnapshot:
        queues: dict[str, SnapshotQueue] = {}
        members: dict[tuple[str, str], MemberState] = {}
        entries: list[SnapshotEntry] = []
        chans: dict[str, SnapshotChannel] = {}
        has_channels = False
        for m in messages:
            event = m.get("Event")
            if event == "QueueParams":
                name = m.get("Queue")
                if isinstance(name, str):
                    queues[name] = SnapshotQueue(
                        name, str(m.get("Strategy", "")), to_int(m.get("Calls")),
                        to_int(m.get("Completed")), to_int(m.get("Abandoned")))
            elif event == "QueueMember":
                state = member_state(m, None)
                if state is not None:
                    members[(state.queue, state.interface)] = state
            elif event == "QueueEntry":
                queue, uid, chan = m.get("Queue"), m.get("Uniqueid"), m.get("Channel")
                if isinstance(queue, str) and isinstance(uid, str) and isinstance(chan, str):
                    entries.append(SnapshotEntry(
                        queue, to_int(m.get("Position")), chan, uid,
                        clean_number(m.get("CallerIDNum")), clean_number(m.get("CallerIDName")),
                        float(to_int(m.get("Wait")))))
            elif event in ("CoreShowChannel", "Status"):
                has_channels = True
                uid, chan = m.get("Uniqueid"), m.get("Channel")
                if not isinstance(uid, str) or not isinstance(chan, str):
                    continue
                linked = m.get("Linkedid")
                vars_: dict[str, str] = {}
                read_vars(m.get("ChanVariable"), vars_)
                old = chans.get(uid)
                bridge = m.get("BridgeId") or m.get("BridgeID") or (old.bridge if old else "")
                seconds = float(to_int(m.get("Seconds"))) if "Seconds" in m else _duration(
                    m.get("Duration"))
                data = m.get("ApplicationData", m.get("Data"))
                chans[uid] = SnapshotChannel(
                    uid, chan, linked if isinstance(linked, str) and linked else uid,
                    str(m.get("ChannelStateDesc", "")), clean_number(m.get("CallerIDNum")),
                    clean_number(m.get("CallerIDName")), tuple(sorted(vars_.items())),
                    str(bridge), str(m.get("Application", "")),
                    seconds or (old.seconds if old else 0.0),
                    str(data) if isinstance(data, str) else (old.app_data if old else ""),
                    str(m.get("Context", "")), str(m.get("Exten", "")))
            elif event in ("CoreShowChannelsComplete", "StatusComplete"):
                has_channels = True
        return cls(queues, tuple(members.values()), tuple(entries), chans, has_channels,
                   all_queues)
