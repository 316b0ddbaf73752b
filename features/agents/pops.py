"""The screen pop: what the agent's desktop shows for a queue call, and where open pops are kept.

:class:`PopBuilder` finds the card while the caller waits in the queue (``CallOffered``), so the
pop at ``AgentRinging`` needs no database work: by the account the IVR put in the channel
variables (``CCS_ACCOUNT``), else by the caller's number (several accounts: a list to choose
from; none: no card and an empty list), plus what the caller did in the IVR (the call's
``interactions`` row, else the ``CCS_*`` variables). With a ringall queue every ringing agent's
pop shares the one lookup.

:class:`PopStore` keeps each agent's open pops in Redis, so a browser that reconnects (or
connects to another server process) gets them in its ``state`` at connect. Pops are written
only by the notifier of the process holding the PBX lease; the disposition an agent sets from
any process is kept in its own hash field, so the two writers never overwrite each other.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
from dataclasses import dataclass, field

import asyncpg
import redis.asyncio as aioredis
from pydantic import ValidationError

from features.agents.pop_schemas import CardSummary, IvrInfo, Pop
from state.cards import CardCache
from state.models import ConsumerCard
from state.phones import try_normalize_phone
from state.redis_keys import RedisKeys
from state.repositories.interactions import ivr_context_of_call

log = logging.getLogger(__name__)

_ACCOUNT = re.compile(r"^[0-9]{8,12}$")
_DISPOSITION = ":disposition"


def utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


@dataclass
class CallFacts:
    """What the pop shows about one call whoever rings for it."""

    card: ConsumerCard | None = None
    candidates: list[CardSummary] = field(default_factory=list)
    ivr: IvrInfo | None = None


def ivr_from_vars(vars: dict[str, str]) -> IvrInfo | None:
    """The IVR's channel variables (ivr/flows/transfer.py) when its row is not there."""
    account, intent, summary = (vars.get(k, "") for k in ("CCS_ACCOUNT", "CCS_INTENT", "CCS_IVR"))
    if not (account or intent or summary):
        return None
    parts = summary.split(";") if summary else []
    readings = 0
    for part in parts:
        if part.startswith("readings:"):
            with contextlib.suppress(ValueError):
                readings = int(part.partition(":")[2])
    return IvrInfo(account=account or None, intent=intent or None, readings=readings,
                   balance_heard="balance" in parts, outage_heard="outage" in parts,
                   summary=summary)


def ivr_from_context(context: dict, account: str | None) -> IvrInfo | None:
    ivr = context.get("ivr")
    if not isinstance(ivr, dict):
        return None
    try:
        return IvrInfo(identified_by=ivr.get("identified_by"), account=account,
                       intent=ivr.get("intent") or None,
                       readings=int(ivr.get("readings_accepted") or 0),
                       balance_heard=bool(ivr.get("balance_heard")),
                       outage_heard=bool(ivr.get("outage_heard")),
                       summary=str(ivr.get("summary") or ""))
    except (ValidationError, TypeError, ValueError):
        return None


