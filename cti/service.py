"""Glue for one PBX: the AMI connection feeding the tracker, actions, and intended readiness.

Asterisk forgets pauses and dynamic members when it restarts (persistentmembers = no, recording
10_restart). The service keeps what agents asked for (`IntendedMembership`) and, after every
resync, re-issues QueueAdd / QueuePause where the PBX's truth differs from it.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cti.actions import AmiActions, Action, queue_add, queue_pause
from cti.connection import AmiConnection
from cti.errors import CtiError, MemberAlreadyInQueue
from cti.resync import ResyncResult
from cti.settings import AmiSettings
from cti.snapshot import PbxSnapshot
from cti.tracker import Tracker
from state.events import DomainEvent, MemberState

log = logging.getLogger(__name__)


@dataclass
class Intent:
    queue: str
    interface: str
    member_name: str = ""
    penalty: int = 0
    paused: bool = False
    reason: str = ""
    dynamic: bool = True  # False: a static member (queues.conf); only its pause is ours


class IntendedMembership:
    """Which interfaces should be in which queues, paused or not and why."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], Intent] = {}

    def join(self, queue: str, interface: str, *, member_name: str = "", penalty: int = 0,
             paused: bool = False, reason: str = "", dynamic: bool = True) -> None:
        self._items[(queue, interface)] = Intent(queue, interface, member_name, penalty, paused,
                                                 reason, dynamic)

    def leave(self, queue: str, interface: str) -> None:
        self._items.pop((queue, interface), None)

    def pause(self, interface: str, paused: bool, reason: str = "", queue: str | None = None) -> None:
        if queue is not None and (queue, interface) not in self._items:
            # a static member (queues.conf): we only own its pause
            self._items[(queue, interface)] = Intent(queue, interface, dynamic=False)
        for intent in self._items.values():
            if intent.interface == interface and (queue is None or intent.queue == queue):
                intent.paused, intent.reason = paused, reason if paused else ""

    def items(self) -> list[Intent]:
        return list(self._items.values())

    def plan(self, members: Iterable[MemberState], queues: Iterable[str]) -> list[Action]:
        """Actions that bring the PBX (as the snapshot shows it) back to the intent."""
        known_queues = set(queues)
        actual = {(m.queue, m.interface): m for m in members}
        actions: list[Action] = []
        for intent in self._items.values():
            if intent.queue not in known_queues:
                continue
            member = actual.get((intent.queue, intent.interface))
            if member is None:
                if intent.dynamic:
                    actions.append(queue_add(intent.queue, intent.interface,
                                             member_name=intent.member_name, penalty=intent.penalty,
                                             paused=intent.paused, reason=intent.reason))
            elif member.paused != intent.paused or (intent.paused and member.paused_reason != intent.reason):
                actions.append(queue_pause(intent.interface, intent.paused, queue=intent.queue,
                                           reason=intent.reason))
        return actions


class CtiService:
    def __init__(self, settings: AmiSettings, publish: Callable[[DomainEvent], None], *,
                 host: str | None = None, port: int | None = None,
                 intended: IntendedMembership | None = None) -> None:
        self.tracker = Tracker(publish)
        self.intended = intended or IntendedMembership()
        self.connection = AmiConnection(settings, on_event=self._on_event, on_resync=self._on_resync,
                                        on_link_lost=self.tracker.on_link_lost, host=host, port=port)
        self.actions = AmiActions(self.connection)
        self.reapplied = 0
        # time.monotonic() when the last resync's plan was done: the PBX is as agents want it
        self.reapplied_at: float | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        await self.connection.start()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.connection.stop()

    def status(self) -> dict[str, Any]:
        return {**self.connection.status(), "stale_model": self.tracker.stale}

    # -- readiness: the agent's wish goes to the intent first, then to the PBX ---------------
    async def join_queue(self, queue: str, interface: str, **kwargs: Any) -> None:
        self.intended.join(queue, interface, **kwargs)
        await self.actions.queue_add(queue, interface, **kwargs)

    async def leave_queue(self, queue: str, interface: str) -> None:
        self.intended.leave(queue, interface)
        await self.actions.queue_remove(queue, interface)

    async def set_paused(self, interface: str, paused: bool, reason: str = "",
                         queue: str | None = None) -> None:
        self.intended.pause(interface, paused, reason, queue)
        await self.actions.queue_pause(interface, paused, queue=queue, reason=reason)

    # -- connection callbacks --------------------------------------------------------------
    def _on_event(self, message: Any) -> None:
        self.tracker.apply(message)

    def _on_resync(self, result: ResyncResult) -> None:
        snapshot = PbxSnapshot.from_messages(result.messages, all_queues=True)
        self.tracker.resync(snapshot)
        plan = self.intended.plan(snapshot.members, snapshot.queues)
        if plan:
            task = asyncio.get_running_loop().create_task(self._reapply(plan))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self.reapplied_at = time.monotonic()

    async def _reapply(self, plan: list[Action]) -> None:
        for action in plan:
            try:
                await self.actions.run(action)
                self.reapplied += 1
            except MemberAlreadyInQueue:
                continue
            except CtiError as exc:
                log.warning("re-applying %s failed: %s", action["Action"], type(exc).__name__)
        self.reapplied_at = time.monotonic()
