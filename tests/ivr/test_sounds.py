"""The recordings: one manifest of everything the dialplan and the IVR can play, and a build
step that makes each of them as a file Asterisk plays (8 kHz mono 16-bit .wav)."""
from __future__ import annotations

import ast
import datetime as dt
import importlib.util
import re
import subprocess
import sys
import wave
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.prompts import load
from ivr.sounds.build import DEFAULT_TARGET, Sources, build, core_words
from ivr.sounds.manifest import (
    EXERCISED,
    LANGS,
    ManifestError,
    Recording,
    builders,
    manifest,
    phrases,
)
from tests.conftest import ROOT
from tests.test_dialplans import DIALPLANS, extensions

MANIFEST = manifest()
# Applications that play files, and which of their arguments names them (&-separated).
_SOUND_ARG = {"Playback": 0, "Background": 0, "BackGround": 0, "Read": 1, "ControlPlayback": 0}


def dialplan_sounds() -> set[str]:
    """Every sound name extensions.conf can play; a name chosen at run time by ${VAR} is the
    campaign's own recording and not the project's."""
    names: set[str] = set()
    for context in extensions(DIALPLANS / "extensions.conf").values():
        for steps in context.values():
            for _, app, data in steps:
                if app not in _SOUND_ARG:
                    continue
                arg = re.split(r",(?![^{]*\})", data)[_SOUND_ARG[app]]
                for m in re.finditer(r"\$\{IF\([^?]*\?([^:}]*):((?:\$\{[^}]*\}|[^)}])*)\)\}", arg):
                    names |= {n for n in m.groups() if not n.startswith("$")}
                arg = re.sub(r"\$\{IF\([^)]*\)\}", "", arg)
                names |= {p for p in arg.split("&") if p and not p.startswith("$")}
    return names


def test_when_extensions_conf_plays_a_sound_then_it_is_in_the_manifest():
    played = dialplan_sounds()
    assert {"ccs/ru/robot-message", "ccs/ru/robot-keys", "ccs/ru/self-service-down"} <= played
    assert played <= MANIFEST.keys(), played - MANIFEST.keys()


def test_when_ivr_code_names_a_sound_then_it_is_in_the_manifest():
    # Literal names in the IVR's own code (GET DATA's silence/1 ...), outside the prompt modules.
    named = set()
    for path in (ROOT / "ivr").rglob("*.py"):
        if "prompts" in path.parts or "sounds" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("stream_file", "playback", "get_data") and node.args \
                    and isinstance(node.args[0], ast.Constant):
                named.add(node.args[0].value)
    assert "silence/1" in named
    assert named <= MANIFEST.keys()


@pytest.mark.parametrize("lang", LANGS)
def test_when_a_prompt_module_defines_a_phrase_then_the_manifest_has_it(lang):
    module = load(lang)
    for name, value in vars(module).items():
        values = value.values() if isinstance(value, dict) else [value]
        for prompt in values:
            for file in getattr(prompt, "files", ()):
                assert file in MANIFEST, (name, file)
    # Every builder of the module is exercised when the manifest is made.
    assert builders(module) <= EXERCISED.keys()


@settings(max_examples=150, deadline=None)
@given(
    lang=st.sampled_from(LANGS),
    value=st.decimals(min_value=-10**12, max_value=10**14 - 1, places=None, allow_nan=False,
                      allow_infinity=False).filter(lambda d: d.as_tuple().exponent >= -9),
    money=st.decimals(min_value=-10**9, max_value=10**12, places=2),
    moment=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)),
    account=st.text("0123456789", min_size=4, max_size=14),
    count=st.integers(1, 999),
)
def test_when_the_ivr_says_any_value_then_every_file_it_plays_is_in_the_manifest(
    lang, value, money, moment, account, count
):
    p = load(lang)
    service = sorted(p.SERVICES)[count % len(p.SERVICES)]
    zone = sorted(p.ZONES)[count % len(p.ZONES)]
    said = [p.readback(value), p.total_debt(money), p.balance_line(service, money, -money),
            p.when(moment), p.outage_line(service, count % 2 == 0, moment),
            p.confirm_account(account), p.meter_intro(service, account, zone),
            p.outages_count(count), p.choose_account([account, account[::-1]])]
    for prompt in said:
        assert set(prompt.files) <= MANIFEST.keys(), set(prompt.files) - MANIFEST.keys()


