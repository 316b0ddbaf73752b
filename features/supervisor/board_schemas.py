"""The board's wire contract (REST ``GET /api/supervisor/board`` and the ``/supervisor``
Socket.IO events): the metrics build these, the notifier pushes them, the page draws them.

Times: ``*_at``/``since`` are ISO datetimes (UTC); ``longest_wait_since`` is epoch seconds so the
page can show ``now - since`` advancing with its own clock between pushes.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Figures(BaseModel):
    """One period's queue figures (formulas: ``features/supervisor/formulas.py``)."""

    model_config = ConfigDict(frozen=True)
    offered: int = Field(0, description="Legs that entered the queue.")
    answered: int = Field(0, description="Legs an agent answered (transferred ones included).")
    abandoned: int = Field(0, description="Callers who hung up while waiting (short included).")
    short_abandoned: int = Field(0, description="Abandoned within short_abandon_seconds.")
    timeout: int = Field(0, description="Legs Queue() gave up on.")
    transferred: int = Field(0, description="Answered legs the agent then transferred.")
    redirected: int = Field(0, description="Legs moved out of the queue before any answer.")
    answered_in_threshold: int = Field(0, description="Answered with wait <= the threshold.")
    service_level: float | None = None
    asa: float | None = Field(None, description="Average speed of answer, seconds.")
    avg_wait: float | None = Field(None, description="Mean wait of answered, abandoned and "
                                   "timed-out legs, seconds.")
    aht: float | None = Field(None, description="Average handle time (talk + wrap-up), s.")
    longest_handle: float | None = None
    avg_wrapup: float | None = None
    abandon_rate: float | None = None


class AgentCounts(BaseModel):
    model_config = ConfigDict(frozen=True)
    logged_in: int = 0
    ready: int = 0
    ringing: int = 0
    on_call: int = 0
    wrap_up: int = 0
    not_ready: int = 0
    not_ready_by_reason: dict[str, int] = Field(default_factory=dict)


class TileColours(BaseModel):
    """Where the tile's figures turn amber and red (``SupervisorSettings.colour_*``), worked
    out for this queue: the page draws colours, it does not guess thresholds."""

    model_config = ConfigDict(frozen=True)
    sl_target: float = Field(0.8, description="Service level share: green from it.")
    sl_red_below: float = Field(0.7, description="Service level share: red below it.")
    waiting_amber: int = 3
    waiting_red: int = 6
    wait_amber: float = Field(20.0, description="Longest wait, seconds: amber from it.")
    wait_red: float = Field(60.0, description="Longest wait, seconds: red from it.")


class SeriesPoint(BaseModel):
    """One bucket of the last hour's chart: the legs that entered the queue in
    [start, start + seconds), folded like the figures (a report over that interval agrees)."""

    model_config = ConfigDict(frozen=True)
    start: dt.datetime
    seconds: int
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    service_level: float | None = None


class QueueTile(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    title: str | None = Field(None, description="The queue's title (queues.title).")
    sl_threshold: int
    sl_target: float = 0.8
    colours: TileColours = TileColours()
    waiting: int = 0
    talking: int = Field(
        0, description="Calls of this queue an agent is talking on now (the tracker's): they "
        "join the figures when their leg ends.")
    longest_wait_since: float | None = Field(
        None, description="Epoch seconds the longest-waiting caller joined; None: nobody waits.")
    longest_wait: float = Field(0.0, description="Seconds, at generated time.")
    agents: AgentCounts = AgentCounts()
    today: Figures = Figures()
    last_hour: Figures = Figures()
    last_hour_series: list[SeriesPoint] = Field(
        default_factory=list, description="The last hour in buckets, oldest first (the last "
        "one is the current, still filling).")


AgentState = Literal["logged_out", "ready", "not_ready", "ringing", "on_call", "wrap_up"]


class AgentRow(BaseModel):
    model_config = ConfigDict(frozen=True)
    agent_id: int
    login: str
    full_name: str
    state: AgentState = "logged_out"
    reason: str | None = None
    since: dt.datetime | None = None
    queues: list[str] = Field(default_factory=list)
    calls_today: int = 0
    aht_today: float | None = None
    call_id: str | None = None


class AbandonedCall(BaseModel):
    """An abandoned caller of today (filled by features/supervisor/abandoned.py)."""

    model_config = ConfigDict(frozen=True)
    record_id: int
    call_id: str
    queue: str
    caller_number: str
    account: str | None = None
    waited: float
    abandoned_at: dt.datetime
    called_back: bool = False
    called_back_at: dt.datetime | None = None


class Callback(BaseModel):
    """A callback commitment (filled by features/supervisor/callbacks.py)."""

    model_config = ConfigDict(frozen=True)
    id: int
    account: str | None = None
    phone: str
    agent_id: int | None = None
    created_at: dt.datetime
    due_at: dt.datetime
    overdue: bool = False
    note: str = ""
    status: Literal["open", "done"] = "open"
    outcome: str | None = None


class Formulas(BaseModel):
    """Code names of the formulas written on the board (the page's locale has the text)."""

    model_config = ConfigDict(frozen=True)
    service_level: str = "answered_in_threshold / (offered - short_abandoned)"
    abandon_rate: str = "(abandoned - short_abandoned) / (offered - short_abandoned)"
    asa: str = "mean(wait) of answered"
    avg_wait: str = "mean(wait) of answered + abandoned + timeout"
    aht: str = "mean(talk + wrapup) of answered"
    counted: str = "a leg counts in the figures once it ends (talking calls: QueueTile.talking)"


class Choice(BaseModel):
    """A code the page names from its locale (``label``: the fallback)."""

    model_config = ConfigDict(frozen=True)
    code: str
    label: str | None = None


class Board(BaseModel):
    model_config = ConfigDict(frozen=True)
    generated_at: dt.datetime
    day: str = Field(description="YYYY-MM-DD in the board's time zone.")
    timezone: str
    formulas: Formulas = Formulas()
    short_abandon_seconds: float = 5.0
    pause_reasons: list[Choice] = Field(
        default_factory=list, description="The configured pause reasons (codes) a supervisor "
        "may force; empty: not known to this process (the page then offers its own list).")
    queues: list[QueueTile] = Field(default_factory=list)
    agents: list[AgentRow] = Field(default_factory=list)
    abandoned: list[AbandonedCall] = Field(default_factory=list)
    callbacks: list[Callback] = Field(default_factory=list)
