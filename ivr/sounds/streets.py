"""Street names said from recordings the utility makes once per street (no text-to-speech).

A street's recording is ``ccs/ru/streets/<key>`` of the sound set. The utility records it like
any studio phrase: ``<studio>/ccs/ru/streets/<key>.wav`` (any rate), then
``python -m ivr.sounds --override <studio>`` brings it into the set (build.py takes every
file of that folder, so the build never removes it as stale). ``ccs sounds missing-streets``
lists the streets of the accounts that have no recording yet, with the file name to record.

The key (:func:`parse`) is the street's name without its kind, as ASCII:

- lower case; Russian letters transliterated as the set's word files are (ё as е);
- the kind word (``ул.``, ``улица``, ``пр-т``, ``пер.``, ``б-р``, ``ш.`` ... written before
  the name or after it, with or without its dot) is dropped: it is said from a recording of
  its own (``ROBOCALL_STREET_KINDS`` of ivr/prompts/ru.py), so ``ул. Мира`` and ``пр-т Мира``
  share the recording «Мира», and ``Ленинский пр-т`` is said «проспект Ленинский»;
- every run of spaces and punctuation becomes one ``-``, none at either end.

``ул. Карла Маркса`` → ``karla-marksa``, ``ул. 8 Марта`` → ``8-marta``, ``Ново-Садовая`` →
``novo-sadovaya``. A street whose kind is not recognised keeps every word in its key and is
said as its recording alone: record it as it should be heard. Only ``[a-z0-9-]`` ever reaches
a key, so it is safe in a file name and in the dialplan's CCS_PARTS (``^`` and ``:``).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ivr.prompts import Prompt, transliterate
from ivr.sounds.manifest import ManifestError, Recording

__all__ = ["FOLDER", "KINDS", "Street", "Missing", "parse", "recorded", "missing",
           "studio_recordings"]

FOLDER = "ccs/ru/streets"
# How billing writes the kind of a street (lower case, without the dot) → the kind said.
KINDS: dict[str, str] = {
    "ул": "street", "улица": "street",
    "пр-т": "avenue", "просп": "avenue", "проспект": "avenue",
    "пер": "lane", "переулок": "lane",
    "б-р": "boulevard", "бул": "boulevard", "бульвар": "boulevard",
    "ш": "highway", "шоссе": "highway",
    "пл": "square", "площадь": "square",
    "наб": "embankment", "набережная": "embankment",
    "пр-д": "passage", "проезд": "passage",
    "мкр": "district", "мкр-н": "district", "микрорайон": "district",
}
_KEY = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Words (hyphenated ones whole: пр-т, Ново-Садовая), each with the dot that may end it.
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*\.?")
_STUDIO_EXT = (".wav", ".flac", ".gsm", ".sln")


@dataclass(frozen=True)
class Street:
    kind: str | None  # a key of ROBOCALL_STREET_KINDS; None: said as its recording alone
    key: str
    name: str  # the name as written, without its kind: what the recording says

    @property
    def file(self) -> str:
        return f"{FOLDER}/{self.key}"

    def prompt(self) -> Prompt:
        return Prompt((self.file,), self.name, (self.name,))


def parse(street: str) -> Street | None:
    """The street's kind and recording key; None when nothing of a name is left."""
    original = [w.rstrip(".") for w in _WORD.findall(street)]
    folded = [w.lower().replace("ё", "е") for w in original]
    kind = None
    for at in (0, -1):  # "ул. Ленина", "Ленинский пр-т"
        if len(folded) > 1 and folded[at] in KINDS:
            kind = KINDS[folded.pop(at)]
            original.pop(at)
            break
    key = re.sub(r"[^a-z0-9]+", "-", transliterate(" ".join(folded))).strip("-")
    return Street(kind, key, " ".join(original)) if key else None


def recorded(sounds: Path, key: str) -> bool:
    """Whether the sound set in ``sounds`` (what Asterisk plays) has the street's recording
    (the build makes every file as .wav). Blocking: call it in a thread."""
    return (sounds / FOLDER / f"{key}.wav").is_file()


@dataclass(frozen=True)
class Missing:
    key: str
    file: str  # what to record: <studio>/<file>.wav
    spellings: tuple[str, ...]  # the street as the accounts write it
    accounts: int


def missing(streets: Iterable[tuple[str, int]], sounds: Path) -> list[Missing]:
    """The streets (as billing writes them, with their number of accounts) that have no
    recording in ``sounds``, one per key, most accounts first. Blocking: call it in a thread."""
    by_key: dict[str, tuple[set[str], int]] = {}
    for written, accounts in streets:
        street = parse(written)
        if street is None:
            continue
        spellings, total = by_key.get(street.key, (set(), 0))
        by_key[street.key] = (spellings | {written}, total + accounts)
    found = [Missing(key, f"{FOLDER}/{key}", tuple(sorted(spellings)), total)
             for key, (spellings, total) in by_key.items() if not recorded(sounds, key)]
    return sorted(found, key=lambda m: (-m.accounts, m.key))


def studio_recordings(override: Path) -> dict[str, Recording]:
    """The street recordings of a studio folder, as entries of the build (blocking).

    A file whose name is not a key would never be played: it is refused by name, so the
    utility renames it rather than wondering why the street is not said."""
    folder = override / FOLDER
    if not folder.is_dir():
        return {}
    found: dict[str, Recording] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.suffix not in _STUDIO_EXT:
            continue
        if not _KEY.fullmatch(path.stem):
            raise ManifestError(
                f"{path}: {path.stem!r} is not a street key (a-z, 0-9 and '-'; "
                "`ccs sounds missing-streets` prints the names to record)")
        name = f"{FOLDER}/{path.stem}"
        found[name] = Recording(name, "ru", path.stem, "street")
    return found
