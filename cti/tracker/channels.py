"""Channel and call bookkeeping: Newchannel .. Hangup, bridges, dials, CCS_* variables, transfers.

A call is every channel sharing a Linkedid; it ends when its last channel hangs up.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from state.events import CallEnded, CallStarted, CallTransferred

from . import redirects
from .model import TALKING, Call, TrackedChannel

if TYPE_CHECKING:
    from . import Message, Tracker

VAR_PREFIX = "CCS_"
_UNKNOWN = "<unknown>"


def clean_number(value: object) -> str:
    return "" if not isinstance(value, str) or value == _UNKNOWN else value


def read_vars(raw: object, into: dict[str, str]) -> None:
    """Merge ``ChanVariable: NAME=value`` lines (a str or a list) into ``into`` (CCS_* only;
    an empty value removes the key, as an unset variable)."""
    if raw is None:
        return
    for item in (raw,) if isinstance(raw, str) else raw:
        name, sep, value = item.partition("=")
        if sep and name.startswith(VAR_PREFIX):
            if value:
                into[name] = value
            else:
                into.pop(name, None)


def touch(t: Tracker, m: Message) -> TrackedChannel | None:
    """The channel an event is about, created if this is the first we hear of it (we joined a
    running PBX); ``None`` for events without a channel or for a channel already hung up."""
    uid = m.get("Uniqueid")
    if not isinstance(uid, str) or not uid:
        return None
    ch = t.channels.get(uid)
    if ch is None:
        if uid in t.gone:
            return None
        name = m.get("Channel")
        if not isinstance(name, str):
            return None
        linkedid = m.get("Linkedid")
        if not isinstance(linkedid, str) or not linkedid:
            linkedid = uid
        ch = open_channel(t, m, uid, name, linkedid, wait_for_number=m.get("Event") == "Newchannel")
    vars_raw = m.get("ChanVariable")
    if vars_raw is not None:
        read_vars(vars_raw, ch.vars)
    context, exten = m.get("Context"), m.get("Exten")
    if isinstance(context, str) and isinstance(exten, str):
        ch.context, ch.exten = context, exten
    num = m.get("CallerIDNum")
    if isinstance(num, str) and num != _UNKNOWN:
        ch.number = num
        cname = m.get("CallerIDName")
        if isinstance(cname, str) and cname != _UNKNOWN:
            ch.cname = cname
    call = t.call_map.get(ch.linkedid)
    if call is not None and not call.announced and (ch.number or m.get("Event") != "Newchannel"):
        announce(t, call, ch.number, ch.cname)
    return ch


def open_channel(t: Tracker, m: Message, uid: str, name: str, linkedid: str, *,
                 wait_for_number: bool = False, rebuilt: bool = False) -> TrackedChannel:
    """A new channel, and its call when it is the first one of its Linkedid.

    A channel that Originate creates (e.g. ``Local/s@ccs-ivr-…;1``) is announced by Newchannel
    with ``CallerIDNum: <unknown>``; the Originate's caller id follows in NewCallerid
    (recording agi/asterisk-22-recorded/01). With ``wait_for_number`` CallStarted waits for it,
    or for any other event of the call (see ``touch``). A call ``rebuilt`` by a resync gets no
    CallStarted: it began before this tracker saw it (a consumer may have seen it begin)."""
    ch = TrackedChannel(uid, name, linkedid)
    state = m.get("ChannelStateDesc")
    ch.state = state if isinstance(state, str) else ""
    call = t.call_map.get(linkedid)
    if call is None:
        call = t.call_map[linkedid] = Call(linkedid, t.ts(m))
        call.first_channel = name
        call.announced = rebuilt
        number = clean_number(m.get("CallerIDNum"))
        if number or not wait_for_number:
            announce(t, call, number, clean_number(m.get("CallerIDName")))
    call.channels[uid] = ch
    t.channels[uid] = ch
    return ch


def announce(t: Tracker, call: Call, number: str, name: str) -> None:
    """Publish the call's CallStarted (once), keyed by its Linkedid like every call event."""
    if call.announced:
        return
    call.announced = True
    t.emit(CallStarted(ts=call.started, linkedid=call.linkedid, channel=call.first_channel,
                       caller_number=number, caller_name=name))


def call_vars(call: Call) -> dict[str, str]:
    merged: dict[str, str] = {}
    for ch in call.channels.values():
        merged.update(ch.vars)
    return merged


def on_newchannel(t: Tracker, m: Message) -> None:
    touch(t, m)


def on_newstate(t: Tracker, m: Message) -> None:
    ch = touch(t, m)
    if ch is not None:
        state = m.get("ChannelStateDesc")
        if isinstance(state, str):
            ch.state = state


def on_channel_event(t: Tracker, m: Message) -> None:
    touch(t, m)


def on_varset(t: Tracker, m: Message) -> None:
    var = m.get("Variable")
    if not isinstance(var, str) or not var.startswith(VAR_PREFIX):
        return
    ch = touch(t, m)
    if ch is not None:
        value = m.get("Value")
        if isinstance(value, str) and value:
            ch.vars[var] = value
        else:
            ch.vars.pop(var, None)


