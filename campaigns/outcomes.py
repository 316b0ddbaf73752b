"""What happened to one try of a robocall attempt, from what the PBX says.

Three sources, one vocabulary:
- the OriginateResponse (the tracker's ``OriginateResult``; its ``outcome`` comes from
  ``cti.originate_outcomes``, the one reading of ``Reason`` for the project): answered, or a dial
  result busy / no_answer / congestion / failed;
- the robocall context's ``UserEvent(CcsRobocall)`` (``Key``, ``Heard``, ``Amd``): what the
  listener did once answered (dialplans/robocall.conf sends exactly one per answered call, from
  its ``h`` extension when the callee hangs up first, so the hangup is covered too);
- the AstDB entry the dialplan writes for every ending (read back with DBGet after a crash):
  ``dial:<DIALSTATUS>`` or ``answered:<key>:<heard>:<amd>``.

Final outcomes (the attempt is done): confirmed, operator, opted_out, heard. Retried per the
campaign's ``RetryRules`` (then done with that outcome): busy, no_answer, congestion, failed,
machine, hung_up.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cti.originate_outcomes import ANSWERED, BUSY, CONGESTION, FAILED, NO_ANSWER

CONFIRMED, OPERATOR, OPTED_OUT, HEARD, HUNG_UP, MACHINE = (
    "confirmed", "operator", "opted_out", "heard", "hung_up", "machine")
FINAL = frozenset({CONFIRMED, OPERATOR, OPTED_OUT, HEARD})
RETRIED = frozenset({BUSY, NO_ANSWER, CONGESTION, FAILED, MACHINE, HUNG_UP})
OUTCOMES = FINAL | RETRIED

USER_EVENT = "CcsRobocall"

# Dial's DIALSTATUS (the callee context's h extension) -> dial result. CANCEL: the Originate's
# Timeout hung the ringing ;1 up, i.e. nobody answered in time.
_DIALSTATUS = {"BUSY": BUSY, "NOANSWER": NO_ANSWER, "CANCEL": NO_ANSWER,
               "CONGESTION": CONGESTION, "CHANUNAVAIL": FAILED}


@dataclass(frozen=True, slots=True)
class Keys:
    """The listener's options of one campaign (``ListenerOptions``); None disables one."""
    confirm: str | None = "1"
    operator: str | None = "0"
    opt_out: str | None = "9"


@dataclass(frozen=True, slots=True)
class Report:
    """What the listener did on one answered try (UserEvent or AstDB); its outcome depends on
    the campaign's keys (``outcome``)."""
    key: str = ""
    heard: str = ""
    amd: str = ""

    def outcome(self, keys: Keys) -> str:
        return listener_outcome(self.key, self.heard, self.amd, keys)


def dial_result(originate_outcome: str) -> str | None:
    """None when the callee answered (the listener's report follows), else the dial result."""
    if originate_outcome == ANSWERED:
        return None
    return originate_outcome if originate_outcome in RETRIED else FAILED


def listener_outcome(key: str, heard: str, amd: str, keys: Keys) -> str:
    if amd.strip().upper() == "MACHINE":
        return MACHINE
    key = key.strip()
    if key:
        if key == keys.confirm:
            return CONFIRMED
        if key == keys.operator:
            return OPERATOR
        if key == keys.opt_out:
            return OPTED_OUT
    return HEARD if heard.strip().lower() == "yes" else HUNG_UP


def from_user_event(fields: Mapping[str, str]) -> tuple[int, int | None, Report] | None:
    """(attempt id, try, report) of a ``UserEvent(CcsRobocall)``; None for a malformed one."""
    attempt = _int(fields.get("Attempt", ""))
    if attempt is None:
        return None
    return attempt, _int(fields.get("Try", "")), Report(
        fields.get("Key", "").strip(), fields.get("Heard", "").strip(),
        fields.get("Amd", "").strip())


def from_astdb(value: str) -> str | Report | None:
    """What an AstDB entry records: a dial result, a listener's report, or None."""
    kind, _, rest = value.partition(":")
    if kind == "dial":
        return _DIALSTATUS.get(rest.strip().upper(), FAILED)
    if kind == "answered":
        key, _, tail = rest.partition(":")
        heard, _, amd = tail.partition(":")
        return Report(key.strip(), heard.strip(), amd.strip())
    return None


def action_id(attempt_id: int, try_no: int) -> str:
    """The Originate's ActionID: an OriginateResponse names its attempt and try by itself, even
    in a process that restarted since (nothing in memory is needed to match it)."""
    return f"ccs-robocall-{attempt_id}-{try_no}"


def parse_action_id(value: str) -> tuple[int, int] | None:
    head, _, rest = value.partition("ccs-robocall-")
    if head or not rest:
        return None
    attempt, _, try_no = rest.partition("-")
    a, t = _int(attempt), _int(try_no)
    return (a, t) if a is not None and t is not None else None


def _int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() else None
