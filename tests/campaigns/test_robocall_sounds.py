"""Every recording a robocall can ask Asterisk for is one the sound set builds (ivr/sounds):
dialplans/robocall.conf run with what the dialer sends, for every template, option set and word
form of an amount, plays only names of the manifest, and street names only from recordings the
sound set has (ivr/sounds/streets.py)."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from campaigns import templates
from campaigns.attempts import Claimed
from campaigns.dialer import originate_action, street_of
from campaigns.models import Campaign, StoredCampaign
from campaigns.settings import CampaignSettings
from ivr.sounds import streets
from ivr.sounds.manifest import manifest
from tests.campaigns.test_robocall_dialplan import ROBOCALL, Walk
from tests.test_dialplans import extensions

MANIFEST = manifest()
_SOUND_ARG = {"Playback": 0, "Background": 0, "BackGround": 0, "Read": 1, "ControlPlayback": 0}
# The dialplan's only names chosen at run time: the message parts and the keys prompt, both made
# by the dialer (and walked below with everything it can send).
_FROM_THE_DIALER = {"ccs/ru/robocall-${CCS_VALUE}", "ccs/ru/words/${CCS_VALUE}", "${CCS_VALUE}",
                    "ccs/ru/streets/${CCS_VALUE}", "${CCS_KEYS}"}
# Streets of every kind, written as billing writes them; the sound set of the walks has a
# recording of the first two only.
STREETS = ["ул. Карла Маркса", "Ленинский пр-т", "пер. Почтовый", "ул. Мира"]
LONG_STREET = "ул. Маршала Советского Союза Константина Константиновича Рокоссовского"

# Rubles and kopecks in every word form: 1, 2, 5, 11, 21 rubles; 1, 2, 5 kopecks (and none).
AMOUNTS = [rubles * 100 + kopecks
           for rubles, kopecks in itertools.product((1, 2, 5, 11, 21, 1234), (0, 1, 2, 5))]
OPTIONS = [{"confirm_key": "1", "operator_key": "0", "opt_out_key": "9"},
           {"confirm_key": "1", "operator_key": None, "opt_out_key": "9"},
           {"confirm_key": "2", "operator_key": "3", "opt_out_key": None},
           {"confirm_key": None, "operator_key": None, "opt_out_key": None}]


def _sounds_named_in_robocall_conf() -> set[str]:
    names = set()
    for context in extensions(ROBOCALL).values():
        for steps in context.values():
            for _, app, data in steps:
                if app in _SOUND_ARG:
                    names |= set(re.split(r",(?![^{]*\})", data)[_SOUND_ARG[app]].split("&"))
    return names


def _every_campaign() -> list[Campaign]:
    """Each template (the debt scenario's stages, the outage alert, the routine notice), and one
    message with every recorded part a supervisor may name, a date and an address."""
    made = [templates.as_campaign(t, t["id"], outage_id=1) for t in templates.templates()]
    every = [{"kind": "prompt", "name": n} for n in templates.ROBOCALL_PROMPTS]
    made.append(Campaign.model_validate({
        "name": "every part", "type": "debt_reminder",
        "message": every + [{"kind": "amount"}, {"kind": "amount", "service": "heating"},
                            {"kind": "date", "value": "2026-12-25"}, {"kind": "address"}]}))
    return made


@pytest.fixture
def sounds(tmp_path: Path) -> Path:
    """A sound set with the recordings of STREETS[:2] (and LONG_STREET's)."""
    for street in (*STREETS[:2], LONG_STREET):
        file = tmp_path / f"{streets.parse(street).file}.wav"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(b"RIFF")
    return tmp_path


def _walks(sounds: Path, amounts: list[int] = AMOUNTS, street_names: list[str] = STREETS):
    products = itertools.product(_every_campaign(), OPTIONS, amounts)
    for n, (campaign, options, kopecks) in enumerate(products):
        spec = Campaign.model_validate({**campaign.model_dump(mode="json"), "options": options,
                                        "pacing": {"target_queue": "debt"}})
        params = {"debt_kopecks": kopecks, "debt_by_service": {"heating": kopecks + 1},
                  "house": "12/1", "street": street_names[n % len(street_names)]}
        claimed = Claimed(42, 7, 1, "+79121110001", "ccs-robocall-42-1", params)
        stored = StoredCampaign(id=7, state="running", spec=spec)
        street = street_of(stored, params)
        recorded = {street.key} if street and streets.recorded(sounds, street.key) else set()
        action = originate_action(claimed, stored, CampaignSettings(), recorded)
        variables = dict(v.split("=", 1) for v in action["Variable"])
        for key in {"", *(k for k in options.values() if k)}:
            yield variables, Walk(variables, key=key).run()


def test_when_robocall_conf_names_a_sound_then_it_is_in_the_manifest_or_made_by_the_dialer():
    named = _sounds_named_in_robocall_conf()
    assert named - _FROM_THE_DIALER <= MANIFEST.keys(), named - _FROM_THE_DIALER - MANIFEST.keys()
    assert {n for n in named if "$" in n} <= _FROM_THE_DIALER


def test_when_any_template_is_dialled_then_every_sound_the_dialplan_plays_is_in_the_manifest(
        sounds):
    played, walks = set(), 0
    for _, walk in _walks(sounds):
        walks += 1
        for app, files in walk.done:
            if app in ("Playback", "Read"):
                played |= {f for f in files.split("&") if f}
            assert app not in ("SayNumber", "SayDigits", "SayUnixTime"), (app, files)
    assert walks > 100
    # Outside the manifest: only the street recordings the sound set has.
    recorded = {str(p.relative_to(sounds).with_suffix("")) for p in sounds.rglob("*.wav")}
    assert played - MANIFEST.keys() == {"ccs/ru/streets/karla-marksa",
                                        "ccs/ru/streets/leninskiy"}, played - MANIFEST.keys()
    assert played - MANIFEST.keys() <= recorded
    assert {"ccs/ru/robocall-street", "ccs/ru/robocall-avenue"} <= played
    assert "ccs/ru/robocall-lane" not in played  # пер. Почтовый has no recording
    # The walks reached every recorded part, the keys, the word forms and the endings.
    assert {f"ccs/ru/robocall-{n}" for n in templates.ROBOCALL_PROMPTS} <= played
    assert {"ccs/ru/words/rubl", "ccs/ru/words/rublya", "ccs/ru/words/rubley",
            "ccs/ru/words/kopeyka", "ccs/ru/words/kopeyki", "ccs/ru/words/kopeek",
            "ccs/ru/robocall-house", "ccs/ru/robocall-key-operator",
            "ccs/ru/robot-thanks", "ccs/ru/robot-optout"} <= played


def test_when_the_amount_is_long_then_each_originate_line_fits_asterisks_ami_buffer(sounds):
    # manager.c reads a line into 1025 bytes and drops a longer one: the call would never start.
    said_street = 0
    for variables, _ in _walks(sounds, [987_654_321_77, 777_777_777_77], [LONG_STREET]):
        said_street += "s:marshala-sovetskogo-soyuza" in variables["CCS_PARTS"]
        for name, value in variables.items():
            assert len(f"Variable: {name}={value}\r\n".encode()) <= 1024, name
    assert said_street
