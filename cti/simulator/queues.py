"""Queues and members of the simulated PBX (app_queue's model, as far as AMI shows it)."""
from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from cti.simulator.wire import Fields


class AgentBehaviour(BaseModel):
    """What the phone behind a member interface does when it rings."""

    answer_after: float | None = Field(2.0, description="Seconds of ringing before answering; None: never.")
    talk: float | None = Field(None, description="Seconds before the agent hangs up; None: waits for the caller.")


class MemberConfig(BaseModel):
    interface: str
    name: str = ""
    penalty: int = 0
    behaviour: AgentBehaviour = AgentBehaviour()


class QueueConfig(BaseModel):
    name: str
    strategy: str = "ringall"
    timeout: float = 15.0
    retry: float = 2.0
    autopause: bool = False
    servicelevel: int = 20
    members: list[MemberConfig] = []


STRATEGIES = ("ringall", "leastrecent", "rrmemory", "fewestcalls")


@dataclass
class Member:
    interface: str
    name: str
    penalty: int
    dynamic: bool
    login_time: int
    state_interface: str = ""
    paused: bool = False
    reason: str = ""
    last_pause: int = 0
    calls: int = 0
    last_call: int = 0

    def body(self, queue: str, status: int, in_call: bool) -> Fields:
        """Fields of QueueMemberStatus/Added/Removed/Pause/Penalty after Privilege+Timestamp."""
        return [
            ("Queue", queue), ("MemberName", self.name or self.interface),
            ("Interface", self.interface), ("StateInterface", self.state_interface or self.interface),
            ("Membership", "dynamic" if self.dynamic else "static"), ("Penalty", str(self.penalty)),
            ("CallsTaken", str(self.calls)), ("LastCall", str(self.last_call)),
            ("LastPause", str(self.last_pause)), ("LoginTime", str(self.login_time)),
            ("InCall", "1" if in_call else "0"), ("Status", str(status)),
            ("Paused", "1" if self.paused else "0"), ("PausedReason", self.reason),
            ("Ringinuse", "0"), ("Wrapuptime", "0"),
        ]

    def list_item(self, queue: str, status: int, in_call: bool) -> Fields:
        """Fields of a QueueMember list item (QueueStatus answer)."""
        return [
            ("Queue", queue), ("Name", self.name or self.interface), ("Location", self.interface),
            ("StateInterface", self.state_interface or self.interface),
            ("Membership", "dynamic" if self.dynamic else "static"), ("Penalty", str(self.penalty)),
            ("CallsTaken", str(self.calls)), ("LastCall", str(self.last_call)),
            ("LastPause", str(self.last_pause)), ("LoginTime", str(self.login_time)),
            ("InCall", "1" if in_call else "0"), ("Status", str(status)),
            ("Paused", "1" if self.paused else "0"), ("PausedReason", self.reason),
            ("Wrapuptime", "0"),
        ]


@dataclass
class Waiting:
    channel_name: str
    uniqueid: str
    cid_num: str
    cid_name: str
    joined: float


@dataclass
class Queue:
    config: QueueConfig
    members: dict[str, Member] = field(default_factory=dict)
    callers: list[Waiting] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    holdtime: float = 0.0
    talktime: float = 0.0
    rr_next: int = 0

    @property
    def name(self) -> str:
        return self.config.name

    def position_of(self, channel_name: str) -> int:
        for index, caller in enumerate(self.callers, start=1):
            if caller.channel_name == channel_name:
                return index
        return 0

    def choose(self, available: list[Member]) -> list[Member]:
        """Members to ring for one attempt, in app_queue's order for the strategy."""
        if not available:
            return []
        best = min(m.penalty for m in available)
        pool = [m for m in available if m.penalty == best]
        strategy = self.config.strategy
        if strategy == "ringall":
            return pool
        if strategy == "leastrecent":
            return [min(pool, key=lambda m: m.last_call)]
        if strategy == "fewestcalls":
            return [min(pool, key=lambda m: m.calls)]
        order = list(self.members)
        ranked = sorted(pool, key=lambda m: (order.index(m.interface) - self.rr_next) % len(order))
        chosen = ranked[0]
        self.rr_next = (order.index(chosen.interface) + 1) % len(order)
        return [chosen]
