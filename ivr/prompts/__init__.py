"""What the caller hears, one module per language: texts and the sound files that speak them.

A :class:`Prompt` carries both: ``files`` are played in order by AGI ``STREAM FILE`` (Asterisk
finds them under its sounds folder), ``scripts`` is what each of them says (the script its
recording is made from: ``ivr.sounds`` builds the set from them), and ``text`` is the whole
sentence, as ``ivr_context`` records it. Numbers and sums are spoken word by word: the speech
package turns them into grammatical words (``number_to_words``, ``money_to_words``) and each
word is one recorded file, so a finite set of recordings can say any value.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import ModuleType

from speech import money_to_words, number_to_words

__all__ = ["Prompt", "Voice", "load", "join", "transliterate", "word_file"]

_TRANSLIT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
})


@dataclass(frozen=True)
class Prompt:
    files: tuple[str, ...]
    text: str
    scripts: tuple[str, ...] = ()

    def __add__(self, other: Prompt) -> Prompt:
        return join(self, other)


def join(*parts: Prompt) -> Prompt:
    return Prompt(
        tuple(f for p in parts for f in p.files), " ".join(p.text for p in parts if p.text),
        tuple(s for p in parts for s in p.scripts),
    )


def transliterate(text: str) -> str:
    """Lower-case ASCII letters for Russian ones (ё as е): how sound files are named."""
    return text.lower().translate(_TRANSLIT)


def word_file(folder: str, word: str) -> str:
    """Sound file of one spoken word; ASCII names, because sound folders travel between systems."""
    name = transliterate(word)
    return f"{folder}/" + "".join(c if c.isalnum() else "_" for c in name)


class Voice:
    """The prompt builders of one language: fixed recordings and values said word by word."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.folder = f"ccs/{lang}"
        self.words_folder = f"ccs/{lang}/words"

    def prompt(self, name: str, text: str) -> Prompt:
        return Prompt((f"{self.folder}/{name}",), text, (text,))

    def words(self, text: str) -> Prompt:
        said = tuple(text.split())
        return Prompt(tuple(word_file(self.words_folder, w) for w in said), text, said)

    def number(self, value: Decimal | int) -> Prompt:
        return self.words(number_to_words(value, self.lang))

    def digits(self, text: str) -> Prompt:
        return self.words(" ".join(number_to_words(int(d), self.lang) for d in text if d.isdigit()))

    def money(self, amount: Decimal) -> Prompt:
        return self.words(money_to_words(amount, self.lang))


def load(lang: str) -> ModuleType:
    if lang == "ru":
        from ivr.prompts import ru

        return ru
    if lang == "en":
        from ivr.prompts import en

        return en
    raise ValueError(f"no IVR prompts for language {lang!r}")
