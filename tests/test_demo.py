"""`ccs demo` (what `make run` starts) as a newcomer runs it: start, serve, stop, start again."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _wait_healthy(proc: subprocess.Popen, port: int, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else "demo exited"
        try:
            status, body = _get(f"http://127.0.0.1:{port}/health")
            if status == 200:
                return body
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise AssertionError("demo did not become healthy")


def _start(data_dir, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "CCS_LOCAL__DATA_DIR": str(data_dir),
        "CCS_HTTP__PORT": str(port),
        "CCS_IVR__AGI_PORT": str(_free_port()),
        "CCS_IVR__AUDIOSOCKET_PORT": str(_free_port()),
        "CCS_DEMO__ACCOUNTS": "300",
        "CCS_DEMO__PASSWORD": "demo-password-1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ccs", "demo"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.mark.timeout(300)
def test_when_demo_runs_twice_then_it_serves_each_time_and_keeps_its_data(services_dir):
    data_dir = services_dir / "demo"
    port = _free_port()
    first_token = None
    for run in range(2):
        proc = _start(data_dir, port)
        try:
            health = _wait_healthy(proc, port)
            assert health["components"]["ami"]["logged_in"] is True
            assert health["components"]["ami"]["state"] == "simulator connected"
            status, body = _get(f"http://127.0.0.1:{port}/api/login",
                                {"login": "agent1001", "password": "demo-password-1"})
            assert status == 200, body
            token = body["token"]
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/cards/phone/+79120000001",
                headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=5) as response:
                cards = json.loads(response.read())
            assert cards, "the demo's known caller +79120000001 must have a card"
            if first_token is None:
                first_token = token
            else:
                # The signing key is kept in the data folder: a restart logs nobody out.
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/cards/phone/+79120000001",
                    headers={"Authorization": f"Bearer {first_token}"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    assert response.status == 200
                assert (data_dir / "demo-secret-key").stat().st_mode & 0o777 == 0o600
        finally:
            _stop(proc)
        assert proc.returncode == 0, proc.stdout.read()
        # the embedded PostgreSQL and Redis the demo started are stopped with it
        assert not (data_dir / "pg" / "pgdata" / "postmaster.pid").exists()
        assert not (data_dir / "redis" / "redis.pid").exists() or not _pid_alive(data_dir / "redis" / "redis.pid")


def _pid_alive(pid_file) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (ProcessLookupError, ValueError):
        return False
    return True


@pytest.mark.timeout(180)
def test_when_the_http_port_is_taken_then_demo_says_so_and_stops_what_it_started(services_dir):
    data_dir = services_dir / "demo-busy"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _start(data_dir, port)
        out, _ = proc.communicate(timeout=150)
    assert proc.returncode != 0
    assert "set CCS_HTTP__PORT" in out
    assert "Traceback" not in out
    assert not (data_dir / "pg" / "pgdata" / "postmaster.pid").exists()
