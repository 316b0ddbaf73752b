"""Live campaign progress pushed to supervisors (leader work: one pusher per PBX).

Event ``campaign`` ``{campaign: {id, name, type, state, state_reason, state_since, progress}}``
on the console's Socket.IO namespace ``/campaigns`` (room ``campaigns``, campaigns/sockets.py:
the board's sockets do not get them, nor the console the board). A campaign is
pushed when its state or figures changed, at most once per ``progress_push_seconds``, and
once more when it leaves running/paused (its final figures). ``wake()`` (a REST state change,
a finished attempt) makes the next round start at once.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import asyncpg

from campaigns import store
from campaigns.sockets import NAMESPACE, ROOM

log = logging.getLogger(__name__)

SQL_LIVE = f"""
SELECT {store.CAMPAIGN_COLUMNS} FROM campaigns
WHERE state IN ('running', 'paused') OR id = ANY($1::bigint[])
ORDER BY id
"""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class CampaignPushes:
    def __init__(self, pool: asyncpg.Pool, sio: Any, *, interval: float,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.pool = pool
        self.sio = sio
        self.interval = interval
        self.now = now
        self.pushes = 0
        self.errors = 0
        self._last: dict[int, str] = {}  # campaign id -> the JSON last pushed
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def wake(self, *_: Any) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="campaign-pushes")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._last.clear()

    async def _run(self) -> None:
        while True:
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database blip: try again next round
                self.errors += 1
                log.warning("campaign progress round failed: %s", type(exc).__name__)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()

    async def round(self) -> int:
        """Push every campaign whose figures changed; returns how many were pushed."""
        now = self.now()
        pushed = 0
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(SQL_LIVE, list(self._last))
            live = set()
            for row in rows:
                campaign = store.stored_campaign(row)
                progress = await store.progress(conn, campaign.id, now=now)
                item = {"id": campaign.id, "name": campaign.spec.name,
                        "type": campaign.spec.type, "state": campaign.state,
                        "state_reason": campaign.state_reason,
                        "state_since": campaign.state_since,
                        "progress": dataclasses.asdict(progress)}
                # The estimate moves with the clock: compare without it.
                key = json.dumps({**item, "progress": {
                    **item["progress"], "estimated_finish": None}}, default=str)
                if campaign.state in ("running", "paused"):
                    live.add(campaign.id)
                if self._last.get(campaign.id) == key:
                    continue
                await self.sio.emit("campaign", {"campaign": json.loads(
                    json.dumps(item, default=_iso))}, to=ROOM, namespace=NAMESPACE)
                self._last[campaign.id] = key
                pushed += 1
        # A campaign that ended was pushed once more above; then it is forgotten.
        for campaign_id in list(self._last):
            if campaign_id not in live:
                del self._last[campaign_id]
        self.pushes += pushed
        return pushed


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)
