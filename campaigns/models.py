"""Pydantic edge models of a robocall campaign: what a supervisor sends to create one.

A campaign is stored as its ``Campaign`` spec (JSON) plus its state; everything the dialler and
the rules need is in here. Money is in kopecks inside, rubles with kopecks only when spoken.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from campaigns.localtime import zone

CampaignType = Literal["debt_reminder", "outage_alert", "routine_notice"]
CampaignState = Literal["created", "running", "paused", "stopped", "finished", "expired"]
AccountStatus = Literal["active", "suspended", "closed"]
ServiceCode = Literal["electricity", "heating", "hot_water", "cold_water"]
ServiceStatus = Literal["active", "restricted", "suspended", "disconnected"]

_PROMPT = r"^[a-z0-9][a-z0-9_/-]{0,63}$"  # a file name under the robocall prompts, no path tricks


class _Edge(BaseModel):
    # One schema for a spec read and a spec answered (a campaign's answer carries its spec, and
    # what it answers is a valid body): the OpenAPI document names it once, ``Campaign``.
    model_config = ConfigDict(extra="forbid", json_schema_mode_override="validation")


class PromptPart(_Edge):
    """A recorded prompt, played as is."""
    kind: Literal["prompt"] = "prompt"
    name: str = Field(pattern=_PROMPT)


class AmountPart(_Edge):
    """The account's debt said by Asterisk as rubles and kopecks (frozen at start)."""
    kind: Literal["amount"] = "amount"
    service: ServiceCode | None = Field(
        None, description="Debt of this service only; none: the account's total debt.")


class DatePart(_Edge):
    """A date said by Asterisk; a message naming a date is never played after it."""
    kind: Literal["date"] = "date"
    value: date


class AddressPart(_Edge):
    """The account's street and house said by Asterisk."""
    kind: Literal["address"] = "address"


MessagePart = Annotated[
    Union[PromptPart, AmountPart, DatePart, AddressPart], Field(discriminator="kind")]


class TargetFilter(_Edge):
    """Selection conditions (the CRM's «Условия отбора»); each one set must hold."""
    city: list[str] | None = Field(None, min_length=1, max_length=200)
    street: list[str] | None = Field(None, min_length=1, max_length=500)
    house: list[str] | None = Field(None, min_length=1, max_length=1000)
    apartment_from: int | None = Field(None, ge=0, description="Numeric apartments only.")
    apartment_to: int | None = Field(None, ge=0)
    has_phone: bool | None = Field(
        True, description="True: only accounts with a phone (the default: nobody else can be "
        "called); false: only those without; null: both (preview).")
    account_status: list[AccountStatus] | None = Field(["active"], min_length=1)
    service: ServiceCode | None = Field(
        None, description="The account has this service; debt conditions then count it only.")
    service_status: list[ServiceStatus] | None = Field(None, min_length=1)
    min_debt: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2,
                                     description="Debt at least this many rubles.")
    min_months_overdue: int | None = Field(None, ge=0, le=600)
    no_payment_since: date | None = Field(
        None, description="No payment on or after this date.")
    outage_id: int | None = Field(None, ge=1, description="At an address of this outage.")
    from_campaign: int | None = Field(
        None, ge=1, description="Only accounts that had an attempt in this campaign (a "
        "scenario's next stage).")
    from_outcomes: list[str] | None = Field(
        None, min_length=1, description="With from_campaign: only attempts that ended so.")

    @model_validator(mode="after")
    def _ranges(self) -> TargetFilter:
        if (self.apartment_from is not None and self.apartment_to is not None
                and self.apartment_from > self.apartment_to):
            raise ValueError("apartment_from must not exceed apartment_to")
        if self.service_status is not None and self.service is None:
            raise ValueError("service_status needs a service")
        if self.from_outcomes is not None and self.from_campaign is None:
            raise ValueError("from_outcomes needs from_campaign")
        return self


class Schedule(_Edge):
    """When the campaign may dial, inside the contact rules (which it can only narrow)."""
    start: datetime | None = None
    end: datetime | None = Field(None, description="Past it the campaign expires.")
    window_start: time | None = Field(None, description="Daily window in the campaign's zone.")
    window_end: time | None = None
    timezone: str | None = Field(None, description="Zone of the daily window; none: the "
                                 "settings' default_timezone.")
    on_window_end: Literal["pause", "continue"] = Field(
        "pause", description="pause: past today's window the campaign pauses and a person "
        "resumes it (no stale message next morning); continue: it goes on the next day.")

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("start and end need a time zone offset")
        return value

    @model_validator(mode="after")
    def _order(self) -> Schedule:
        if self.start and self.end and self.start >= self.end:
            raise ValueError("start must be before end")
        if (self.window_start is None) != (self.window_end is None):
            raise ValueError("window_start and window_end go together")
        if self.window_start and self.window_end and self.window_start >= self.window_end:
            raise ValueError("window_start must be before window_end")
        if self.timezone is not None:
            if zone(self.timezone) is None:
                raise ValueError("unknown time zone")
        return self


