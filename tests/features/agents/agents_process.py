"""A server process of its own (for the kill -9 test): the readiness parts on a given PBX,
PostgreSQL and Redis, as the leader. Prints ``ready`` once started; reads commands on stdin:
``set <agent_id> <state> [reason]`` answers ``done`` or ``error <id>``; ``idle`` answers
``idle <rounds>`` once no re-apply round is wanted or running.

    python -m tests.features.agents.agents_process <ami_port> <dsn> <redis_url> <key_prefix>
"""
from __future__ import annotations

import asyncio
import sys
from types import SimpleNamespace

import redis.asyncio as aioredis

from features.agents.service import ReadinessError
from features.agents.settings import AgentsSettings
from state.db import create_pool
from state.redis_keys import RedisKeys
from tests.features.agents.readiness_stack import Stack


async def main(port: int, dsn: str, redis_url: str, prefix: str) -> None:
    pool = await create_pool(dsn, min_size=1, max_size=4)
    redis = aioredis.from_url(redis_url, decode_responses=True)
    stack = Stack(SimpleNamespace(port=port), pool, redis, RedisKeys(prefix),  # type: ignore[arg-type]
                  AgentsSettings(wrapup_seconds=0))
    await stack.start()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    while line := (await reader.readline()).decode().split():
        if line[0] == "set":
            try:
                await stack.service.set_readiness(int(line[1]), line[2],
                                                  line[3] if len(line) > 3 else None)
                print("done", flush=True)
            except ReadinessError as exc:
                print(f"error {exc.error_id}", flush=True)
        elif line[0] == "idle":
            cti = stack.cti
            while cti._reapply_wanted.is_set() or cti.reapplying:
                await asyncio.sleep(0.01)
            print(f"idle {cti.reapply_rounds}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]))
