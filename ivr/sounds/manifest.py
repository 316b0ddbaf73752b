"""One list of every recording the dialplan and the IVR can ask Asterisk to play.

Nothing here is written by hand: the fixed phrases are every ``_p(name, text)`` in the prompt
modules (read from their source, so a phrase said only on one branch of a builder is found too),
and the spoken words are what the prompt builders produce over inputs that reach every word
form they can say (every number form, sum, date and time, service, tariff zone). The dialplan's
own phrases live in the prompt modules as well; tests/ivr/test_sounds.py holds
dialplans/extensions.conf to this list.
"""
from __future__ import annotations

import ast
import datetime as dt
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from types import ModuleType

from ivr.prompts import Prompt, load

__all__ = ["LANGS", "Recording", "ManifestError", "EXERCISED", "manifest", "phrases", "spoken"]

LANGS = ("ru", "en")
# Played by the IVR itself (dialog.py's GET DATA), from Asterisk's core set: one second of silence.
CORE = {"silence/1": ""}


class ManifestError(ValueError):
    """A prompt module says something the manifest cannot know in advance."""


@dataclass(frozen=True)
class Recording:
    name: str  # as Asterisk is asked for it, without extension: ccs/ru/welcome
    lang: str  # "" for language-neutral sounds (silence)
    text: str  # what it says: the script of the recording ("" for silence)
    kind: str  # "phrase" (a sentence of its own), "word" (one word of a value), "silence"


def phrases(module: ModuleType) -> dict[str, str]:
    """``name → text`` of every ``_p("name", "text")`` (or ``….prompt(...)``) in the module."""
    source = inspect.getsource(module)
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else (
            func.attr if isinstance(func, ast.Attribute) else "")
        if called not in ("_p", "prompt"):
            continue
        args = node.args
        if len(args) != 2 or not all(
            isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args
        ):
            raise ManifestError(
                f"{module.__name__} line {node.lineno}: a prompt needs a literal name and text, "
                "so that its recording can be made before any call"
            )
        name, text = (a.value for a in args)  # type: ignore[attr-defined]
        if found.get(name, text) != text:
            raise ManifestError(f"{module.__name__}: prompt {name!r} has two different texts")
        found[name] = text
    return found


def _numbers() -> Iterator[int | Decimal]:
    """Values that between them produce every word form the number speakers can say."""
    yield from range(0, 1000)
    for scale in (10**3, 10**6, 10**9, 10**12):
        yield from (k * scale for k in range(1, 1000))
    yield -7
    for places in range(1, 9):  # every fraction denominator, and past them digit by digit
        for frac in (1, 2, 5, 11, 21, 22, 25, 101, 999):
            yield Decimal(f"0.{str(frac).rjust(places, '0')[-places:]}")
            yield Decimal(f"-3.{str(frac).rjust(places, '0')[-places:]}")
        for whole in range(0, 30):
            yield Decimal(f"{whole}.{'1'.rjust(places, '0')}")


def _sums() -> Iterator[Decimal]:
    for rubles in (*range(0, 200), 1000, 2000, 5000, 21000, 10**6):
        for kopecks in (0, 1, 2, 5, 11, 21, 22, 25, 50, 99):
            yield Decimal(rubles) + Decimal(kopecks) / 100
    for cents in range(0, 100):
        yield Decimal(cents) / 100
    yield Decimal("-5.50")


def _moments() -> Iterator[dt.datetime]:
    day = dt.datetime(2024, 1, 1)  # a leap year: every day of every month
    while day.year == 2024:
        yield day
        day += dt.timedelta(days=1)
    for minute in range(24 * 60):
        yield dt.datetime(2024, 11, 22) + dt.timedelta(minutes=minute)


# Every builder of a prompt module, with inputs that reach each branch and each word it says.
# A new builder must be added here: tests/ivr/test_sounds.py fails until it is.
EXERCISED: dict[str, Callable[[ModuleType], Iterator[Prompt]]] = {
    "number": lambda p: (p.number(v) for v in _numbers()),
    "money": lambda p: (p.money(v) for v in _sums()),
    "digits": lambda p: iter([p.digits("0123456789")]),
    "words": lambda p: iter(()),  # takes free text: only through the builders below
    "confirm_account": lambda p: iter([p.confirm_account("0123456789")]),
    "choose_account": lambda p: iter([p.choose_account([f"10000{i}" for i in range(10)])]),
    "meter_intro": lambda p: (
        p.meter_intro(s, "A-0123456789", z) for s in p.SERVICES for z in p.ZONES),
    "readback": lambda p: (p.readback(v) for v in _numbers()),
    "balance_line": lambda p: (
        p.balance_line(s, d, b) for s in p.SERVICES
        for d, b in ((Decimal(1), Decimal(0)), (Decimal(0), Decimal(1)), (Decimal(0), Decimal(0)),
                     (Decimal(0), Decimal(-1)))),
    "total_debt": lambda p: (p.total_debt(v) for v in _sums()),
    "total_due": lambda p: (p.total_due(v) for v in _sums()),
    "clock_time": lambda p: (p.clock_time(m) for m in _moments()),
    "when": lambda p: (p.when(m) for m in _moments()),
    "day_and_month": lambda p: (p.day_and_month(m) for m in _moments()),
    "outage_line": lambda p: (
        p.outage_line(s, planned, at) for s in p.SERVICES for planned in (True, False)
        for at in (None, dt.datetime(2024, 11, 22, 17, 5))),
    "outages_count": lambda p: (p.outages_count(n) for n in range(1, 1000)),
}


def builders(module: ModuleType) -> set[str]:
    """The public builders of a prompt module (those a flow may call): its own functions and
    the :class:`~ivr.prompts.Voice` methods it exports (``number``, ``money`` ...)."""
    return {
        name for name, value in vars(module).items()
        if not name.startswith("_") and (
            inspect.ismethod(value)
            or (inspect.isfunction(value) and value.__module__ == module.__name__))
    }


def spoken(module: ModuleType) -> dict[str, str]:
    """``file → word`` of every word file the module's builders can produce."""
    missing = builders(module) - EXERCISED.keys()
    if missing:
        raise ManifestError(
            f"{module.__name__}: no inputs for {sorted(missing)} in EXERCISED "
            "(ivr/sounds/manifest.py)"
        )
    words_folder = module.WORDS + "/"
    found: dict[str, str] = {}
    for exercise in EXERCISED.values():
        for prompt in exercise(module):
            if len(prompt.scripts) != len(prompt.files):
                raise ManifestError(f"{module.__name__}: a prompt without a script per file")
            for name, script in zip(prompt.files, prompt.scripts):
                if not name.startswith(words_folder):
                    continue
                if found.setdefault(name, script).lower() != script.lower():
                    raise ManifestError(
                        f"{module.__name__}: {found[name]!r} and {script!r} share the file {name}"
                    )
    return found


def manifest(langs: tuple[str, ...] = LANGS) -> dict[str, Recording]:
    """Every recording, by the name Asterisk is asked for."""
    result = {name: Recording(name, "", text, "silence") for name, text in CORE.items()}
    for lang in langs:
        module = load(lang)
        for name, text in phrases(module).items():
            full = f"{module.FOLDER}/{name}"
            result[full] = Recording(full, lang, text, "phrase")
        for name, word in spoken(module).items():
            result[name] = Recording(name, lang, word, "word")
    return result
