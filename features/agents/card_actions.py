"""What an agent does from the card: search another consumer, register an appeal tied to the
call, set the call's disposition, call the consumer back (click-to-call).

An agent acts only on their own calls: an appeal's or a disposition's ``call_id`` must be a call
the agent answered or placed (its ``interactions`` row names the agent: the notifier writes it
at the answer, click-to-call at the Originate).

Click-to-call: ``Originate`` of the agent's phone (``Channel`` = the agent's interface) into
``clicktocall_context`` with the consumer's number as the extension, so the agent's phone rings
first and the dialplan dials the consumer once the agent picks up. ``ChannelId`` is set to a
call id made here, so the call is known by that id (Asterisk's linkedid of the call) from the
start, and the outbound ``interactions`` row is written before the PBX is asked.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from typing import Any

import asyncpg

from agent_api.errors import ApiError, Conflict, Forbidden, NotFound, Unavailable
from cti.actions import originate
from cti.errors import CtiError
from features.agents.pop_schemas import (
    AppealRequest, CardSummary, DispositionRequest, OutboundCallRequest,
)
from features.agents.pops import PopStore
from state.cards import CardCache, cards_by_accounts
from state.models import Agent, NewInteraction
from state.phones import InvalidPhone, normalize_phone, try_normalize_phone
from state.repositories.accounts import account_numbers_by_address, get_account
from state.repositories.appeals import insert_call_appeal
from state.repositories.interactions import (
    agent_of_call, insert_interaction, set_call_disposition,
)

log = logging.getLogger(__name__)

_ACCOUNT = re.compile(r"^[0-9]{8,12}$")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_TOKEN = re.compile(r"[\s,]+")
_MARKERS = {"ул", "улица", "д", "дом", "кв", "квартира"}
SEARCH_LIMIT = 20


class CardActions:
    def __init__(self, pool: asyncpg.Pool, cards: CardCache, pops: PopStore, *,
                 dispositions: list[str], clicktocall_context: str,
                 originate_timeout_ms: int = 30_000) -> None:
        self._pool = pool
        self._cards = cards
        self._pops = pops
        self._dispositions = dispositions
        self._context = clicktocall_context
        self._timeout_ms = originate_timeout_ms

    # -- search --------------------------------------------------------------------------------
    async def search(self, q: str) -> list[CardSummary]:
        """By account number (8-12 digits), else by phone (any format state/phones.py reads),
        else by address words ("Ленина 5 12": street words, then house, then apartment)."""
        q = q.strip()
        if not q or len(q) > 200:
            raise ApiError("give 1 to 200 characters to search for")
        cards: list = []
        if _ACCOUNT.match(q):
            card = await self._cards.card_by_account(self._pool, q)
            cards = [card] if card is not None else []
        # 10-11 digits may be an account number or a phone: the account first, then the phone.
        if not cards and not _has_letters(q) and (e164 := try_normalize_phone(q)) is not None:
            cards = await self._cards.cards_by_phone(self._pool, e164, SEARCH_LIMIT)
        elif not cards and not _ACCOUNT.match(q):
            street, numbers = _address_parts(q)
            if not street:
                raise ApiError("give an account number, a phone number or a street name")
            found = await account_numbers_by_address(
                self._pool, street, house=numbers[0] if numbers else None,
                apartment=numbers[1] if len(numbers) > 1 else None, limit=SEARCH_LIMIT)
            cards = await cards_by_accounts(self._pool, found)
        return [CardSummary.of(c) for c in cards]

    # -- appeal --------------------------------------------------------------------------------
    async def register_appeal(self, agent_id: int, body: AppealRequest) -> dict[str, Any]:
        if body.call_id is not None:
            await self._own_call(agent_id, body.call_id)
        account = await get_account(self._pool, body.account)
        if account is None:
            raise NotFound("no such account")
        appeal = await insert_call_appeal(
            self._pool, account_id=account.id, call_id=body.call_id, agent_id=agent_id,
            type=body.type, topic=body.topic, comment=body.comment or None,
            priority=body.priority)
        return {**appeal.model_dump(mode="json"), "call_id": body.call_id,
                "comment": body.comment or None}

    # -- disposition ---------------------------------------------------------------------------
    async def set_disposition(self, agent_id: int, call_id: str,
                              body: DispositionRequest) -> dict[str, Any]:
        if body.disposition not in self._dispositions:
            raise ApiError("unknown disposition", {"allowed": self._dispositions})
        await self._own_call(agent_id, call_id)
        row = await set_call_disposition(self._pool, call_id, agent_id, body.disposition,
                                         body.comment, dt.datetime.now(dt.timezone.utc))
        if row is None:
            raise NotFound("no such call")
        pop = await self._pops.set_disposition(agent_id, call_id, body.disposition)
        return {"call_id": call_id, "disposition": body.disposition, "comment": body.comment,
                "pop": pop.model_dump(mode="json") if pop is not None else None}

    async def _own_call(self, agent_id: int, call_id: str) -> None:
        owner = await agent_of_call(self._pool, call_id)
        if owner is None:
            raise NotFound("no such call")
        if agent_id not in owner:
            raise Forbidden("this call is not yours")

    # -- click-to-call -------------------------------------------------------------------------
    async def call_out(self, agent: Agent, cti: Any, body: OutboundCallRequest) -> str:
        if not agent.interface:
            raise Conflict("the agent has no phone interface", {"error": "no-interface"})
        if cti is None:
            raise Unavailable("no PBX connection is configured")
        try:
            e164 = normalize_phone(body.phone)
        except InvalidPhone as exc:
            raise ApiError(str(exc)) from exc
        account_id = None
        if body.account is not None:
            account = await get_account(self._pool, body.account)
            if account is None:
                raise NotFound("no such account")
            account_id = account.id
        call_id = f"ccs-out-{uuid.uuid4().hex}"
        await insert_interaction(self._pool, NewInteraction(
            call_id=call_id, direction="outbound", phone=e164, account_id=account_id,
            agent_id=agent.id, started_at=dt.datetime.now(dt.timezone.utc),
            ivr_context={"clicktocall": True}))
        action = originate(agent.interface, context=self._context, exten=e164.lstrip("+"),
                           caller_id=f"<{e164.lstrip('+')}>", timeout_ms=self._timeout_ms,
                           variables={"CCS_CALL_ID": call_id, "CCS_AGENT_ID": str(agent.id)})
        action["ChannelId"] = call_id
        try:
            await cti.actions.run(action)
        except CtiError as exc:
            raise Unavailable("the PBX did not take the call",
                              {"error": type(exc).__name__}) from exc
        return call_id


def _address_parts(q: str) -> tuple[list[str], list[str]]:
    """Street words, then house and apartment: the last one or two numbers standing alone.
    Numbers inside the street's name stay with it ("8 Марта 5 12", "Линия-3 7"); the words
    "ул.", "д.", "кв." are dropped."""
    tokens = [t for t in _TOKEN.split(q) if t and t.lower().rstrip(".") not in _MARKERS]
    numbers: list[str] = []
    while tokens and tokens[-1].isdigit() and len(numbers) < 2:
        numbers.insert(0, tokens.pop())
    return _WORD.findall(" ".join(tokens)), numbers


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)
