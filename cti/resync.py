"""The full picture the PBX gives after a (re)connect: the answers of the status list actions.

Each list is collected up to its *Complete event under one timeout; the tracker rebuilds calls,
queues and members from them (cti.snapshot.PbxSnapshot.from_messages).
"""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cti.errors import ActionFailed

# In this order: queues and members first, then channels; Status adds bridge ids and seconds.
RESYNC_ACTIONS = ("QueueStatus", "CoreShowChannels", "Status")

Send = Callable[..., Awaitable[Any]]
Fields = dict[str, str | list[str]]


@dataclass
class ResyncResult:
    lists: dict[str, list[Fields]] = field(default_factory=dict)
    taken_at: float = field(default_factory=time.time)

    @property
    def messages(self) -> list[Fields]:
        """Every list item of every answer, in the order the actions were sent."""
        return [item for name in RESYNC_ACTIONS for item in self.lists.get(name, [])]


def plain(message: Mapping[str, Any]) -> Fields:
    """A panoramisk Message as a plain dict in wire order, without panoramisk's `content` key."""
    return {key: value for key, value in message.items() if key != "content"}


async def collect_list(send: Send, action: str, timeout: float) -> list[Fields]:
    answer = await send({"Action": action}, timeout=timeout, as_list=None)
    messages = answer if isinstance(answer, list) else [answer]
    head = messages[0] if messages else {}
    if head.get("Response") not in (None, "Success"):
        raise ActionFailed(action, str(head.get("Message", "")))
    return [plain(m) for m in messages if "Event" in m]


async def collect_snapshot(send: Send, timeout: float) -> ResyncResult:
    result = ResyncResult()
    for action in RESYNC_ACTIONS:
        result.lists[action] = await collect_list(send, action, timeout)
    return result
