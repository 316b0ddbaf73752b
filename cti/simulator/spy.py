"""Listen / whisper / barge in the simulated PBX: ``Originate`` of the supervisor's phone into
the spy context (``Context=ccs-spy``, ``Exten=listen|whisper|barge``, ``Variable:
CCS_SPY_CHANNEL=<the agent's channel>``), as Asterisk runs dialplans/extensions.conf's
``[ccs-spy]``:

the supervisor's phone rings (its behaviour's ``answer_after``; never -> Originate fails with
reason 3); on answer the OriginateResponse (Success) goes out and ChanSpy() starts on the named
channel: ``ChanSpyStart`` (Spyer*/Spyee* fields). It ends (``ChanSpyStop``, both halves hang up)
when the spied channel or the supervisor hangs up (ChanSpy's ``E`` option). A channel that does
not exist ends the spy at once (the real ChanSpy would wait for one; the dialplan's ``E`` makes
no difference there, the test of a missing target needs an end).
"""
from __future__ import annotations

import math

from cti.simulator import wire
from cti.simulator.calls import hangup, local_bridge, new_channel, new_state, wait_any
from cti.simulator.pbx import Action, Pbx, Reply

SPY_CONTEXT = "ccs-spy"
MODES = ("listen", "whisper", "barge")


async def spy(pbx: Pbx, action: Action, aid: str | None, mode: str, variables: dict[str, str],
              sync_reply: Reply | None, respond_success, respond_failure) -> None:
    interface = wire.first(action, "Channel")
    call_id = wire.first(action, "ChannelId") or None
    one, two = pbx.factory.local_pair(mode, SPY_CONTEXT, linkedid=call_id)
    if call_id:
        one.uniqueid = call_id
    one.variables.update(variables)
    new_channel(pbx, one)
    new_channel(pbx, two)
    local_bridge(pbx, one, two)
    if mode not in MODES:  # no such extension in the context
        respond_failure(pbx, action, aid, 0, sync_reply)
        for channel in (two, one):
            hangup(pbx, channel, 0)
        return
    new_state(pbx, one, 5)
    behaviour = pbx.behaviour(interface)
    timeout = float(wire.first(action, "Timeout") or "30000") / 1000
    answer_after = behaviour.answer_after if behaviour.answer_after is not None else math.inf
    await wait_any(pbx, pbx.clock.now() + min(answer_after, timeout), one.hangup, two.hangup)
    if answer_after > timeout or one.hangup.is_set() or two.hangup.is_set():
        respond_failure(pbx, action, aid, 3, sync_reply)
        for channel in (two, one):
            hangup(pbx, channel, 19)
        return
    new_state(pbx, two, 6)
    new_state(pbx, one, 6)
    respond_success(pbx, action, aid, one, sync_reply)
    target = pbx.factory.find(variables.get("CCS_SPY_CHANNEL", ""))
    if target is not None:
        fields = [*two.snapshot("Spyer"), *target.snapshot("Spyee")]
        pbx.emit("ChanSpyStart", "call,all", fields)
        # A call that ends normally removes its channels without a hang-up request: look.
        while pbx.factory.find(target.name) is target and not await wait_any(
                pbx, pbx.clock.now() + 0.5, target.hangup, one.hangup, two.hangup):
            pass
        pbx.emit("ChanSpyStop", "call,all", fields)
    for channel in (two, one):
        hangup(pbx, channel, 16)
