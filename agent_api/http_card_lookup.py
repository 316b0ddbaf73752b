"""Consumer cards for the agent desktop: by account number or by phone."""
from __future__ import annotations

import re

from aiohttp import web

from agent_api.auth import ANY_ROLE, allow
from agent_api.errors import ApiError, NotFound
from agent_api.app_keys import CARDS, PG_POOL
from agent_api.openapi import documented
from state.models import ConsumerCard
from state.phones import InvalidPhone, normalize_phone

_ACCOUNT = re.compile(r"^[0-9]{8,12}$")


@documented(response=ConsumerCard)
@allow(*ANY_ROLE)
async def card_by_account(request: web.Request) -> web.Response:
    """The consumer card of an account number."""
    number = request.match_info["number"]
    if not _ACCOUNT.match(number):
        raise ApiError("an account number has 8 to 12 digits")
    card = await request.app[CARDS].card_by_account(request.app[PG_POOL], number)
    if card is None:
        raise NotFound("no such account")
    return web.json_response(text=card.model_dump_json())


@documented(response=list[ConsumerCard])
@allow(*ANY_ROLE)
async def cards_by_phone(request: web.Request) -> web.Response:
    """The consumer cards of the accounts a phone number belongs to."""
    try:
        e164 = normalize_phone(request.match_info["phone"])
    except InvalidPhone as exc:
        raise ApiError(str(exc)) from exc
    cards = await request.app[CARDS].cards_by_phone(request.app[PG_POOL], e164)
    body = "[" + ",".join(card.model_dump_json() for card in cards) + "]"
    return web.json_response(text=body)
