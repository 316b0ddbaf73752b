"""Pydantic models of the screen pop and of the card actions: the wire contract with the browser
(see the README's "Agent desktop" section; the front-end's types mirror these).

``Pop`` is what ``screen_pop`` carries; ``pop_update`` carries the call's ``call_id`` and the
fields of its ``Pop`` that changed (a whole ``Pop`` after a disposition); ``PopClosed`` is what
``pop_closed`` carries. ``CardSummary`` is one line of a choice (several accounts on one number,
a search).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from state.models import Appeal, AppealPriority, ConsumerCard

PopStatus = Literal["ringing", "answered", "ended"]
CloseReason = Literal["answered_elsewhere", "not_answered", "caller_hung_up", "queue_timeout",
                      "moved_elsewhere"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CardSummary(_Wire):
    account: str
    consumer_name: str
    address: str
    status: str
    total_debt: Decimal

    @classmethod
    def of(cls, card: ConsumerCard) -> CardSummary:
        a = card.account
        address = f"{a.city}, {a.street}, {a.house}"
        if a.apartment:
            address += f", кв. {a.apartment}"
        return cls(account=a.number, consumer_name=card.consumer.full_name, address=address,
                   status=a.status, total_debt=card.total_debt)


class IvrInfo(_Wire):
    """What the caller did in the IVR before the queue (from the call's interactions row, else
    from the channel variables the IVR set)."""

    identified_by: str | None = None
    account: str | None = None
    intent: str | None = None
    readings: int = 0
    balance_heard: bool = False
    outage_heard: bool = False
    summary: str = ""


class Pop(_Wire):
    call_id: str
    queue: str
    caller_number: str
    status: PopStatus = "ringing"
    ringing_at: dt.datetime
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    card: ConsumerCard | None = None
    candidates: list[CardSummary] = Field(default_factory=list)
    ivr: IvrInfo | None = None
    transferred_from: str | None = None
    disposition: str | None = None


class PopClosed(_Wire):
    call_id: str
    reason: CloseReason


# --- card actions (REST bodies) -------------------------------------------------------------

_TEXT = dict(min_length=1, max_length=200)


class AppealRequest(_Wire):
    account: str = Field(pattern=r"^[0-9]{8,12}$")
    call_id: str | None = Field(None, min_length=1, max_length=100)
    type: str = Field(**_TEXT)
    topic: str = Field(**_TEXT)
    comment: str = Field("", max_length=4000)
    priority: AppealPriority = "normal"


class DispositionRequest(_Wire):
    disposition: str = Field(min_length=1, max_length=50)
    comment: str | None = Field(None, max_length=2000)


class OutboundCallRequest(_Wire):
    phone: str = Field(min_length=1, max_length=40)
    account: str | None = Field(None, pattern=r"^[0-9]{8,12}$")


class SearchResults(_Wire):
    results: list[CardSummary]


class RegisteredAppeal(Appeal):
    """``POST /api/appeals``: the stored appeal, with the call and the comment it was given."""

    call_id: str | None = None
    comment: str | None = None


class DispositionSet(_Wire):
    """``PUT /api/calls/{call_id}/disposition``."""

    call_id: str
    disposition: str
    comment: str | None = None
    pop: Pop | None = Field(description="The agent's pop of the call with its disposition, "
                            "null when the pop is gone.")


class OutboundCallPlaced(_Wire):
    """A click-to-call (or a supervisor's listen) the PBX took: the call's id."""

    call_id: str


# --- Socket.IO client messages ---------------------------------------------------------------

class EmptyMessage(_Wire):
    pass