def on_dial_end(t: Tracker, m: Message) -> None:
    touch(t, m)
    status = m.get("DialStatus")
    dest = m.get("DestUniqueid")
    if status != "ANSWER" and isinstance(dest, str):
        seg = t.member_channels.get(dest)
        if seg is not None:
            for interface, uid in list(seg.ringing.items()):
                if uid == dest:
                    t.stop_ringing(seg, interface)


def on_bridge_enter(t: Tracker, m: Message) -> None:
    ch = touch(t, m)
    bridge = m.get("BridgeUniqueid")
    if ch is not None and isinstance(bridge, str):
        ch.bridge = bridge


def on_bridge_leave(t: Tracker, m: Message) -> None:
    uid = m.get("Uniqueid")
    ch = t.channels.get(uid) if isinstance(uid, str) else None
    if ch is None:
        return
    if ch.bridge == m.get("BridgeUniqueid"):
        ch.bridge = ""
    seg = t.member_channels.get(ch.uniqueid)
    if seg is not None and seg.member_uid == ch.uniqueid and seg.redirect_to is not None:
        redirects.confirm(t, seg, t.ts(m))  # the member leaves too: it was a Redirect
    call = t.call_map.get(ch.linkedid)
    if call is None or ch.hangup_requested:
        return
    for seg in call.segments.values():
        if seg.caller_uid == ch.uniqueid:
            redirects.mark(seg, m, t.ts(m))


def on_hangup_request(t: Tracker, m: Message) -> None:
    t.sees_hangup_requests = True
    uid = m.get("Uniqueid")
    ch = t.channels.get(uid) if isinstance(uid, str) else None
    if ch is not None:
        ch.hangup_requested = True


def on_hangup(t: Tracker, m: Message) -> None:
    uid = m.get("Uniqueid")
    if not isinstance(uid, str):
        return
    ch = t.channels.pop(uid, None)
    t.remember_gone(uid)
    seg = t.member_channels.pop(uid, None)
    if seg is not None:
        if seg.member_uid == uid and seg.redirect_to is not None:
            redirects.confirm(t, seg, t.ts(m))
        for interface, ring_uid in list(seg.ringing.items()):
            if ring_uid == uid:
                t.stop_ringing(seg, interface)
        if seg.member_uid == uid and seg.state == TALKING:
            t.release_member(seg, t.ts(m))
    if ch is None:
        return
    call = t.call_map.get(ch.linkedid)
    if call is None:
        return
    call.channels.pop(uid, None)
    t.drop_caller(call, uid)
    if not call.channels:
        end_call(t, call, t.ts(m))


def end_call(t: Tracker, call: Call, ts: float, reason: str = "") -> None:
    announce(t, call, "", "")  # a call that ended before it had a number still started
    t.call_map.pop(call.linkedid, None)
    for uid in list(call.channels):
        t.channels.pop(uid, None)
        t.remember_gone(uid)
        t.drop_caller(call, uid)
    for seg in list(call.segments.values()):
        if seg.redirect_to is not None:
            redirects.confirm(t, seg, ts)
        t.close_segment(call, seg, ts)
    if not reason:
        reason = call.reason or ("abandoned" if call.abandoned else "hangup")
    t.emit(CallEnded(ts=ts, linkedid=call.linkedid, reason=reason, talk_time=call.talk_time,
                     queue=call.queue, interface=call.interface))


def on_blind_transfer(t: Tracker, m: Message) -> None:
    if m.get("Result", "Success") != "Success":
        return
    linkedid = m.get("TransfereeLinkedid") or m.get("TransfererLinkedid")
    if not isinstance(linkedid, str):
        uid = m.get("TransfereeUniqueid")
        ch = t.channels.get(uid) if isinstance(uid, str) else None
        if ch is None:
            return
        linkedid = ch.linkedid
    seg = t.member_channels.get(m.get("TransfererUniqueid", ""))  # type: ignore[arg-type]
    if seg is not None:
        redirects.cancel(seg)
    exten, ctx = m.get("Extension", ""), m.get("Context", "")
    t.emit(CallTransferred(
        ts=t.ts(m), linkedid=linkedid, how="blind",
        from_queue=seg.queue if seg else "", from_interface=seg.interface if seg else "",
        target=f"{exten}@{ctx}" if exten else "",
    ))


def on_attended_transfer(t: Tracker, m: Message) -> None:
    if m.get("Result", "Success") != "Success":
        return
    linkedid = m.get("OrigTransfererLinkedid") or m.get("TransfereeLinkedid")
    if not isinstance(linkedid, str):
        return
    seg = t.member_channels.get(m.get("OrigTransfererUniqueid", ""))  # type: ignore[arg-type]
    if seg is not None:
        redirects.cancel(seg)
    target = m.get("SecondTransfererConnectedLineNum") or m.get("TransferTargetChannel") or ""
    t.emit(CallTransferred(
        ts=t.ts(m), linkedid=linkedid, how="attended",
        from_queue=seg.queue if seg else "", from_interface=seg.interface if seg else "",
        target=clean_number(target),
    ))
