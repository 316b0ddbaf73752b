"""Typed, frozen domain events: what the rest of the server learns from the PBX.

The tracker in ``cti/`` is the only producer; consumers (Redis, Socket.IO, history) never see raw AMI.
Times are seconds (floats) in every event, whatever unit the PBX used on the wire.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


class DomainEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: str
    ts: float = Field(description="Wall-clock epoch seconds: the PBX Timestamp when present, "
                      "else this server's clock at reception (never a monotonic clock).")


class CallStarted(DomainEvent):
    kind: Literal["call_started"] = "call_started"
    linkedid: str
    channel: str
    caller_number: str = ""
    caller_name: str = ""


class CallOffered(DomainEvent):
    """The caller joined a queue (QueueCallerJoin)."""

    kind: Literal["call_offered"] = "call_offered"
    queue: str
    linkedid: str
    channel: str
    uniqueid: str
    position: int
    caller_number: str = ""
    caller_name: str = ""
    vars: dict[str, str] = Field(default_factory=dict)
    rebuilt: bool = Field(False, description="Emitted by a resync for a call the tracker "
                          "rebuilt from the PBX's status lists (it did not see it begin): a "
                          "consumer that already knows the call must not count it again.")


class AgentRinging(DomainEvent):
    """A member's phone rings for a queue call: the screen-pop trigger."""

    kind: Literal["agent_ringing"] = "agent_ringing"
    queue: str
    interface: str
    member_name: str = ""
    linkedid: str
    channel: str
    member_channel: str = ""
    caller_number: str = ""
    caller_name: str = ""
    vars: dict[str, str] = Field(default_factory=dict)


class AgentRingNoAnswer(DomainEvent):
    kind: Literal["agent_ring_no_answer"] = "agent_ring_no_answer"
    queue: str
    interface: str
    linkedid: str
    ring_time: float = Field(description="Seconds (the wire carries milliseconds).")


class CallAnswered(DomainEvent):
    kind: Literal["call_answered"] = "call_answered"
    queue: str
    interface: str
    member_name: str = ""
    linkedid: str
    channel: str
    hold_time: float
    ring_time: float
    rebuilt: bool = Field(False, description="Emitted by a resync: the PBX's lists show this "
                          "call talking and the tracker had not seen it answered (a cold start "
                          "of this server, or the answer came while the link was down). "
                          "hold_time/ring_time are 0 (unknown: the AgentCompleted carries the "
                          "PBX's HoldTime) and ts is estimated from the member channel's age. A "
                          "consumer that already saw the answer must not count it again.")


class AgentCompleted(DomainEvent):
    """The member's part of a queue call is over (AgentComplete)."""

    kind: Literal["agent_completed"] = "agent_completed"
    queue: str
    interface: str
    linkedid: str
    reason: str
    hold_time: float
    talk_time: float


class CallEnded(DomainEvent):
    """The last channel of a call hung up (or the PBX no longer knows the call: reason 'lost')."""

    kind: Literal["call_ended"] = "call_ended"
    linkedid: str
    reason: str = Field(description="caller | agent | transfer | abandoned | timeout | hangup "
                        "| lost")
    talk_time: float = 0.0
    queue: str = ""
    interface: str = ""


class CallAbandoned(DomainEvent):
    """The caller hung up (or was hung up) while waiting in the queue.

    Asterisk sends QueueCallerAbandon for a Queue() timeout and a Redirect of a waiting caller
    too; the tracker tells them apart (see CallerLeftQueue.reason) and emits this only for a
    real abandon."""

    kind: Literal["call_abandoned"] = "call_abandoned"
    queue: str
    linkedid: str
    channel: str
    position: int
    wait: float


class CallerLeftQueue(DomainEvent):
    kind: Literal["caller_left_queue"] = "caller_left_queue"
    queue: str
    linkedid: str
    channel: str
    reason: str = Field("", description="'' (answered; hung up: see CallAbandoned; or gone "
                        "while the link was down) | timeout (Queue()'s timeout) | redirect "
                        "(moved elsewhere by an AMI Redirect, see CallTransferred) | exit "
                        "(reserved: a key press or leavewhenempty; app_queue sends no "
                        "QueueCallerAbandon for those, so they show as '')")


