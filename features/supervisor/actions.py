"""What a supervisor does to an agent from the board, each action audited.

- ``force_readiness(actor, agent_id, state, reason)``: not ready (with a pause reason) or
  logged out, through ``AgentService.set_readiness`` (the same all-or-nothing PBX change an
  agent's own request makes; this module never writes live state). The agent's desktop sees it
  as any readiness change (the projector's ``state``).
- ``spy(actor, agent_id, mode)``: listen / whisper / barge into the agent's live call: an
  ``Originate`` of the supervisor's own phone (``agents.interface`` of the supervisor) into
  ``spy_context`` (dialplans/extensions.conf ``[ccs-spy]``), extension = the mode, with
  ``CCS_SPY_CHANNEL`` = the agent's channel in that call as the tracker knows it. The call is
  known by the ``ChannelId`` given here (``ccs-spy-…``), returned to the caller.

Every attempt is written to the audit (result ``ok`` or the error id), refused ones too.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from cti.actions import originate
from cti.errors import CtiError
from cti.tracker.model import TALKING
from features.agents.schemas import Pending
from features.agents.service import AgentService, PbxUnavailable, ReadinessError, UnknownAgent
from features.supervisor.audit import AuditLog
from features.supervisor.settings import SupervisorSettings
from state.models import Agent
from state.repositories.agents import get_agent

log = logging.getLogger(__name__)


class ActionError(Exception):
    error_id = "action-failed"
    status = 409

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NoPhone(ActionError):
    error_id = "no-phone"


class AgentNotOnCall(ActionError):
    error_id = "agent-not-on-call"


class ActionUnavailable(ActionError):
    error_id = "pbx-unavailable"
    status = 503


@dataclass(frozen=True)
class AgentCall:
    call_id: str  # the call's linkedid
    channel: str  # the agent's channel in it


def agent_call(tracker: Any, interface: str) -> AgentCall | None:
    """The call the agent's phone is talking in and the agent's channel there (the member
    channel the queue bridged), from the tracker's model."""
    for call in list(tracker.call_map.values()):
        for seg in list(call.segments.values()):
            if seg.state == TALKING and seg.interface == interface:
                channel = tracker.channels.get(seg.member_uid)
                if channel is not None:
                    return AgentCall(call.linkedid, channel.name)
    return None


class SupervisorActions:
    def __init__(self, service: AgentService | None, cti: Any, pool: asyncpg.Pool,
                 audit: AuditLog, settings: SupervisorSettings) -> None:
        self._service = service
        self._cti = cti
        self._pool = pool
        self._audit = audit
        self._settings = settings

    async def force_readiness(self, actor: Agent, agent_id: int, state: str,
                              reason: str | None) -> Pending:
        details = {"state": state, "reason": reason}
        try:
            if self._service is None:
                raise PbxUnavailable("no PBX connection is configured")
            pending = await self._service.set_readiness(agent_id, state, reason)
        except ReadinessError as exc:
            await self._record(actor, f"force_{state}", agent_id, None, details, exc.error_id,
                               exc.message)
            raise
        await self._record(actor, f"force_{state}", agent_id, None, details)
        return pending

    async def spy(self, actor: Agent, agent_id: int, mode: str) -> str:
        action_name = f"spy_{mode}"
        try:
            call_id, target = await self._spy(actor, agent_id, mode)
        except (ActionError, ReadinessError) as exc:
            await self._record(actor, action_name, agent_id, None, {"mode": mode},
                               exc.error_id, exc.message)
            raise
        await self._record(actor, action_name, agent_id, target.call_id,
                           {"mode": mode, "spy_call_id": call_id})
        return call_id

    async def _spy(self, actor: Agent, agent_id: int, mode: str) -> tuple[str, AgentCall]:
        if not actor.interface:
            raise NoPhone("you have no phone (interface) to listen on",
                          {"error": "no-phone"})
        cti = self._cti
        if cti is None:
            raise ActionUnavailable("no PBX connection is configured")
        agent = await get_agent(self._pool, agent_id)
        if agent is None:
            raise UnknownAgent("no such agent")
        target = agent_call(cti.tracker, agent.interface) if agent.interface else None
        if target is None:
            raise AgentNotOnCall("the agent is not on a call", {"error": "agent-not-on-call"})
        call_id = f"ccs-spy-{uuid.uuid4().hex}"
        action = originate(actor.interface, context=self._settings.spy_context, exten=mode,
                           timeout_ms=int(self._settings.spy_ring_timeout * 1000),
                           variables={"CCS_SPY_CHANNEL": target.channel,
                                      "CCS_SPY_AGENT_ID": str(agent_id)})
        action["ChannelId"] = call_id
        try:
            await cti.actions.run(action)
        except CtiError as exc:
            raise ActionUnavailable("the PBX did not take the call",
                                    {"error": type(exc).__name__}) from exc
        return call_id, target

    async def _record(self, actor: Agent, action: str, agent_id: int | None, target: str | None,
                      details: dict, result: str = "ok", message: str | None = None) -> None:
        await self._audit.record(actor_id=actor.id, actor_login=actor.login, action=action,
                                 target_agent_id=agent_id, target=target, details=details,
                                 result=result, message=message)
