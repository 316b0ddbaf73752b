"""The screen pop: what the agent's desktop shows for a queue call, and where open pops are kept.

:class:`PopBuilder` finds the card before any agent rings, so the pop at ``AgentRinging`` needs
no database work: by the caller's number from ``CallStarted`` on (the caller is still in the
IVR), by the account the IVR put in the channel variables (``CCS_ACCOUNT``, seen at
``CallOffered``) when it named one (several accounts on a number: a list to choose from; none:
no card and an empty list), plus what the caller did in the IVR (the ``CCS_*`` variables our IVR
sets when it hands the caller over; the call's ``interactions`` row only for an IVR that sets
some but not those). The card's JSON is made once per call, by the lookup; with a ringall queue
every ringing agent's pop shares it. The lookups use a PostgreSQL pool of their own
(``PG_POP_POOL``): on the main pool they queued behind a busy hour's other work.

:class:`PopStore` keeps each agent's open pops in Redis, so a browser that reconnects (or
connects to another server process) gets them in its ``state`` at connect. Pops are written
only by the notifier of the process holding the PBX lease, after the emit, in batches (one
MULTI/EXEC for the writes of a loop iteration); the disposition an agent sets from any process
is kept in its own hash field, so the two writers never overwrite each other.
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
from redis.exceptions import NoScriptError
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

# KEYS: the agent's pops, the call's pops. ARGV: call id, pop JSON, agent id, ttl, the call-pops
# key around a call id (before, after), the disposition field's suffix. An ended pop of another
# call is dropped (its disposition too, and the agent from that call's holders).
_RING = """
local pops = redis.call('HGETALL', KEYS[1])
local suffix = ARGV[7]
for i = 1, #pops, 2 do
    local id = pops[i]
    if id ~= ARGV[1] and string.sub(id, -#suffix) ~= suffix then
        local ok, pop = pcall(cjson.decode, pops[i + 1])
        if ok and type(pop) == 'table' and pop['status'] == 'ended' then
            redis.call('HDEL', KEYS[1], id, id .. suffix)
            redis.call('HDEL', ARGV[5] .. id .. ARGV[6], ARGV[3])
        end
    end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('HSET', KEYS[2], ARGV[3], 'ringing')
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""


def utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


@dataclass
class CallFacts:
    """What the pop shows about one call whoever rings for it.

    The lookups hand over the card and candidates as models; what the builder keeps for the
    call's life is :meth:`kept`: their JSON and the shown account's id and number. A card model
    is ~90 objects the garbage collector walks again at each of its collections while the call
    lasts (its pauses were the loaded pops' p99: BENCHMARKS.md); the same card as JSON, ~20."""

    card: ConsumerCard | None = None
    candidates: list[CardSummary] = field(default_factory=list)
    ivr: IvrInfo | None = None
    account_id: int | None = None  # of the card shown (set with it, or by kept())
    account_number: str | None = None
    _cards_json: dict | None = field(default=None, repr=False, compare=False)
    _wire: dict | None = field(default=None, repr=False, compare=False)

    def kept(self) -> CallFacts:
        """The same facts without the models: the card and candidates as JSON only."""
        card = self.card
        return CallFacts(ivr=self.ivr,
                         account_id=card.account.id if card else self.account_id,
                         account_number=card.account.number if card else self.account_number,
                         _cards_json=self.cards_json())

    def cards_json(self) -> dict:
        """The card and candidates as JSON, made once per call (by the lookup, before the
        ring): a card is a few hundred values to dump."""
        if self._cards_json is None:
            self._cards_json = {
                "card": self.card.model_dump(mode="json") if self.card else None,
                "candidates": [c.model_dump(mode="json") for c in self.candidates]}
        return self._cards_json

    def wire(self) -> dict:
        """The card, candidates and IVR parts of the pop as JSON, made once per call: every
        ringing agent's pop (ringall) and every later update share them."""
        if self._wire is None:
            self._wire = {**self.cards_json(),
                          "ivr": self.ivr.model_dump(mode="json") if self.ivr else None}
        return self._wire


_FACT_FIELDS = frozenset(("card", "candidates", "ivr"))


def pop_wire(pop: Pop, facts: CallFacts | None = None) -> dict:
    """``pop`` as the JSON the browser gets: its own small fields dumped here, the card's JSON
    taken from ``facts`` (dumped once per call) when given."""
    if facts is None:
        return pop.model_dump(mode="json")
    return {**pop.model_dump(mode="json", exclude=set(_FACT_FIELDS)), **facts.wire()}


# An empty variable is no variable on AMI (cti/tracker/channels.py), and CCS_IVR is empty for a
# caller identified who did nothing else: one of the two is set by every transfer of our IVR.
IVR_RECORD_VARS = ("CCS_IVR", "CCS_IDENTIFIED_BY")


def _needs_record(vars: dict[str, str]) -> bool:
    """An IVR set some CCS_* variables but did not say what the caller did (an older one)."""
    return (not any(k in vars for k in IVR_RECORD_VARS)
            and any(k.startswith("CCS_") for k in vars))


def ivr_from_vars(vars: dict[str, str]) -> IvrInfo | None:
    """What the caller did in the IVR, from the variables it set (ivr/flows/transfer.py)."""
    account, intent, summary, identified_by = (
        vars.get(k, "") for k in ("CCS_ACCOUNT", "CCS_INTENT", "CCS_IVR", "CCS_IDENTIFIED_BY"))
    if not (account or intent or summary):
        return None
    parts = summary.split(";") if summary else []
    readings = 0
    for part in parts:
        if part.startswith("readings:"):
            with contextlib.suppress(ValueError):
                readings = int(part.partition(":")[2])
    return IvrInfo(identified_by=identified_by or None, account=account or None,
                   intent=intent or None, readings=readings,
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


@dataclass
class _Call:
    """One call's lookups: its card (by account, else by the caller's number) and the IVR's
    record of it, each started as soon as what it needs is known."""

    key: str  # what the card is looked up by: "account:<number>" or "phone:<number>"
    card: asyncio.Task[CallFacts]
    ivr: asyncio.Task[dict | None] | None = None
    ready: CallFacts | None = None

    def tasks(self) -> list[asyncio.Task]:
        return [t for t in (self.card, self.ivr) if t is not None]


_CALLS_KEPT = 20_000


def _card_key(caller_number: str, vars: dict[str, str]) -> str:
    account = vars.get("CCS_ACCOUNT", "")
    return f"account:{account}" if _ACCOUNT.match(account) else f"phone:{caller_number}"


class PopBuilder:
    """The card of each call, looked up before any agent rings: by the caller's number at
    ``CallStarted`` (the caller is still in the IVR), again by account once the IVR has named
    one (``CallOffered`` carries its variables), and the IVR's record of the call at
    ``CallOffered`` (the IVR is done by then). At ``AgentRinging`` the facts are usually
    ready in memory; when not, the ring waits for the lookups already under way."""

    def __init__(self, pool: asyncpg.Pool, cards: CardCache, *, candidates: int = 10) -> None:
        # The pop's own pool (PG_POP_POOL): its size bounds the lookups under way, and nothing
        # else queues on it.
        self._pool = pool
        self._cards = cards
        self._candidates = candidates
        self._calls: dict[str, _Call] = {}

    def prepare(self, linkedid: str, caller_number: str, vars: dict[str, str], *,
                ivr: bool = True) -> None:
        """Start (or redirect) the call's lookups; ``ivr``: the IVR is done with the call, its
        record can be read."""
        key = _card_key(caller_number, vars)
        call = self._calls.get(linkedid)
        if call is None:
            while len(self._calls) >= _CALLS_KEPT:  # CallEnded missed (a lost AMI link)
                self.forget(next(iter(self._calls)))
            call = self._calls[linkedid] = _Call(key, self._spawn(
                self._card_facts(caller_number, vars), "pop-card"))
        elif call.key != key and not (call.key.startswith("account:")
                                      and key.startswith("phone:")):
            # The IVR named the account since the lookup by number began: that one wins.
            if not call.card.done():
                call.card.cancel()
            call.key, call.ready = key, None
            call.card = self._spawn(self._card_facts(caller_number, vars), "pop-card")
        # Our IVR says what the caller did in the channel variables whenever it hands a caller
        # to a queue (ivr/flows/transfer.py, its error path too): they are its record, and the
        # ring waits for no query. Only an IVR that set some CCS_* but neither of these (an
        # older one) makes the pop read the call's interactions row.
        if ivr and call.ivr is None and _needs_record(vars):
            call.ivr = self._spawn(ivr_context_of_call(self._pool, linkedid), "pop-ivr")
            call.ready = None

    async def facts(self, linkedid: str, caller_number: str, vars: dict[str, str]) -> CallFacts:
        """The call's card and IVR facts; when PostgreSQL (or Redis) fails, the pop still goes
        out, without a card (the agent can search) and with the IVR's channel variables."""
        call = self._calls.get(linkedid)
        if call is not None and call.ready is not None:
            return call.ready
        for attempt in (1, 2):
            self.prepare(linkedid, caller_number, vars)
            call = self._calls[linkedid]
            card_task, ivr_task = call.card, call.ivr
            try:
                facts = await asyncio.shield(card_task)
                context = await asyncio.shield(ivr_task) if ivr_task is not None else None
            except asyncio.CancelledError:
                if not (card_task.cancelled() or (ivr_task is not None and ivr_task.cancelled())):
                    raise  # we are cancelled, not the lookup
                # Forgotten (the call ended) or redirected to the account the IVR named.
                if self._calls.get(linkedid) is call and any(t.cancelled() for t in call.tasks()):
                    self._drop(linkedid, call)
                continue
            except Exception as exc:
                self._drop(linkedid, call)
                if attempt == 2:
                    log.warning("pop without a card: the lookup failed (%s)", type(exc).__name__)
                continue
            ready = _ready(facts, context, vars)
            if self._calls.get(linkedid) is call:
                call.ready = ready
            return ready
        return CallFacts(ivr=ivr_from_vars(vars))

    def ready_now(self, linkedid: str, caller_number: str,
                  vars: dict[str, str]) -> CallFacts | None:
        """The call's facts when its lookups are done, without waiting (the notifier pops a
        ring at once with them); None when the ring must go through :meth:`facts` (a lookup
        under way or failed, or the ring names an account the lookups did not)."""
        call = self._calls.get(linkedid)
        if call is None:
            return None
        if call.ready is not None:
            return call.ready
        key = _card_key(caller_number, vars)
        if call.key != key and not (call.key.startswith("account:") and key.startswith("phone:")):
            return None
        if call.ivr is None and _needs_record(vars):  # CallOffered missed: facts() reads it
            return None
        if not all(t.done() and not t.cancelled() and t.exception() is None
                   for t in call.tasks()):
            return None
        call.ready = _ready(call.card.result(),
                            call.ivr.result() if call.ivr is not None else None, vars)
        return call.ready

    def forget(self, linkedid: str) -> None:
        call = self._calls.pop(linkedid, None)
        if call is not None:
            for task in call.tasks():
                if not task.done():
                    task.cancel()

    async def close(self) -> None:
        tasks = [t for call in self._calls.values() for t in call.tasks()]
        self._calls.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._calls)

    def _drop(self, linkedid: str, call: _Call) -> None:
        if self._calls.get(linkedid) is call:
            del self._calls[linkedid]

    @staticmethod
    def _spawn(work, name: str) -> asyncio.Task:
        task = asyncio.create_task(work, name=name)
        # Retrieved here so that a lookup nobody waited for (the caller hung up) is not
        # reported as "exception never retrieved"; the waiter sees it all the same.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return task

    async def _card_facts(self, caller_number: str, vars: dict[str, str]) -> CallFacts:
        facts = CallFacts()
        account = vars.get("CCS_ACCOUNT", "")
        # Cache writes behind: the pop must not wait for Redis to store what it already has.
        if _ACCOUNT.match(account):
            facts.card = await self._cards.card_by_account(self._pool, account,
                                                           write_behind=True)
        if facts.card is None and (e164 := try_normalize_phone(caller_number)) is not None:
            cards = await self._cards.cards_by_phone(self._pool, e164, self._candidates,
                                                     write_behind=True)
            if len(cards) == 1:
                facts.card = cards[0]
            else:
                facts.candidates = [CardSummary.of(c) for c in cards]
        # The JSON now, while the caller waits, not when the phone rings; the models go.
        return facts.kept()

    async def build(self, *, linkedid: str, queue: str, caller_number: str,
                    vars: dict[str, str], ringing_at: dt.datetime,
                    transferred_from: str | None = None) -> tuple[Pop, CallFacts]:
        facts = await self.facts(linkedid, caller_number, vars)
        return self.pop(facts, linkedid=linkedid, queue=queue, caller_number=caller_number,
                        ringing_at=ringing_at, transferred_from=transferred_from), facts

    @staticmethod
    def pop(facts: CallFacts, *, linkedid: str, queue: str, caller_number: str,
            ringing_at: dt.datetime, transferred_from: str | None = None) -> Pop:
        # The card and candidates travel as the facts' JSON (pop_wire), not in the model.
        return Pop(call_id=linkedid, queue=queue, caller_number=caller_number,
                   ringing_at=ringing_at, ivr=facts.ivr, transferred_from=transferred_from)


def _ready(found: CallFacts, context: dict | None, vars: dict[str, str]) -> CallFacts:
    """The facts a ring shows: the card lookup's, with the IVR's record (or its variables)."""
    found = found.kept()
    shown = found.account_number or vars.get("CCS_ACCOUNT") or None
    found.ivr = (ivr_from_context(context, shown) if context else None) or ivr_from_vars(vars)
    return found


class PopStore:
    """``{prefix}:agent:{id}:pops`` (hash call_id -> Pop JSON, plus ``{call_id}:disposition``)
    and ``{prefix}:call:{linkedid}:pops`` (hash agent_id -> status): who has a pop of a call."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys, ttl: int = 4 * 3600) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl
        self._ring = redis.register_script(_RING)
        self._call_key_parts = keys.call_pops("\0").split("\0")
        self._writes: list[tuple[object, asyncio.Future]] = []
        self._script_loaded = False
        self._writer: asyncio.Task[None] | None = None

    # --- the notifier's writes: batched ------------------------------------------------------
    # The notifier writes after each emit; each write alone was a transaction of its own (about
    # 1 ms of CPU with redis-py). Writes queued in one loop iteration go out in one MULTI/EXEC,
    # in the order queued, and the notifier waits only when it needs an answer.

    def ring(self, agent_id: int, call_id: str, pop_json: str) -> asyncio.Future:
        """Store the agent's new ringing pop (JSON, without a disposition) and drop the agent's
        ended pops."""
        before, after = self._call_key_parts
        keys = [self._keys.agent_pops(agent_id), self._keys.call_pops(call_id)]
        args = [call_id, pop_json, str(agent_id), self._ttl, before, after, _DISPOSITION]

        def build(pipe) -> None:
            pipe.evalsha(self._ring.sha, len(keys), *keys, *args)  # loaded by _write
        return self._queue(build)

    def put_json(self, agent_id: int, call_id: str, status: str, pop_json: str) -> asyncio.Future:
        """Like :meth:`put` for a pop already in JSON (without its disposition)."""
        return self._queue(lambda pipe: self._put_commands(pipe, agent_id, call_id, status,
                                                           pop_json))

    def put_ended(self, agent_id: int, call_id: str, pop_json: str) -> asyncio.Future:
        """Store the agent's ended pop (JSON, without a disposition); its result is the
        disposition the agent set meanwhile (from any process)."""
        def build(pipe) -> None:
            self._put_commands(pipe, agent_id, call_id, "ended", pop_json)
            pipe.hget(self._keys.agent_pops(agent_id), call_id + _DISPOSITION)
        return self._queue(build)

    def forget(self, agent_id: int, call_id: str) -> asyncio.Future:
        """:meth:`remove`, queued with the other writes."""
        return self._queue(lambda pipe: self._remove_commands(pipe, agent_id, call_id))

    async def written(self) -> None:
        """Wait until every queued write is done (tests)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    def _put_commands(self, pipe, agent_id: int, call_id: str, status: str,
                      pop_json: str) -> None:
        mine, call = self._keys.agent_pops(agent_id), self._keys.call_pops(call_id)
        pipe.hset(mine, call_id, pop_json)
        pipe.expire(mine, self._ttl)
        pipe.hset(call, str(agent_id), status)
        pipe.expire(call, self._ttl)

    def _remove_commands(self, pipe, agent_id: int, call_id: str) -> None:
        pipe.hdel(self._keys.agent_pops(agent_id), call_id, call_id + _DISPOSITION)
        pipe.hdel(self._keys.call_pops(call_id), str(agent_id))

    def _queue(self, build) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        # Nobody may wait for a write (only for an answer): a failure is logged, not raised.
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._writes.append((build, done))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write(), name="pop-store-writes")
        return done

    async def _write(self) -> None:
        while self._writes:
            batch, self._writes = self._writes, []
            try:
                try:
                    results, ends = await self._execute(batch)
                except NoScriptError:  # Redis restarted since the script was loaded
                    self._script_loaded = False
                    results, ends = await self._execute(batch)  # the writes are idempotent
            except asyncio.CancelledError:
                for _, done in batch:
                    done.cancel()
                raise
            except Exception as exc:  # Redis away: the pops are out; reconnects lose them
                log.warning("%d pop writes lost: %s", len(batch), type(exc).__name__)
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), end in zip(batch, ends):
                if not done.done():
                    done.set_result(results[end - 1] if end else None)

    async def _execute(self, batch) -> tuple[list, list[int]]:
        if not self._script_loaded:
            await self._redis.script_load(_RING)
            self._script_loaded = True
        async with self._redis.pipeline(transaction=True) as pipe:
            ends = []
            for build, _ in batch:
                build(pipe)
                ends.append(len(pipe))
            return await pipe.execute(), ends

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
