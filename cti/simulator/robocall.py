"""Simulated callees of robocall campaigns: ``Originate`` of ``Local/<number>@ccs-robocall-callee``
into ``Context=ccs-robocall`` (dialplans/robocall.conf), as Asterisk 22 would run it.

What a callee does is chosen by the dialled number's LAST DIGIT (so a test or the benchmark
picks outcomes by picking numbers), unless ``PbxConfig.callees`` names the number (a scripted
table; see ``_scripted``):

    1  answers, hears the message, presses 1          (confirmed with the default keys)
    2  answers, hears the message, presses 0          (operator: Queue(CCS_TARGET_QUEUE))
    3  answers, hears the message, presses 9          (opt-out)
    4  answers, hears the whole message, no key       (heard)
    5  answers, hangs up half-way through the message (hung up)
    6  busy                                           (OriginateResponse Reason 5)
    7  rings until the Originate's Timeout            (Reason 3, no answer)
    8  congestion                                     (Reason 8)
    9  fails at once, like an unknown number          (Reason 0)
    0  an answering machine: with CCS_AMD=1 AMD() says MACHINE, else it "hears" with no key

Events follow recording 07_originate_outcomes (Newchannel pair, LocalBridge, DialBegin, Newstate,
DialEnd, OriginateResponse; a failure's OriginateResponse names the dial string and Uniqueid
<unknown>), then what the robocall context sends: ``UserEvent(CcsRobocall)`` with ``Campaign``,
``Attempt``, ``Try``, ``Key``, ``Heard`` and ``Amd`` (exactly one per answered call, from the ``h`` extension
when the callee hangs up first), and the AstDB entry the dialplan writes for every ending
(``ccs-robocall/<campaign>/<attempt>-<try>``; read back with the DBGet action after a crash of
the server). Timings are PBX seconds: ring ``answer_after`` and message ``listen`` from the
callee behaviour (``PbxConfig.default_callee`` unless scripted).
"""
from __future__ import annotations

import math

from cti.simulator import wire
from cti.simulator.calls import (dial, hangup, hangup_request, local_bridge, new_state,
                                 visit_queue, wait_any)
from cti.simulator.channels import Channel
from cti.simulator.pbx import Action, CalleeBehaviour, Pbx, Reply

ROBOCALL_CONTEXT = "ccs-robocall"
CALLEE_CONTEXT = "ccs-robocall-callee"
DB_FAMILY = "ccs-robocall"
QUEUE_PATIENCE = 60.0  # PBX seconds a listener who asked for an operator waits in the queue

# last digit -> (dial result, what the listener does once answered)
BY_LAST_DIGIT = {"1": ("answer", "key:1"), "2": ("answer", "key:0"), "3": ("answer", "key:9"),
                 "4": ("answer", "heard"), "5": ("answer", "hangup"), "6": ("busy", ""),
                 "7": ("noanswer", ""), "8": ("congestion", ""), "9": ("nosuchexten", ""),
                 "0": ("answer", "machine")}
_RESULT_ALIASES = {"confirmed": "key:1", "operator": "key:0", "opt_out": "key:9",
                   "opted_out": "key:9", "hung_up": "hangup"}
_FAILURES = {"busy": (5, 17, "BUSY", 7), "congestion": (8, 34, "CONGESTION", 7)}


def behaviour_of(pbx: Pbx, number: str) -> tuple[str, str, CalleeBehaviour]:
    """(dial result, listener action, timings) of a dialled number."""
    scripted = pbx.config.callees.get(number)
    if scripted is not None:
        return scripted.outcome, _RESULT_ALIASES.get(scripted.result, scripted.result), scripted
    outcome, act = BY_LAST_DIGIT.get(number[-1:] or "9", ("nosuchexten", ""))
    return outcome, act, pbx.config.default_callee


