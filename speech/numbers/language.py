"""A language as the rest of ``speech`` sees it: its lexicon plus its speaking functions."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from speech.numbers import parser
from speech.numbers.base import Command, NumberReading
from speech.numbers.commands import parse_command
from speech.numbers.parser import Lexicon, Tok


class TableLanguage:
    """A language defined by its lexicon plus its own speaking functions."""

    def __init__(
        self,
        code: str,
        lexicon: Lexicon,
        *,
        number_to_words: Callable[[int | Decimal], str],
        money_to_words: Callable[[Decimal], str],
        digits_to_words: Callable[[str], str],
        grammar_words: Callable[[], list[str]],
    ) -> None:
        self.code = code
        self.lexicon = lexicon
        self.number_to_words = number_to_words
        self.money_to_words = money_to_words
        self.digits_to_words = digits_to_words
        self.grammar_words = grammar_words

    def tokens(self, text: str) -> list[Tok] | None:
        return parser.tokenize(text, self.lexicon)

    def parse_number(self, text: str) -> NumberReading | None:
        return parser.parse_number(text, self.lexicon)

    def parse_digits(self, text: str) -> str | None:
        return parser.parse_digits(text, self.lexicon)

    def parse_command(self, text: str) -> Command | None:
        return parse_command(text, self.lexicon)
