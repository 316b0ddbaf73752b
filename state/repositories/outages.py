"""Outages active at an address."""
from __future__ import annotations

from state.models import Outage
from state.repositories.base import Queryable


async def active_outages_at(
    conn: Queryable, city: str, street: str, house: str | None = None
) -> list[Outage]:
    """Outages not yet restored that cover the address. An outage row with a null house covers
    the whole street; asking with ``house=None`` returns only whole-street outages."""
    rows = await conn.fetch(
        """SELECT o.id, o.service, o.kind, o.description, o.started_at,
                  o.expected_restoration_at, o.restored_at
           FROM outages o
           WHERE o.restored_at IS NULL AND o.id IN (
               SELECT oa.outage_id FROM outage_addresses oa
               WHERE oa.city = $1 AND oa.street = $2
                 AND (oa.house IS NULL OR oa.house = $3))
           ORDER BY o.started_at DESC, o.id""",
        city,
        street,
        house,
    )
    return [Outage.model_validate(dict(r)) for r in rows]
