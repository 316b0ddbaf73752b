"""Make the recordings of the manifest as files Asterisk plays: 8 kHz mono 16-bit ``.wav``.

A word that Asterisk's own human-recorded prompts say (Debian's ``asterisk-core-sounds-*-gsm``:
digits, tens, hundred, thousand, million ...) is taken from them; everything else is spoken by
espeak-ng. Both go through sox to one format and loudness. A utility replaces any of these
with its studio recordings by putting its files in the override folder (same names): they win
over both. Each file is remade only when what it is made from changed (a stamp per file), so a
second run takes well under a second, and files no longer in the manifest are removed.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shlex
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ivr.prompts import load
from ivr.sounds import streets
from ivr.sounds.manifest import LANGS, Recording, manifest
from speech import number_to_words

__all__ = ["CORE_SOUNDS", "DEFAULT_TARGET", "BuildError", "BuildReport", "Sources", "build",
           "core_words"]

DEFAULT_TARGET = Path("build/sounds")
CORE_SOUNDS = Path("/usr/share/asterisk/sounds")
# Debian's folders of Asterisk's core prompts (asterisk-core-sounds-<lang>-gsm).
CORE_SETS = {"ru": "ru_RU_f_IvrvoiceRU", "en": "en_US_f_Allison"}
VOICES = {"ru": "ru", "en": "en-us"}
STAMP = ".ccs-sounds.json"
_FORMAT = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"]
_FORMAT_VERSION = 2  # bump when the recipe below changes: every file is then remade
# Words are played back to back, one STREAM FILE each: the silence the sources carry around a
# word (about 0.3 s each side in Asterisk's digits) is cut, leaving a short breath after it.
_TRIM = ["silence", "1", "0.01", "0.5%", "reverse", "silence", "1", "0.01", "0.5%", "reverse"]
_WORD_END = ["pad", "0", "0.06"]


class BuildError(RuntimeError):
    """The set cannot be made here (a tool is missing); the message says what to install."""


@dataclass
class BuildReport:
    made: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    from_core: list[str] = field(default_factory=list)
    from_override: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.made)} made, {len(self.kept)} up to date, {len(self.removed)} removed "
                f"({len(self.from_core)} from Asterisk's recordings, "
                f"{len(self.from_override)} from the override folder)")


@dataclass(frozen=True)
class Sources:
    core: Path | None = CORE_SOUNDS  # None: never use Asterisk's recordings
    override: Path | None = None  # a utility's studio recordings: <override>/ccs/ru/welcome.wav


def core_words(lang: str) -> dict[str, tuple[str, ...]]:
    """word → Asterisk core sound(s) that say exactly it, in ``lang``.

    Only what the file name leaves no doubt about: cardinals 0–20 and the tens (a hyphenated
    English number is its two parts), the scale words and minus; English month names. Russian
    needs gender and case forms (одна, две, тысячи, рублей, the genitive of months) that
    Debian's Russian set does not have, so those are spoken by the text-to-speech engine.
    """
    words: dict[str, tuple[str, ...]] = {}
    for n in range(100):
        said = number_to_words(n, lang)
        if " " in said:
            continue
        if n <= 20 or n % 10 == 0:
            words[said] = (f"digits/{n}",)
        else:
            words[said] = (f"digits/{n - n % 10}", f"digits/{n % 10}")
    for value, name in ((100, "hundred"), (1000, "thousand"), (10**6, "million"),
                        (10**9, "billion")):
        words[number_to_words(value, lang).split()[-1]] = (f"digits/{name}",)
    words[number_to_words(-1, lang).split()[0]] = ("digits/minus",)
    if lang == "en":
        months = load("en").MONTHS
        words.update({m: (f"digits/mon-{i}",) for i, m in enumerate(months)})
        words["oh"] = ("digits/oh",)
    return words


def _recipe(rec: Recording, sources: Sources, tts: str) -> tuple[str, list[Path]]:
    """(how the file is made, input files): the key of the stamp and what sox reads."""
    if sources.override is not None:
        for ext in ("wav", "flac", "gsm", "sln"):
            found = sources.override / f"{rec.name}.{ext}"
            if found.is_file():
                return "override", [found]
    if rec.kind == "word" and sources.core is not None and rec.lang in CORE_SETS:
        files = core_words(rec.lang).get(rec.text)
        folder = sources.core / CORE_SETS[rec.lang]
        if files and all((folder / f"{f}.gsm").is_file() for f in files):
            return "core", [folder / f"{f}.gsm" for f in files]
    if rec.kind == "silence":
        return "silence", []
    return f"tts {tts} {VOICES[rec.lang]}", []


def _key(rec: Recording, how: str, inputs: list[Path]) -> str:
    digest = hashlib.sha256(json.dumps([_FORMAT_VERSION, rec.text, how]).encode())
    for path in inputs:
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


async def _run(*cmd: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode:
        said = err.decode(errors="replace")[:300]
        raise BuildError(f"{cmd[0]} failed ({proc.returncode}): {said}")


async def _make(rec: Recording, how: str, inputs: list[Path], out: Path) -> None:
    await asyncio.to_thread(out.parent.mkdir, parents=True, exist_ok=True)
    # Hidden and unique: two builds of one folder at once (parallel test runs) never clash,
    # and neither takes the other's half-made file for a stale one.
    part = out.with_name(f".{out.stem}.{uuid.uuid4().hex}.part.wav")
    try:
        word = rec.kind == "word" and how != "override"  # a studio file is taken as it is
        end = [*_WORD_END, "norm", "-3"] if word else ["norm", "-3"]
        if how == "silence":
            await _run("sox", "-D", "-n", *_FORMAT, str(part), "trim", "0", "1")
        elif how.startswith("tts"):
            spoken = part.with_suffix(".tts.wav")
            try:
                await _run("espeak-ng", "-v", VOICES[rec.lang], "-s", "150", "-w", str(spoken),
                           "--", rec.text)
                await _run("sox", str(spoken), *_FORMAT, str(part), *(_TRIM if word else []), *end)
            finally:
                await asyncio.to_thread(spoken.unlink, missing_ok=True)
        elif word and len(inputs) > 1:  # "twenty-one": each part trimmed, then joined
            pieces = [f"|sox {shlex.quote(str(p))} -p {' '.join(_TRIM)}" for p in inputs]
            await _run("sox", *pieces, *_FORMAT, str(part), *end)
        else:  # Asterisk's recordings or the utility's own
            await _run("sox", *map(str, inputs), *_FORMAT, str(part), *(_TRIM if word else []),
                       *end)
        # A killed build never leaves a half file that looks made.
        await asyncio.to_thread(os.replace, part, out)
    finally:
        await asyncio.to_thread(part.unlink, missing_ok=True)


@dataclass(frozen=True)
class _Step:
    rec: Recording
    how: str
    inputs: list[Path]
    key: str
    current: bool  # the file is there and made from the same sources


def _plan(target: Path, wanted: Mapping[str, Recording], sources: Sources, tts: str) -> list[_Step]:
    """What each file is made from, and whether it already is (file system work: in a thread)."""
    target.mkdir(parents=True, exist_ok=True)
    stamps: dict[str, str] = {}
    try:
        stamps = json.loads((target / STAMP).read_text())
    except (OSError, ValueError):
        pass  # no stamps, or a damaged one: everything is remade
    steps = []
    for rec in wanted.values():
        how, inputs = _recipe(rec, sources, tts)
        key = _key(rec, how, inputs)
        current = stamps.get(rec.name) == key and (target / f"{rec.name}.wav").is_file()
        steps.append(_Step(rec, how, inputs, key, current))
    return steps


async def build(
    target: Path = DEFAULT_TARGET,
    *,
    sources: Sources = Sources(),
    langs: tuple[str, ...] = LANGS,
    recordings: Mapping[str, Recording] | None = None,
    jobs: int | None = None,
) -> BuildReport:
    """Bring ``target`` in line with the manifest: ``<target>/<name>.wav`` for every recording."""
    for tool in ("sox", "espeak-ng"):
        if await asyncio.to_thread(shutil.which, tool) is None:
            raise BuildError(f"{tool} is not installed (scripts/bootstrap.sh installs it)")
    if recordings is None:
        recordings = await asyncio.to_thread(manifest, langs)
        if sources.override is not None:  # the utility's street names (ivr/sounds/streets.py)
            recordings = {**recordings,
                          **await asyncio.to_thread(streets.studio_recordings, sources.override)}
    wanted = dict(recordings)
    steps = await asyncio.to_thread(_plan, target, wanted, sources, await _tts_version())
    report = BuildReport()
    limit = asyncio.Semaphore(jobs or os.cpu_count() or 2)
    made: dict[str, str] = {}

    async def one(step: _Step) -> None:
        name = step.rec.name
        if step.how == "core":
            report.from_core.append(name)
        elif step.how == "override":
            report.from_override.append(name)
        if step.current:
            report.kept.append(name)
        else:
            async with limit:
                await _make(step.rec, step.how, step.inputs, target / f"{name}.wav")
            report.made.append(name)
        made[name] = step.key

    try:
        await asyncio.gather(*(one(s) for s in steps))
    finally:
        # What was made stays made even if another file failed: the next run redoes only the rest.
        await asyncio.to_thread(_write_stamps, target, made)
    report.removed = await asyncio.to_thread(_remove_stale, target, set(wanted))
    return report


async def _tts_version() -> str:
    proc = await asyncio.create_subprocess_exec(
        "espeak-ng", "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await proc.communicate()
    return out.decode(errors="replace").split("Data at")[0].strip()


def _write_stamps(target: Path, made: dict[str, str]) -> None:
    part = target / f"{STAMP}.{uuid.uuid4().hex}"
    part.write_text(json.dumps(dict(sorted(made.items())), indent=0))
    os.replace(part, target / STAMP)


def _remove_stale(target: Path, wanted: set[str]) -> list[str]:
    removed = []
    for path in sorted(target.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            name = str(path.relative_to(target).with_suffix(""))
            if name not in wanted or path.suffix != ".wav":
                path.unlink()
                removed.append(name)
    return removed
