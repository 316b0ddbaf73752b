"""Nothing a process started outlives it: a kill -9 of `ccs import-billing` or of a test run
leaves no parsing worker, PostgreSQL or Redis behind (ccs.service_guard, PR_SET_PDEATHSIG)."""
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "state" / "fixtures"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _children(pid: int) -> list[tuple[int, str]]:
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry.name}/status").read_text()
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        ppid = int(status.split("PPid:", 1)[1].split()[0])
        if ppid == pid:
            found.append((int(entry.name), cmdline.decode(errors="replace")))
    return found


def _pid_in(pid_file: Path) -> int:
    return int(pid_file.read_text().split()[0])


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        assert proc.poll() is None, seen
        left = deadline - time.monotonic()
        assert left > 0, f"no {marker!r} in: {seen[-2000:]}"
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            seen += os.read(proc.stdout.fileno(), 65536).decode(errors="replace")
    return seen


@pytest.mark.timeout(240)
def test_when_import_billing_is_killed_then_its_workers_and_postgres_stop(tmp_path):
    # A file over PARALLEL_BYTES (64 MiB) is parsed by worker processes.
    lines = (FIXTURES / "billing_good.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    big = tmp_path / "big.csv"
    rows = "".join(lines[1:])
    with big.open("w", encoding="utf-8") as f:
        f.write(lines[0])
        f.write(rows * ((66 << 20) // len(rows.encode()) + 1))
    data_dir = ROOT / ".data" / f"kill-import-{os.getpid()}"
    env = {**os.environ, "CCS_LOCAL__DATA_DIR": str(data_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "ccs", "import-billing", str(big)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def workers(kind: str = "multiprocessing") -> list[int]:
            return [pid for pid, cmd in _children(proc.pid) if kind in cmd]

        _wait(lambda: len(workers("spawn_main")) >= 2 or proc.poll() is not None, 180,
              "parsing workers")
        assert proc.poll() is None, "the import ended before its workers could be seen"
        postmaster = _pid_in(data_dir / "pg" / "pgdata" / "postmaster.pid")
        running = workers()  # and multiprocessing's resource tracker
        proc.kill()
        proc.wait()
        _wait(lambda: not any(map(_alive, running)), 30, f"workers {running} to die")
        _wait(lambda: not _alive(postmaster), 60, "the embedded PostgreSQL to stop")
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run([sys.executable, "-m", "ccs", "local", "stop"], cwd=ROOT, env=env,
                       capture_output=True, timeout=120)
        subprocess.run(["rm", "-rf", str(data_dir)], check=False)


@pytest.mark.timeout(180)
def test_when_a_test_run_is_killed_then_its_postgres_and_redis_stop_and_its_folder_goes():
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
         "tests/services_sleeper.py"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    data_dir = ROOT / ".data" / f"test-{proc.pid}"
    try:
        _read_until(proc, "servers ready", 150)
        postmaster = _pid_in(data_dir / "pg" / "pgdata" / "postmaster.pid")
        redis = _pid_in(data_dir / "redis" / "redis.pid")
        assert _alive(postmaster) and _alive(redis)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        _wait(lambda: not _alive(postmaster) and not _alive(redis), 60, "the servers to stop")
        _wait(lambda: not data_dir.exists(), 30, f"{data_dir} to be removed")
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.timeout(240)
def test_when_serve_is_killed_then_the_postgres_and_redis_it_started_stop():
    import socket

    def free_port() -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return str(s.getsockname()[1])

    data_dir = ROOT / ".data" / f"kill-serve-{os.getpid()}"
    env = {**os.environ, "CCS_LOCAL__DATA_DIR": str(data_dir), "CCS_SPEECH__ENABLED": "false",
           "CCS_AUTH__SECRET_KEY": "k" * 32, "CCS_HTTP__PORT": free_port(),
           "CCS_IVR__AGI_PORT": free_port(), "CCS_IVR__AUDIOSOCKET_PORT": free_port()}
    # The server needs its schema (the agents' directory is read at start).
    subprocess.run([sys.executable, "-m", "ccs", "migrate"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=180)
    proc = subprocess.Popen([sys.executable, "-m", "ccs", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _read_until(proc, "serving on", 180)
        postmaster = _pid_in(data_dir / "pg" / "pgdata" / "postmaster.pid")
        redis = _pid_in(data_dir / "redis" / "redis.pid")
        proc.kill()
        proc.wait()
        _wait(lambda: not _alive(postmaster) and not _alive(redis), 60, "the servers to stop")
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run([sys.executable, "-m", "ccs", "local", "stop"], cwd=ROOT, env=env,
                       capture_output=True, timeout=120)
        subprocess.run(["rm", "-rf", str(data_dir)], check=False)
