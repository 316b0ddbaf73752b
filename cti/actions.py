"""AMI actions: one small builder per action, and `AmiActions` that sends them and maps errors.

Every action is awaited under the action timeout; an error answer becomes a domain error from
cti.errors. Originate is always Async: its immediate answer only means "queued", the result is
the OriginateResponse event matched back by ActionID (other actions keep flowing meanwhile).
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cti.connection import AmiConnection
from cti.errors import error_for
from cti.originate_outcomes import originate_outcome
from cti.resync import Fields, collect_list

Action = dict[str, Any]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def queue_add(queue: str, interface: str, *, member_name: str = "", penalty: int = 0,
              paused: bool = False, reason: str = "", state_interface: str = "") -> Action:
    action: Action = {"Action": "QueueAdd", "Queue": queue, "Interface": interface,
                      "Penalty": str(penalty), "Paused": _flag(paused)}
    if member_name:
        action["MemberName"] = member_name
    if paused and reason:
        action["Reason"] = reason
    if state_interface:
        action["StateInterface"] = state_interface
    return action


def queue_remove(queue: str, interface: str) -> Action:
    return {"Action": "QueueRemove", "Queue": queue, "Interface": interface}


def queue_pause(interface: str, paused: bool, *, queue: str | None = None, reason: str = "") -> Action:
    """Without `queue` Asterisk pauses the interface in every queue it belongs to."""
    action: Action = {"Action": "QueuePause", "Interface": interface, "Paused": _flag(paused)}
    if queue:
        action["Queue"] = queue
    if reason:
        action["Reason"] = reason
    return action


def queue_penalty(interface: str, penalty: int, *, queue: str | None = None) -> Action:
    action: Action = {"Action": "QueuePenalty", "Interface": interface, "Penalty": str(penalty)}
    if queue:
        action["Queue"] = queue
    return action


def originate(channel: str, *, context: str = "", exten: str = "", priority: int = 1,
              application: str = "", data: str = "", caller_id: str = "", timeout_ms: int = 30000,
              variables: Mapping[str, str] | None = None) -> Action:
    action: Action = {"Action": "Originate", "Channel": channel, "Timeout": str(timeout_ms),
                      "Async": "true", "ActionID": f"ccs-originate-{uuid.uuid4().hex}"}
    if application:
        action.update(Application=application, Data=data)
    else:
        action.update(Context=context, Exten=exten, Priority=str(priority))
    if caller_id:
        action["CallerID"] = caller_id
    if variables:
        action["Variable"] = [f"{key}={value}" for key, value in variables.items()]
    return action


def redirect(channel: str, context: str, exten: str, priority: int = 1) -> Action:
    return {"Action": "Redirect", "Channel": channel, "Context": context, "Exten": exten,
            "Priority": str(priority)}


def hangup(channel: str, cause: int | None = None) -> Action:
    action: Action = {"Action": "Hangup", "Channel": channel}
    if cause is not None:
        action["Cause"] = str(cause)
    return action


def setvar(variable: str, value: str, channel: str | None = None) -> Action:
    action: Action = {"Action": "Setvar", "Variable": variable, "Value": value}
    if channel:
        action["Channel"] = channel
    return action


def getvar(variable: str, channel: str | None = None) -> Action:
    action: Action = {"Action": "Getvar", "Variable": variable}
    if channel:
        action["Channel"] = channel
    return action


def ping() -> Action:
    return {"Action": "Ping"}


@dataclass(frozen=True)
class OriginateReply:
    answered: bool
    reason: int
    outcome: str  # cti.originate_outcomes: answered | busy | congestion | no_answer | failed
    channel: str
    uniqueid: str | None


class AmiActions:
    def __init__(self, connection: AmiConnection) -> None:
        self._conn = connection

    async def run(self, action: Action, timeout: float | None = None) -> Mapping[str, Any]:
        answer = await self._conn.send(action, timeout=timeout)
        if not answer.success:
            raise error_for(action["Action"], str(answer.get("Message", "")))
        return answer

    async def queue_add(self, queue: str, interface: str, **kwargs: Any) -> None:
        await self.run(queue_add(queue, interface, **kwargs))

    async def queue_remove(self, queue: str, interface: str) -> None:
        await self.run(queue_remove(queue, interface))

    async def queue_pause(self, interface: str, paused: bool, **kwargs: Any) -> None:
        await self.run(queue_pause(interface, paused, **kwargs))

    async def queue_penalty(self, interface: str, penalty: int, **kwargs: Any) -> None:
        await self.run(queue_penalty(interface, penalty, **kwargs))

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> None:
        await self.run(redirect(channel, context, exten, priority))

    async def hangup(self, channel: str, cause: int | None = None) -> None:
        await self.run(hangup(channel, cause))

    async def setvar(self, variable: str, value: str, channel: str | None = None) -> None:
        await self.run(setvar(variable, value, channel))

    async def getvar(self, variable: str, channel: str | None = None) -> str:
        answer = await self.run(getvar(variable, channel))
        return str(answer.get("Value", ""))

    async def ping(self) -> None:
        await self.run(ping())

    async def queue_status(self) -> list[Fields]:
        return await collect_list(self._conn.send, "QueueStatus", self._conn.settings.action_timeout)

    async def core_show_channels(self) -> list[Fields]:
        return await collect_list(self._conn.send, "CoreShowChannels",
                                  self._conn.settings.action_timeout)

    async def originate(self, channel: str, *, wait_timeout: float | None = None,
                        **kwargs: Any) -> OriginateReply:
        """Queue the call, then wait for its OriginateResponse without blocking other actions."""
        action = originate(channel, **kwargs)
        waiter = self._conn.expect_originate(action["ActionID"])
        try:
            await self.run(action)
        except BaseException:
            waiter.cancel()
            raise
        async with asyncio.timeout(wait_timeout or self._conn.settings.originate_timeout):
            event = await waiter
        reason = int(event.get("Reason", "1") or 1)
        answered = event.get("Response") == "Success"
        uniqueid = event.get("Uniqueid")
        return OriginateReply(answered, reason, originate_outcome(reason),
                               str(event.get("Channel", "")),
                               None if uniqueid in (None, "", "<unknown>") else str(uniqueid))

