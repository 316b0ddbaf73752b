"""The one reading of an OriginateResponse ``Reason`` for the whole project.

Asterisk reports the fate of an Originate as an AST_CONTROL_* code. The tracker (domain event
``OriginateResult``) and ``AmiActions.originate`` (its ``OriginateReply``) both use this table, so
a campaign, a click-to-call and a report never disagree about one call.

0 is what Asterisk says when the channel could not be created: recording 07 shows it for an
extension that does not exist, and a trunk that is down says the same, so it cannot be told
apart from any other failure to dial. 1 means the far end hung up before answering (rejected, or
gave up while ringing): for a caller that is "not answered", and it is retried like one.
"""
from __future__ import annotations

ANSWERED, BUSY, CONGESTION, NO_ANSWER, FAILED = "answered", "busy", "congestion", "no_answer", "failed"

OUTCOMES = (ANSWERED, BUSY, CONGESTION, NO_ANSWER, FAILED)

_BY_REASON = {4: ANSWERED, 5: BUSY, 8: CONGESTION, 3: NO_ANSWER, 1: NO_ANSWER, 0: FAILED}


def originate_outcome(reason: int | None) -> str:
    """answered | busy | congestion | no_answer | failed for an OriginateResponse Reason."""
    if reason is None:
        return FAILED
    return _BY_REASON.get(reason, FAILED)
