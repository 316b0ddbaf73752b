"""What the IVR knows and has done on one call; becomes ``interactions.ivr_context``."""
from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ivr.agi_protocol import AgiCommandError, AgiHangup
from ivr.fastagi import AgiChannel

__all__ = ["CallerAccount", "CallContext", "call_id_of"]


async def call_id_of(agi: AgiChannel) -> str:
    """The id the call is known by everywhere: its linkedid, as the CTI tracker keys calls.

    Asterisk's AGI environment has only ``agi_uniqueid``, this channel's own id. For a trunk
    call reaching [ccs-ivr] directly the two are equal; for one routed through a Local channel
    (or any second leg) the linkedid is the first channel's id (recording 01: uniqueid
    ``…450.25``, linkedid ``…450.24``), so it is asked for with GET VARIABLE. The uniqueid is
    the fallback when Asterisk does not answer it.
    """
    with contextlib.suppress(AgiHangup, AgiCommandError):
        if linked := await agi.linkedid():
            return linked
    return agi.uniqueid or agi.headers.get("agi_channel", "unknown")


@dataclass(frozen=True)
class CallerAccount:
    id: int
    number: str
    timezone: str
    city: str
    street: str
    house: str


@dataclass
class CallContext:
    call_id: str
    caller: str | None  # E.164, or None when withheld or not a phone number
    started_at: dt.datetime
    account: CallerAccount | None = None
    identified_by: str | None = None  # phone, spoken, keyed
    intent: str = "identify"
    readings_accepted: int = 0
    readings_rejected: int = 0
    balance_heard: bool = False
    outage_heard: bool = False
    no_input: int = 0
    not_understood: int = 0
    outcome: str = "in_progress"
    queue: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)

    def note(self, step: str, **details: Any) -> None:
        """Record one step; the details end up in the interaction's jsonb, never in logs."""
        self.steps.append({"step": step, **details})

    def summary(self) -> str:
        """Compact text for CCS_IVR: what the IVR did, e.g. ``readings:2;balance``."""
        parts = []
        if self.readings_accepted:
            parts.append(f"readings:{self.readings_accepted}")
        if self.readings_rejected:
            parts.append(f"rejected:{self.readings_rejected}")
        if self.balance_heard:
            parts.append("balance")
        if self.outage_heard:
            parts.append("outage")
        if self.account is None:
            parts.append("unidentified")
        return ";".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "identified_by": self.identified_by,
            "intent": self.intent,
            "summary": self.summary(),
            "readings_accepted": self.readings_accepted,
            "readings_rejected": self.readings_rejected,
            "balance_heard": self.balance_heard,
            "outage_heard": self.outage_heard,
            "no_input": self.no_input,
            "not_understood": self.not_understood,
            "queue": self.queue,
            "steps": self.steps,
        }
