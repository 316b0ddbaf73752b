"""Yes / no / repeat / operator in what the caller said."""
from __future__ import annotations

from speech.numbers.base import Command, split_words
from speech.numbers.parser import Lexicon


def parse_command(text: str, lex: Lexicon) -> Command | None:
    """The command said; OPERATOR and REPEAT win over yes/no, and "да нет" is ambiguous (None)."""
    words = [w for w in split_words(text) if w != "[unk]"]
    found: set[Command] = set()
    for phrase, command in lex.command_phrases.items():
        n = len(phrase)
        if any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1)):
            found.add(command)
            words = _remove_phrase(words, phrase)
    found.update(lex.commands[w] for w in words if w in lex.commands)
    for strong in (Command.OPERATOR, Command.REPEAT):
        if strong in found:
            return strong
    if len(found) == 1:
        return found.pop()
    return None


def _remove_phrase(words: list[str], phrase: tuple[str, ...]) -> list[str]:
    n = len(phrase)
    out: list[str] = []
    i = 0
    while i < len(words):
        if tuple(words[i : i + n]) == phrase:
            i += n
        else:
            out.append(words[i])
            i += 1
    return out
