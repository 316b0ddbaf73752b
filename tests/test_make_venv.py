"""scripts/make_venv.sh (run by `make test` through scripts/bootstrap.sh): the venv is built
from Debian's own /usr/bin/python3, and made again when it was made from another Python."""
import glob
import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

DEBIAN = "/usr/bin/python3"


def _base(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import os, sys; print(os.path.realpath(sys._base_executable))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()


def _another_python() -> str | None:
    candidates = [shutil.which("python3"), *glob.glob("/root/.pyenv/versions/*/bin/python3"),
                  *glob.glob("/usr/local/bin/python3*")]
    for python in filter(None, candidates):
        if os.path.realpath(python) != os.path.realpath(DEBIAN) and _base(python) != _base(DEBIAN):
            return python
    return None


@pytest.mark.timeout(300)
def test_when_the_venv_was_made_from_another_python_then_it_is_made_again_from_debians(tmp_path):
    other = _another_python() if os.path.exists(DEBIAN) else None
    if other is None:
        pytest.skip("needs Debian's /usr/bin/python3 and another Python")
    shutil.copy(ROOT / "scripts" / "make_venv.sh", tmp_path)
    subprocess.run([other, "-m", "venv", "--without-pip", ".venv"], cwd=tmp_path, check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"}

    first = subprocess.run(["bash", "make_venv.sh"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=240)
    assert first.returncode == 0, first.stderr
    assert "made from another Python" in first.stdout
    assert _base(str(tmp_path / ".venv" / "bin" / "python")) == _base(DEBIAN)

    again = subprocess.run(["bash", "make_venv.sh"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "another Python" not in again.stdout
