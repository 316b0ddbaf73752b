"""Password checks (bcrypt) on threads of their own, with a bounded number waiting.

bcrypt costs ~0.2 s of CPU per check at 12 rounds. On the loop's default executor a burst of
logins queued ahead of everything else that needs a thread (the IVR's file and DNS work, the
speech engine): 100 wrong logins made a keyed IVR call take 14 s. Here checks run on
``hash_workers`` threads owned by the application, and when ``hash_queue`` more are already
waiting a login is answered 503 at once instead of growing the queue.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from agent_api.errors import Busy
from state.models import AgentCredentials
from state.repositories.agents import DEFAULT_BCRYPT_ROUNDS, hash_password, verify_password


class PasswordHasher:
    def __init__(self, workers: int, queue: int) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="ccs-password")
        self._limit = workers + queue
        self._in_flight = 0

    def status(self) -> dict:
        return {"in_flight": self._in_flight, "limit": self._limit}

    async def verify(self, credentials: AgentCredentials, password: str) -> bool:
        self._admit()
        try:
            return await verify_password(credentials, password, executor=self._executor)
        finally:
            self._in_flight -= 1

    async def hash(self, password: str, rounds: int = DEFAULT_BCRYPT_ROUNDS) -> str:
        self._admit()
        try:
            return await hash_password(password, rounds, executor=self._executor)
        finally:
            self._in_flight -= 1

    def _admit(self) -> None:
        if self._in_flight >= self._limit:
            raise Busy("too many password checks in progress; try again shortly")
        self._in_flight += 1

    async def close(self) -> None:
        # Joining the threads blocks: do it off the loop.
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
