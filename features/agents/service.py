"""``AgentService``: the agent's readiness and wrap-up, asked of the PBX through ``cti/``.

It never writes live state: it asks the PBX to act, records the intent once the PBX accepted,
and puts its own events (``ReadinessRequested`` / ``ReadinessFailed`` / ``ReadinessApplied`` /
``WrapUpChanged``) on the agents' Redis Stream, which the leader's projector consumes whichever
process served the request.

Public API (``AgentService(cti, directory, intents, wrapups, settings, emit, live,
is_leader=...)``; ``emit`` is ``AgentEventStream.add``):
- ``await view(agent_id) -> AgentView``: the live view (as the projector wrote it).
- ``await set_readiness(agent_id, state, reason=None) -> Pending``: ready / not_ready (reason
  from ``settings.pause_reasons``) / logged_out. All-or-nothing over the agent's queues: the
  queues are checked against the tracker's model first (nothing is sent when one is unknown),
  and when one action fails the ones that succeeded are undone. During a wrap-up, ready and
  not_ready are kept for its end (the agent stays in wrap-up).
- ``await end_wrapup(agent_id)``, ``await extend_wrapup(agent_id, seconds)``.
- ``await start_wrapup(interface, queue, call_id)`` (the leader, on ``AgentCompleted``) and
  ``await finish_wrapup(agent_id)`` (the leader's timer).
- ``attach()``: makes the CTI service re-apply the durable intents after every resync (once,
  serialized, only while ``is_leader()``); ``request_reapply()`` for a process that just
  became the leader.
Errors: subclasses of ``ReadinessError`` with a stable ``error_id`` (see below).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cti.actions import Action, queue_add, queue_pause, queue_remove
from cti.errors import (
    ActionFailed, ActionTimeout, CtiError, LinkLost, MemberAlreadyInQueue, MemberNotFound,
    NotConnected,
)
from cti.service import CtiService, Intent
from features.agents.directory import AgentDirectory
from features.agents.intent import (
    LOGGED_OUT_REASON, WRAPUP_REASON, AgentIntent, IntentQueue, IntentStore,
)
from features.agents.schemas import AgentView, Pending
from features.agents.settings import AgentsSettings
from features.agents.wrapup import WrapUpStore
from state.events import (
    DomainEvent, MemberState, ReadinessApplied, ReadinessFailed, ReadinessRequested,
    WrapUpChanged,
)
from state.live import LiveState
from state.models import Agent

log = logging.getLogger(__name__)

LOGIN_REASON = "login"  # members are added paused under this reason, then unpaused


class ReadinessError(Exception):
    error_id = "readiness-error"

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class UnknownAgent(ReadinessError):
    error_id = "agent-not-found"


class NoPhoneInterface(ReadinessError):
    error_id = "no-phone-interface"


class UnknownPauseReason(ReadinessError):
    error_id = "unknown-pause-reason"


class QueueUnknownToPbx(ReadinessError):
    error_id = "unknown-queue"


class PbxUnavailable(ReadinessError):
    error_id = "pbx-unavailable"


class PbxRefused(ReadinessError):
    error_id = "pbx-refused"


class NoWrapUp(ReadinessError):
    error_id = "no-wrap-up"


class WrapUpAlreadyExtended(ReadinessError):
    error_id = "wrap-up-already-extended"


class WrapUpExtensionTooLong(ReadinessError):
    error_id = "wrap-up-extension-too-long"


class DispositionRequired(ReadinessError):
    error_id = "disposition-required"


@dataclass(frozen=True)
class Step:
    action: Action
    undo: Action | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def plan_change(agent: Agent, state: str, reason: str,
                members: dict[str, MemberState]) -> tuple[list[Step], tuple[IntentQueue, ...]]:
    """The steps that take the agent's members (``members``: queue -> the agent's member) to
    ``state``, each with its undo, and the queues of the resulting intent. Adds come first,
    paused, so that no call rings before the last queue is joined."""
    assert agent.interface
    interface, adds, pauses = agent.interface, [], []
    seats = []
    for seat in agent.queues:
        member = members.get(seat.queue)
        static = member is not None and member.membership == "static"
        seats.append(IntentQueue(seat.queue, seat.penalty, not static,
                                 member.state_interface if member and member.state_interface
                                 != interface else ""))
        if state == "logged_out":
            if member is None:
                continue
            if not static:
                adds.append(Step(queue_remove(seat.queue, interface), queue_add(
                    seat.queue, interface, member_name=member.name, penalty=member.penalty,
                    paused=member.paused, reason=member.paused_reason,
                    state_interface=member.state_interface if member.state_interface
                    != interface else "")))
            elif not (member.paused and member.paused_reason == LOGGED_OUT_REASON):
                pauses.append(_pause(seat.queue, interface, True, LOGGED_OUT_REASON, member))
            continue
        paused = state == "not_ready"
        want_reason = reason if paused else ""
        if member is None:
            adds.append(Step(queue_add(seat.queue, interface, member_name=agent.full_name,
                                       penalty=seat.penalty, paused=True,
                                       reason=want_reason or LOGIN_REASON),
                             queue_remove(seat.queue, interface)))
            if not paused:
                pauses.append(Step(queue_pause(interface, False, queue=seat.queue), None))
        elif member.paused != paused or (paused and member.paused_reason != want_reason):
            pauses.append(_pause(seat.queue, interface, paused, want_reason, member))
    return adds + pauses, tuple(seats)


def _pause(queue: str, interface: str, paused: bool, reason: str, old: MemberState) -> Step:
    return Step(queue_pause(interface, paused, queue=queue, reason=reason),
                queue_pause(interface, old.paused, queue=queue,
                            reason=old.paused_reason if old.paused else ""))


class AgentService:
    def __init__(self, cti: CtiService | None, directory: AgentDirectory, intents: IntentStore,
                 wrapups: WrapUpStore, settings: AgentsSettings,
                 emit: Callable[[DomainEvent], Awaitable[None]], live: LiveState, *,
                 is_leader: Callable[[], bool] = lambda: True,
                 disposition_of: Callable[[str, int], Awaitable[str | None]] | None = None,
                 ) -> None:
        self.cti = cti
        # (call id, agent id) -> the disposition the agent gave the call, if any.
        self._disposition_of = disposition_of
        self.live = live
        self.directory = directory
        self.intents = intents
        self.wrapups = wrapups
        self.settings = settings
        self._emit = emit
        self.is_leader = is_leader
        self._locks: dict[int, asyncio.Lock] = {}
        self.compensations = 0  # undo actions sent after a failed multi-queue change

    # --- wiring ------------------------------------------------------------------------
    def attach(self) -> None:
        """The CTI service's re-apply worker plans from the durable intents from now on."""
        if self.cti is not None:
            self.cti.use_intents(self.reapply_intents, self.is_leader)

    def request_reapply(self) -> None:
        if self.cti is not None:
            self.cti.request_reapply()

    async def reapply_intents(self) -> list[Intent]:
        now = _now()
        wrapping = {w.agent_id for w in await self.wrapups.all() if w.until > now}
        out: list[Intent] = []
        for intent in await self.intents.all():
            out.extend(intent.member_intents(wrapup=intent.agent_id in wrapping))
        return out

    # --- readiness -----------------------------------------------------------------------
    async def view(self, agent_id: int) -> AgentView:
        """The agent's view as the projector last wrote it (logged out if never)."""
        stored = await self.live.get_agent_view(agent_id)
        if stored is not None:
            try:
                return AgentView.model_validate(stored)
            except ValueError:
                log.warning("unreadable view of agent %s in Redis", agent_id)
        return AgentView(agent_id=agent_id, since=_now())

    async def set_readiness(self, agent_id: int, state: str, reason: str | None = None) -> Pending:
        agent = await self._agent(agent_id)
        if state == "not_ready" and reason not in self.settings.pause_reasons:
            raise UnknownPauseReason("this pause reason is not in the configured list",
                                     {"reason": reason, "allowed": self.settings.pause_reasons})
        reason = reason or ""
        pending = Pending(state=state, reason=reason or None, since=_now())
        async with self._lock(agent_id):
            if state != "logged_out":
                wrap = await self.wrapups.set_then(agent_id, state, reason)
                if wrap is not None:  # kept for the end of the wrap-up
                    await self._publish(wrap.changed_event())
                    return pending
            else:
                wrap = await self.wrapups.end(agent_id)
                if wrap is not None:
                    await self._publish(WrapUpChanged(ts=_ts(), agent_id=agent_id))
            await self._change(agent, state, reason)
        return pending

    async def _change(self, agent: Agent, state: str, reason: str) -> None:
        cti = self._cti()
        assert agent.interface
        unknown = sorted(s.queue for s in agent.queues if s.queue not in cti.tracker.queue_map)
        if unknown:
            raise QueueUnknownToPbx("the PBX does not know these queues; nothing was changed",
                               {"queues": unknown})
        members = {}
        for seat in agent.queues:
            member = cti.tracker.queue_map[seat.queue].members.get(agent.interface)
            if member is not None:
                members[seat.queue] = member.state
        steps, seats = plan_change(agent, state, reason, members)
        await self._publish(ReadinessRequested(ts=_ts(), agent_id=agent.id, state=state,
                                               reason=reason or None))
        try:
            await self._run_all_or_nothing(cti, steps)
        except CtiError as exc:
            error = PbxUnavailable if _is_outage(exc) else PbxRefused
            message = exc.message if isinstance(exc, ActionFailed) else type(exc).__name__
            await self._publish(ReadinessFailed(ts=_ts(), agent_id=agent.id, state=state,
                                                reason=reason or None, error=error.error_id,
                                                message=message))
            raise error("the PBX did not take the change; nothing was changed",
                        {"error": type(exc).__name__, "pbx_message": message}) from exc
        await self.intents.put(AgentIntent(agent.id, agent.interface, state, reason,
                                           agent.full_name, seats))
        await self._publish(ReadinessApplied(ts=_ts(), agent_id=agent.id, state=state,
                                             reason=reason or None))

    async def _run_all_or_nothing(self, cti: CtiService, steps: list[Step]) -> None:
        done: list[Step] = []
        try:
            for step in steps:
                try:
                    await cti.actions.run(step.action)
                except (MemberAlreadyInQueue, MemberNotFound) as exc:
                    # Already as wanted (a member the tracker had not seen yet, or gone)
                    if step.action["Action"] == "QueuePause":
                        raise
                    log.info("%s: already done on the PBX (%s)", step.action["Action"],
                             type(exc).__name__)
                    continue
                done.append(step)
        except CtiError:
            for step in reversed(done):
                if step.undo is None:
                    continue
                self.compensations += 1
                try:
                    await cti.actions.run(step.undo)
                except CtiError as undo_exc:
                    log.warning("undoing %s failed: %s", step.action["Action"],
                                type(undo_exc).__name__)
            raise

    # --- wrap-up -------------------------------------------------------------------------
    async def start_wrapup(self, interface: str, queue: str, call_id: str,
                           ended_at: dt.datetime | None = None) -> bool:
        """After a queue call: pause the agent as ``wrap-up`` for the queue's wrap-up time,
        counted from ``ended_at`` (this server's clock when the call's end was seen; now by
        default), so a start tried again later still ends when the first would have. False when
        there is nothing to start (no wrap-up time, an unknown or logged-out agent, a deadline
        already past) or the PBX refused the pause."""
        seconds = self.settings.wrapup_for(queue)
        agent = await self.directory.find_interface(interface)
        if seconds <= 0 or agent is None or self.cti is None:
            return False
        async with self._lock(agent.id):
            started = ended_at or _now()
            until = started + dt.timedelta(seconds=seconds)
            if until <= _now():
                return False
            # The intent is read in the insert's statement (no intent or logged out: None).
            wrap = await self.wrapups.start(agent.id, queue, call_id, started, until)
            if wrap is None:
                return False
            try:
                await self.cti.actions.run(queue_pause(interface, True, reason=WRAPUP_REASON))
            except CtiError as exc:
                log.warning("wrap-up pause failed: %s", type(exc).__name__)
                await self.wrapups.end(agent.id)
                return False
            await self._publish(wrap.changed_event())
        return True

    async def finish_wrapup(self, agent_id: int, *, due_only: bool = True) -> bool:
        """Back to what the agent intends; ``due_only``: only if the deadline has passed (the
        timer's call, which may meet an extension made in another process). The row goes only
        once the PBX took the change, so a failure leaves it for the next try."""
        async with self._lock(agent_id):
            wrap = await self.wrapups.get(agent_id)
            if wrap is None or (due_only and wrap.until > _now()):
                return False
            agent = await self._agent(agent_id)
            await self._change(agent, wrap.then_state, wrap.then_reason)
            await self.wrapups.end(agent_id)
            await self._publish(WrapUpChanged(ts=_ts(), agent_id=agent_id))
        return True

    async def end_wrapup(self, agent_id: int) -> None:
        """The agent's early end: the call must have its disposition first (when required),
        or the call's outcome would go unrecorded whenever the agent is in a hurry."""
        if self.settings.disposition_required and self._disposition_of is not None:
            wrap = await self.wrapups.get(agent_id)
            if wrap is None:
                # Shown from the call's end, stored a moment later: not ended before it is
                # stored, or the row written meanwhile would be ended unchecked.
                raise NoWrapUp("the agent is not in wrap-up")
            if wrap.call_id and not await self._disposition_of(wrap.call_id, agent_id):
                raise DispositionRequired("set the call's disposition before ending the wrap-up",
                                          {"call_id": wrap.call_id})
        if not await self.finish_wrapup(agent_id, due_only=False):
            raise NoWrapUp("the agent is not in wrap-up")

    async def extend_wrapup(self, agent_id: int, seconds: int) -> dt.datetime:
        if seconds > self.settings.wrapup_extend_max:
            raise WrapUpExtensionTooLong(
                "a wrap-up may be extended by at most "
                f"{self.settings.wrapup_extend_max} seconds",
                {"max": self.settings.wrapup_extend_max})
        wrap = await self.wrapups.extend(agent_id, seconds)
        if wrap is None:
            if await self.wrapups.get(agent_id) is None:
                raise NoWrapUp("the agent is not in wrap-up")
            raise WrapUpAlreadyExtended("the wrap-up was already extended once")
        await self._publish(wrap.changed_event())
        return wrap.until

    # --- helpers -------------------------------------------------------------------------
    async def _agent(self, agent_id: int) -> Agent:
        agent = await self.directory.get(agent_id)
        if agent is None:
            raise UnknownAgent("no such agent")
        if not agent.interface:
            raise NoPhoneInterface(
                f"'{agent.login}' has no phone interface ({agent.role}s take no queue calls), "
                "so there is no readiness to set", {"agent": agent.login, "role": agent.role})
        return agent

    def _cti(self) -> CtiService:
        cti = self.cti
        if cti is None:
            raise PbxUnavailable("no PBX connection is configured")
        if cti.tracker.stale or not cti.connection.logged_in:
            raise PbxUnavailable("the PBX is not connected (or resynchronising); try again")
        return cti

    def _lock(self, agent_id: int) -> asyncio.Lock:
        lock = self._locks.get(agent_id)
        if lock is None:
            lock = self._locks[agent_id] = asyncio.Lock()
        return lock

    async def _publish(self, event: DomainEvent) -> None:
        try:
            await self._emit(event)
        except Exception as exc:  # the PBX state stands; only the desktop's hint is lost
            log.warning("agent event %s not published: %s", event.kind, type(exc).__name__)


def _ts() -> float:
    return _now().timestamp()


def _is_outage(exc: CtiError) -> bool:
    return isinstance(exc, (NotConnected, LinkLost, ActionTimeout))
