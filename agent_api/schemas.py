"""Request and response bodies of the REST API."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from state.models import Agent


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256, repr=False)


class LoginResponse(BaseModel):
    token: str
    agent: Agent
