"""A robocall's address says the street from the recording the utility made of it, when the
sound set has one, and the house number alone when not (ivr/sounds/streets.py): real PostgreSQL
(targets frozen by store.start), the pacer against the PBX simulator, dialplans/robocall.conf
walked with what it sent; the street key; the studio folder through the build; and
``ccs sounds missing-streets``."""
from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import sys
import wave
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns import store
from campaigns.attempts import Claimed
from campaigns.dialer import originate_action, recorded_streets
from campaigns.models import Campaign, StoredCampaign
from cti.simulator import wire
from ivr.prompts import load
from ivr.sounds import streets
from ivr.sounds.build import DEFAULT_TARGET, Sources, build
from ivr.sounds.manifest import ManifestError, manifest
from tests.campaigns.robocall_rig import (  # noqa: F401 (fixtures)
    START, FastClock, Rig, robo_dsn, robo_pool, robo_settings, robo_sim, robo_template,
    robo_world, spec,
)
from tests.campaigns.test_robocall_dialplan import Walk
from tests.conftest import ROOT
from tests.helpers import until

ADDRESSED = [{"kind": "prompt", "name": "outage-alert"}, {"kind": "address"}]


@pytest.mark.parametrize("written, kind, key", [
    ("ул. Ленина", "street", "lenina"),
    ("улица Ленина", "street", "lenina"),
    ("ул.Ленина", "street", "lenina"),
    ("  УЛ.  ленина ,", "street", "lenina"),
    ("пр-т Мира", "avenue", "mira"),
    ("Ленинский пр-т", "avenue", "leninskiy"),
    ("Кутузовский проспект", "avenue", "kutuzovskiy"),
    ("ул. Молодёжная", "street", "molodezhnaya"),
    ("ул. Молодежная", "street", "molodezhnaya"),
    ("ул. Карла Маркса", "street", "karla-marksa"),
    ("ул. 8 Марта", "street", "8-marta"),
    ("ул. 10 лет Октября", "street", "10-let-oktyabrya"),
    ("ул. Ново-Садовая", "street", "novo-sadovaya"),
    ("пер. Почтовый", "lane", "pochtovyy"),
    ("б-р Космонавтов", "boulevard", "kosmonavtov"),
    ("Варшавское ш.", "highway", "varshavskoe"),
    ("ул. Набережная", "street", "naberezhnaya"),
    ("Набережная", None, "naberezhnaya"),  # the name, not a kind with no name
    ("Тверская", None, "tverskaya"),  # no kind written: said as its recording alone
    ("ул. «Красный Путь»", "street", "krasnyy-put"),
])
def test_when_billing_writes_a_street_then_its_key_drops_the_kind_and_is_ascii(written, kind,
                                                                               key):
    street = streets.parse(written)
    assert (street.kind, street.key, street.file) == (kind, key, f"ccs/ru/streets/{key}")


def test_when_a_street_has_no_name_then_it_has_no_key():
    assert streets.parse("") is None and streets.parse(" , . ") is None


@given(st.text(max_size=60))
def test_when_any_text_is_a_street_then_its_key_is_safe_in_a_file_and_in_ccs_parts(text):
    street = streets.parse(text)
    if street is not None:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", street.key), street.key
        assert street.kind is None or street.kind in load("ru").ROBOCALL_STREET_KINDS


def test_when_a_kind_is_said_then_it_is_a_phrase_of_the_manifest():
    kinds = load("ru").ROBOCALL_STREET_KINDS
    assert set(streets.KINDS.values()) == kinds.keys()
    assert {p.files[0] for p in kinds.values()} <= manifest().keys()


