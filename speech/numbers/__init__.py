"""Number words ↔ digits for each supported language (ru default, en, ko)."""
from __future__ import annotations

from decimal import Decimal

from speech.errors import UnsupportedLanguage
from speech.numbers import en, ko, ru
from speech.numbers.base import Command, Language, NumberKind, NumberReading

LANGUAGES: dict[str, Language] = {"ru": ru.LANGUAGE, "en": en.LANGUAGE, "ko": ko.LANGUAGE}


def language(lang: str) -> Language:
    try:
        return LANGUAGES[lang]
    except KeyError:
        raise UnsupportedLanguage(lang) from None


def parse_number(text: str, lang: str = "ru") -> NumberReading | None:
    """The number said in ``text`` (fillers ignored); None if there is none or it is unclear."""
    return language(lang).parse_number(text)


def parse_digits(text: str, lang: str = "ru") -> str | None:
    """An account-style digit string from ``text``: digit by digit, groups, or both mixed."""
    return language(lang).parse_digits(text)


def parse_command(text: str, lang: str = "ru") -> Command | None:
    """YES / NO / REPEAT / OPERATOR if ``text`` says one (and only one) of them."""
    return language(lang).parse_command(text)


def number_to_words(n: int | Decimal, lang: str = "ru") -> str:
    return language(lang).number_to_words(n)


def money_to_words(amount: Decimal, lang: str = "ru") -> str:
    return language(lang).money_to_words(amount)


def digits_to_words(digits: str, lang: str = "ru") -> str:
    """A digit string read digit by digit ("007" → "ноль ноль семь"); inverse of parse_digits."""
    return language(lang).digits_to_words(digits)


def grammar_words(lang: str = "ru") -> list[str]:
    return language(lang).grammar_words()


__all__ = [
    "Command",
    "NumberKind",
    "NumberReading",
    "digits_to_words",
    "grammar_words",
    "language",
    "money_to_words",
    "number_to_words",
    "parse_command",
    "parse_digits",
    "parse_number",
]
