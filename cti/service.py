"""Glue for one PBX: the AMI connection feeding the tracker, actions, and the re-apply of
intended readiness after every resync.

Asterisk forgets pauses and dynamic members when it restarts (persistentmembers = no, recording
10_restart). After every resync one serialized worker compares what agents want (the intents:
``IntendedMembership`` in memory, or the durable source set with ``use_intents``) with the
tracker's *current* model and sends QueueAdd / QueuePause where they differ. The worker runs one
round at a time and waits until the tracker shows what it sent before it plans again, so two
resyncs in a row (the Login's and the FullyBooted's) re-apply once. It runs only while
``is_leader()`` says so (one re-applier per PBX among server processes).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
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
    state_interface: str = ""

    def satisfied_by(self, member: MemberState | None) -> bool:
        if member is None:
            return not self.dynamic  # a static member the PBX lacks is not ours to add
        return member.paused == self.paused and (not self.paused
                                                 or member.paused_reason == self.reason)


def plan(intents: Iterable[Intent], members: Mapping[tuple[str, str], MemberState],
         queues: Iterable[str]) -> list[tuple[Intent, Action]]:
    """Actions that bring the PBX (as ``members`` shows it) to the intents."""
    known_queues = set(queues)
    actions: list[tuple[Intent, Action]] = []
    for intent in intents:
        if intent.queue not in known_queues:
            continue
        member = members.get((intent.queue, intent.interface))
        if member is None:
            if intent.dynamic:
                actions.append((intent, queue_add(
                    intent.queue, intent.interface, member_name=intent.member_name,
                    penalty=intent.penalty, paused=intent.paused, reason=intent.reason,
                    state_interface=intent.state_interface)))
        elif not intent.satisfied_by(member):
            actions.append((intent, queue_pause(intent.interface, intent.paused,
                                                queue=intent.queue, reason=intent.reason)))
    return actions


class IntendedMembership:
    """Which interfaces should be in which queues, paused or not and why (in memory)."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], Intent] = {}

    def join(self, queue: str, interface: str, *, member_name: str = "", penalty: int = 0,
             paused: bool = False, reason: str = "", dynamic: bool = True,
             state_interface: str = "") -> None:
        self._items[(queue, interface)] = Intent(queue, interface, member_name, penalty, paused,
                                                 reason, dynamic, state_interface)

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
        actual = {(m.queue, m.interface): m for m in members}
        return [action for _intent, action in plan(self._items.values(), actual, queues)]


IntentSource = Callable[[], Awaitable[list[Intent]]]