def test_when_a_prompt_text_is_not_a_literal_then_the_manifest_refuses_clearly(tmp_path):
    source = tmp_path / "xx_prompts.py"
    source.write_text("def _p(name, text): ...\nNAME = 'late'\nLATE = _p(NAME, 'text')\n")
    spec = importlib.util.spec_from_file_location("xx_prompts", source)
    module = importlib.util.module_from_spec(spec)
    sys.modules["xx_prompts"] = module
    try:
        spec.loader.exec_module(module)
        with pytest.raises(ManifestError, match="line 3"):
            phrases(module)
    finally:
        del sys.modules["xx_prompts"]


def _wav(path: Path) -> tuple[int, int, int, int]:
    with wave.open(str(path)) as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()


async def test_when_sounds_are_built_then_every_manifest_entry_has_a_playable_file():
    # The folder the set-up makes and docker-compose.yml mounts; up to date after bootstrap.
    target = ROOT / DEFAULT_TARGET
    report = await build(target, recordings=MANIFEST)
    assert not report.removed or all(n not in MANIFEST for n in report.removed)
    for name, rec in MANIFEST.items():
        rate, channels, width, frames = _wav(target / f"{name}.wav")
        assert (rate, channels, width) == (8000, 1, 2), name
        assert frames > 800, name  # at least 0.1 s: nothing empty
    # Numbers said with Asterisk's own human recordings where they say exactly the word.
    assert "ccs/ru/words/dvadtsat" in report.from_core
    assert "ccs/en/words/twenty_one" in report.from_core


async def test_when_built_twice_then_only_what_changed_is_remade_and_stale_files_go(tmp_path):
    recs = {n: MANIFEST[n] for n in ("silence/1", "ccs/ru/goodbye", "ccs/ru/words/dvadtsat")}
    first = await build(tmp_path, recordings=recs)
    assert sorted(first.made) == sorted(recs)
    again = await build(tmp_path, recordings=recs)
    assert (again.made, sorted(again.kept)) == ([], sorted(recs))
    changed = dict(recs)
    changed["ccs/ru/goodbye"] = Recording("ccs/ru/goodbye", "ru", "До свидания.", "phrase")
    del changed["ccs/ru/words/dvadtsat"]
    third = await build(tmp_path, recordings=changed)
    assert third.made == ["ccs/ru/goodbye"]
    assert third.removed == ["ccs/ru/words/dvadtsat"]
    assert not (tmp_path / "ccs/ru/words/dvadtsat.wav").exists()


async def test_when_a_studio_recording_is_given_then_it_replaces_the_generated_one(tmp_path):
    recs = {"ccs/ru/goodbye": MANIFEST["ccs/ru/goodbye"]}
    await build(tmp_path / "out", recordings=recs)
    generated = _wav(tmp_path / "out/ccs/ru/goodbye.wav")[3]
    studio = tmp_path / "studio/ccs/ru"
    studio.mkdir(parents=True)
    with wave.open(str(studio / "goodbye.wav"), "wb") as w:  # 3 s at 16 kHz: the build resamples
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(b"\x10\x00\xf0\xff" * 24000)
    report = await build(tmp_path / "out", recordings=recs,
                         sources=Sources(override=tmp_path / "studio"))
    assert report.from_override == ["ccs/ru/goodbye"] and report.made == ["ccs/ru/goodbye"]
    assert _wav(tmp_path / "out/ccs/ru/goodbye.wav") == (8000, 1, 2, 24000) != generated


def test_when_a_core_recording_is_used_then_it_says_exactly_that_word():
    ru = core_words("ru")
    assert ru["двадцать"] == ("digits/20",) and ru["тысяча"] == ("digits/thousand",)
    # Gender and case forms are not in Debian's Russian set: never taken from a wrong file.
    assert not {"одна", "две", "тысячи", "тысяч", "рубль", "января"} & ru.keys()
    assert core_words("en")["forty-five"] == ("digits/40", "digits/5")
    assert core_words("en")["January"] == ("digits/mon-0",)


@pytest.mark.parametrize("lang", LANGS)
def test_when_a_service_is_known_to_the_database_then_the_ivr_can_name_it(lang):
    # A service without a name would be said as its code: a word with no recording.
    sql = "\n".join(p.read_text() for p in sorted((ROOT / "state/migrations").glob("*.sql")))
    seeded = set()
    for values in re.findall(r"INSERT INTO services \(code[^)]*\) VALUES(.*?);", sql, re.S):
        seeded |= set(re.findall(r"\('([a-z_]+)'", values))
    assert "electricity" in seeded
    assert seeded <= load(lang).SERVICES.keys()


def test_when_a_tool_is_missing_then_the_build_says_what_to_install_and_exits_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ivr.sounds", "--target", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=ROOT, env={"PATH": str(tmp_path)}, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "sounds: sox is not installed (scripts/bootstrap.sh installs it)"
    assert not (tmp_path / "out").exists()
