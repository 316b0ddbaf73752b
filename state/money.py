"""Money: ``Decimal`` in Python, a string with exactly two decimal places in JSON ("0.00",
"1520.30"), whatever scale the value arrived with (PostgreSQL's JSON drops none, pydantic's
parser and arithmetic may)."""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import PlainSerializer

CENT = Decimal("0.01")


def money_text(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_EVEN))


Money = Annotated[Decimal, PlainSerializer(money_text, return_type=str, when_used="json")]