class CtiService:
    def __init__(self, settings: AmiSettings, publish: Callable[[DomainEvent], None], *,
                 host: str | None = None, port: int | None = None,
                 intended: IntendedMembership | None = None,
                 is_leader: Callable[[], bool] | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        # ``clock``: the tracker's wall clock (waits are read against it); tests driving a
        # time-compressed simulator pass its clock (``sim.clock.now``).
        self.tracker = Tracker(publish, clock=clock) if clock is not None else Tracker(publish)
        self.intended = intended or IntendedMembership()
        self.connection = AmiConnection(settings, on_event=self._on_event, on_resync=self._on_resync,
                                        on_link_lost=self.tracker.on_link_lost, host=host, port=port)
        self.actions = AmiActions(self.connection)
        self._settle_timeout = settings.action_timeout
        self._intent_source: IntentSource | None = None
        self._is_leader: Callable[[], bool] = is_leader or (lambda: True)
        self._resync_listeners: list[Callable[[], None]] = []
        self.reapplied = 0  # actions the re-apply worker sent and the PBX took
        self.reapply_rounds = 0
        self.reapplying = False  # a round is running
        # time.monotonic() when the last re-apply round was done: the PBX is as agents want it
        self.reapplied_at: float | None = None
        self._reapply_wanted = asyncio.Event()
        self._worker: asyncio.Task | None = None

    async def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._reapply_worker(),
                                                             name="cti-reapply")
        await self.connection.start()

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        await self.connection.stop()

    def status(self) -> dict[str, Any]:
        return {**self.connection.status(), "stale_model": self.tracker.stale,
                "reapplied": self.reapplied}

    # -- who decides what is re-applied ----------------------------------------------------
    def use_intents(self, source: IntentSource, is_leader: Callable[[], bool] | None = None) -> None:
        """Re-apply what ``source()`` returns (the durable intents) instead of ``intended``."""
        self._intent_source = source
        if is_leader is not None:
            self._is_leader = is_leader

    def request_reapply(self) -> None:
        """Plan and apply once more (after a resync; in a process that just became leader)."""
        self._reapply_wanted.set()

    def add_resync_listener(self, listener: Callable[[], None]) -> None:
        self._resync_listeners.append(listener)

    def remove_resync_listener(self, listener: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._resync_listeners.remove(listener)

    # -- actions that keep the in-memory intent (written only once the PBX took them) ----
    async def join_queue(self, queue: str, interface: str, **kwargs: Any) -> None:
        await self.actions.queue_add(queue, interface, **kwargs)
        self.intended.join(queue, interface, **kwargs)

    async def leave_queue(self, queue: str, interface: str) -> None:
        await self.actions.queue_remove(queue, interface)
        self.intended.leave(queue, interface)

    async def set_paused(self, interface: str, paused: bool, reason: str = "",
                         queue: str | None = None) -> None:
        await self.actions.queue_pause(interface, paused, queue=queue, reason=reason)
        self.intended.pause(interface, paused, reason, queue)

    # -- connection callbacks --------------------------------------------------------------
    def _on_event(self, message: Any) -> None:
        self.tracker.apply(message)

    def _on_resync(self, result: ResyncResult) -> None:
        snapshot = PbxSnapshot.from_messages(result.messages, all_queues=True)
        self.tracker.resync(snapshot)
        for listener in tuple(self._resync_listeners):
            try:
                listener()
            except Exception:
                log.exception("a resync listener failed")
        self._reapply_wanted.set()

    # -- the one re-apply worker -----------------------------------------------------------
    def _members(self) -> dict[tuple[str, str], MemberState]:
        return {(q.name, i): m.state for q in self.tracker.queue_map.values()
                for i, m in q.members.items()}

    async def _reapply_worker(self) -> None:
        while True:
            await self._reapply_wanted.wait()
            self._reapply_wanted.clear()
            self.reapplying = True
            try:
                await self._reapply_round()
            except asyncio.CancelledError:
                raise
            except Exception:  # PostgreSQL down...: the next resync or request tries again
                log.exception("re-applying the intended readiness failed")
            finally:
                self.reapplying = False

    async def _reapply_round(self) -> None:
        if not self._is_leader() or self.tracker.stale or not self.connection.logged_in:
            return  # the next resync (or the new leader) asks again
        intents = (await self._intent_source() if self._intent_source is not None
                   else self.intended.items())
        # Planned from the tracker's model as it is now (not from a snapshot that actions of
        # an earlier round may have made stale).
        todo = plan(intents, self._members(), self.tracker.queue_map)
        sent: list[Intent] = []
        for intent, action in todo:
            try:
                await self.actions.run(action)
                self.reapplied += 1
                sent.append(intent)
            except MemberAlreadyInQueue:
                continue
            except CtiError as exc:
                log.warning("re-applying %s failed: %s", action["Action"], type(exc).__name__)
        await self._settle(sent)
        self.reapply_rounds += 1
        self.reapplied_at = time.monotonic()

    async def _settle(self, sent: list[Intent]) -> None:
        """Wait (bounded) until the tracker shows what was sent: an event may trail its answer,
        and the next round must not send it again."""
        deadline = time.monotonic() + self._settle_timeout
        while sent and time.monotonic() < deadline:
            members = self._members()
            if all(i.satisfied_by(members.get((i.queue, i.interface))) for i in sent):
                return
            await asyncio.sleep(0.01)
