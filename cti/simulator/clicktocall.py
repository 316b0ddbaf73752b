"""Click-to-call in the simulated PBX: ``Originate`` of an agent's phone into a dialplan context
that dials the consumer (``Channel=<the agent's interface>``, ``Context=ccs-callee``,
``Exten=<number>``, ``ChannelId=<call id>``), as Asterisk runs it:

the agent's phone rings (its member behaviour: ``answer_after``; never -> Originate fails with
reason 3); when it answers, the OriginateResponse (Success) goes out and the dialplan dials the
number (``Local/<number>@ccs-callee``, behaviour from ``PbxConfig.callees``); the agent talks
for the member's ``talk`` time (or the callee's ``listen``) and both hang up. While it lasts,
the agent's interface is busy, so a queue does not ring it. The call is known by ``ChannelId``
(its uniqueid and linkedid), so the server's call id is the PBX's from the first event.
"""
from __future__ import annotations

import math

from cti.simulator import wire
from cti.simulator.calls import dial, hangup, local_bridge, new_channel, new_state, wait_any
from cti.simulator.channels import Channel
from cti.simulator.pbx import Action, Pbx, Reply

_DIAL_STATUS = {"busy": (17, "BUSY"), "congestion": (34, "CONGESTION"),
                "noanswer": (19, "NOANSWER"), "nosuchexten": (0, "CHANUNAVAIL")}


def is_member_interface(pbx: Pbx, channel: str) -> bool:
    return channel in pbx.behaviours or any(channel in q.members for q in pbx.queues.values())


async def agent_first(pbx: Pbx, action: Action, aid: str | None, exten: str, context: str,
                      sync_reply: Reply | None, respond_success, respond_failure,
                      variables: dict[str, str]) -> None:
    interface = wire.first(action, "Channel")
    number = wire.first(action, "Exten")
    behaviour = pbx.behaviour(interface)
    call_id = wire.first(action, "ChannelId") or None
    one, two = pbx.factory.local_pair(exten, context, linkedid=call_id)
    if call_id:
        one.uniqueid = call_id
    one.variables.update(variables)
    for ch in (one, two):
        ch.cid_num = ch.conn_num = number
    new_channel(pbx, one)
    new_channel(pbx, two)
    local_bridge(pbx, one, two)
    pbx.busy[interface] = "ringing"
    pbx.member_status(interface)
    new_state(pbx, one, 5)
    timeout = float(wire.first(action, "Timeout") or "30000") / 1000
    answer_after = behaviour.answer_after if behaviour.answer_after is not None else math.inf
    answered = answer_after <= timeout
    await wait_any(pbx, pbx.clock.now() + min(answer_after, timeout), one.hangup, two.hangup)
    if not answered or one.hangup.is_set() or two.hangup.is_set():
        respond_failure(pbx, action, aid, 3, sync_reply)
        _done(pbx, interface, [one, two], 19)
        return
    new_state(pbx, two, 6)
    new_state(pbx, one, 6)
    respond_success(pbx, action, aid, one, sync_reply)
    pbx.busy[interface] = "incall"
    pbx.member_status(interface)
    callee = pbx.config.callees.get(number, pbx.config.default_callee)
    out_one, out_two = pbx.factory.local_pair(number, "ccs-callee", linkedid=one.linkedid)
    new_channel(pbx, out_one)
    new_channel(pbx, out_two)
    dial(pbx, "DialBegin", one, out_one, [("DialString", f"{number}@ccs-callee")])
    if callee.outcome in _DIAL_STATUS:
        cause, status = _DIAL_STATUS[callee.outcome]
        await wait_any(pbx, pbx.clock.now() + (callee.answer_after if callee.outcome == "noanswer"
                                               else 0.1), one.hangup)
        dial(pbx, "DialEnd", one, out_one, [("DialStatus", status)])
        _done(pbx, interface, [out_two, out_one, one, two], cause)
        return
    new_state(pbx, out_one, 5)
    if await wait_any(pbx, pbx.clock.now() + callee.answer_after, one.hangup, two.hangup):
        _done(pbx, interface, [out_two, out_one, one, two], 16)
        return
    new_state(pbx, out_two, 6)
    new_state(pbx, out_one, 6)
    dial(pbx, "DialEnd", one, out_one, [("DialStatus", "ANSWER")])
    talk = behaviour.talk if behaviour.talk is not None else callee.listen
    await wait_any(pbx, pbx.clock.now() + talk, one.hangup, two.hangup)
    _done(pbx, interface, [out_two, out_one, one, two], 16)


def _done(pbx: Pbx, interface: str, channels: list[Channel], cause: int) -> None:
    for channel in channels:
        hangup(pbx, channel, cause)
    pbx.busy.pop(interface, None)
    pbx.member_status(interface)
