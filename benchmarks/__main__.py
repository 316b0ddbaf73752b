"""Run benchmarks one after another: ``python -m benchmarks [bench_name ...] [--option ...]``.

Without names every ``benchmarks/bench_*.py`` runs. Options after the names go to each
benchmark's ``main(args)``; a benchmark ignores options it does not know. ``--help`` alone lists
the benchmarks; after names it shows those benchmarks' options.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import sys
import time
from pathlib import Path


def discover() -> list[str]:
    return sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))


def summary(name: str) -> str:
    """The first line of a benchmark's docstring, read without importing it (imports are slow)."""
    source = (Path(__file__).parent / f"{name}.py").read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(source)) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def usage() -> str:
    width = max(map(len, discover()))
    lines = [
        "usage: python -m benchmarks [NAME ...] [--option ...]",
        "",
        "Runs the named benchmarks (all without names) one after another and prints figures.",
        "Options after the names go to each benchmark; `python -m benchmarks NAME --help` shows",
        "one benchmark's options. Benchmarks:",
        "",
    ]
    lines += [f"  {name:<{width}}  {summary(name)}" for name in discover()]
    lines += ["", "example: python -m benchmarks bench_billing_import --help"]
    return "\n".join(lines)


def run(argv: list[str]) -> int:
    names = []
    while argv and not argv[0].startswith("-"):
        names.append(argv.pop(0).removesuffix(".py"))
    if not names and ("-h" in argv or "--help" in argv):
        print(usage())
        return 0
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
        except SystemExit as exc:  # argparse's --help or a usage error: go on with the others
            if exc.code not in (0, None):
                failed += 1
        except Exception as exc:  # noqa: BLE001 (a broken benchmark must not hide the others)
            failed += 1
            print(f"{name} failed: {exc!r}", file=sys.stderr, flush=True)
        print(f"=== {name} finished in {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
