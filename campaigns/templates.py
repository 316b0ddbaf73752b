"""The campaigns a supervisor starts from (``GET /api/campaigns/templates``), and the recorded
prompts they name.

The debt templates are the robocall stages of ``scenarios.DEBT_SCENARIO`` (its messages and
debt conditions, so the console never copies the scenario); the operator-list stage is no
template (it is made from the stage before it with "next stage"). An outage alert names its
outage in the form, so its filter has none yet.

Prompt names are the keys of ``ROBOCALL_MESSAGES`` in the IVR's prompt module
(ivr/prompts/ru.py): each is a recording of the project's sound set (``ccs/ru/robocall-<name>``,
made by ``python -m ivr.sounds``), and its text is what the console shows. Amounts, dates, house
numbers and the keys prompt are said with the same set's words (campaigns/dialer.py).
"""
from __future__ import annotations

from typing import Any

from campaigns.dialer import PROMPTS
from campaigns.models import Campaign, MessagePart, TargetFilter
from campaigns.scenarios import DEBT_SCENARIO, Scenario

# name -> what its recording says
ROBOCALL_PROMPTS: dict[str, str] = {
    name: prompt.text for name, prompt in PROMPTS.ROBOCALL_MESSAGES.items()}

OUTAGE_MESSAGE = [{"kind": "prompt", "name": "outage-alert"}, {"kind": "address"}]
ROUTINE_MESSAGE = [{"kind": "prompt", "name": "routine-notice"}]


def _filter(**conditions: Any) -> dict[str, Any]:
    """The server's default filter with ``conditions`` (what the form starts from)."""
    return TargetFilter.model_validate(conditions).model_dump(mode="json")


def _message(parts: list[MessagePart] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p if isinstance(p, dict) else p.model_dump(mode="json") for p in parts]


def templates(scenario: Scenario = DEBT_SCENARIO) -> list[dict[str, Any]]:
    """``[{id, type, scenario, stage, message, target}]``: each one's spec parts; a spec made
    from one (with a name, and an outage for the alert) validates as a Campaign."""
    out = []
    for stage in scenario.stages:
        if stage.action != "robocall" or stage.message is None:
            continue
        out.append({
            "id": f"{scenario.name}_stage_{stage.stage}", "type": "debt_reminder",
            "scenario": scenario.name, "stage": stage.stage,
            "message": _message(stage.message),
            "target": _filter(min_debt=stage.min_debt,
                              min_months_overdue=stage.min_months_overdue)})
    out.append({"id": "outage_alert", "type": "outage_alert", "scenario": None, "stage": None,
                "message": OUTAGE_MESSAGE, "target": _filter()})
    out.append({"id": "routine_notice", "type": "routine_notice", "scenario": None,
                "stage": None, "message": ROUTINE_MESSAGE, "target": _filter()})
    return out


def prompt_names(scenario: Scenario = DEBT_SCENARIO) -> set[str]:
    """Every prompt the templates and the scenario's stages play."""
    names = {p["name"] for t in templates(scenario) for p in t["message"]
             if p["kind"] == "prompt"}
    for stage in scenario.stages:
        names |= {p.name for p in stage.message or [] if p.kind == "prompt"}
    return names


def as_campaign(template: dict[str, Any], name: str, outage_id: int | None = None) -> Campaign:
    """A template made into a spec (what the console sends; used by the tests)."""
    target = dict(template["target"], outage_id=outage_id)
    return Campaign.model_validate({
        "name": name, "type": template["type"], "message": template["message"],
        "target": target, "scenario": template["scenario"], "stage": template["stage"]})
