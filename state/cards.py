"""The consumer card (screen pop): one SQL statement per lookup, a Redis cache in front.

Each card is built by PostgreSQL as one JSON document (``json_build_object`` over LATERAL
subqueries, every one of them an index lookup by account id), returned as text and validated by
pydantic straight from JSON, so a lookup costs one round trip whatever the card holds.

Cache and invalidation: :class:`CardCache` keeps a card under ``{prefix}:card:{account}``
(see ``state/redis_keys.py``) for ``RedisSettings.card_cache_ttl`` seconds. Writers do nothing: triggers
on every table a card reads (migration ``0002``) notify channel ``ccs_card_changed`` with the
account numbers whose cards changed, or ``*`` for changes that touch many cards (outages, a
billing import, which also notifies explicitly because it may run with triggers off), and
:mod:`state.card_listener` drops those cached cards. The TTL bounds how stale a card can get if a
notification is lost (the listener also flushes every card after it reconnects).

The cache is an optimisation: when Redis is down, cards come from PostgreSQL.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging

import redis.asyncio as aioredis
import redis.exceptions
from pydantic import ValidationError

from state.redis_keys import RedisKeys
from state.models import ConsumerCard
from state.repositories.accounts import METERS_JSON
from state.repositories.base import Queryable
from state.settings import RedisSettings

log = logging.getLogger(__name__)

CHANGES_CHANNEL = "ccs_card_changed"
FLUSH_ALL = "*"
_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

APPEALS_ON_CARD = 10
INTERACTIONS_ON_CARD = 10
CHARGES_ON_CARD = 12
PAYMENTS_ON_CARD = 5

# The part of the statement that turns each row `a` of accounts into a card. $2..$5 are the
# list limits. Money and readings stay JSON numbers; pydantic parses them into Decimal losslessly.
_CARD = """
SELECT json_build_object(
    'consumer', json_build_object('id', c.id, 'kind', c.kind, 'full_name', c.full_name,
                                  'inn', c.inn),
    'account', json_build_object('id', a.id, 'number', a.number, 'consumer_id', a.consumer_id,
        'status', a.status, 'city', a.city, 'street', a.street, 'house', a.house,
        'apartment', a.apartment, 'timezone', a.timezone, 'opened_on', a.opened_on),
    'phones', ph.items, 'services', sv.items, 'balances', bl.items, 'charges', ch.items,
    'payments', pm.items, 'meters', mt.items, 'appeals', ap.items,
    'interactions', ix.items, 'outages', ou.items, 'built_at', now()
)::text AS card
FROM picked a
JOIN consumers c ON c.id = a.consumer_id
CROSS JOIN LATERAL (
    SELECT coalesce(json_agg(json_build_object('e164', p.e164, 'kind', l.kind) ORDER BY p.e164),
                    '[]') AS items
    FROM account_phones l JOIN phones p ON p.id = l.phone_id
    WHERE l.account_id = a.id
) ph
CROSS JOIN LATERAL (
    SELECT coalesce(json_agg(json_build_object('service', s.service, 'status', s.status,
                                               'tariff', s.tariff, 'unit', u.unit)
                             ORDER BY s.service), '[]') AS items
    FROM account_services s JOIN services u ON u.code = s.service
    WHERE s.account_id = a.id
) sv
CROSS JOIN LATERAL (
    SELECT coalesce(json_agg(json_build_object('service', b.service, 'period', b.period,
        'balance', b.balance, 'debt', b.debt, 'penalty', b.penalty,
        'months_overdue', b.months_overdue) ORDER BY b.service), '[]') AS items
    FROM balances b WHERE b.account_id = a.id
) bl
CROSS JOIN LATERAL (
    SELECT coalesce(json_agg(x ORDER BY x.period DESC, x.service), '[]') AS items
    FROM (SELECT g.service, g.period, g.amount, g.volume FROM charges g
          WHERE g.account_id = a.id ORDER BY g.period DESC LIMIT $4) x
) ch
CROSS JOIN LATERAL (
    SELECT coalesce(json_agg(x ORDER BY x.paid_on DESC, x.id DESC), '[]') AS items
    FROM (SELECT y.id, y.service, y.paid_on, y.amount, y.channel FROM payments y
          WHERE y.account_id = a.id ORDER BY y.paid_on DESC LIMIT $5) x
) pm
CROSS JOIN LATERAL (""" + METERS_JSON.format(account_id="a.id") + """) mt
CROSS JOIN LATERAL (
    SELECT coalesce(json_agg(x ORDER BY x.status IN ('new', 'in_progress') DESC,
                                        x.created_at DESC), '[]') AS items
    FROM (SELECT p.id, p.account_id, p.consumer_id, p.type, p.topic, p.priority, p.status,
                 p.channel, p.operator_group, p.summary, p.created_at, p.due_at, p.closed_at
          FROM appeals p WHERE p.account_id = a.id
          ORDER BY p.status IN ('new', 'in_progress') DESC, p.created_at DESC LIMIT $2) x
) ap
CROSS JOIN LATERAL (
    SELECT coalesce(json_agg(x ORDER BY x.started_at DESC), '[]') AS items
    FROM (SELECT i.id, i.call_id, i.direction, i.phone, i.account_id, i.agent_id,
                 i.queue_name, i.started_at, i.answered_at, i.ended_at, i.outcome,
                 i.ivr_context
          FROM interactions i WHERE i.account_id = a.id
          ORDER BY i.started_at DESC LIMIT $3) x
) ix
CROSS JOIN LATERAL (
    -- A null house in outage_addresses means the whole street.
    SELECT coalesce(json_agg(x ORDER BY x.started_at DESC), '[]') AS items
    FROM (SELECT o.id, o.service, o.kind, o.description, o.started_at,
                 o.expected_restoration_at, o.restored_at
          FROM outages o
          WHERE o.restored_at IS NULL AND o.id IN (
              SELECT oa.outage_id FROM outage_addresses oa
              WHERE oa.city = a.city AND oa.street = a.street
                AND (oa.house IS NULL OR oa.house = a.house))) x
) ou
"""

SQL_CARD_BY_ACCOUNT = (
    "WITH picked AS (SELECT * FROM accounts WHERE number = $1)" + _CARD
)
# Active accounts first, then by number, so the choice the pop offers is stable.
SQL_CARDS_BY_PHONE = (
    """WITH picked AS (
    SELECT a.* FROM phones p
    JOIN account_phones l ON l.phone_id = p.id
    JOIN accounts a ON a.id = l.account_id
    WHERE p.e164 = $1
    ORDER BY a.status = 'active' DESC, a.number
    LIMIT $6)"""
    + _CARD
    + "ORDER BY a.status = 'active' DESC, a.number"
)
SQL_CARDS_BY_ACCOUNTS = (
    "WITH picked AS (SELECT * FROM accounts WHERE number = ANY($1::text[]))"
    + _CARD
    + "ORDER BY a.number"
)


def _limits(appeals: int, interactions: int) -> tuple[int, int, int, int]:
    return appeals, interactions, CHARGES_ON_CARD, PAYMENTS_ON_CARD


async def card_by_account(
    conn: Queryable,
    number: str,
    *,
    appeals: int = APPEALS_ON_CARD,
    interactions: int = INTERACTIONS_ON_CARD,
) -> ConsumerCard | None:
    """The card of account ``number``, or None when no such account exists."""
    text = await conn.fetchval(SQL_CARD_BY_ACCOUNT, number, *_limits(appeals, interactions))
    return None if text is None else ConsumerCard.model_validate_json(text)


async def cards_by_phone(
    conn: Queryable,
    e164: str,
    limit: int = 10,
    *,
    appeals: int = APPEALS_ON_CARD,
    interactions: int = INTERACTIONS_ON_CARD,
) -> list[ConsumerCard]:
    """Cards of every account the phone (already in E.164) belongs to: the pop offers a choice."""
    rows = await conn.fetch(SQL_CARDS_BY_PHONE, e164, *_limits(appeals, interactions), limit)
    return [ConsumerCard.model_validate_json(row["card"]) for row in rows]


async def cards_by_accounts(
    conn: Queryable,
    numbers: list[str],
    *,
    appeals: int = APPEALS_ON_CARD,
    interactions: int = INTERACTIONS_ON_CARD,
) -> list[ConsumerCard]:
    """Cards of several accounts in one statement (unknown numbers are skipped)."""
    if not numbers:
        return []
    rows = await conn.fetch(SQL_CARDS_BY_ACCOUNTS, numbers, *_limits(appeals, interactions))
    return [ConsumerCard.model_validate_json(row["card"]) for row in rows]


PREFETCHES = 64  # card prefetches under way at once; more are skipped


class CardCache:
    """Cards in Redis by account number, so a repeated pop does not touch PostgreSQL."""

    def __init__(self, redis: aioredis.Redis, ttl: int = 30, *, keys: RedisKeys | None = None) -> None:
        if ttl <= 0:
            raise ValueError("the card cache TTL must be positive")
        self._redis = redis
        self._keys = keys or RedisKeys()
        self._ttl = ttl
        self._down = False
        # Write-behind puts and prefetches still under way.
        self._writes: set[asyncio.Task[None]] = set()
        self.prefetch_failures = 0

    @classmethod
    def from_settings(cls, redis: aioredis.Redis, settings: RedisSettings) -> CardCache:
        return cls(redis, settings.card_cache_ttl, keys=RedisKeys.from_settings(settings))

    async def get(self, number: str) -> ConsumerCard | None:
        raw = await self._redis.get(self._keys.card(number))
        return None if raw is None else self._parse(number, raw)

    async def get_many(self, numbers: list[str]) -> dict[str, ConsumerCard]:
        if not numbers:
            return {}
        raws = await self._redis.mget([self._keys.card(n) for n in numbers])
        found = {}
        for number, raw in zip(numbers, raws):
            if raw is not None and (card := self._parse(number, raw)) is not None:
                found[number] = card
        return found

    async def put(self, card: ConsumerCard) -> None:
        await self._redis.set(
            self._keys.card(card.account.number), card.model_dump_json(), ex=self._ttl
        )

    async def put_many(self, cards: list[ConsumerCard]) -> None:
        if not cards:
            return
        if len(cards) == 1:  # the usual case: a pipeline costs more than the one command
            card = cards[0]
            await self._redis.set(self._keys.card(card.account.number), card.model_dump_json(),
                                  ex=self._ttl)
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for card in cards:
                pipe.set(self._keys.card(card.account.number), card.model_dump_json(), ex=self._ttl)
            await pipe.execute()

    async def invalidate(self, number: str) -> None:
        await self._redis.delete(self._keys.card(number))

    async def invalidate_many(self, numbers: list[str]) -> None:
        for start in range(0, len(numbers), 1000):
            await self._redis.delete(*(self._keys.card(n) for n in numbers[start : start + 1000]))

    async def invalidate_all(self) -> int:
        """Drop every cached card (SCAN, never KEYS, so Redis is not blocked); returns the count."""
        removed = 0
        batch: list[str] = []
        async for key in self._redis.scan_iter(match=self._keys.card("*"), count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                removed += await self._redis.delete(*batch)
                batch.clear()
        if batch:
            removed += await self._redis.delete(*batch)
        return removed

    def _parse(self, number: str, raw: str | bytes) -> ConsumerCard | None:
        try:
            return ConsumerCard.model_validate_json(raw)
        except ValidationError:
            # A card written by an older model version: treat as a miss, it is rebuilt.
            log.warning("dropping an unreadable cached card")
            return None

    async def _cached(self, numbers: list[str]) -> dict[str, ConsumerCard]:
        try:
            found = await self.get_many(numbers)
        except _REDIS_DOWN:
            if not self._down:  # once per outage, not once per request
                log.warning("card cache unavailable: reading cards from PostgreSQL")
            self._down = True
            return {}
        if self._down:
            log.info("card cache available again")
            self._down = False
        return found

    async def _keep(self, cards: list[ConsumerCard], write_behind: bool = False) -> None:
        if write_behind and cards:
            # The caller (the screen pop) has the card: it must not wait for Redis to store it.
            task = asyncio.create_task(self._keep(cards), name="card-cache-write")
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)
            return
        try:
            await self.put_many(cards)
        except _REDIS_DOWN:
            pass  # already said by _cached; the card is served all the same

    def prefetch(self, conn: Queryable, number: str) -> None:
        """Have account ``number``'s card in the cache soon, without waiting for it: the IVR
        calls this when it has identified the caller, seconds before the queue and the ring,
        so the pop reads the card from Redis instead of building it from PostgreSQL on the
        ring path. Best effort: at most ``PREFETCHES`` at once, failures only counted."""
        if len(self._writes) >= PREFETCHES:
            return
        task = asyncio.create_task(self._prefetch(conn, number), name="card-prefetch")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _prefetch(self, conn: Queryable, number: str) -> None:
        try:
            await self.card_by_account(conn, number)
        except Exception:  # noqa: BLE001 (the pop looks it up again; the IVR must not care)
            self.prefetch_failures += 1
            log.debug("card prefetch failed", exc_info=True)

    async def flushed(self) -> None:
        """Wait for the write-behind puts under way (tests, shutdown)."""
        while self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def card_by_account(self, conn: Queryable, number: str, *,
                              write_behind: bool = False) -> ConsumerCard | None:
        """Cache first, then PostgreSQL (the result is cached; with ``write_behind`` the card
        is returned before that write is done)."""
        if (card := (await self._cached([number])).get(number)) is not None:
            return card
        card = await card_by_account(conn, number)
        if card is not None:
            await self._keep([card], write_behind)
        return card

    async def cards_by_phone(
        self, conn: Queryable, e164: str, limit: int = 10, *, write_behind: bool = False
    ) -> list[ConsumerCard]:
        """Accounts of the phone from PostgreSQL (a small index lookup), cards from the cache,
        the missing ones built in one statement."""
        numbers = await account_numbers_by_phone(conn, e164, limit)
        cached = await self._cached(numbers)
        missing = [n for n in numbers if n not in cached]
        if missing:
            built = await cards_by_accounts(conn, missing)
            await self._keep(built, write_behind)
            cached.update((c.account.number, c) for c in built)
        return [cached[n] for n in numbers if n in cached]

    async def apply_change(self, payload: str) -> int:
        """Drop the cards a ``ccs_card_changed`` notification names (``*``: every card)."""
        if payload == FLUSH_ALL:
            return await self.invalidate_all()
        numbers = [n for n in payload.split(",") if n]
        await self.invalidate_many(numbers)
        return len(numbers)


async def account_numbers_by_phone(conn: Queryable, e164: str, limit: int = 10) -> list[str]:
    rows = await conn.fetch(
        """SELECT a.number FROM phones p
           JOIN account_phones l ON l.phone_id = p.id
           JOIN accounts a ON a.id = l.account_id
           WHERE p.e164 = $1
           ORDER BY a.status = 'active' DESC, a.number LIMIT $2""",
        e164,
        limit,
    )
    return [r["number"] for r in rows]


def card_age(card: ConsumerCard, now: dt.datetime | None = None) -> dt.timedelta:
    """How old a (possibly cached) card is; the desktop may show it."""
    return (now or dt.datetime.now(dt.timezone.utc)) - card.built_at