class Pacing(_Edge):
    mode: Literal["agentless", "progressive"] = "agentless"
    max_channels: int = Field(30, ge=1, le=5000, description="Most calls at once.")
    calls_per_second: float = Field(5.0, gt=0, le=1000, description="Most new calls a second.")
    target_queue: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Progressive: new calls limited by this queue's ready agents; also the "
        "queue a listener who presses the operator key is sent to.")
    calls_per_ready_agent: float = Field(1.0, gt=0, le=50)

    @model_validator(mode="after")
    def _queue(self) -> Pacing:
        if self.mode == "progressive" and not self.target_queue:
            raise ValueError("progressive pacing needs a target_queue")
        return self


class RetryRule(_Edge):
    delay_minutes: int = Field(ge=1, le=7 * 24 * 60)
    max_retries: int = Field(ge=0, le=20)


class RetryRules(_Edge):
    """Retries per dial result; never beyond the contact rules (a refused retry waits)."""
    busy: RetryRule = RetryRule(delay_minutes=30, max_retries=3)
    no_answer: RetryRule = RetryRule(delay_minutes=120, max_retries=2)
    congestion: RetryRule = RetryRule(delay_minutes=10, max_retries=3)
    failed: RetryRule = RetryRule(delay_minutes=30, max_retries=1)
    machine: RetryRule = RetryRule(delay_minutes=240, max_retries=1)
    hung_up: RetryRule = RetryRule(delay_minutes=240, max_retries=0)
    max_dials: int = Field(6, ge=1, le=30, description="Most dials of one attempt, all "
                           "phones and results together.")


class ListenerOptions(_Edge):
    """Keys the listener may press; null disables one."""
    confirm_key: Literal["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] | None = "1"
    operator_key: Literal["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] | None = Field(
        None, description="Usually \"0\"; needs pacing.target_queue (where to send them).")
    opt_out_key: Literal["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] | None = "9"

    @model_validator(mode="after")
    def _distinct(self) -> ListenerOptions:
        keys = [k for k in (self.confirm_key, self.operator_key, self.opt_out_key) if k]
        if len(keys) != len(set(keys)):
            raise ValueError("each option needs its own key")
        return self


class Campaign(_Edge):
    """What a supervisor creates (the stored spec)."""
    name: str = Field(min_length=1, max_length=200)
    type: CampaignType
    message: list[MessagePart] = Field(min_length=1, max_length=30)
    target: TargetFilter = TargetFilter()
    schedule: Schedule = Schedule()
    pacing: Pacing = Pacing()
    retries: RetryRules = RetryRules()
    options: ListenerOptions = ListenerOptions()
    outage_id: int | None = Field(None, ge=1, description="Outage alert: the outage; the "
                                  "campaign stops the moment it is closed.")
    scenario: str | None = Field(None, max_length=64, description="Scenario it belongs to.")
    stage: int | None = Field(None, ge=1, le=20)

    @model_validator(mode="after")
    def _consistent(self) -> Campaign:
        if self.type == "outage_alert":
            if self.outage_id is None:
                self.outage_id = self.target.outage_id
            if self.outage_id is None:
                raise ValueError("an outage alert needs outage_id")
            if self.target.outage_id is None:
                self.target.outage_id = self.outage_id
        if self.options.operator_key and not self.pacing.target_queue:
            raise ValueError("the operator key needs pacing.target_queue (where to send them)")
        return self

    @property
    def valid_until(self) -> date | None:
        """The last local date the message may be played (the earliest date it names)."""
        dates = [p.value for p in self.message if isinstance(p, DatePart)]
        return min(dates) if dates else None


class CampaignOut(BaseModel):
    id: int
    state: CampaignState
    state_reason: str | None
    spec: Campaign
    created_by: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cloned_from: int | None
    state_since: datetime | None


@dataclass(frozen=True, slots=True)
class StoredCampaign:
    """A campaign as stored: its id, state and spec (what the rules and the dialler read)."""
    id: int
    state: str
    spec: Campaign
    state_reason: str | None = None
    created_by: int | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cloned_from: int | None = None
    state_since: datetime | None = None  # when it reached ``state``
