"""Channels of the simulated PBX: names, uniqueids and the channel snapshot fields of AMI events."""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from cti.simulator.wire import Fields

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}
# The variables manager.conf `channelvars` copies into every channel snapshot.
CHANNEL_VARS = ("CCS_ACCOUNT", "CCS_INTENT")
# Listed in our manager.conf too but not in the recorded one: in a snapshot only once set (the
# robocall's attempt; what our IVR says it did, ivr/flows/transfer.py).
SET_ONLY_VARS = ("CCS_IVR", "CCS_IDENTIFIED_BY", "CCS_ATTEMPT")


class Clock:
    """PBX time. `scale` < 1 runs the PBX faster than the wall clock (tests use 0.01-0.05)."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self._epoch = time.time()
        self._t0 = time.monotonic()

    def now(self) -> float:
        return self._epoch + (time.monotonic() - self._t0) / self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) * self.scale)


@dataclass
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    created: float
    state: int = 0
    cid_num: str = "<unknown>"
    cid_name: str = "<unknown>"
    conn_num: str = "<unknown>"
    conn_name: str = "<unknown>"
    priority: int = 1
    application: str = ""
    app_data: str = ""
    bridge_id: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    hangup: asyncio.Event = field(default_factory=asyncio.Event)
    hangup_cause: int = 16
    redirect_to: tuple[str, str] | None = None  # (context, exten) of the last AMI Redirect
    redirected: asyncio.Event = field(default_factory=asyncio.Event)
    # Events app_queue sends only when this channel hangs up (the AgentComplete of a member
    # the caller was redirected away from: recording 09); calls.hangup emits them first.
    on_hangup: list = field(default_factory=list)
    script: object = None  # scenario.CallScript of a scripted caller (see scenario.py)

    def snapshot(self, prefix: str = "") -> Fields:
        fields: Fields = [
            (f"{prefix}Channel", self.name),
            (f"{prefix}ChannelState", str(self.state)),
            (f"{prefix}ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            (f"{prefix}CallerIDNum", self.cid_num),
            (f"{prefix}CallerIDName", self.cid_name),
            (f"{prefix}ConnectedLineNum", self.conn_num),
            (f"{prefix}ConnectedLineName", self.conn_name),
            (f"{prefix}Language", "en"),
            (f"{prefix}AccountCode", ""),
            (f"{prefix}Context", self.context),
            (f"{prefix}Exten", self.exten),
            (f"{prefix}Priority", str(self.priority)),
            (f"{prefix}Uniqueid", self.uniqueid),
            (f"{prefix}Linkedid", self.linkedid),
        ]
        fields += [(f"{prefix}ChanVariable", f"{var}={self.variables.get(var, '')}")
                   for var in CHANNEL_VARS]
        fields += [(f"{prefix}ChanVariable", f"{var}={self.variables[var]}")
                   for var in SET_ONLY_VARS if var in self.variables]
        return fields


class ChannelFactory:
    """Local channel pairs named as Asterisk names them; counters restart with the PBX.

    The uniqueid's counter starts at a random point: two simulators started in the same
    second (every test starts one, all write to one database) would otherwise give their first
    calls the same uniqueids, so one test's call would be taken for another's. An Asterisk's
    counter is as unpredictable to us (it counts every channel since the PBX started)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._local_seq = 0
        self._uid_seq = random.SystemRandom().randrange(1, 10**6)
        self.channels: dict[str, Channel] = {}

    def _uniqueid(self) -> str:
        uid = f"{int(self._clock.now())}.{self._uid_seq}"
        self._uid_seq += 1
        return uid

    def local_pair(self, exten: str, context: str, linkedid: str | None = None
                   ) -> tuple[Channel, Channel]:
        base = f"Local/{exten}@{context}-{self._local_seq:08x}"
        self._local_seq += 1
        now = self._clock.now()
        one_uid = self._uniqueid()
        link = linkedid or one_uid
        one = Channel(f"{base};1", one_uid, link, context, exten, now, state=0)
        two = Channel(f"{base};2", self._uniqueid(), link, context, exten, now, state=4)
        self.channels[one.name] = one
        self.channels[two.name] = two
        return one, two

    def remove(self, channel: Channel) -> None:
        self.channels.pop(channel.name, None)

    def find(self, name: str) -> Channel | None:
        return self.channels.get(name)
