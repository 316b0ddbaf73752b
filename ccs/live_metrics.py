"""Prometheus figures of the live parts, read when Prometheus scrapes (a custom collector): the
queues as the CTI tracker holds them, the AMI link, the IVR, speech and Socket.IO sockets.

Nothing polls and nothing is stored twice: each scrape reads the same objects /health reads.
Labels are queue names, agent states, IVR outcomes and Socket.IO namespaces only, never a caller,
an account or an agent's login. It lives in ``ccs`` because it reads every package's parts.

The queue counters are the tracker's own (``answered``, ``abandoned``, ``timed_out``): a resync
sets them from the PBX's QueueStatus, whose counts restart with Asterisk; Prometheus takes a
counter that goes down for a reset, so ``rate()`` stays right across it.
"""
from __future__ import annotations

from collections.abc import Iterator

import socketio
from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agent_api.app_keys import CTI, IVR_APP, SPEECH
from cti.tracker.model import MemberView, QueueView
from features.agents.intent import LOGGED_OUT_REASON, WRAPUP_REASON

AGENT_STATES = ("ready", "ringing", "on_call", "wrap_up", "not_ready")


def member_state(member: MemberView) -> str | None:
    """The member's state as the PBX shows it (the board's rule for members that are not ours);
    None for a member logged out (paused with the logged-out reason)."""
    m = member.state
    if m.paused and m.paused_reason == LOGGED_OUT_REASON:
        return None
    if member.talking_for or m.in_call:
        return "on_call"
    if member.ringing_for:
        return "ringing"
    if m.paused:
        return "wrap_up" if m.paused_reason == WRAPUP_REASON else "not_ready"
    return "ready"


class LiveCollector(Collector):
    def __init__(self, app: web.Application, sio: socketio.AsyncServer) -> None:
        self._app = app
        self._sio = sio

    def collect(self) -> Iterator[Metric]:
        cti = self._app.get(CTI)
        if cti is not None:
            yield from self._ami(cti.status())
            yield from self._queues(cti.tracker.queues())
        ivr = self._app.get(IVR_APP)
        if ivr is not None:
            yield from self._ivr(ivr.in_progress, dict(ivr.outcomes))
        speech = self._app.get(SPEECH)
        if speech is not None:
            yield from self._speech(speech.status())
        yield self._sockets()

    @staticmethod
    def _ami(status: dict) -> Iterator[Metric]:
        yield GaugeMetricFamily("ccs_ami_up", "1 while logged in to the PBX's AMI, else 0",
                                value=1 if status.get("logged_in") else 0)
        yield GaugeMetricFamily("ccs_ami_model_stale",
                                "1 while the call model awaits a resync after a link loss",
                                value=1 if status.get("stale_model") else 0)
        yield CounterMetricFamily("ccs_ami_resyncs", "Full resyncs of the call model from the PBX",
                                  value=status.get("resyncs", 0))
        yield CounterMetricFamily("ccs_ami_reconnects", "AMI reconnections after a lost link",
                                  value=status.get("reconnects", 0))

    @staticmethod
    def _queues(queues: tuple[QueueView, ...]) -> Iterator[Metric]:
        waiting = GaugeMetricFamily("ccs_queue_waiting", "Callers waiting in the queue", labels=["queue"])
        longest = GaugeMetricFamily("ccs_queue_longest_wait_seconds",
                                    "Wait of the longest-waiting caller now (0: nobody waits)",
                                    labels=["queue"])
        talking = GaugeMetricFamily("ccs_queue_talking", "Queue calls an agent talks on now",
                                    labels=["queue"])
        agents = GaugeMetricFamily("ccs_queue_agents",
                                   "Logged-in members of the queue by state (as the PBX shows them)",
                                   labels=["queue", "state"])
        offered = CounterMetricFamily(
            "ccs_queue_offered", "Queue calls that ended their wait: answered, abandoned or timed "
            "out (callers still waiting and calls redirected away are not counted)", labels=["queue"])
        answered = CounterMetricFamily("ccs_queue_answered", "Queue calls an agent answered",
                                       labels=["queue"])
        abandoned = CounterMetricFamily("ccs_queue_abandoned", "Callers who hung up while waiting",
                                        labels=["queue"])
        timed_out = CounterMetricFamily("ccs_queue_timed_out",
                                        "Callers the queue's timeout sent on", labels=["queue"])
        for q in queues:
            waiting.add_metric([q.name], q.waiting)
            longest.add_metric([q.name], q.longest_wait)
            talking.add_metric([q.name], q.talking)
            counts = dict.fromkeys(AGENT_STATES, 0)
            for member in q.members:
                state = member_state(member)
                if state is not None:
                    counts[state] += 1
            for state, count in counts.items():
                agents.add_metric([q.name, state], count)
            offered.add_metric([q.name], q.answered + q.abandoned + q.timed_out)
            answered.add_metric([q.name], q.answered)
            abandoned.add_metric([q.name], q.abandoned)
            timed_out.add_metric([q.name], q.timed_out)
        yield from (waiting, longest, talking, agents, offered, answered, abandoned, timed_out)

    @staticmethod
    def _ivr(in_progress: int, outcomes: dict[str, int]) -> Iterator[Metric]:
        yield GaugeMetricFamily("ccs_ivr_calls_in_progress", "Calls in the IVR now",
                                value=in_progress)
        ended = CounterMetricFamily("ccs_ivr_calls", "IVR calls ended, by outcome",
                                    labels=["outcome"])
        for outcome, count in sorted(outcomes.items()):
            ended.add_metric([outcome], count)
        yield ended

    @staticmethod
    def _speech(status: dict) -> Iterator[Metric]:
        yield GaugeMetricFamily("ccs_speech_sessions_active", "Recognition sessions running",
                                value=status.get("sessions_active", 0))
        yield GaugeMetricFamily("ccs_speech_sessions_waiting",
                                "Recognition sessions waiting for a free slot",
                                value=status.get("sessions_waiting", 0))

    def _sockets(self) -> Metric:
        """Sockets connected to this process (each process counts its own; sum them across
        processes), by namespace. A socket still in its CONNECT handshake is not counted."""
        family = GaugeMetricFamily("ccs_socketio_connections",
                                   "Socket.IO connections to this process, by namespace",
                                   labels=["namespace"])
        manager = self._sio.manager
        rooms = getattr(manager, "rooms", {})
        pending = getattr(manager, "pending_connect", {})
        for namespace in sorted(set(self._sio.namespace_handlers) | set(rooms)):
            everyone = rooms.get(namespace, {}).get(None, ())
            family.add_metric([namespace], max(0, len(everyone) - len(pending.get(namespace, ()))))
        return family