def _wav(path: Path, seconds: float = 0.5, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes(b"\x10\x00\xf0\xff" * int(rate * seconds / 2))


def _parts_by_attempt(sim) -> dict[str, dict[str, str]]:
    sent: dict[str, dict[str, str]] = {}
    for action in sim.pbx.originates:
        variables = dict(v.split("=", 1) for v in wire.every(action, "Variable"))
        sent[variables["CCS_ATTEMPT"]] = variables
    return sent


async def test_when_a_street_has_a_recording_then_the_call_says_it_and_else_the_house_only(
        robo_sim, robo_pool, robo_world, tmp_path):
    sounds = tmp_path / "sounds"
    _wav(sounds / "ccs/ru/streets/lenina.wav", rate=8000)
    rng = random.Random()
    recorded = await robo_world.account(street="ул. Ленина", house="12/1",
                                        phones=[f"+7912{rng.randrange(10**6):06d}1"])
    unrecorded = await robo_world.account(street="ул. Садовая", house="7",
                                          phones=[f"+7912{rng.randrange(10**6):06d}1"])
    body = spec(message=ADDRESSED, type="routine_notice", target={"city": [robo_world.city]})
    async with robo_pool.acquire() as conn:
        campaign = await store.create(conn, Campaign.model_validate(body))
        assert await store.start(conn, campaign.id, now=START) == 2
    attempt = {r["account_id"]: str(r["id"]) for r in await robo_pool.fetch(
        "SELECT id, account_id FROM campaign_attempts WHERE campaign_id = $1", campaign.id)}

    rig = Rig(robo_sim, robo_pool, robo_settings(sounds_dir=sounds), FastClock())
    await rig.start()
    try:
        await until(lambda: robo_pool.fetchval(
            "SELECT state = 'finished' FROM campaigns WHERE id = $1", campaign.id), timeout=30,
            interval=0.1)
    finally:
        await rig.stop()

    sent = _parts_by_attempt(robo_sim)
    said = sent[attempt[recorded["id"]]]
    assert said["CCS_PARTS"] == ("r:outage-alert^r:street^s:lenina^r:house^w:dvenadtsat")
    assert sent[attempt[unrecorded["id"]]]["CCS_PARTS"] == "r:outage-alert^r:house^w:sem"
    # Asterisk plays exactly these files: the street's only because the set has it.
    played = [f for app, f in Walk(said).run().done if app == "Playback"]
    assert played[:5] == ["ccs/ru/robocall-outage-alert", "ccs/ru/robocall-street",
                          "ccs/ru/streets/lenina", "ccs/ru/robocall-house",
                          "ccs/ru/words/dvenadtsat"]
    assert (sounds / f"{played[2]}.wav").is_file()


async def test_when_a_street_recording_is_removed_then_the_next_call_says_the_house_only(
        tmp_path):
    settings = robo_settings(sounds_dir=tmp_path)
    campaign = StoredCampaign(id=7, state="running", spec=Campaign.model_validate(
        spec(message=ADDRESSED, type="routine_notice")))
    params = {"street": "пр-т Мира", "house": "3"}
    claimed = Claimed(42, 7, 1, "+79121110001", "ccs-robocall-42-1", params)

    async def parts() -> str:
        said = await recorded_streets(campaign, params, settings)
        return dict(v.split("=", 1) for v in originate_action(
            claimed, campaign, settings, said)["Variable"])["CCS_PARTS"]

    assert await parts() == "r:outage-alert^r:house^w:tri"
    await asyncio.to_thread(_wav, tmp_path / "ccs/ru/streets/mira.wav")
    assert await parts() == "r:outage-alert^r:avenue^s:mira^r:house^w:tri"
    await asyncio.to_thread((tmp_path / "ccs/ru/streets/mira.wav").unlink)
    assert await parts() == "r:outage-alert^r:house^w:tri"


async def test_when_the_studio_has_street_recordings_then_the_build_makes_and_keeps_them(
        tmp_path):
    # A copy of the project's built set (up to date after bootstrap): only the street is made.
    target = tmp_path / "sounds"
    await asyncio.to_thread(shutil.copytree, ROOT / DEFAULT_TARGET, target)
    studio = tmp_path / "studio"
    await asyncio.to_thread(_wav, studio / "ccs/ru/streets/karla-marksa.wav", 1.0, 16000)
    report = await build(target, sources=Sources(override=studio))
    assert "ccs/ru/streets/karla-marksa" in report.made
    assert "ccs/ru/streets/karla-marksa" not in report.removed
    with wave.open(str(target / "ccs/ru/streets/karla-marksa.wav")) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)


def test_when_a_studio_file_is_not_named_by_a_key_then_the_build_refuses_it_by_name(tmp_path):
    # It would never be played: the utility renames it rather than wonders why it is not said.
    _wav(tmp_path / "ccs/ru/streets/karla-marksa.wav")
    assert list(streets.studio_recordings(tmp_path)) == ["ccs/ru/streets/karla-marksa"]
    _wav(tmp_path / "ccs/ru/streets/Карла Маркса.wav")
    with pytest.raises(ManifestError, match="'Карла Маркса' is not a street key"):
        streets.studio_recordings(tmp_path)


async def test_when_streets_have_no_recording_then_the_cli_lists_them_with_their_accounts(
        robo_world, robo_dsn, tmp_path):
    for street in ("ул. Ленина", "ул. Ленина", "пр-т Мира", "ул. Мира", "ул. Мира",
                   "ул. Садовая"):
        await robo_world.account(street=street)
    await asyncio.to_thread(_wav, tmp_path / "ccs/ru/streets/lenina.wav")
    env = {**os.environ, "CCS_POSTGRES__DSN": robo_dsn}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ccs", "sounds", "missing-streets", "--sounds-dir",
        str(tmp_path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env, cwd=ROOT)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().splitlines() == [
        "3\tccs/ru/streets/mira\tпр-т Мира | ул. Мира",
        "1\tccs/ru/streets/sadovaya\tул. Садовая",
    ]
    assert "2 street(s) of 4 account(s) have no recording" in err.decode()
