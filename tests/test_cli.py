"""The `ccs` command as an operator uses it, against the embedded services of a data folder."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "state" / "fixtures"


@pytest.fixture(scope="module")
def ccs(tmp_path_factory):
    data_dir = ROOT / ".data" / f"cli-{os.getpid()}"
    env = {**os.environ, "CCS_LOCAL__DATA_DIR": str(data_dir)}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ccs", *args], cwd=ROOT,
                              env={**env, **extra}, capture_output=True, text=True, timeout=300)

    run.data_dir = data_dir
    run.env = env
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


KEY = "k" * 32
QUIET = {"CCS_SPEECH__ENABLED": "false", "CCS_AUTH__SECRET_KEY": KEY}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ports() -> dict[str, str]:
    return {"CCS_HTTP__PORT": str(_free_port()), "CCS_IVR__AGI_PORT": str(_free_port()),
            "CCS_IVR__AUDIOSOCKET_PORT": str(_free_port())}


def _servers_running(data_dir: Path) -> list[str]:
    """The embedded servers of ``data_dir`` that run (their processes, not their files)."""
    from ccs.localenv import LocalPostgres, LocalRedis

    servers = {"postgres": LocalPostgres(data_dir / "pg"), "redis": LocalRedis(data_dir / "redis")}
    return [name for name, server in servers.items() if server.is_running()]


def _one_clear_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_when_the_secret_key_is_short_then_serve_refuses_in_one_line_and_starts_nothing(ccs):
    result = ccs("serve", CCS_AUTH__SECRET_KEY="short-key")
    line = _one_clear_line(result)
    assert "CCS_AUTH__SECRET_KEY" in line and "at least 32 bytes" in line
    assert _servers_running(ccs.data_dir) == []


@pytest.mark.parametrize("busy", ["CCS_IVR__AGI_PORT", "CCS_HTTP__PORT"])
def test_when_a_port_is_taken_then_serve_says_which_in_one_line_and_stops_its_servers(ccs, busy):
    ports = _ports()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(ports[busy])))
        taken.listen()
        result = ccs("serve", **QUIET, **ports)
    line = _one_clear_line(result)
    assert f"set {busy} to a free port" in line
    assert _servers_running(ccs.data_dir) == []


@pytest.mark.timeout(240)
def test_when_serve_is_interrupted_then_it_stops_the_servers_it_started(ccs):
    ports = _ports()
    proc = subprocess.Popen([sys.executable, "-m", "ccs", "serve"], cwd=ROOT,
                            env={**ccs.env, **QUIET, **ports}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        for line in proc.stderr:
            if "serving on" in line or time.monotonic() > deadline:
                break
        assert sorted(_servers_running(ccs.data_dir)) == ["postgres", "redis"]
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert _servers_running(ccs.data_dir) == []


def test_when_local_start_ran_before_then_serve_leaves_the_servers_running(ccs):
    assert ccs("local", "start").returncode == 0
    try:
        result = ccs("serve", CCS_AUTH__SECRET_KEY="short-key")
        assert result.returncode == 1
        ports = _ports()
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", int(ports["CCS_HTTP__PORT"])))
            taken.listen()
            ccs("serve", **QUIET, **ports)
        assert sorted(_servers_running(ccs.data_dir)) == ["postgres", "redis"]
    finally:
        ccs("local", "stop")


def test_when_importing_then_redis_is_not_started_and_postgres_is_stopped_after(ccs):
    assert "redis" not in _servers_running(ccs.data_dir)
    subprocess.run(["rm", "-rf", str(ccs.data_dir / "redis")], check=True)
    result = ccs("import-billing", str(FIXTURES / "billing_good.csv"))
    assert result.returncode == 0, result.stderr
    assert not (ccs.data_dir / "redis").exists()
    assert _servers_running(ccs.data_dir) == []


def test_when_a_file_has_cr_only_line_ends_then_it_is_refused_with_exit_2(ccs, tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes((FIXTURES / "billing_good.csv").read_bytes().replace(b"\n", b"\r"))
    result = ccs("import-billing", str(path))
    assert result.returncode == 2, result.stderr
    assert "CR-only line ends" in result.stderr and "Traceback" not in result.stderr


def test_when_a_field_holds_a_stray_cr_then_its_line_is_rejected_with_exit_1(ccs, tmp_path):
    lines = (FIXTURES / "billing_good.csv").read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b";", b"\r;", 1)
    path = tmp_path / "stray-cr.csv"
    path.write_bytes(b"\n".join(lines))
    result = ccs("import-billing", str(path))
    assert result.returncode == 1, result.stderr
    assert "line 3: a carriage return (CR)" in result.stderr
    assert "Traceback" not in result.stderr


def test_when_postgres_cannot_be_reached_then_import_says_so_with_exit_3(ccs, tmp_path):
    result = ccs("import-billing", str(FIXTURES / "billing_good.csv"),
                 CCS_POSTGRES__DSN=f"postgresql://ccs@/ccs?host={tmp_path}")
    assert result.returncode == 3, result.stderr
    assert "not imported" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.timeout(240)
def test_when_the_database_has_no_schema_then_serve_says_to_migrate_and_stops_its_servers():
    data_dir = ROOT / ".data" / f"cli-empty-{os.getpid()}"
    env = {**os.environ, "CCS_LOCAL__DATA_DIR": str(data_dir), **QUIET, **_ports()}
    try:
        result = subprocess.run([sys.executable, "-m", "ccs", "serve"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=200)
        line = _one_clear_line(result)
        assert "run `ccs migrate` first" in line
        assert _servers_running(data_dir) == []
    finally:
        subprocess.run([sys.executable, "-m", "ccs", "local", "stop"], cwd=ROOT, env=env,
                       capture_output=True, timeout=120)
        subprocess.run(["rm", "-rf", str(data_dir)], check=False)


JSON_LOG_PROBE = """
import logging
from agent_api.access_log import redact_aiohttp_logs
from ccs.cli import _settings

_settings()
redact_aiohttp_logs()
logging.getLogger("ccs.probe").warning("%d calls waiting", 3)
try:
    raise ValueError("GET /api/cards/phone/+79161234567 HTTP/1.1")
except ValueError:
    logging.getLogger("aiohttp.server").exception("Error handling request")
"""


def test_when_the_log_format_is_json_then_each_line_is_an_object_without_consumer_data():
    import json

    env = {**os.environ, "CCS_LOG_FORMAT": "json", "CCS_LOG_LEVEL": "INFO"}
    result = subprocess.run([sys.executable, "-c", JSON_LOG_PROBE], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(r["level"], r["logger"], r["message"]) for r in lines] == [
        ("WARNING", "ccs.probe", "3 calls waiting"),
        ("ERROR", "aiohttp.server", "Error handling request: ValueError (details withheld)"),
    ]
    assert all(r["time"].endswith("+00:00") for r in lines)  # ISO 8601, UTC
    assert "+79161234567" not in result.stderr

    text = subprocess.run([sys.executable, "-c", JSON_LOG_PROBE], cwd=ROOT,
                          env={**env, "CCS_LOG_FORMAT": "text"}, capture_output=True, text=True,
                          timeout=60)
    assert " WARNING ccs.probe: 3 calls waiting" in text.stderr.splitlines()[0]


def test_when_the_log_format_is_unknown_then_the_command_says_so(ccs):
    result = ccs("migrate", CCS_LOG_FORMAT="xml")
    assert result.returncode == 1
    assert "CCS_LOG_FORMAT" in result.stderr and "Traceback" not in result.stderr
