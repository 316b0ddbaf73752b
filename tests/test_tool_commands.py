"""The small commands a newcomer runs by hand: the PBX simulator alone, the benchmark runner."""
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT


def _python(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, **kwargs)


def test_when_simulator_help_is_asked_then_it_shows_the_default_secret():
    result = _python("-m", "cti.simulator", "--help")
    assert result.returncode == 0
    assert "ccs-demo" in result.stdout and "'ccs'" in result.stdout


@pytest.mark.timeout(60)
def test_when_the_simulator_is_stopped_with_ctrl_c_then_it_says_its_secret_and_ends_cleanly():
    proc = subprocess.Popen([sys.executable, "-m", "cti.simulator", "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        seen = ""
        deadline = time.monotonic() + 30
        while "listening" not in seen and time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 1)[0]:
                seen += os.read(proc.stdout.fileno(), 4096).decode()
        assert "secret 'ccs-demo'" in seen, seen
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "Traceback" not in out and "KeyboardInterrupt" not in out


def test_when_benchmarks_help_is_asked_then_every_benchmark_is_listed_and_none_runs():
    result = _python("-m", "benchmarks", "--help")
    assert result.returncode == 0, result.stderr
    names = sorted(p.stem for p in (ROOT / "benchmarks").glob("bench_*.py"))
    assert names and all(f"  {name} " in result.stdout for name in names), result.stdout
    assert "python -m benchmarks NAME --help" in result.stdout
    assert "===" not in result.stdout  # nothing ran


def test_when_the_license_is_looked_for_then_the_mit_text_pyproject_claims_is_there():
    import tomllib

    claimed = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    text = (ROOT / "LICENSE").read_text()
    assert claimed == "MIT" and text.startswith("MIT License")
    assert "Copyright (c) 2026 ccs contributors" in text
