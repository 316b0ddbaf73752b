"""Request and response bodies of the REST API."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from state.models import Agent, AgentState


# No control characters in a login (PostgreSQL text cannot hold NUL at all) and no NUL in a
# password (bcrypt cannot hash one).
_LOGIN = r"^[^\x00-\x1f\x7f]+$"
_PASSWORD = r"^[^\x00]+$"


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: str = Field(min_length=1, max_length=64, pattern=_LOGIN)
    password: str = Field(min_length=1, max_length=256, pattern=_PASSWORD, repr=False)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current: str = Field(min_length=1, max_length=256, pattern=_PASSWORD, repr=False)
    new: str = Field(min_length=8, max_length=72, pattern=_PASSWORD, repr=False)


class LoginResponse(BaseModel):
    token: str
    agent: Agent


def _sent_when_true(schema: dict) -> None:
    required = schema.get("required", [])
    if "readiness_unavailable" in required:
        required.remove("readiness_unavailable")


class MeResponse(BaseModel):
    """``GET /api/agents/me``."""

    model_config = ConfigDict(json_schema_extra=_sent_when_true)
    agent: Agent
    readiness: AgentState | None = Field(
        description="From the live state; null when logged out or Redis is unavailable.")
    readiness_unavailable: bool = Field(
        False, description="Sent (true) only when Redis is unavailable: the readiness is "
        "unknown, not logged out.")


HealthStatus = Literal["ok", "off", "degraded", "fail"]


class ComponentStatus(BaseModel):
    """One part of the server in ``GET /health``; its own figures besides (they vary)."""

    model_config = ConfigDict(extra="allow")
    essential: bool = Field(description="The server cannot serve when it fails (503).")
    status: HealthStatus = Field(description="`off`: not configured, a choice and no fault.")
    state: str = Field(description="Its real condition in words, e.g. `connected`.")


class HealthReport(BaseModel):
    """``GET /health`` (503 with the same body when an essential part fails)."""

    status: HealthStatus
    components: dict[str, ComponentStatus]
