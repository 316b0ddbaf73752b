"""What the flows need from outside: the database, settings, reading limits, a clock and whom
to tell that a caller was identified."""
from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import asyncpg

from ivr.settings import IvrSettings
from state.readings import ReadingLimits


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class IvrDeps:
    db: asyncpg.Pool
    settings: IvrSettings
    limits: ReadingLimits
    clock: Callable[[], dt.datetime] = field(default=_utc_now)
    # Told the account number once the caller is identified (the server prefetches the card
    # for the screen pop); must not block.
    on_identified: Callable[[str], None] | None = None

    def identified(self, account_number: str) -> None:
        if self.on_identified is not None:
            self.on_identified(account_number)

    async def local_now(self, timezone: str) -> dt.datetime:
        # ZoneInfo reads the zone file on first use: off the loop (it caches it afterwards).
        zone = await asyncio.to_thread(_zone, timezone)
        return self.clock().astimezone(zone)

    async def period_for(self, timezone: str) -> dt.date:
        """The billing month the consumer is in now, by their own clock."""
        return (await self.local_now(timezone)).date().replace(day=1)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):  # unknown or malformed zone name in the account row
        return ZoneInfo("Europe/Moscow")
