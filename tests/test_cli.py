"""The `ccs` command as an operator uses it, against the embedded services of a data folder."""
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "state" / "fixtures"


@pytest.fixture(scope="module")
def ccs(tmp_path_factory):
    data_dir = ROOT / ".data" / f"cli-{os.getpid()}"
    env = {**os.environ, "CCS_LOCAL__DATA_DIR": str(data_dir)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ccs", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)

    yield run
    run("local", "stop")
    subprocess.run(["rm", "-rf", str(data_dir)], check=False)


def test_when_seeding_then_accounts_are_loaded(ccs):
    result = ccs("seed", "--accounts", "50", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert "loaded 50 accounts" in result.stdout
    again = ccs("seed", "--accounts", "50")
    assert again.returncode == 1
    assert "already has accounts" in again.stderr


def test_when_migrating_twice_then_second_run_applies_nothing(ccs):
    first = ccs("migrate")
    assert first.returncode == 0, first.stderr
    second = ccs("migrate")
    assert second.returncode == 0, second.stderr
    assert "none pending" in second.stdout


def test_when_importing_a_good_file_twice_then_second_import_changes_nothing(ccs):
    first = ccs("import-billing", str(FIXTURES / "billing_good.csv"))
    assert first.returncode == 0, first.stderr
    assert "0 rejected" in first.stdout
    again = ccs("import-billing", str(FIXTURES / "billing_good.csv"))
    assert again.returncode == 0, again.stderr
    assert "row(s) changed" not in again.stdout.replace(": 0 row(s) changed", "")


def test_when_a_file_has_bad_rows_then_lines_are_reported_and_exit_is_1(ccs):
    result = ccs("import-billing", str(FIXTURES / "billing_bad_rows.csv"))
    assert result.returncode == 1
    assert "line " in result.stderr


def test_when_a_file_is_not_utf8_then_it_is_refused_with_exit_2(ccs):
    result = ccs("import-billing", str(FIXTURES / "billing_broken_encoding.csv"))
    assert result.returncode == 2
    assert "refused" in result.stderr


def test_when_serving_without_a_secret_key_then_it_refuses_clearly(ccs):
    result = ccs("serve")
    assert result.returncode == 1
    assert "CCS_AUTH__SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
