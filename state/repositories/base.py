"""What every repository function takes: an asyncpg Connection or Pool (both can fetch)."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TypeAlias

import asyncpg

Queryable: TypeAlias = asyncpg.Connection | asyncpg.Pool


@contextlib.asynccontextmanager
async def transaction(conn: Queryable) -> AsyncIterator[asyncpg.Connection]:
    """A transaction on ``conn`` itself, or on a connection borrowed from the pool."""
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as borrowed, borrowed.transaction():
            yield borrowed
    else:
        async with conn.transaction():
            yield conn
