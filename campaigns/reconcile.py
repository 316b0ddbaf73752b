"""Settle robocall tries whose events this process did not see (kill -9, restart, AMI link lost).

An attempt in ``dialing`` or ``answered`` is one try the PBX may still be running. What the PBX
can tell about it, in this order:

1. a live channel carries ``CCS_ATTEMPT=<id>`` (manager.conf channelvars; ``CoreShowChannels``):
   the call goes on, its OriginateResponse / UserEvent will come as live events: leave it;
2. the AstDB entry the dialplan writes at every ending (``DBGet ccs-robocall
   <campaign>/<attempt>-<try>``, dialplans/robocall.conf): the outcome, recorded now;
3. neither, and dialled more than ``grace`` seconds ago: the Originate never made a channel
   (never sent: a crash between the claim's commit and the send): nobody was reached; the
   attempt is due again as a new try (``attempts.requeue_untraced``). An answered try with no
   trace (Asterisk itself lost it) ends ``hung_up``.

A try is never originated again here: ``attempts.finish`` records it once, and the retry that
may follow is a new claim under the contact rules. ``finish`` is idempotent, so a live event that
races this (the call ending right after the channel list was taken) changes nothing twice.

The pacer runs ``settle(all_inflight=True)`` before it dials anything after a start, and
``settle()`` of overdue tries every ``inflight_check_seconds`` and after every AMI resync.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg

from campaigns import attempts, outcomes as oc
from cti.errors import CtiError

log = logging.getLogger(__name__)

DB_FAMILY = "ccs-robocall"

SQL_INFLIGHT = """
SELECT id, campaign_id, tries, state, dialled_at, updated_at
FROM campaign_attempts
WHERE state IN ('dialing', 'answered') AND updated_at <= $1
ORDER BY id
"""


@dataclass
class Settled:
    inflight: int = 0
    live: int = 0
    from_astdb: int = 0
    no_trace: int = 0
    too_recent: int = 0
    seconds: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)


def attempt_of(fields: Any) -> int | None:
    """The CCS_ATTEMPT of one channel's ChanVariable lines (one line or a list)."""
    values = fields.get("ChanVariable") if hasattr(fields, "get") else None
    if values is None:
        return None
    for item in values if isinstance(values, list) else [values]:
        name, _, value = str(item).partition("=")
        if name == "CCS_ATTEMPT" and value.strip().isdigit():
            return int(value)
    return None


class Reconciler:
    def __init__(self, pool: asyncpg.Pool, cti: Any, lookup: attempts.CampaignLookup, *,
                 grace: float = 3.0, on_final=None,
                 now=lambda: datetime.now(timezone.utc)) -> None:
        self.pool = pool
        self.cti = cti  # cti.service.CtiService: its connection and actions
        self.lookup = lookup
        self.grace = grace
        self.on_final = on_final
        self.now = now
        self.last: Settled | None = None
        self.totals = Settled()  # every round since start (status, tests)
        self.runs = 0

    async def live_attempts(self) -> set[int]:
        channels = await self.cti.actions.core_show_channels()
        return {a for ch in channels if (a := attempt_of(ch)) is not None}

    async def astdb(self, campaign_id: int, attempt_id: int, try_no: int) -> str | None:
        answer = await self.cti.connection.send(
            {"Action": "DBGet", "Family": DB_FAMILY, "Key": f"{campaign_id}/{attempt_id}-{try_no}"},
            as_list=None)
        messages = answer if isinstance(answer, list) else [answer]
        for message in messages:
            if message.get("Event") == "DBGetResponse":
                return str(message.get("Val", ""))
        return None  # "Database entry not found"

    async def settle(self, *, all_inflight: bool = False, older_than: float = 5.0) -> Settled:
        """Reconcile in-flight tries (all of them, or those unchanged for ``older_than`` s)."""
        started = time.perf_counter()
        now = self.now()
        horizon = now if all_inflight else now - timedelta(seconds=older_than)
        report = Settled()
        rows = await self.pool.fetch(SQL_INFLIGHT, horizon)
        report.inflight = len(rows)
        if rows:
            live = await self.live_attempts()
            ended = [row for row in rows if row["id"] not in live]
            report.live = len(rows) - len(ended)
            gate = asyncio.Semaphore(50)  # AMI round trips side by side, not a flood

            async def entry(row: asyncpg.Record) -> str | None | CtiError:
                async with gate:
                    try:
                        return await self.astdb(row["campaign_id"], row["id"], row["tries"])
                    except CtiError as exc:
                        return exc

            values = await asyncio.gather(*(entry(row) for row in ended))
            async with self.pool.acquire() as conn:
                for row, value in zip(ended, values):
                    if not isinstance(value, CtiError):  # no AMI now: the next round
                        await self._one(conn, row, value, now, report)
        report.seconds = time.perf_counter() - started
        self.last = report
        self.runs += 1
        for name in ("inflight", "live", "from_astdb", "no_trace", "too_recent"):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(report, name))
        if rows:
            log.info("robocalls reconciled: %d in flight, %d live, %d from AstDB, %d without "
                     "trace (%.3f s)", report.inflight, report.live, report.from_astdb,
                     report.no_trace, report.seconds)
        return report

    async def _one(self, conn: asyncpg.Connection, row: asyncpg.Record, value: str | None,
                   now: datetime, report: Settled) -> None:
        result: str | oc.Report | None = oc.from_astdb(value) if value is not None else None
        if result is not None:
            report.from_astdb += 1
        else:
            dialled = row["dialled_at"] or row["updated_at"]
            if dialled is not None and (now - dialled).total_seconds() < self.grace:
                report.too_recent += 1
                return
            report.no_trace += 1
            if row["state"] == "dialing":
                await attempts.requeue_untraced(conn, row["id"], row["tries"], now)
                return
            result = oc.HUNG_UP  # answered, then the PBX lost it (an Asterisk crash)
        done = await attempts.finish(conn, row["id"], row["tries"], result, now, self.lookup,
                                     on_final=self.on_final)
        if done is not None:
            report.outcomes[done.outcome] = report.outcomes.get(done.outcome, 0) + 1
