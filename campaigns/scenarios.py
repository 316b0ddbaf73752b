"""Staged debt work as data: each stage is a selection and what to do with it.

The default (``DEBT_SCENARIO``): stage 1 a robocall reminder to debts of at least 1,000 RUB
overdue 1 month or more; stage 2, 7 days after stage 1 started, a firmer robocall to those of
stage 1 who are still in debt (at least 1,000 RUB, 2 months or more) and paid nothing since
stage 1 started; stage 3, 7 days after stage 2, an operator callback list (rows of the
supervisor's ``callbacks``) of those of stage 2 still in debt. A later stage selects from the
previous stage's attempts (``from_campaign``) with the debt conditions evaluated again at its
start, so whoever paid drops out. A stage's campaign is created in state ``created``: a person
previews and starts it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from campaigns import selection, store
from campaigns.models import Campaign, MessagePart, StoredCampaign, TargetFilter


class ScenarioStage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: int = Field(ge=1, le=20)
    action: Literal["robocall", "operator_list"]
    min_debt: Decimal = Field(ge=0)
    min_months_overdue: int = Field(ge=0)
    after_days: int = Field(0, ge=0, le=365, description="Days after the previous stage's "
                            "start before this one may start.")
    unpaid_since_previous: bool = Field(
        True, description="Only accounts with no payment since the previous stage started.")
    message: list[MessagePart] | None = None
    callback_due_hours: int = Field(24, ge=1, le=24 * 30)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    stages: list[ScenarioStage] = Field(min_length=1)

    def stage(self, number: int) -> ScenarioStage:
        for stage in self.stages:
            if stage.stage == number:
                return stage
        raise KeyError(number)


DEBT_SCENARIO = Scenario.model_validate({
    "name": "debt",
    "stages": [
        {"stage": 1, "action": "robocall", "min_debt": "1000", "min_months_overdue": 1,
         "message": [{"kind": "prompt", "name": "debt-reminder-1"}, {"kind": "amount"},
                     {"kind": "prompt", "name": "debt-pay-please"}]},
        {"stage": 2, "action": "robocall", "min_debt": "1000", "min_months_overdue": 2,
         "after_days": 7,
         "message": [{"kind": "prompt", "name": "debt-reminder-2"}, {"kind": "amount"},
                     {"kind": "prompt", "name": "debt-restriction-warning"}]},
        {"stage": 3, "action": "operator_list", "min_debt": "1000", "min_months_overdue": 2,
         "after_days": 7},
    ],
})


def stage_target(stage: ScenarioStage, base: TargetFilter, previous: StoredCampaign | None
                 ) -> TargetFilter:
    data: dict[str, Any] = base.model_dump()
    data["min_debt"] = stage.min_debt
    data["min_months_overdue"] = stage.min_months_overdue
    if previous is not None:
        data["from_campaign"] = previous.id
        if stage.unpaid_since_previous and previous.started_at is not None:
            data["no_payment_since"] = previous.started_at.date()
    return TargetFilter.model_validate(data)


def stage_campaign(scenario: Scenario, number: int, base: Campaign,
                   previous: StoredCampaign | None) -> Campaign:
    """The robocall campaign of stage ``number``: ``base`` (schedule, pacing, options, the
    address conditions of its target) with the stage's selection and message."""
    stage = scenario.stage(number)
    if stage.action != "robocall":
        raise ValueError(f"stage {number} is an operator list, not a robocall")
    data = base.model_dump(mode="json")
    data.update(type="debt_reminder", scenario=scenario.name, stage=number,
                target=stage_target(stage, base.target, previous).model_dump(mode="json"))
    if stage.message is not None:
        data["message"] = [part.model_dump(mode="json") for part in stage.message]
    return Campaign.model_validate(data)


class StageNotDue(store.CampaignError):
    def __init__(self, due: datetime) -> None:
        super().__init__("stage-not-due", f"the next stage may start at {due.isoformat()}")
        self.due = due


