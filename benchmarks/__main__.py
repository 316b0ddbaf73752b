"""Run benchmarks one after another: ``python -m benchmarks [bench_name ...] [--option ...]``.

Without names every ``benchmarks/bench_*.py`` runs. Options after the names go to each
benchmark's ``main(args)``; a benchmark ignores options it does not know.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import time
from pathlib import Path


def discover() -> list[str]:
    return sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))


def run(argv: list[str]) -> int:
    names = []
    while argv and not argv[0].startswith("-"):
        names.append(argv.pop(0).removesuffix(".py"))
    available = discover()
    unknown = [n for n in names if n not in available]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}",
            file=sys.stderr,
        )
        return 2
    failed = 0
    for name in names or available:
        print(f"=== {name}", flush=True)
        started = time.perf_counter()
        try:
            main = importlib.import_module(f"benchmarks.{name}").main
            result = main(list(argv))
            if inspect.isawaitable(result):
                asyncio.run(result)
        except Exception as exc:  # noqa: BLE001 (a broken benchmark must not hide the others)
            failed += 1
            print(f"{name} failed: {exc!r}", file=sys.stderr, flush=True)
        print(f"=== {name} finished in {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