async def ring(pbx: Pbx, action: Action, aid: str | None, one: Channel, two: Channel,
               answer_after: float, sync_reply: Reply | None, respond_failure) -> bool:
    """The callee's phone (`two`) of an Originate rings until it answers, after `answer_after`
    PBX seconds (math.inf: never), or the Originate's Timeout: True, both Up (DialEnd ANSWER);
    False, not answered (the pair hung up with cause 19, the Originate failed, reason 3)."""
    new_state(pbx, one, 5)
    dial(pbx, "DialState", None, one, [("DialStatus", "RINGING")])
    timeout = float(wire.first(action, "Timeout") or "30000") / 1000
    answer_at = pbx.clock.now() + answer_after
    await wait_any(pbx, min(answer_at, pbx.clock.now() + timeout), one.hangup, two.hangup)
    if pbx.clock.now() < answer_at:
        hangup_request(pbx, two, 19)
        respond_failure(pbx, action, aid, 3, sync_reply)
        hangup_request(pbx, two, 16, soft=True)
        hangup(pbx, two, 19)
        hangup(pbx, one, 19)
        return False
    new_state(pbx, two, 6)
    new_state(pbx, one, 6)
    dial(pbx, "DialEnd", None, one, [("DialStatus", "ANSWER")])
    return True


def _db_key(variables: dict[str, str]) -> str:
    return (f"{DB_FAMILY}/{variables.get('CCS_CAMPAIGN', '')}/"
            f"{variables.get('CCS_ATTEMPT', '')}-{variables.get('CCS_TRY', '')}")


def astdb(pbx: Pbx) -> dict[str, str]:
    return pbx.astdb


async def robocall(pbx: Pbx, action: Action, aid: str | None, one: Channel, two: Channel,
                   exten: str, variables: dict[str, str], sync_reply: Reply | None,
                   respond_success, respond_failure) -> None:
    """Run one robocall Originate after its Local pair exists (Newchannel sent)."""
    outcome, act, timing = behaviour_of(pbx, exten)
    db = astdb(pbx)
    key = _db_key(variables)
    two.variables.update(variables)  # core_local copies the ;1 variables to ;2 (recording 07)
    if outcome == "nosuchexten":
        hangup(pbx, two, 0)
        hangup(pbx, one, 0)
        respond_failure(pbx, action, aid, 0, sync_reply)
        return
    local_bridge(pbx, one, two)
    dial(pbx, "DialBegin", None, one, [("DialString", f"{exten}@{CALLEE_CONTEXT}")])
    if outcome in _FAILURES:
        reason, cause, status, state = _FAILURES[outcome]
        new_state(pbx, two, state)
        db[key] = f"dial:{status}"  # the callee context's h extension
        if outcome == "busy":  # recording 07: busy answers before DialEnd, congestion after
            respond_failure(pbx, action, aid, reason, sync_reply)
        dial(pbx, "DialEnd", None, one, [("DialStatus", status)])
        hangup_request(pbx, two, 0)
        hangup_request(pbx, two, 16, soft=True)
        if outcome == "busy":
            hangup(pbx, one, 0)
            hangup(pbx, two, cause)
        else:
            respond_failure(pbx, action, aid, reason, sync_reply)
            hangup(pbx, two, cause)
            hangup(pbx, one, 0)
        return
    if not await ring(pbx, action, aid, one, two,
                      timing.answer_after if outcome == "answer" else math.inf,
                      sync_reply, respond_failure):
        # The h extension's word (ring does not wait after the hangups: nothing reads it first).
        db[key] = "dial:CANCEL"
        return
    one.context, one.exten, one.priority = ROBOCALL_CONTEXT, "s", 1
    one.application, one.app_data = "Playback", "message"
    respond_success(pbx, action, aid, one, sync_reply)
    await _listener(pbx, one, two, act, timing, variables, db, key)


