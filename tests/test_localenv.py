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
