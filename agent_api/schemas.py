"""Request and response bodies of the REST API."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from state.models import Agent


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
