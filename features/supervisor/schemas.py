"""Wire models of the supervisor's actions and of callback commitments (REST bodies, query
strings and answers). The board's lists (``AbandonedCall``, ``Callback``) are in
board_schemas.py; the reports' answers in reports.py."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from features.supervisor.audit import AuditEntry
from features.supervisor.board_schemas import AbandonedCall, Callback


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests -------------------------------------------------------------------------------

class ForceReadinessRequest(_Body):
    state: Literal["not_ready", "logged_out"]
    reason: str | None = Field(None, max_length=32)


class SpyRequest(_Body):
    mode: Literal["listen", "whisper", "barge"]


class CallbackRequest(_Body):
    phone: str = Field(min_length=1, max_length=40)
    account: str | None = Field(None, pattern=r"^[0-9]{8,12}$")
    call_id: str | None = Field(None, min_length=1, max_length=200)
    note: str = Field("", max_length=2000)
    due_in_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)


class CallbackOutcomeRequest(_Body):
    outcome: str = Field(min_length=1, max_length=32)
    comment: str | None = Field(None, max_length=2000)


# --- query strings (agent_api.bodies.read_query) --------------------------------------------

_DAY_OR_TIME = ("YYYY-MM-DD (a day in the board's time zone) or an ISO datetime (without an "
                "offset: in the board's time zone).")


class PeriodQuery(_Body):
    """``from`` / ``to`` of the audit and of the callback report (http.py ``period``)."""

    from_: str | None = Field(None, alias="from", description=(
        f"Start: {_DAY_OR_TIME} Default: the start of today."))
    to: str | None = Field(None, description=(
        f"End: {_DAY_OR_TIME} A day is included, a datetime excluded. Default: the end of "
        "today. At most 400 days after `from`."))


class CallbackListQuery(_Body):
    status: Literal["open", "done", "all"] = Field(
        "open", description="Which commitments: still open, done (closed), or all.")


class ReportQuery(_Body):
    """The interval of a report (``Reports.interval`` reads it) and its format."""

    from_: str = Field(alias="from", min_length=1, description=f"Start: {_DAY_OR_TIME}")
    to: str | None = Field(None, description=(
        f"End: {_DAY_OR_TIME} A day is included, a datetime excluded. Default: `from`. "
        "At most 400 days after `from`."))
    format: Literal["json", "csv"] = Field("json", description=(
        "`csv`: the CSV (`;`-separated, decimal comma, UTF-8 with a BOM); the `.csv` path "
        "answers CSV whatever this says."))


# --- answers ----------------------------------------------------------------------------------

class AuditEntries(BaseModel):
    """``GET /api/supervisor/audit``: oldest first."""

    entries: list[AuditEntry]


class AbandonedCalls(BaseModel):
    """``GET /api/supervisor/abandoned``: today's, the latest abandonment first."""

    abandoned: list[AbandonedCall]


class Callbacks(BaseModel):
    """``GET /api/callbacks``: by due time, the most urgent first."""

    callbacks: list[Callback]


class CallbackReport(BaseModel):
    """``GET /api/reports/callbacks``: of the commitments recorded in the interval."""

    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from", description="ISO datetime, included.")
    to: str = Field(description="ISO datetime, excluded.")
    timezone: str
    total: int
    done: int
    kept_in_time: int = Field(description="Done, and called back (or closed) by the due time.")
    overdue_open: int = Field(description="Still open past the due time.")
