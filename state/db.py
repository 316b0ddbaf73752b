"""PostgreSQL access: the asyncpg pool and schema migrations.

Migrations are plain SQL files in ``state/migrations`` applied by yoyo-migrations: each file
runs in its own transaction, applied files are recorded in the database, and a lock stops two
processes from migrating at once.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
from yoyo import get_backend, read_migrations

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _yoyo_url(dsn: str) -> str:
    # yoyo picks its driver from the scheme; libpq's URL syntax (including ?host=/socket/dir)
    # passes through psycopg unchanged.
    scheme, rest = dsn.split("://", 1)
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return dsn


def migrate_sync(dsn: str) -> list[str]:
    """Apply every pending migration; return the ids applied."""
    backend = get_backend(_yoyo_url(dsn))
    try:
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
    finally:
        # yoyo keeps its connection open until garbage collection: a database just migrated
        # could not be copied (CREATE DATABASE ... TEMPLATE) or dropped while it lingered.
        backend.connection.close()
    return [m.id for m in pending]


async def migrate(dsn: str) -> list[str]:
    return await asyncio.get_running_loop().run_in_executor(None, migrate_sync, dsn)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing beyond what asyncpg always does (roll back an open
    transaction, drop the connection's listeners). The default also runs
    ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` — a round trip on every
    release (8 % of the server's CPU at 100 calls/s) for session state this code never leaves
    behind: settings are ``SET LOCAL``, cursors live in transactions, no advisory locks, and
    the one LISTEN on a pooled connection (features/agents/interface_map.py) UNLISTENs itself."""


class BoundedPool(asyncpg.Pool):
    """An asyncpg pool whose every acquire (``pool.fetch`` too) waits at most ``acquire_timeout``
    seconds for a free connection, then raises ``TimeoutError``: a burst waits its turn, but a
    pool held by a stuck database does not hold its callers forever."""

    def __init__(self, *args, acquire_timeout: float | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None):
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 20,
    command_timeout: float = 10.0,
    acquire_timeout: float | None = None,
) -> asyncpg.Pool:
    pool = BoundedPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        max_queries=50000,
        max_inactive_connection_lifetime=300.0,
        command_timeout=command_timeout,
        init=_init_connection,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        acquire_timeout=acquire_timeout,
        reset=_keep_session,
    )
    await pool
    return pool


# What a lost or refused PostgreSQL looks like to asyncpg: connection failures (class 08), an
# administrator or crash shutdown, a server still starting, no free server slot, a closed
# connection, and OSError/TimeoutError from connecting or from waiting for a pooled connection.
_OUTAGE = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    OSError,
)


def is_database_outage(exc: BaseException) -> bool:
    """True when ``exc`` says PostgreSQL cannot be reached now, not that a statement is wrong."""
    if isinstance(exc, _OUTAGE):
        return True
    # asyncpg reports a connection closed under a waiting call as a bare InterfaceError.
    return isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc)


def database_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/") or parse_qs(urlsplit(dsn).query).get("dbname", [""])[0]
