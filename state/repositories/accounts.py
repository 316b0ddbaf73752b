"""Accounts and their meters."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pydantic import TypeAdapter

from state.models import Account, MeterWithReadings
from state.repositories.base import Queryable

_METERS = TypeAdapter(list[MeterWithReadings])

_ACCOUNT_COLUMNS = (
    "a.id, a.number, a.consumer_id, a.status, a.city, a.street, a.house, a.apartment, "
    "a.timezone, a.opened_on"
)


async def get_account(conn: Queryable, number: str) -> Account | None:
    row = await conn.fetchrow(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a WHERE a.number = $1", number
    )
    return None if row is None else Account.model_validate(dict(row))


async def get_account_by_id(conn: Queryable, account_id: int) -> Account | None:
    row = await conn.fetchrow(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = $1", account_id
    )
    return None if row is None else Account.model_validate(dict(row))


async def find_accounts_by_phone(conn: Queryable, e164: str, limit: int = 10) -> list[Account]:
    """Accounts the phone (E.164) belongs to, active ones first, then by number."""
    rows = await conn.fetch(
        f"""SELECT {_ACCOUNT_COLUMNS} FROM phones p
            JOIN account_phones l ON l.phone_id = p.id
            JOIN accounts a ON a.id = l.account_id
            WHERE p.e164 = $1
            ORDER BY a.status = 'active' DESC, a.number LIMIT $2""",
        e164,
        limit,
    )
    return [Account.model_validate(dict(r)) for r in rows]


# Installed meters of the account whose id is `{account_id}`, each with the last accepted reading
# of every tariff zone, as one JSON array. The consumer card embeds the same fragment.
METERS_JSON = """
    SELECT coalesce(json_agg(json_build_object('id', m.id, 'account_id', m.account_id,
        'service', m.service, 'serial', m.serial, 'zones', m.zones, 'digits', m.digits,
        'decimals', m.decimals, 'verification_due', m.verification_due,
        'installed_on', m.installed_on, 'removed_on', m.removed_on,
        'last_readings', lr.items) ORDER BY m.service, m.serial), '[]') AS items
    FROM meters m
    CROSS JOIN LATERAL (
        SELECT coalesce(json_object_agg(z.zone, r), '{{}}') AS items
        FROM unnest(m.zones) AS z(zone)
        CROSS JOIN LATERAL (
            SELECT r.id, r.meter_id, r.zone, r.period, r.value, r.source, r.status,
                   r.reject_reason, r.entered_by, r.call_id, r.created_at
            FROM readings r
            WHERE r.meter_id = m.id AND r.zone = z.zone AND r.status = 'accepted'
            ORDER BY r.period DESC LIMIT 1
        ) r
    ) lr
    WHERE m.account_id = {account_id} AND m.removed_on IS NULL
"""


async def meters_of_account(conn: Queryable, account_id: int) -> list[MeterWithReadings]:
    """Installed meters with the last accepted reading of each zone, in one statement."""
    text = await conn.fetchval(
        f"SELECT items::text FROM ({METERS_JSON.format(account_id='$1')}) mt", account_id
    )
    return _METERS.validate_json(text)


@dataclass(frozen=True)
class ServiceBalance:
    service: str
    balance: Decimal
    debt: Decimal
    penalty: Decimal


async def balances_of(conn: Queryable, account_id: int) -> list[ServiceBalance]:
    """The latest balance per service (what the IVR says to the caller)."""
    rows = await conn.fetch(
        """SELECT service, balance, debt, penalty FROM balances
           WHERE account_id = $1 ORDER BY service""",
        account_id,
    )
    return [ServiceBalance(r["service"], r["balance"], r["debt"], r["penalty"]) for r in rows]


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def account_numbers_by_address(conn: Queryable, street_words: list[str], *,
                                     house: str | None = None, apartment: str | None = None,
                                     limit: int = 20) -> list[str]:
    """Accounts whose street contains every word (case-insensitive; a trigram index from
    migration 0005 serves it), then the house and apartment when given."""
    rows = await conn.fetch(
        """SELECT number FROM accounts
           WHERE street ILIKE ALL($1::text[])
             AND ($2::text IS NULL OR house = $2)
             AND ($3::text IS NULL OR apartment = $3)
           ORDER BY city, street, house, apartment NULLS FIRST, number
           LIMIT $4""",
        [_like(w) for w in street_words], house, apartment, limit,
    )
    return [r["number"] for r in rows]
