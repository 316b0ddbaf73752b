"""Real PostgreSQL and Redis for the whole suite, started in a folder inside the checkout."""
from __future__ import annotations

import asyncio
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from blockbuster import blockbuster_ctx

from ccs.localenv import LocalPostgres, LocalRedis
from ccs.service_guard import ServiceGuard
from state.db import create_pool, migrate_sync

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CAPTURES = DATA / "ami"
AGI_CAPTURES = DATA / "agi" / "asterisk-22-recorded"


# Guard: the suite reads nothing beside the checkout (a newcomer's clone has no sibling folders).
# An audit hook sees every open() in the process; paths under the checkout's parent but outside
# the checkout are recorded and fail the session at its end.
_OUTSIDE_READS: list[str] = []
_PARENT = os.path.dirname(str(ROOT)) + os.sep
_INSIDE = str(ROOT) + os.sep
_CWD = os.getcwd()


def _temporary(name: str) -> bool:
    # A checkout cloned into the system's temporary folder has pytest's and tempfile's own
    # folders beside it: those are the suite's scratch space, not another project's files.
    return name.startswith(("pytest-of-", "tmp"))


# The siblings the checkout had when the session began (what a test could wrongly depend on);
# folders made during the session are temporary by definition.
_SIBLINGS = tuple(_PARENT + name + os.sep for name in sorted(os.listdir(_PARENT))
                  if _PARENT + name + os.sep != _INSIDE and not _temporary(name)) + tuple(
    _PARENT + name for name in sorted(os.listdir(_PARENT))
    if os.path.isfile(_PARENT + name))


def _audit_open(event: str, args: tuple) -> None:
    if event != "open" or not args or isinstance(args[0], int) or args[0] is None:
        return
    try:
        path = os.fsdecode(os.fspath(args[0]))
        # No os.getcwd() here: blockbuster counts it as blocking inside the event loop.
        path = os.path.normpath(path if os.path.isabs(path) else os.path.join(_CWD, path))
    except TypeError:
        return
    if path.startswith(_SIBLINGS):
        _OUTSIDE_READS.append(path)


sys.addaudithook(_audit_open)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _OUTSIDE_READS:
        print(f"\nthe suite opened files outside the checkout: {sorted(set(_OUTSIDE_READS))[:10]}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


OUR_PACKAGES = ["agent_api", "ccs", "cti", "ivr", "speech", "state", "campaigns", "features"]


@pytest.fixture(autouse=True)
def no_blocking_calls(request: pytest.FixtureRequest) -> Iterator[object]:
    """Fail any test whose code blocks the event loop (file or socket I/O, sleeps) inside it.

    Only calls made from our packages count. Opt out with ``@pytest.mark.blocking_allowed``.
    """
    if request.node.get_closest_marker("blocking_allowed"):
        yield None
        return
    with blockbuster_ctx(OUR_PACKAGES) as guard:
        # Library internals that do one small read on connect, outside our control.
        for function in guard.functions.values():
            function.can_block_in("redis/utils.py", "get_lib_version")
            function.can_block_in("asyncpg/connect_utils.py", "_read_password_file")
        yield guard


@pytest.fixture(scope="session")
def service_guard() -> Iterator[ServiceGuard]:
    """Stops the suite's servers and removes their folder even when pytest is killed (-9)."""
    with ServiceGuard() as guard:
        yield guard


@pytest.fixture(scope="session")
def services_dir(service_guard: ServiceGuard) -> Iterator[Path]:
    path = ROOT / ".data" / f"test-{os.getpid()}"
    service_guard.remove_on_exit(path)
    path.mkdir(parents=True, exist_ok=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server(services_dir: Path, service_guard: ServiceGuard) -> Iterator[LocalPostgres]:
    server = LocalPostgres(services_dir / "pg", database="ccs_test", fast_unsafe=True)
    service_guard.watch(server)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(services_dir: Path, service_guard: ServiceGuard) -> Iterator[LocalRedis]:
    server = LocalRedis(services_dir / "redis")
    service_guard.watch(server)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def create_database(pg_server: LocalPostgres):
    """Make an empty database with a unique name; returns its DSN."""

    async def make(prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(pg_server.dsn.replace("/ccs_test?", "/postgres?"))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return pg_server.dsn.replace("/ccs_test?", f"/{name}?")

    return make


@pytest.fixture(scope="session")
def pg_dsn(pg_server: LocalPostgres) -> str:
    """The session's migrated database. Tests that write must clean up or use their own."""
    migrate_sync(pg_server.dsn)
    return pg_server.dsn


@pytest.fixture(scope="session")
async def pg_pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(pg_dsn, min_size=1, max_size=10)
    yield pool
    await pool.close()


@pytest.fixture
async def redis_client(redis_server: LocalRedis) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_server.url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()
