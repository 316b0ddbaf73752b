"""The domain model: pydantic models of what the database holds and what a screen pop shows.

Money is ``Decimal`` (serialised to JSON as a string, so no cent is lost on the way to a browser).
Models that leave the server (``Agent``, ``ConsumerCard``) never carry a password hash; the hash
lives only in ``AgentCredentials``, which the login code uses and nobody sends.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from state.money import Money

OPEN_APPEAL_STATUSES = ("new", "in_progress")


class _Model(BaseModel):
    # Rows come from SQL; unknown columns (a later migration) must not break old readers.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Consumer(_Model):
    id: int
    kind: Literal["person", "organisation"]
    full_name: str
    inn: str | None = None


class Address(_Model):
    city: str
    street: str
    house: str
    apartment: str | None = None


class Account(_Model):
    id: int
    number: str
    consumer_id: int
    status: Literal["active", "suspended", "closed"]
    city: str
    street: str
    house: str
    apartment: str | None = None
    timezone: str = "Europe/Moscow"
    opened_on: dt.date | None = None

    @property
    def address(self) -> Address:
        return Address(
            city=self.city, street=self.street, house=self.house, apartment=self.apartment
        )


class AccountPhone(_Model):
    e164: str
    kind: Literal["mobile", "home", "work"] = "mobile"


class ServiceStatus(_Model):
    service: str
    status: Literal["active", "restricted", "suspended", "disconnected"]
    tariff: str | None = None
    unit: str | None = None


class Balance(_Model):
    """Money position of one account and service; positive debt means the consumer owes."""

    service: str
    period: dt.date
    balance: Money
    debt: Money
    penalty: Money
    months_overdue: int = Field(ge=0)


class Charge(_Model):
    service: str
    period: dt.date
    amount: Money
    volume: Decimal | None = None


class Payment(_Model):
    id: int
    service: str | None = None
    paid_on: dt.date
    amount: Money
    channel: str = "bank"


ReadingSource = Literal["ivr", "agent", "cabinet", "controller", "file"]
ReadingStatus = Literal["accepted", "rejected", "superseded"]


class Reading(_Model):
    id: int
    meter_id: int
    zone: str
    period: dt.date
    value: Decimal
    source: ReadingSource
    status: ReadingStatus
    reject_reason: str | None = None
    entered_by: str | None = None
    call_id: str | None = None
    created_at: dt.datetime


class Meter(_Model):
    id: int
    account_id: int
    service: str
    serial: str
    zones: list[str]
    digits: int
    decimals: int = 0
    verification_due: dt.date | None = None
    installed_on: dt.date | None = None
    removed_on: dt.date | None = None


class MeterWithReadings(Meter):
    """A meter with the last accepted reading of each of its zones (a zone never read is absent)."""

    last_readings: dict[str, Reading] = Field(default_factory=dict)


AppealStatus = Literal["new", "in_progress", "resolved", "closed", "rejected"]
AppealChannel = Literal["phone", "ivr", "cabinet", "email", "visit", "letter", "robocall"]
AppealPriority = Literal["low", "normal", "high", "urgent"]


class Appeal(_Model):
    id: int
    account_id: int | None = None
    consumer_id: int | None = None
    type: str
    topic: str
    priority: AppealPriority = "normal"
    status: AppealStatus = "new"
    channel: AppealChannel
    operator_group: str | None = None
    summary: str | None = None
    created_at: dt.datetime
    due_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_open(self) -> bool:
        return self.status in OPEN_APPEAL_STATUSES


class NewAppeal(BaseModel):
    account_id: int | None = None
    consumer_id: int | None = None
    type: str = Field(min_length=1)
    topic: str = Field(min_length=1)
    priority: AppealPriority = "normal"
    status: AppealStatus = "new"
    channel: AppealChannel
    operator_group: str | None = None
    summary: str | None = None
    due_at: dt.datetime | None = None


Direction = Literal["inbound", "outbound"]


class Interaction(_Model):
    id: int
    call_id: str
    direction: Direction
    phone: str | None = None
    account_id: int | None = None
    agent_id: int | None = None
    queue_name: str | None = None
    started_at: dt.datetime
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    outcome: str | None = None
    ivr_context: dict[str, Any] = Field(default_factory=dict)


class NewInteraction(BaseModel):
    call_id: str = Field(min_length=1)
    direction: Direction
    phone: str | None = None
    account_id: int | None = None
    agent_id: int | None = None
    queue_name: str | None = None
    started_at: dt.datetime
    answered_at: dt.datetime | None = None
    ivr_context: dict[str, Any] = Field(default_factory=dict)


class Outage(_Model):
    id: int
    service: str
    kind: Literal["emergency", "planned"]
    description: str
    started_at: dt.datetime
    expected_restoration_at: dt.datetime | None = None
    restored_at: dt.datetime | None = None


AgentRole = Literal["agent", "supervisor", "admin"]


class QueueMembership(_Model):
    queue: str
    penalty: int = 0


class Agent(_Model):
    """An operator as anyone may see it: deliberately without the password hash."""

    id: int
    login: str
    full_name: str
    role: AgentRole = "agent"
    interface: str | None = None
    active: bool = True
    queues: list[QueueMembership] = Field(default_factory=list)


class AgentCredentials(_Model):
    """For the login check only; never serialise it to a client or a log."""

    agent: Agent
    password_hash: str = Field(repr=False, exclude=True)


class AgentIn(BaseModel):
    """What an admin gives to create or change an agent (the password in clear, hashed on save)."""

    login: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    full_name: str = Field(min_length=1)
    role: AgentRole = "agent"
    password: str | None = Field(None, repr=False)
    interface: str | None = None
    active: bool = True
    queues: list[QueueMembership] | None = None


class QueueDefinition(_Model):
    """A queue as the call center defines it (title, service-level target); its members and
    calls live on the PBX."""
    name: str
    title: str
    service_level_seconds: int = 20


class AgentReadiness(StrEnum):
    READY = "ready"
    NOT_READY = "not_ready"
    RINGING = "ringing"
    WRAP_UP = "wrap_up"
    ON_CALL = "on_call"
    LOGGED_OUT = "logged_out"


class AgentState(_Model):
    """An agent's live readiness as kept in Redis."""

    agent_id: int
    state: AgentReadiness
    reason: str | None = None
    since: dt.datetime


class ConsumerCard(_Model):
    """Everything a screen pop shows about one account, built in one SQL statement."""

    consumer: Consumer
    account: Account
    phones: list[AccountPhone] = Field(default_factory=list)
    services: list[ServiceStatus] = Field(default_factory=list)
    balances: list[Balance] = Field(default_factory=list)
    charges: list[Charge] = Field(default_factory=list)
    payments: list[Payment] = Field(default_factory=list)
    meters: list[MeterWithReadings] = Field(default_factory=list)
    appeals: list[Appeal] = Field(default_factory=list)
    interactions: list[Interaction] = Field(default_factory=list)
    outages: list[Outage] = Field(default_factory=list)
    built_at: dt.datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_debt(self) -> Money:
        return sum((b.debt for b in self.balances), Decimal("0.00"))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_penalty(self) -> Money:
        return sum((b.penalty for b in self.balances), Decimal("0.00"))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def max_months_overdue(self) -> int:
        return max((b.months_overdue for b in self.balances), default=0)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def open_appeals(self) -> int:
        return sum(1 for a in self.appeals if a.is_open)
