"""The Asterisk configuration in dialplans/ lints clean and matches what the server expects."""
from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import urlsplit

from ivr.app import ROUTE
from ivr.flows.transfer import CHANNEL_VARIABLES
from ivr.settings import IvrSettings
from tests.conftest import CAPTURES, ROOT

DIALPLANS = ROOT / "dialplans"
ASTERISKLINT = ROOT / ".venv" / "bin" / "asterisklint"


def sections(path: Path) -> dict[str, list[str]]:
    """Asterisk config: section name → its lines (comments stripped; templates included)."""
    result: dict[str, list[str]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if m := re.match(r"^\[([^\]]+)\](\(!\))?", line):
            current = m.group(1) + (m.group(2) or "")
            result.setdefault(current, [])
        elif current is not None:
            result[current].append(line)
    return result


def options(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and not key.strip().startswith("exten") and not line.startswith("same"):
            out[key.strip()] = value.strip().lstrip(">").strip()
    return out


async def test_when_asterisklint_checks_extensions_conf_then_it_reports_nothing():
    proc = await asyncio.create_subprocess_exec(
        str(ASTERISKLINT), "dialplan-check", str(DIALPLANS / "extensions.conf"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert (proc.returncode, out.decode()) == (0, "")


def test_when_reading_extensions_conf_then_server_contexts_exist_and_agi_url_matches_settings():
    conf = sections(DIALPLANS / "extensions.conf")
    assert {"ccs-ivr", "ccs-queues", "ccs-robot", "ccs-xfer"} <= conf.keys()
    url = options(conf["globals"])["CCS_AGI_URL"]
    parts = urlsplit(url)
    assert parts.scheme == "agi"
    assert parts.port == IvrSettings().agi_port
    assert parts.path.lstrip("/") == ROUTE
    ivr = "\n".join(conf["ccs-ivr"])
    # The FastAGI token comes from Asterisk's environment, never from the file.
    assert "AGI(${CCS_AGI_URL},${ENV(CCS_AGI_TOKEN)})" in ivr
    assert "Goto(ccs-queues,${CCS_QUEUE},1)" in ivr
    assert "Queue(${CCS_QUEUE}" in "\n".join(conf["ccs-queues"])


def test_when_reading_robot_context_then_each_key_sends_its_outcome_user_event():
    robot = "\n".join(sections(DIALPLANS / "extensions.conf")["ccs-robot"])
    for key, label in (("1", "confirmed"), ("0", "operator"), ("9", "optout")):
        assert f'$["${{CCS_KEY}}" = "{key}"]?{label})' in robot
    events = re.findall(
        r"UserEvent\(CcsOutcome,Attempt: \$\{CCS_ATTEMPT\},Result: ([^)]+)\)", robot
    )
    assert len(events) >= 5  # no_input, confirmed, opt_out, operator and the hangup handler
    results = set(re.findall(r"Set\(CCS_RESULT=(\w+)\)", robot))
    assert results == {"confirmed", "operator", "opt_out", "no_input"}


def test_when_reading_manager_conf_then_channelvars_are_global_and_secret_is_a_placeholder():
    conf = sections(DIALPLANS / "manager.conf")
    channelvars = options(conf["general"])["channelvars"].split(",")
    assert set(CHANNEL_VARIABLES) | {"CCS_ATTEMPT"} <= set(channelvars)
    users = {name: options(lines) for name, lines in conf.items() if name != "general"}
    assert "ccs" in users
    for user in users.values():
        assert "channelvars" not in user  # ignored per user by Asterisk 22
        assert "CHANGE_ME" in user["secret"]


def test_when_reading_queues_conf_then_every_queue_the_server_routes_to_exists():
    conf = sections(DIALPLANS / "queues.conf")
    queues = {name.split("(")[0] for name in conf if name != "general" and "(!)" not in name}
    settings = IvrSettings()
    assert set(settings.intent_queues.values()) | {settings.default_queue} <= queues
    recorded = sections(CAPTURES / "asterisk-22-recorded" / "config" / "queues.conf")
    assert set(recorded) - {"general"} <= queues


def test_when_reading_pjsip_conf_then_trunk_lands_in_the_ivr_and_no_real_passwords():
    conf = (DIALPLANS / "pjsip.conf").read_text()
    assert "context=ccs-ivr" in conf
    for password in re.findall(r"^password=(.*)$", conf, flags=re.M):
        assert password == "CHANGE_ME"
