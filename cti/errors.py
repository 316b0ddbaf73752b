"""Domain errors of the CTI layer; agent_api maps them to HTTP, nothing here knows about HTTP."""
from __future__ import annotations


class CtiError(Exception):
    """Base of every CTI failure."""


class NotConnected(CtiError):
    """No logged-in AMI link right now."""


class LinkLost(CtiError):
    """The AMI link dropped before the action was answered; it is NOT re-sent (it may have run)."""


class ActionTimeout(CtiError):
    """The PBX did not answer within the action timeout."""


class ActionFailed(CtiError):
    """The PBX answered with an error this module has no narrower class for."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action}: {message}")
        self.action = action
        self.message = message


class MemberAlreadyInQueue(ActionFailed):
    pass


class NoSuchQueue(ActionFailed):
    pass


class MemberNotFound(ActionFailed):
    pass


class MemberNotDynamic(ActionFailed):
    pass


class InvalidPenalty(ActionFailed):
    pass


class NoSuchChannel(ActionFailed):
    pass


class OriginateFailed(ActionFailed):
    pass


class LoginRefused(CtiError):
    pass


# Asterisk 22's messages (recording 05_member_management and the manager sources) → error class.
_BY_MESSAGE: list[tuple[str, type[ActionFailed]]] = [
    ("already there", MemberAlreadyInQueue),
    ("no such queue", NoSuchQueue),
    ("interface not found", MemberNotFound),
    ("not there", MemberNotFound),
    ("member not dynamic", MemberNotDynamic),
    ("invalid interface, queuename or penalty", InvalidPenalty),
    ("no such channel", NoSuchChannel),
    ("channel specified does not exist", NoSuchChannel),
    ("channel not found", NoSuchChannel),
    ("originate failed", OriginateFailed),
]


def error_for(action: str, message: str) -> ActionFailed:
    lowered = message.lower()
    for fragment, cls in _BY_MESSAGE:
        if fragment in lowered:
            return cls(action, message)
    return ActionFailed(action, message)