class PopBuilder:
    def __init__(self, pool: asyncpg.Pool, cards: CardCache, *, candidates: int = 10) -> None:
        self._pool = pool
        self._cards = cards
        self._candidates = candidates
        self._prepared: dict[str, asyncio.Task[CallFacts]] = {}

    def prepare(self, linkedid: str, caller_number: str, vars: dict[str, str]) -> None:
        """Start finding the call's card (the caller is waiting in the queue)."""
        if linkedid not in self._prepared:
            self._prepared[linkedid] = asyncio.create_task(
                self._facts(linkedid, caller_number, vars), name="pop-prepare")

    async def facts(self, linkedid: str, caller_number: str, vars: dict[str, str]) -> CallFacts:
        """The call's card and IVR facts; when PostgreSQL (or Redis) fails, the pop still goes
        out, without a card (the agent can search) and with the IVR's channel variables."""
        for attempt in (1, 2):
            self.prepare(linkedid, caller_number, vars)
            task = self._prepared[linkedid]
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                if not task.cancelled():
                    raise  # we are cancelled, not the lookup
                self._prepared.pop(linkedid, None)
            except Exception as exc:
                self._prepared.pop(linkedid, None)
                if attempt == 2:
                    log.warning("pop without a card: the lookup failed (%s)", type(exc).__name__)
        return CallFacts(ivr=ivr_from_vars(vars))

    def forget(self, linkedid: str) -> None:
        task = self._prepared.pop(linkedid, None)
        if task is not None and not task.done():
            task.cancel()

    async def close(self) -> None:
        tasks = list(self._prepared.values())
        self._prepared.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._prepared)

    async def _facts(self, linkedid: str, caller_number: str, vars: dict[str, str]) -> CallFacts:
        # The card and the IVR's record of the call are independent: two round trips at once.
        facts, context = await asyncio.gather(
            self._card_facts(caller_number, vars), ivr_context_of_call(self._pool, linkedid))
        account = vars.get("CCS_ACCOUNT", "")
        shown = facts.card.account.number if facts.card else (account or None)
        facts.ivr = (ivr_from_context(context, shown) if context else None) or ivr_from_vars(vars)
        return facts

    async def _card_facts(self, caller_number: str, vars: dict[str, str]) -> CallFacts:
        facts = CallFacts()
        account = vars.get("CCS_ACCOUNT", "")
        if _ACCOUNT.match(account):
            facts.card = await self._cards.card_by_account(self._pool, account)
        if facts.card is None and (e164 := try_normalize_phone(caller_number)) is not None:
            cards = await self._cards.cards_by_phone(self._pool, e164, self._candidates)
            if len(cards) == 1:
                facts.card = cards[0]
            else:
                facts.candidates = [CardSummary.of(c) for c in cards]
        return facts

    async def build(self, *, linkedid: str, queue: str, caller_number: str,
                    vars: dict[str, str], ringing_at: dt.datetime,
                    transferred_from: str | None = None) -> Pop:
        facts = await self.facts(linkedid, caller_number, vars)
        return Pop(call_id=linkedid, queue=queue, caller_number=caller_number,
                   ringing_at=ringing_at, card=facts.card, candidates=facts.candidates,
                   ivr=facts.ivr, transferred_from=transferred_from)


class PopStore:
    """``{prefix}:agent:{id}:pops`` (hash call_id -> Pop JSON, plus ``{call_id}:disposition``)
    and ``{prefix}:call:{linkedid}:pops`` (hash agent_id -> status): who has a pop of a call."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys, ttl: int = 4 * 3600) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl

    async def put(self, agent_id: int, pop: Pop) -> None:
        mine, call = self._keys.agent_pops(agent_id), self._keys.call_pops(pop.call_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(mine, pop.call_id, pop.model_dump_json(exclude={"disposition"}))
            pipe.expire(mine, self._ttl)
            pipe.hset(call, str(agent_id), pop.status)
            pipe.expire(call, self._ttl)
            await pipe.execute()

    async def remove(self, agent_id: int, call_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._keys.agent_pops(agent_id), call_id, call_id + _DISPOSITION)
            pipe.hdel(self._keys.call_pops(call_id), str(agent_id))
            await pipe.execute()

    async def get(self, agent_id: int, call_id: str) -> Pop | None:
        raw, disposition = await self._redis.hmget(
            self._keys.agent_pops(agent_id), [call_id, call_id + _DISPOSITION])
        return self._parse(raw, disposition)

    async def agents_of(self, call_id: str) -> dict[int, str]:
        """Agent id -> pop status of every agent holding a pop of the call."""
        found = await self._redis.hgetall(self._keys.call_pops(call_id))
        return {int(agent): status for agent, status in found.items()}

    async def pops_of(self, agent_id: int) -> list[Pop]:
        found = await self._redis.hgetall(self._keys.agent_pops(agent_id))
        pops = []
        for key, raw in found.items():
            if key.endswith(_DISPOSITION):
                continue
            pop = self._parse(raw, found.get(key + _DISPOSITION))
            if pop is not None:
                pops.append(pop)
        return sorted(pops, key=lambda p: p.ringing_at)

    async def drop_ended(self, agent_id: int) -> None:
        for pop in await self.pops_of(agent_id):
            if pop.status == "ended":
                await self.remove(agent_id, pop.call_id)

    async def set_disposition(self, agent_id: int, call_id: str, disposition: str) -> Pop | None:
        """Record the disposition on the agent's pop of the call, if it is still open."""
        mine = self._keys.agent_pops(agent_id)
        if not await self._redis.hexists(mine, call_id):
            return None
        await self._redis.hset(mine, call_id + _DISPOSITION, disposition)
        return await self.get(agent_id, call_id)

    @staticmethod
    def _parse(raw: str | None, disposition: str | None) -> Pop | None:
        if raw is None:
            return None
        try:
            pop = Pop.model_validate_json(raw)
        except ValidationError:
            log.warning("dropping an unreadable stored pop")
            return None
        return pop.model_copy(update={"disposition": disposition}) if disposition else pop
