"""How long the garbage collector holds the process: every collection's pause, by generation.

A pause holds the event loop like any long callback (every AMI chunk, pop and request waits it
out), and it is the one such wait no profile of our code shows. ``GcPauses`` times each
collection through ``gc.callbacks``; exported as the Prometheus histogram
``ccs_gc_pause_seconds{generation}`` and, for the last ``WINDOW`` seconds, in /health (``gc``):
per generation the number of collections, p99 and max in ms. Its cost is two calls per
collection (about a dozen collections a second under load; ``ccs/heap.py``).

Public API: ``GcPauses(registry)``; ``install()`` / ``uninstall()``; ``recent() -> dict``;
``status()`` for /health.
"""
from __future__ import annotations

import gc
import time
from collections import deque
from typing import Any

from prometheus_client import CollectorRegistry, Histogram

WINDOW = 30.0  # seconds of pauses behind /health's figures
DEGRADED_MAX = 0.5  # seconds: a pause this long is a visible stall of pops and boards
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_NAMES = ("young", "middle", "full")


class GcPauses:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self._histogram = (None if registry is None else Histogram(
            "ccs_gc_pause_seconds", "How long each garbage collection held the process",
            ["generation"], buckets=_BUCKETS, registry=registry))
        self._started = 0.0
        self._pauses: deque[tuple[float, int, float]] = deque()  # (monotonic, generation, s)
        self.collections = 0

    def install(self) -> None:
        if self._on_gc not in gc.callbacks:
            gc.callbacks.append(self._on_gc)

    def uninstall(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        generation = min(int(info.get("generation", 0)), 2)
        self.collections += 1
        if self._histogram is not None:
            self._histogram.labels(_NAMES[generation]).observe(pause)
        now = time.monotonic()
        self._pauses.append((now, generation, pause))
        while self._pauses and self._pauses[0][0] < now - WINDOW:
            self._pauses.popleft()

    def recent(self) -> dict[str, dict[str, float | int]]:
        """The last ``WINDOW`` seconds, per generation: collections, p99 and max pause (ms)."""
        now = time.monotonic()
        out: dict[str, dict[str, float | int]] = {}
        for generation, name in enumerate(_NAMES):
            pauses = sorted(p for at, g, p in self._pauses
                            if g == generation and at >= now - WINDOW)
            if not pauses:
                out[name] = {"collections": 0, "p99_ms": 0.0, "max_ms": 0.0}
                continue
            p99 = pauses[min(len(pauses) - 1, int(0.99 * len(pauses)))]
            out[name] = {"collections": len(pauses), "p99_ms": round(p99 * 1000, 2),
                         "max_ms": round(pauses[-1] * 1000, 2)}
        return out

    async def status(self) -> dict:
        figures = self.recent()
        worst = max(f["max_ms"] for f in figures.values())
        stalled = worst >= DEGRADED_MAX * 1000
        return {"status": "degraded" if stalled else "ok",
                "state": "long pauses" if stalled else "short pauses",
                "window_seconds": WINDOW, "pauses": figures}
