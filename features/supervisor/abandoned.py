"""Today's abandoned callers, so that someone calls them back (the list queue panels' users ask
for first).

From the call records (``queue_calls``, outcome ``abandoned``, entered today in the call
center's time zone): caller number, the account the IVR found, how long they waited, and
whether anyone called that number since (an outbound ``interactions`` row to it after the
abandonment: click-to-call writes one at the Originate). A caller who got through later today
(a leg of theirs answered or transferred after the abandonment) drops off the list. One row per
caller: the latest abandonment (an earlier one of the same number is the same person to call).
Numbers are compared in E.164 (``state/phones.py``), whatever form the trunk gave.
"""
from __future__ import annotations

import datetime as dt
import logging

import asyncpg

from features.supervisor.board_schemas import AbandonedCall
from features.supervisor.settings import SupervisorSettings
from state.phones import try_normalize_phone

log = logging.getLogger(__name__)

_ABANDONED = """
SELECT q.id, q.call_id, q.queue, q.caller_number, a.number AS account, q.wait_seconds,
       q.entered_at, q.left_at, LEAST(q.left_at, q.recorded_at) AS since
  FROM queue_calls q LEFT JOIN accounts a ON a.id = q.account_id
 WHERE q.outcome = 'abandoned' AND q.entered_at >= $1 AND q.entered_at < $2
   AND q.caller_number IS NOT NULL AND q.caller_number <> ''
 ORDER BY q.left_at DESC, q.id DESC
 LIMIT $3
"""

_GOT_THROUGH = """
SELECT caller_number, max(entered_at) AS last
  FROM queue_calls
 WHERE outcome IN ('answered', 'transferred') AND entered_at >= $1
   AND caller_number = ANY($2::text[])
 GROUP BY caller_number
"""

_CALLED = """
SELECT phone, array_agg(started_at ORDER BY started_at) AS times
  FROM interactions
 WHERE direction = 'outbound' AND started_at >= $1 AND phone = ANY($2::text[])
 GROUP BY phone
"""


def day_bounds(now: dt.datetime, settings: SupervisorSettings) -> tuple[dt.datetime, dt.datetime]:
    """[midnight, next midnight) of ``now``'s day in the call center's time zone, in UTC."""
    zone = settings.zone()
    local = now.astimezone(zone)
    start = dt.datetime.combine(local.date(), dt.time(), zone)
    end = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), zone)
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


def caller_key(number: str) -> str:
    """One caller whatever form the trunk gave the number in (E.164 when it parses)."""
    return try_normalize_phone(number) or number


def number_forms(e164: str) -> list[str]:
    """The forms a Russian trunk may give the same number in (+7…, 7…, 8…, 10 digits)."""
    forms = {e164, e164.lstrip("+")}
    if e164.startswith("+7") and len(e164) == 12:
        forms |= {"8" + e164[2:], e164[2:]}
    return sorted(forms)


class AbandonedList:
    def __init__(self, pool: asyncpg.Pool, settings: SupervisorSettings) -> None:
        self._pool = pool
        self._settings = settings

    async def today(self, now: dt.datetime | None = None) -> list[AbandonedCall]:
        now = now or dt.datetime.now(dt.timezone.utc)
        start, end = day_bounds(now, self._settings)
        rows = await self._pool.fetch(_ABANDONED, start, end, self._settings.abandoned_limit)
        latest: dict[str, asyncpg.Record] = {}
        for row in rows:  # newest first: the first row of a number is its latest abandonment
            key = caller_key(row["caller_number"])
            latest.setdefault(key, row)
        if not latest:
            return []
        forms = sorted({f for key in latest for f in (number_forms(key) if key.startswith("+")
                                                      else [key])})
        through: dict[str, dt.datetime] = {}
        for r in await self._pool.fetch(_GOT_THROUGH, start, forms):
            key = caller_key(r["caller_number"])
            through[key] = max(r["last"], through.get(key, r["last"]))
        called: dict[str, list[dt.datetime]] = {}
        for r in await self._pool.fetch(_CALLED, start, forms):
            key = caller_key(r["phone"])
            called.setdefault(key, []).extend(r["times"])
        out = []
        for key, row in latest.items():
            if key in through and through[key] > row["entered_at"]:
                continue
            # The PBX's clock (left_at) and this server's (a call's started_at, the row's
            # recorded_at) may differ a little: the earlier of the two counts.
            after = sorted(t for t in called.get(key, []) if t >= row["since"])
            out.append(AbandonedCall(
                record_id=row["id"], call_id=row["call_id"], queue=row["queue"],
                caller_number=row["caller_number"], account=row["account"],
                waited=float(row["wait_seconds"] or 0.0), abandoned_at=row["left_at"],
                called_back=bool(after), called_back_at=after[0] if after else None))
        return out

    async def record(self, record_id: int) -> asyncpg.Record | None:
        """One abandoned leg (any day): its number and account, for a call back."""
        return await self._pool.fetchrow(
            "SELECT q.id, q.caller_number, a.number AS account FROM queue_calls q "
            "LEFT JOIN accounts a ON a.id = q.account_id "
            "WHERE q.id = $1 AND q.outcome = 'abandoned'", record_id)