def _due(stage: ScenarioStage, previous: StoredCampaign) -> datetime:
    if previous.started_at is None:
        raise store.CampaignError("campaign-state", "the previous stage has not started")
    return previous.started_at + timedelta(days=stage.after_days)


async def next_stage(conn: asyncpg.Connection, scenario: Scenario, previous_id: int, *,
                     now: datetime, created_by: int | None = None,
                     ) -> StoredCampaign | int:
    """Create what follows campaign ``previous_id`` in the scenario: the next robocall
    campaign (state created), or for an operator-list stage the callbacks (their count)."""
    previous = await store.get(conn, previous_id)
    if previous is None:
        raise store.CampaignNotFound()
    if previous.spec.scenario != scenario.name or previous.spec.stage is None:
        raise store.CampaignError("not-a-stage", "the campaign is not a stage of this scenario")
    try:
        stage = scenario.stage(previous.spec.stage + 1)
    except KeyError:
        raise store.CampaignError("last-stage", "the scenario has no further stage") from None
    due = _due(stage, previous)
    if now < due:
        raise StageNotDue(due)
    if stage.action == "robocall":
        spec = stage_campaign(scenario, stage.stage, previous.spec, previous)
        return await store.create(conn, spec, created_by=created_by)
    return await operator_list(conn, scenario, stage, previous, now=now)


SQL_CALLBACKS = """
INSERT INTO callbacks (phone, account_id, note, due_at)
SELECT t.phones[1], t.account_id,
       $2 || ' ' || replace(to_char(d.debt, 'FM999999999990.00'), '.', ',') || ' руб., '
          || d.months || ' мес.', $3
FROM campaign_attempts t
JOIN accounts a ON a.id = t.account_id
JOIN (SELECT account_id, sum(debt) AS debt, max(months_overdue) AS months FROM balances
      GROUP BY account_id) d ON d.account_id = t.account_id
WHERE t.campaign_id = $1 AND t.account_id = ANY($4::bigint[])
  AND t.state <> 'skipped' AND t.outcome IS DISTINCT FROM 'opted_out'
  AND cardinality(t.phones) > 0
  AND NOT EXISTS (SELECT 1 FROM opt_outs o WHERE o.consumer_id = a.consumer_id
                  AND o.scope IN ('all', 'debt_reminder'))
  AND NOT EXISTS (SELECT 1 FROM accounts b JOIN account_protection pr ON pr.account_id = b.id
                  WHERE b.consumer_id = a.consumer_id)
  AND NOT EXISTS (SELECT 1 FROM callbacks c WHERE c.account_id = t.account_id
                  AND c.status = 'open' AND c.note LIKE $2 || '%')
"""


async def operator_list(conn: asyncpg.Connection, scenario: Scenario, stage: ScenarioStage,
                        previous: StoredCampaign, *, now: datetime) -> int:
    """Open callbacks for the previous stage's accounts still in debt (idempotent: an account
    with an open callback of this stage gets no second one); protected and opted-out
    consumers are never listed."""
    target = stage_target(stage, previous.spec.target.model_copy(
        update={"from_campaign": None, "from_outcomes": None}), previous)
    accounts = await selection.account_ids(conn, target)
    note = f"Сценарий «{scenario.name}», этап {stage.stage}: долг"
    status = await conn.execute(
        SQL_CALLBACKS, previous.id, note, now + timedelta(hours=stage.callback_due_hours),
        accounts)
    return int(status.split()[-1])


async def stage_counts(conn: asyncpg.Connection, scenario: Scenario, base: TargetFilter
                       ) -> dict[int, int]:
    """How many accounts each stage's debt conditions select today (the preview's "by
    stage"); later stages will select fewer: only those still in debt after the earlier.
    Counted like the preview's ``matched`` and the start's freeze: an account without a phone
    is selected (and then skipped as ``no_phone``), so stage 1's count equals the matched count
    of the same filter."""
    counts = {}
    for stage in scenario.stages:
        counts[stage.stage] = await selection.count(conn, stage_target(stage, base, None),
                                                    relax_has_phone=True)
    return counts
