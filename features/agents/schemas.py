"""Edge models of readiness (REST and Socket.IO bodies, the live view in Redis).

Public: ``AgentView`` (with ``Pending`` and ``Failed``), ``ReadinessRequest``, ``WrapUpExtend``,
``ViewState``, ``CardSearchQuery`` (the query string of ``GET /api/cards/search``).
``AgentView.model_dump(mode="json")`` is the ``readiness`` of the Socket.IO ``state`` event and
the body of ``GET /api/agents/me/state``.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ViewState = Literal["logged_out", "ready", "not_ready", "ringing", "on_call", "wrap_up"]
Wanted = Literal["ready", "not_ready", "logged_out"]


class Pending(BaseModel):
    model_config = ConfigDict(frozen=True)
    state: Wanted
    reason: str | None = None
    since: dt.datetime


class Failed(BaseModel):
    model_config = ConfigDict(frozen=True)
    state: Wanted
    reason: str | None = None
    error: str = Field(description="Stable error id, e.g. pbx-refused, unknown-queue.")
    message: str = Field(description="What the PBX (or the server) said.")
    at: dt.datetime


class AgentView(BaseModel):
    """What an agent (and a supervisor) sees of one agent's readiness."""

    model_config = ConfigDict(frozen=True)
    agent_id: int
    state: ViewState = "logged_out"
    reason: str | None = None
    since: dt.datetime
    queues: list[str] = Field(default_factory=list)
    pending: Pending | None = None
    failed: Failed | None = None
    wrapup_until: dt.datetime | None = None
    wrapup_extended: bool = False
    call_id: str | None = None

    def same_visible(self, other: AgentView | None) -> bool:
        """Equal but for ``since`` (which only moves when the state does)."""
        if other is None:
            return False
        return self.model_dump(exclude={"since"}) == other.model_dump(exclude={"since"})


class ReadinessRequest(BaseModel):
    """``PUT /api/agents/me/readiness`` and the Socket.IO ``set_readiness`` message."""

    model_config = ConfigDict(extra="forbid")
    state: Wanted
    # The codes are checked against the configured list by the service; the pattern keeps
    # anything that could break an AMI header out before that.
    reason: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")

    @model_validator(mode="after")
    def _reason_only_when_not_ready(self) -> ReadinessRequest:
        if self.state == "not_ready" and not self.reason:
            raise ValueError("not_ready needs a reason")
        if self.state != "not_ready" and self.reason:
            raise ValueError("only not_ready takes a reason")
        return self


class WrapUpExtend(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: int = Field(ge=1, le=3600)


class CardSearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # Checked by CardActions.search (1 to 200 characters once stripped: a 400 otherwise).
    q: str = Field("", description=(
        "An account number (8-12 digits), a phone number, or address words (\"Ленина 5 12\": "
        "street words, then house, then apartment); 1 to 200 characters."))
