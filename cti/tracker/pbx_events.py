"""PBX-wide events: OriginateResponse, UserEvent, FullyBooted, Shutdown."""
from __future__ import annotations

from typing import TYPE_CHECKING

from cti.amitext import ami_float, ami_int
from cti.originate_outcomes import originate_outcome
from state.events import OriginateResult, PbxBooted, PbxRestarting, UserEventReceived

if TYPE_CHECKING:
    from . import Message, Tracker


# Seconds a start estimate may move between two FullyBooted of one PBX run (Uptime is truncated
# to whole seconds, plus the time the event took to arrive).
RESTART_TOLERANCE = 2.0

_USER_EVENT_SKIP = frozenset({"Event", "Privilege", "Timestamp", "UserEvent", "ChanVariable"})


def on_originate_response(t: Tracker, m: Message) -> None:
    code = ami_int(m.get("Reason"))
    uid = m.get("Uniqueid")
    t.emit(OriginateResult(
        ts=t.ts(m), action_id=str(m.get("ActionID") or ""),
        outcome=originate_outcome(code), reason_code=code,
        channel=str(m.get("Channel") or ""),
        uniqueid=uid if isinstance(uid, str) and uid != "<unknown>" else "",
    ))


def on_user_event(t: Tracker, m: Message) -> None:
    fields = {k: v for k, v in m.items()
              if isinstance(v, str) and k not in _USER_EVENT_SKIP and not k.startswith("_")}
    t.emit(UserEventReceived(ts=t.ts(m), name=str(m.get("UserEvent") or ""), fields=fields))


def on_fully_booted(t: Tracker, m: Message) -> None:
    # Not a reason to forget anything: cacofonisk drops its calls here and loses live calls.
    # The connection layer answers a boot with a resync, which replaces the model.
    # Asterisk sends FullyBooted after every Login too (recordings 08b/08c), so only a start
    # later than the last one seen is a restart. The start is estimated on this server's clock
    # (Uptime is whole seconds, and a PBX Timestamp may come from a clock set differently).
    uptime = max(0.0, ami_float(m.get("Uptime")))
    started = t.clock() - uptime
    previous = t.pbx_started
    if previous is None or started > previous:
        t.pbx_started = started
    if previous is not None and started - previous > RESTART_TOLERANCE:
        t.emit(PbxBooted(ts=t.ts(m), uptime=uptime))


def on_shutdown(t: Tracker, m: Message) -> None:
    t.stale = True
    t.emit(PbxRestarting(ts=t.ts(m), restart=str(m.get("Restart", "")).lower() == "true"))
