"""Stop the embedded PostgreSQL and Redis when the process that started them dies, even by kill -9.

A small watcher process reads a pipe whose write end only the starting process holds. However
that process ends (return, exception, Ctrl-C, kill -9), the kernel closes the pipe; the watcher
reads EOF, stops every service it was told about and removes the folders it was told to remove.
PR_SET_PDEATHSIG cannot do this job: the servers daemonise away from their starter, and
PostgreSQL runs as another account through runuser, and a credential change clears the signal.

The watcher runs in its own session, so the terminal's Ctrl-C reaches only the starter, which
then ends normally; either way the watcher does the stopping, and ``close`` waits for it.

Usage: ``guard.watch(service)`` before ``service.start()``, so that a starter killed during the
start is covered too (after a death the watcher looks again for a while for a server that comes
up late); ``guard.close()`` at the end stops them and waits.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from ccs.localenv import LocalPostgres, LocalRedis

LATE_START_SECONDS = 5.0  # a start already under way (pg_ctl, redis-server) may finish this late
_ROOT = Path(__file__).resolve().parent.parent


class ServiceGuard:
    """The starter's side: one watcher process for the services this process starts."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
        self._watcher = subprocess.Popen(
            [sys.executable, "-m", "ccs.service_guard"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # no terminal signals: it must outlive its starter
            env=env,
            cwd=_ROOT,
        )

    @property
    def pid(self) -> int:
        return self._watcher.pid

    def watch(self, service: LocalPostgres | LocalRedis) -> None:
        kind = "postgres" if isinstance(service, LocalPostgres) else "redis"
        self._send({"stop": kind, "data_dir": str(service.data_dir)})

    def remove_on_exit(self, folder: Path) -> None:
        self._send({"remove": str(folder)})

    def _send(self, message: dict) -> None:
        assert self._watcher.stdin is not None
        self._watcher.stdin.write(json.dumps(message).encode() + b"\n")
        self._watcher.stdin.flush()

    def close(self, timeout: float = 120) -> None:
        """Stop the watched services now (through the watcher) and wait until they are."""
        if self._watcher.stdin is not None and not self._watcher.stdin.closed:
            try:
                self._send({"closing": True})  # no start is under way: no need to look again
            except BrokenPipeError:
                pass
            self._watcher.stdin.close()
        self._watcher.wait(timeout)

    def __enter__(self) -> ServiceGuard:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _stop(watched: list[dict]) -> bool:
    """Stop what runs; True if anything did."""
    found = False
    for item in reversed(watched):  # in the reverse order of their starts
        if "stop" not in item:
            continue
        data_dir = Path(item["data_dir"])
        service = LocalPostgres(data_dir) if item["stop"] == "postgres" else LocalRedis(data_dir)
        try:
            if service.is_running():
                found = True
                service.stop()
        except Exception as exc:  # noqa: BLE001 (the other services must still be stopped)
            print(f"ccs: could not stop {item['stop']} in {data_dir}: {exc}", file=sys.stderr)
    return found


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watched = [json.loads(line) for line in sys.stdin.buffer]  # until EOF: the starter is gone
    _stop(watched)
    if not any(item.get("closing") for item in watched):  # died: maybe in the middle of a start
        deadline = time.monotonic() + LATE_START_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.25)
            _stop(watched)
    for item in watched:
        if "remove" in item:
            shutil.rmtree(item["remove"], ignore_errors=True)


if __name__ == "__main__":
    main()
