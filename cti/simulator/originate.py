"""Originate, Hangup and Redirect in the simulated PBX, plus the inbound-caller entry point.

Originate into `Local/<queue>@ccs-in` starts a caller who runs the IVR (our IVR's callers,
with ``ivr_vars``, also get its UserEvent CcsIdentified) and then Queue() (how the recordings
made their callers); into `Local/<number>@ccs-callee` it dials a consumer whose
behaviour comes from PbxConfig.callees, and on answer the robot context sends UserEvent CcsOutcome.
Originate of a member's interface (click-to-call) rings that phone first: see clicktocall.py.
"""
from __future__ import annotations

import asyncio
import math
import re

from cti.simulator import wire
from cti.simulator.calls import (after_queue, dial, hangup, hangup_request, local_bridge,
                                 new_channel, new_state, redirect, visit_queue, wait_any)
from cti.simulator.channels import CHANNEL_VARS, Channel
from cti.simulator.clicktocall import agent_first, is_member_interface
from cti.simulator.pbx import Action, Pbx, Reply
from cti.simulator.robocall import CALLEE_CONTEXT, ring, robocall
from cti.simulator.spy import SPY_CONTEXT, spy
from state.events import IVR_IDENTIFIED

_CALLERID = re.compile(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$')
FAILURE_REASON = {"busy": (5, 17, "BUSY", 7), "congestion": (8, 34, "CONGESTION", 7)}


def parse_callerid(value: str) -> tuple[str, str]:
    match = _CALLERID.match(value)
    if match:
        return match.group(2), match.group(1).strip() or match.group(2)
    return value or "<unknown>", value or "<unknown>"


def _variables(action: Action) -> dict[str, str]:
    out = {}
    for item in wire.every(action, "Variable"):
        for part in item.split(","):
            key, sep, value = part.partition("=")
            if sep:
                out[key.strip()] = value
    return out


def originate(pbx: Pbx, action: Action, reply: Reply, tasks: set[asyncio.Task]) -> None:
    aid = wire.first(action, "ActionID") or None
    pbx.originates.append(action)
    dest = wire.first(action, "Channel")
    exten, _, context = dest.removeprefix("Local/").partition("@")
    if not dest.startswith("Local/") or not exten or not context:
        reply(wire.response(aid, "Originate failed", "Error"))
        return
    is_async = wire.first(action, "Async").lower() in ("true", "yes", "1")
    if is_async:
        reply(wire.response(aid, "Originate successfully queued"))
    coro = _run(pbx, action, aid, exten, context, None if is_async else reply)
    task = asyncio.get_running_loop().create_task(coro)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _run(pbx: Pbx, action: Action, aid: str | None, exten: str, context: str,
               sync_reply: Reply | None) -> None:
    cid_num, cid_name = parse_callerid(wire.first(action, "CallerID"))
    variables = _variables(action)
    if wire.first(action, "Context") == SPY_CONTEXT:  # listen / whisper / barge: spy.py
        await spy(pbx, action, aid, wire.first(action, "Exten"), variables, sync_reply,
                  _respond_success, _respond_failure)
        return
    if is_member_interface(pbx, wire.first(action, "Channel")):  # click-to-call
        await agent_first(pbx, action, aid, exten, context, sync_reply, _respond_success,
                          _respond_failure, variables)
        return
    one, two = pbx.factory.local_pair(exten, context)
    one.variables.update({k: v for k, v in variables.items()})
    new_channel(pbx, one)
    new_channel(pbx, two)
    for ch in (one, two):
        ch.cid_num = ch.conn_num = cid_num
        ch.cid_name = ch.conn_name = cid_name
    if context == CALLEE_CONTEXT:  # robocall campaigns: robocall.py
        await robocall(pbx, action, aid, one, two, exten, variables, sync_reply,
                       _respond_success, _respond_failure)
        return
    known = context == "ccs-in" and exten in pbx.queues
    callee = pbx.config.callees.get(exten, pbx.config.default_callee)
    if (context == "ccs-in" and not known) or (context == "ccs-callee" and callee.outcome == "nosuchexten") \
            or context not in ("ccs-in", "ccs-callee"):
        hangup(pbx, two, 0)
        hangup(pbx, one, 0)
        _respond_failure(pbx, action, aid, 0, sync_reply)
        return
    local_bridge(pbx, one, two)
    dial(pbx, "DialBegin", None, one, [("DialString", f"{exten}@{context}")])
    if context == "ccs-in":
        await _inbound(pbx, action, aid, one, two, exten, variables, sync_reply)
    else:
        await _callee(pbx, action, aid, one, two, callee, sync_reply)


def _respond_failure(pbx: Pbx, action: Action, aid: str | None, reason: int,
                     sync_reply: Reply | None) -> None:
    cid_num, cid_name = parse_callerid(wire.first(action, "CallerID"))
    body = [("ActionID", aid or ""), ("Response", "Failure"), ("Channel", wire.first(action, "Channel")),
            *_target(action), ("Reason", str(reason)), ("Uniqueid", "<unknown>"),
            ("CallerIDNum", cid_num), ("CallerIDName", cid_name)]
    pbx.emit("OriginateResponse", "call,all", body)
    if sync_reply is not None:
        sync_reply(wire.response(aid, "Originate failed", "Error"))


def _target(action: Action) -> list[tuple[str, str]]:
    if wire.first(action, "Application"):
        return [("Application", wire.first(action, "Application")), ("Data", wire.first(action, "Data"))]
    return [("Context", wire.first(action, "Context")), ("Exten", wire.first(action, "Exten"))]


def _respond_success(pbx: Pbx, action: Action, aid: str | None, one: Channel,
                     sync_reply: Reply | None) -> None:
    body = [("ActionID", aid or ""), ("Response", "Success"), ("Channel", one.name),
            *_target(action), ("Reason", "4"), ("Uniqueid", one.uniqueid),
            ("CallerIDNum", one.cid_num), ("CallerIDName", one.cid_name)]
    # Asterisk names the originated channel inside the key of each variable line.
    body += [(f"ChanVariable({one.name})", f"{k}={one.variables.get(k, '')}") for k in CHANNEL_VARS]
    pbx.emit("OriginateResponse", "call,all", body)
    if sync_reply is not None:
        sync_reply(wire.response(aid, "Originate successfully queued"))


async def _inbound(pbx: Pbx, action: Action, aid: str | None, one: Channel, two: Channel,
                   queue_name: str, variables: dict[str, str], sync_reply: Reply | None) -> None:
    new_state(pbx, two, 6)
    new_state(pbx, one, 6)
    dial(pbx, "DialEnd", None, one, [("DialStatus", "ANSWER")])
    _respond_success(pbx, action, aid, one, sync_reply)
    patience = float(wire.first(action, "Data") or "60")
    qtimeout = float(variables.get("QTIMEOUT") or 0)
    await run_caller(pbx, queue_name, one, two, patience, qtimeout,
                     variables.get("IVR_ACCOUNT", ""), variables.get("IVR_INTENT", ""))


async def run_caller(pbx: Pbx, queue_name: str, one: Channel, two: Channel, patience: float,
                     qtimeout: float, account: str, intent: str,
                     ivr_vars: dict[str, str] | None = None) -> None:
    """The answered caller pair: `one` waits `patience` s (the phone), `two` runs IVR + Queue().
    ``ivr_vars``: what our IVR also sets before the queue (CCS_IVR, CCS_IDENTIFIED_BY); with
    them the IVR is ours, and announces the account (UserEvent CcsIdentified)."""
    answered = pbx.clock.now()
    one.application, one.app_data = "Wait", str(patience)
    gone_at = answered + patience
    # Our IVR (the callers with ``ivr_vars``; the recordings' callers ran no IVR) announces the
    # account it identified halfway through (ivr/flows/identify.py).
    announced = account if ivr_vars is not None else ""
    steps = ((answered + pbx.config.ivr_seconds / 2, announced),
             (answered + pbx.config.ivr_seconds, ""))
    for until, identified in steps:
        if await wait_any(pbx, until, one.hangup, two.hangup):
            hangup(pbx, two, 16)
            hangup(pbx, one, 16)
            return
        if identified:
            pbx.emit("UserEvent", "user,all", [*two.snapshot(), ("UserEvent", IVR_IDENTIFIED),
                                               ("Account", identified)])
    two.variables.update(CCS_ACCOUNT=account, CCS_INTENT=intent, **(ivr_vars or {}))
    two.priority = 6
    queue = pbx.queues[queue_name]
    joined = pbx.clock.now()
    timeout_at = joined + qtimeout if qtimeout > 0 else math.inf
    await visit_queue(pbx, queue, one, two, gone_at, timeout_at)
    await after_queue(pbx, one, two, gone_at)


async def inbound_call(pbx: Pbx, queue_name: str, cid_num: str, cid_name: str, *, patience: float,
                       qtimeout: float = 0.0, account: str = "", intent: str = "",
                       ivr_vars: dict[str, str] | None = None) -> None:
    """A caller dialling in (scenario driver): same events as the Originate-made callers."""
    one, two = pbx.factory.local_pair(queue_name, "ccs-in")
    new_channel(pbx, one)
    new_channel(pbx, two)
    for ch in (one, two):
        ch.cid_num = ch.conn_num = cid_num
        ch.cid_name = ch.conn_name = cid_name
    local_bridge(pbx, one, two)
    new_state(pbx, two, 6)
    new_state(pbx, one, 6)
    await run_caller(pbx, queue_name, one, two, patience, qtimeout, account, intent, ivr_vars)


async def _callee(pbx: Pbx, action: Action, aid: str | None, one: Channel, two: Channel,
                  callee, sync_reply: Reply | None) -> None:
    if callee.outcome in FAILURE_REASON:
        reason, cause, status, state = FAILURE_REASON[callee.outcome]
        new_state(pbx, two, state)
        _respond_failure(pbx, action, aid, reason, sync_reply)
        dial(pbx, "DialEnd", None, one, [("DialStatus", status)])
        hangup_request(pbx, two, 0)
        hangup_request(pbx, two, 16, soft=True)
        hangup(pbx, one, 0)
        hangup(pbx, two, cause)
        return
    if not await ring(pbx, action, aid, one, two,
                      callee.answer_after if callee.outcome == "answer" else math.inf,
                      sync_reply, _respond_failure):
        return
    one.context, one.exten, one.priority = wire.first(action, "Context"), wire.first(action, "Exten"), 3
    _respond_success(pbx, action, aid, one, sync_reply)
    if await wait_any(pbx, pbx.clock.now() + callee.listen, one.hangup, two.hangup):
        cause = 16
    else:
        attempt = one.variables.get("CCS_ATTEMPT", "0")
        pbx.emit("UserEvent", "user,all", [*one.snapshot(), ("UserEvent", "CcsOutcome"),
                                           ("Attempt", attempt), ("Result", callee.result)])
        cause = 16
    hangup_request(pbx, one, 16, soft=True)
    hangup_request(pbx, two, 16)
    hangup(pbx, one, cause)
    hangup_request(pbx, two, 16, soft=True)
    hangup(pbx, two, cause)


def hangup_action(pbx: Pbx, action: Action, reply: Reply) -> None:
    aid = wire.first(action, "ActionID") or None
    channel = pbx.factory.find(wire.first(action, "Channel"))
    if channel is None:
        reply(wire.response(aid, "No such channel", "Error"))
        return
    reply(wire.response(aid, "Channel Hungup"))
    channel.hangup.set()


def redirect_action(pbx: Pbx, action: Action, reply: Reply) -> None:
    """AMI Redirect: the channel is moved at once (its next events already name the new place,
    recording 09) and leaves what it was doing; a queue caller then runs the target (calls.py).
    Channels that run no call flow of their own here only leave what they were doing."""
    aid = wire.first(action, "ActionID") or None
    channel = pbx.factory.find(wire.first(action, "Channel"))
    if channel is None:
        reply(wire.response(aid, "Channel specified does not exist", "Error"))
        return
    reply(wire.response(aid, "Redirect successful"))
    redirect(channel, wire.first(action, "Context"), wire.first(action, "Exten"))
