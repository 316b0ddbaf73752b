import asyncpg
import redis.asyncio as aioredis

from state.db import migrate


async def test_when_services_start_then_postgres_and_redis_answer(pg_server, redis_server):
    conn = await asyncpg.connect(pg_server.dsn)
    try:
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()
    client = aioredis.from_url(redis_server.url)
    try:
        assert await client.ping()
    finally:
        await client.aclose()


async def test_when_migrating_an_empty_database_then_schema_exists_and_rerun_is_noop(create_database):
    dsn = await create_database("mig")
    applied = await migrate(dsn)
    assert applied, "an empty database must get every migration"
    assert await migrate(dsn) == []
    conn = await asyncpg.connect(dsn)
    try:
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
    finally:
        await conn.close()
    assert {"accounts", "consumers", "phones", "meters", "readings", "appeals", "outages", "agents"} <= tables


# --- starting the embedded services as a newcomer's shell does ------------------------------
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from ccs.localenv import LocalPostgres, LocalRedis, LocalServiceError, find_tool  # noqa: E402

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the cluster belongs to 'postgres' only as root")


def _gone(pid: int, timeout: float = 20) -> None:
    """Wait until ``pid`` is dead (a zombie counts as dead: its files are closed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not die")


def _redis_answers(server: LocalRedis) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(server.socket))
        s.sendall(b"PING\r\n")
        return s.recv(16).startswith(b"+PONG")


@as_root
def test_when_path_lacks_sbin_then_postgres_starts_and_starts_again_after_a_kill_9(
    services_dir, monkeypatch
):
    # A non-login root shell: no /usr/sbin (runuser) in PATH.
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    server = LocalPostgres(services_dir / "pg-nosbin", fast_unsafe=True)
    try:
        server.start()
        pid = int((server.cluster_dir / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        _gone(pid)
        assert not server.is_running()
        server.start()  # a stale postmaster.pid must not pass for a running server
        assert server.is_running()
    finally:
        server.stop()


def test_when_a_tool_is_missing_then_the_error_names_it_and_its_package():
    with pytest.raises(LocalServiceError, match="'ccs-no-such-tool' not found.*'some-package'"):
        find_tool("ccs-no-such-tool", "some-package")


@as_root
def test_when_a_start_fails_then_it_leaves_no_folder_behind(tmp_path):
    # pytest's tmp folders are 0700: the 'postgres' account cannot reach a cluster there.
    data_dir = tmp_path / "new" / "pg"
    with pytest.raises(LocalServiceError, match="not traversable"):
        LocalPostgres(data_dir).start()
    assert not (tmp_path / "new").exists()


def test_when_redis_was_killed_then_start_starts_it_again(services_dir):
    server = LocalRedis(services_dir / "redis-killed")
    try:
        server.start()
        pid = int(server.pid_file.read_text())
        os.kill(pid, signal.SIGKILL)
        _gone(pid)
        server.start()
        assert _redis_answers(server)
    finally:
        server.stop()


def test_when_the_redis_pid_file_names_another_live_process_then_start_starts_redis(services_dir):
    server = LocalRedis(services_dir / "redis-reused-pid")
    server.socket_dir.mkdir(parents=True, exist_ok=True)
    server.pid_file.write_text(str(os.getpid()))  # a live process that is not our Redis
    with socket.socket(socket.AF_UNIX) as stale:
        stale.bind(str(server.socket))  # the socket file a killed Redis leaves
    try:
        assert not server.is_running()
        server.start()
        assert _redis_answers(server)
    finally:
        server.stop()
    assert Path(f"/proc/{os.getpid()}").exists()  # stop() never signals a stranger