class CallTransferred(DomainEvent):
    kind: Literal["call_transferred"] = "call_transferred"
    linkedid: str
    how: str = Field(description="blind | attended | redirect")
    from_queue: str = ""
    from_interface: str = ""
    target: str = Field("", description="exten@context, or the queue the caller was moved to")


class MemberState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    queue: str
    interface: str
    name: str = ""
    state_interface: str = ""
    membership: str = ""
    penalty: int = 0
    status: int = 0
    status_text: str = "unknown"
    paused: bool = False
    paused_reason: str = ""
    in_call: bool = False
    calls_taken: int = 0
    last_call: float = 0.0


class MemberAdded(DomainEvent):
    kind: Literal["member_added"] = "member_added"
    member: MemberState


class MemberRemoved(DomainEvent):
    kind: Literal["member_removed"] = "member_removed"
    queue: str
    interface: str


class MemberStateChanged(DomainEvent):
    kind: Literal["member_state_changed"] = "member_state_changed"
    member: MemberState


class OriginateResult(DomainEvent):
    kind: Literal["originate_result"] = "originate_result"
    action_id: str
    outcome: str = Field(description="answered | busy | congestion | no_answer | failed "
                         "(cti.originate_outcomes, the one table for the project)")
    reason_code: int
    channel: str = ""
    uniqueid: str = ""


class UserEventReceived(DomainEvent):
    kind: Literal["user_event"] = "user_event"
    name: str
    fields: dict[str, str] = Field(default_factory=dict)


# The UserEvent our IVR sends (``UserEvent(CcsIdentified,Account: <number>)`` on the caller's
# channel) as soon as it knows who calls, long before the queue: the screen pop looks the card
# up from then on, so it is ready when an agent's phone rings (channelvars only reach the AMI
# with the queue's own events).
IVR_IDENTIFIED = "CcsIdentified"


class PbxRestarting(DomainEvent):
    kind: Literal["pbx_restarting"] = "pbx_restarting"
    restart: bool


class PbxBooted(DomainEvent):
    kind: Literal["pbx_booted"] = "pbx_booted"
    uptime: float = 0.0


class ReadinessRequested(DomainEvent):
    """An agent asked for a readiness change; the PBX has not confirmed it yet (``pending``)."""

    kind: Literal["readiness_requested"] = "readiness_requested"
    agent_id: int
    state: str = Field(description="ready | not_ready | logged_out")
    reason: str | None = None


class ReadinessFailed(DomainEvent):
    """The PBX refused the change (or could not be asked); nothing of it was left applied."""

    kind: Literal["readiness_failed"] = "readiness_failed"
    agent_id: int
    state: str
    reason: str | None = None
    error: str = Field(description="Stable error id: pbx-refused | pbx-unavailable")
    message: str = Field(description="What the PBX answered.")


class ReadinessApplied(DomainEvent):
    """The PBX took every action of the change (its confirmation events follow)."""

    kind: Literal["readiness_applied"] = "readiness_applied"
    agent_id: int
    state: str
    reason: str | None = None


class WrapUpChanged(DomainEvent):
    """A wrap-up started, was extended or its return state chosen (``until`` set), or ended."""

    kind: Literal["wrapup_changed"] = "wrapup_changed"
    agent_id: int
    until: float | None = Field(None, description="Epoch seconds; None: the wrap-up ended.")
    extended: bool = False
    then_state: str | None = None
    then_reason: str | None = None
    call_id: str | None = None


class AgentStateChanged(DomainEvent):
    """The projector wrote a new view of the agent (``features.agents.schemas.AgentView`` as
    JSON): the notifier emits it as the Socket.IO ``state`` event."""

    kind: Literal["agent_state_changed"] = "agent_state_changed"
    agent_id: int
    view: dict[str, Any]


AnyDomainEvent = Annotated[
    Union[
        CallStarted, CallOffered, AgentRinging, AgentRingNoAnswer, CallAnswered, AgentCompleted,
        CallEnded, CallAbandoned, CallerLeftQueue, CallTransferred, MemberAdded, MemberRemoved,
        MemberStateChanged, OriginateResult, UserEventReceived, PbxRestarting, PbxBooted,
        ReadinessRequested, ReadinessFailed, ReadinessApplied, WrapUpChanged,
        AgentStateChanged,
    ],
    Field(discriminator="kind"),
]
