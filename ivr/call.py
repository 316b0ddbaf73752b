"""What the IVR knows and has done on one call; becomes ``interactions.ivr_context``."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Account", "CallContext"]


@dataclass(frozen=True)
class Account:
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
    account: Account | None = None
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
