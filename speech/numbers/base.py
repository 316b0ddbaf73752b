"""Shared types of the number-word code: what a parse returns, and the per-language contract."""
from __future__ import annotations

import enum
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict


class NumberKind(enum.StrEnum):
    CARDINAL = "cardinal"  # "сто двадцать три"
    DIGIT_SEQUENCE = "digit_sequence"  # "один два три", each word one digit
    MIXED = "mixed"  # groups and single digits: "два ноль ноль пять", "сто двадцать три сорок пять"
    DECIMAL = "decimal"  # "двенадцать и шесть десятых", "twelve point six"


class Command(enum.StrEnum):
    YES = "yes"
    NO = "no"
    REPEAT = "repeat"
    OPERATOR = "operator"


class NumberReading(BaseModel):
    """A number heard in speech.

    ``digits`` is the string as spoken: leading zeros said digit by digit are kept
    ("ноль ноль семь" → "007"), groups are concatenated ("сто двадцать три сорок пять" → "12345"),
    a decimal keeps its point ("12.5"). ``value`` is the numeric value of that string.
    """

    model_config = ConfigDict(frozen=True)

    value: Decimal
    digits: str
    kind: NumberKind


class Language(Protocol):
    """What each language module provides (see ru.py, en.py, ko.py)."""

    code: str

    def parse_number(self, text: str) -> NumberReading | None: ...

    def parse_digits(self, text: str) -> str | None: ...

    def parse_command(self, text: str) -> Command | None: ...

    def number_to_words(self, n: int | Decimal) -> str: ...

    def digits_to_words(self, digits: str) -> str: ...

    def money_to_words(self, amount: Decimal) -> str: ...

    def grammar_words(self) -> list[str]: ...


_SPLIT = re.compile(r"[\s,;!?\"«»()]+")


def split_words(text: str) -> list[str]:
    """Lower-case words; hyphens split ("forty-five"), a dot between digits is kept."""
    text = text.lower().replace("ё", "е").replace("-", " ").replace("–", " ")
    return [w for w in _SPLIT.split(text) if w]


def plural(n: int, one: str, few: str, many: str) -> str:
    """Slavic plural: 1 рубль, 2-4 рубля, 5-20 рублей, 21 рубль, 11-14 рублей."""
    n = abs(n)
    if 11 <= n % 100 <= 14:
        return many
    if n % 10 == 1:
        return one
    if 2 <= n % 10 <= 4:
        return few
    return many


def money_parts(amount: Decimal) -> tuple[bool, int, int]:
    """(negative, whole units, hundredths) of a sum, hundredths rounded half up."""
    cents = int((Decimal(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    units, hundredths = divmod(abs(cents), 100)
    return cents < 0, units, hundredths
