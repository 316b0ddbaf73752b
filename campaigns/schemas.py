"""Pydantic models of what the campaign REST handlers answer (campaigns/http.py declares them
with ``agent_api.openapi.documented(response=...)``, so the OpenAPI document shows them).

They describe the JSON the handlers already build (``store.as_dict``, the ``Progress`` /
``Summary`` / ``Preview`` dataclasses, controls.py's rows); ``extra="forbid"`` so that a key a
handler adds without its model here fails tests/campaigns/test_http_schemas.py.
The query strings (``CampaignListQuery``, ``ChoicesQuery``, read by
``agent_api.bodies.read_query``) forbid unknown parameters the same way.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from campaigns.models import (Campaign, CampaignState, CampaignType, MessagePart,
                              TargetFilter)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CampaignView(_Out):
    """A stored campaign: its spec and where it stands."""
    id: int
    state: CampaignState
    state_reason: str | None
    state_since: datetime | None = Field(description="When it reached its state.")
    spec: Campaign
    created_by: int | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    cloned_from: int | None


class SummaryOut(_Out):
    """The list's counts of one campaign."""
    total: int
    dialled: int
    answered: int
    confirmed: int
    operator: int
    opted_out: int
    failed: int
    remaining: int


class CampaignWithSummary(CampaignView):
    summary: SummaryOut


class CampaignList(_Out):
    campaigns: list[CampaignWithSummary]


class ProgressOut(_Out):
    total: int
    by_state: dict[str, int]
    by_outcome: dict[str, int]
    skipped: dict[str, int]
    dialled: int
    answered: int
    confirmed: int
    operator: int
    opted_out: int
    failed: int
    remaining: int
    done_last_10min: int
    estimated_finish: datetime | None


class CampaignWithProgress(CampaignView):
    progress: ProgressOut


class StartedCampaign(CampaignView):
    attempts: int = Field(description="Attempts frozen at the start (one per account).")


class CityCount(_Out):
    city: str
    total: int
    callable: int


class SampleTarget(_Out):
    account: str
    city: str
    street: str | None
    house: str | None
    apartment: str | None
    timezone: str
    debt: str | None = Field(description="Rubles with kopecks, as text.")
    months_overdue: int | None
    skip: str | None = Field(description="Why the rules skip it now; null: callable.")


class PreviewOut(_Out):
    matched: int
    callable_now: int
    skipped: dict[str, int]
    by_city: list[CityCount]
    by_overdue: dict[str, int]
    sample: list[SampleTarget]


class Template(_Out):
    id: str
    type: CampaignType
    scenario: str | None
    stage: int | None
    message: list[MessagePart]
    target: TargetFilter


class Templates(_Out):
    templates: list[Template]


class OpenOutage(_Out):
    id: int
    service: str
    kind: Literal["emergency", "planned"]
    description: str
    started_at: datetime
    expected_restoration_at: datetime | None
    address_count: int
    addresses: str = Field(description="The first three addresses, `; `-separated.")


class Choices(_Out):
    outages: list[OpenOutage]
    cities: list[str]
    streets: list[str] | None = Field(None, description="The city's, with `?city=` only.")
    truncated: bool


class ScenarioCounts(_Out):
    scenario: str
    stages: dict[str, int]


class StageCallbacks(_Out):
    callbacks: int = Field(description="Callbacks made for operators (an operator-list stage).")


class KillSwitch(_Out):
    engaged: bool
    reason: str | None
    changed_by: int | None
    changed_at: datetime
    settings_engaged: bool = Field(description="Engaged by the deployment's settings.")


class OptOutCreated(_Out):
    created: bool = Field(description="False: the same opt-out was already there.")


class Protection(_Out):
    account: str
    category: str


# --- query strings ----------------------------------------------------------------------------

class CampaignListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    state: list[CampaignState] | None = Field(None, description=(
        "Only campaigns in these states, comma-separated (`running,paused`). Default: all."))


class ChoicesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    city: str | None = Field(None, min_length=1, max_length=200, description=(
        "A city: the answer then has its `streets`."))
