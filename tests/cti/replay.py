"""Helpers to read the AMI captures and run them through the tracker."""
from __future__ import annotations

from pathlib import Path

from cti.amitext import Message, read_capture
from cti.tracker import Tracker
from state.events import DomainEvent

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "ami"
RECORDED = CAPTURES / "asterisk-22-recorded"
VERBARA = CAPTURES / "verbara-sdk/Tests/Verbara.Sdk.Sessions.FunctionalTests/Recordings/asterisk-ami"

_SUFFIXES = (".ami.txt", ".events.json", ".json", ".raw", ".yaml")


def all_capture_files() -> list[Path]:
    """Every capture file (a new one is picked up without a code change)."""
    files = [p for p in CAPTURES.rglob("*") if p.is_file() and p.name.endswith(_SUFFIXES)
             and p.name != "README.md"]
    return sorted(files)


def capture_id(path: Path) -> str:
    return str(path.relative_to(CAPTURES))


def recorded(name: str) -> Path:
    return RECORDED / f"{name}.ami.txt"


def messages(path: Path) -> list[Message]:
    return read_capture(path)


class FakeClock:
    """Deterministic clock for events without a Timestamp."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def run(msgs: list[Message], tracker: Tracker | None = None) -> tuple[Tracker, list[DomainEvent]]:
    events: list[DomainEvent] = []
    t = tracker or Tracker(events.append, clock=FakeClock())
    for m in msgs:
        t.apply(m)
    return t, events


def list_answer(msgs: list[Message], action_id: str) -> list[Message]:
    """The list items answering one action (QueueStatus, CoreShowChannels...)."""
    return [m for m in msgs if m.get("ActionID") == action_id and "Event" in m]
