"""Grammars that restrict a recognizer to a small vocabulary."""
from __future__ import annotations

from dataclasses import dataclass, field

from speech.numbers import grammar_words


@dataclass(frozen=True)
class NumberGrammar:
    """A language's number words plus its yes/no/repeat/operator words.

    The engine drops words the model does not know (with a warning) and adds "[unk]", so any
    other speech comes back as "[unk]" instead of being forced onto a number word.
    """

    lang: str = "ru"
    extra_words: tuple[str, ...] = field(default=())

    @property
    def words(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for word in (*grammar_words(self.lang), *self.extra_words):
            seen.setdefault(word, None)
        return tuple(seen)