async def _listener(pbx: Pbx, one: Channel, two: Channel, act: str, timing: CalleeBehaviour,
                    variables: dict[str, str], db: dict[str, str], key: str) -> None:
    hung = (one.hangup, two.hangup)
    amd = ""
    if variables.get("CCS_AMD") == "1":
        if await wait_any(pbx, pbx.clock.now() + min(timing.listen, 0.5), *hung):
            _end(pbx, one, two, variables, db, key, "", "no", "HANGUP")
            return
        amd = "MACHINE" if act == "machine" else "HUMAN"
        if amd == "MACHINE":
            _end(pbx, one, two, variables, db, key, "", "no", amd)
            return
    if act == "hangup":
        await wait_any(pbx, pbx.clock.now() + timing.listen / 2, *hung)
        _end(pbx, one, two, variables, db, key, "", "no", amd)
        return
    if await wait_any(pbx, pbx.clock.now() + timing.listen, *hung):
        _end(pbx, one, two, variables, db, key, "", "no", amd)
        return
    pressed = act[4:] if act.startswith("key:") else ""
    _report(pbx, one, variables, db, key, pressed, "yes", amd)
    queue = pbx.queues.get(variables.get("CCS_TARGET_QUEUE", ""))
    if pressed and pressed == variables.get("CCS_OPERATOR_KEY", "0") and queue is not None:
        one.priority = 20
        gone_at = pbx.clock.now() + QUEUE_PATIENCE
        # ;1 runs Queue(); the callee's side (;2, bridged to the trunk) is the caller's phone.
        await visit_queue(pbx, queue, two, one, gone_at, math.inf)
        for channel in (one, two):
            hangup(pbx, channel, 16)
        return
    _hangup_pair(pbx, one, two)


def _report(pbx: Pbx, one: Channel, variables: dict[str, str], db: dict[str, str], key: str,
            pressed: str, heard: str, amd: str) -> None:
    db[key] = f"answered:{pressed}:{heard}:{amd}"
    pbx.emit("UserEvent", "user,all", [
        *one.snapshot(), ("UserEvent", "CcsRobocall"),
        ("Campaign", variables.get("CCS_CAMPAIGN", "")),
        ("Attempt", variables.get("CCS_ATTEMPT", "")),
        ("Try", variables.get("CCS_TRY", "")), ("Key", pressed), ("Heard", heard), ("Amd", amd)])


def _end(pbx: Pbx, one: Channel, two: Channel, variables: dict[str, str], db: dict[str, str],
         key: str, pressed: str, heard: str, amd: str) -> None:
    _report(pbx, one, variables, db, key, pressed, heard, amd)
    _hangup_pair(pbx, one, two)


def _hangup_pair(pbx: Pbx, one: Channel, two: Channel) -> None:
    hangup_request(pbx, one, 16, soft=True)
    hangup_request(pbx, two, 16)
    hangup(pbx, one, 16)
    hangup_request(pbx, two, 16, soft=True)
    hangup(pbx, two, 16)


# -- AstDB actions (manager.c DBGet / DBDelTree as Asterisk 22 answers them) ---------------
def db_get(pbx: Pbx, action: Action, reply: Reply) -> None:
    aid = wire.first(action, "ActionID") or None
    family, key = wire.first(action, "Family"), wire.first(action, "Key")
    value = astdb(pbx).get(f"{family}/{key}")
    if value is None:
        reply(wire.response(aid, "Database entry not found", "Error"))
        return
    tail = [("ActionID", aid)] if aid else []
    reply(wire.list_start(aid, "Result will follow"))
    reply(wire.frame([("Event", "DBGetResponse"), ("Family", family), ("Key", key),
                      ("Val", value), *tail]))
    reply(wire.list_complete("DBGetComplete", aid, 1))


def db_del_tree(pbx: Pbx, action: Action, reply: Reply) -> None:
    aid = wire.first(action, "ActionID") or None
    family, key = wire.first(action, "Family"), wire.first(action, "Key")
    prefix = f"{family}/{key}/" if key else f"{family}/"
    db = astdb(pbx)
    gone = [k for k in db if k.startswith(prefix)]
    for k in gone:
        del db[k]
    if not gone:
        reply(wire.response(aid, "Database entry not found", "Error"))
        return
    reply(wire.response(aid, "Key tree deleted successfully"))
