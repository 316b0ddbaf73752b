"""How late the event loop runs what is due: the wait every AMI chunk, pop and request has behind
the work ahead of it in the same loop (a pop cannot arrive sooner than the loop gets to it).

A probe sleeps ``interval`` seconds again and again and takes how much later than asked it woke
up. Exported as the Prometheus histogram ``ccs_event_loop_lag_seconds`` and, for the last
``WINDOW`` seconds, as p50 / p99 / max in /health (``event_loop``), where an operator or a
benchmark reads it without a scraper. The probe's own cost is one timer a tenth of a second.

On the server's own loop (``ccs/priority_loop.py``) the AMI socket's reads jump the queue, so
this lag is what queued work waits (board pushes, timers, requests), not what a pop waits; the
loop's count of turns cut at its time budget says how often work was left for the next turn:
``ccs_event_loop_cut_turns_total`` and ``cut_turns`` in /health (absent on another loop).

Public API: ``LoopLag(registry, interval=0.1)``; ``await run()`` until cancelled;
``recent() -> dict`` (the window's figures in ms); ``cut_turns() -> int | None``; ``status()``
for /health.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

WINDOW = 30.0  # seconds of samples behind /health's figures
DEGRADED_P99 = 0.5  # seconds: a loop this late makes pops and board updates visibly late
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class LoopLag:
    def __init__(self, registry: CollectorRegistry | None, interval: float = 0.1) -> None:
        self.interval = interval
        self._histogram = (None if registry is None else Histogram(
            "ccs_event_loop_lag_seconds",
            "How much later than due the event loop woke a timer (probe every 0.1 s)",
            buckets=_BUCKETS, registry=registry))
        self._samples: deque[tuple[float, float]] = deque()  # (monotonic time, lag)
        self._loop: asyncio.AbstractEventLoop | None = None
        if registry is not None:
            registry.register(_CutTurns(self))

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            # perf_counter, not loop.time(): uvloop's clock counts whole milliseconds.
            asked = time.perf_counter() + self.interval
            await asyncio.sleep(self.interval)
            self.observe(max(0.0, time.perf_counter() - asked))

    def observe(self, lag: float) -> None:
        if self._histogram is not None:
            self._histogram.observe(lag)
        now = time.monotonic()
        self._samples.append((now, lag))
        while self._samples and self._samples[0][0] < now - WINDOW:
            self._samples.popleft()

    def recent(self) -> dict[str, float | int]:
        """The last ``WINDOW`` seconds: samples, p50, p99 and max lag in milliseconds."""
        lags = sorted(lag for _, lag in self._samples)
        if not lags:
            return {"samples": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}

        def at(q: float) -> float:
            return round(lags[min(len(lags) - 1, int(q * len(lags)))] * 1000, 2)

        return {"samples": len(lags), "p50_ms": at(0.5), "p99_ms": at(0.99),
                "max_ms": round(lags[-1] * 1000, 2)}

    def cut_turns(self) -> int | None:
        """Turns the probed loop stopped at its time budget with callbacks left, since it
        started; None for a loop without a budget (uvloop, asyncio's own)."""
        count = getattr(self._loop, "cut_turns", None)
        return count if isinstance(count, int) else None

    async def status(self) -> dict:
        figures = self.recent()
        late = figures["p99_ms"] >= DEGRADED_P99 * 1000
        status = {"status": "degraded" if late else "ok",
                  "state": "late" if late else "on time", "window_seconds": WINDOW,
                  "lag": figures}
        if (cut := self.cut_turns()) is not None:
            status["cut_turns"] = cut
        return status


class _CutTurns(Collector):
    def __init__(self, lag: LoopLag) -> None:
        self._lag = lag

    def collect(self):
        cut = self._lag.cut_turns()
        if cut is not None:
            yield CounterMetricFamily(
                "ccs_event_loop_cut_turns",
                "Event-loop turns stopped at the time budget with callbacks left for the next",
                value=cut)
