"""The front-end's own unit tests (vitest: money/date formatting, the pop store) run with the
Python suite, so `make test` covers them too. Needs web/node_modules (scripts/bootstrap.sh)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"


def test_when_the_front_end_unit_tests_run_then_they_pass():
    npm = shutil.which("npm")
    if npm is None or not (WEB / "node_modules" / ".bin" / "vitest").exists():
        pytest.fail("npm or web/node_modules is missing: run scripts/bootstrap.sh")
    done = subprocess.run([npm, "test", "--silent"], cwd=WEB, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert " passed" in done.stdout
