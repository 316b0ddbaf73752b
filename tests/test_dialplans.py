"""The Asterisk configuration in dialplans/ lints clean and matches what the server expects."""
from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from ivr.app import ROUTE
from ivr.flows.transfer import CHANNEL_VARIABLES
from ivr.settings import IvrSettings
from tests.conftest import AGI_CAPTURES, CAPTURES, ROOT

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


def test_when_reading_manager_conf_then_events_carry_the_pbx_timestamp():
    # 08b/08c: only with timestampevents = yes do events have `Timestamp:`, the time the
    # tracker gives to domain events (else the server's clock at reception).
    general = options(sections(DIALPLANS / "manager.conf")["general"])
    assert general.get("timestampevents", "no").lower() in ("yes", "true", "on", "1")


def test_when_reading_queues_conf_then_every_queue_the_server_routes_to_exists():
    conf = sections(DIALPLANS / "queues.conf")
    queues = {name.split("(")[0] for name in conf if name != "general" and "(!)" not in name}
    settings = IvrSettings()
    assert set(settings.intent_queues.values()) | {settings.default_queue} <= queues
    recorded = sections(CAPTURES / "asterisk-22-recorded" / "config" / "queues.conf")
    assert set(recorded) - {"general"} <= queues


# --- queues.conf as Asterisk 22 reads it ---------------------------------------------------
# main/config.c: `[name](opts)` opens a category; `!` makes it a template (never a queue),
# `+` appends to an earlier category of that name, any other option names a category whose
# lines are copied in, in order, BEFORE the category's own lines. ast_variable_retrieve()
# returns the FIRST line of a name. apps/app_queue.c reload_single_queue(): a static queue's
# strategy is ast_variable_retrieve(cfg, queue, "strategy") (ringall when absent or unknown);
# queue_set_param() ignores every other `strategy` line; a second category of the same name
# is skipped ("already defined").
APP_QUEUE_STRATEGIES = {"ringall": "ringall", "leastrecent": "leastrecent",
                        "fewestcalls": "fewestcalls", "random": "random", "rrmemory": "rrmemory",
                        "roundrobin": "rrmemory", "linear": "linear", "wrandom": "wrandom",
                        "rrordered": "rrordered"}


def asterisk_categories(text: str) -> list[tuple[str, bool, list[tuple[str, str]]]]:
    """(name, is_template, lines in Asterisk's order) per category, as main/config.c builds them."""
    categories: list[tuple[str, bool, list[tuple[str, str]]]] = []
    current: list[tuple[str, str]] | None = None
    for raw in text.splitlines():
        line = re.split(r"(?<!\\);", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        assert not line.startswith("#"), f"#include/#exec not modelled: {line}"
        if m := re.fullmatch(r"\[([^\]]+)\](?:\(([^)]*)\))?", line):
            name = m.group(1).strip()
            opts = [o.strip() for o in (m.group(2) or "").split(",") if o.strip()]
            if "+" in opts:
                current = next(c for c in reversed(categories) if c[0] == name)[2]
                continue
            current = []
            for base in opts:
                if base != "!":
                    current.extend(next(c for c in reversed(categories) if c[0] == base)[2])
            categories.append((name, "!" in opts, current))
        else:
            key, sep, value = line.partition("=")
            assert sep and current is not None, f"not a config line: {line}"
            current.append((key.strip(), value.lstrip(">").strip()))
    return categories


def app_queue_strategies(text: str) -> dict[str, str]:
    """Each static queue's strategy as app_queue sets it on load."""
    out: dict[str, str] = {}
    for name, template, lines in asterisk_categories(text):
        if template or name.lower() == "general" or name in out:
            continue
        first = next((value for key, value in lines if key.lower() == "strategy"), "ringall")
        out[name] = APP_QUEUE_STRATEGIES.get(first.lower(), "ringall")
    return out


def written_strategies(text: str) -> dict[str, str]:
    """What a reader of the file expects: a queue's own line overrides its template's."""
    out: dict[str, str] = {}
    for name, template, lines in asterisk_categories(text):
        if not template and name.lower() != "general":
            values = [value for key, value in lines if key.lower() == "strategy"]
            out[name] = values[-1] if values else "ringall"
    return out


def test_when_app_queue_reads_a_template_strategy_then_it_wins_over_the_queue_own():
    # What Asterisk 22.10.1 did with the old queues.conf (`queue show meters`: ringall).
    text = "[general]\n[t](!)\nstrategy=ringall\ntimeout=15\n[meters](t)\nstrategy=rrmemory\n"
    assert app_queue_strategies(text) == {"meters": "ringall"}
    assert written_strategies(text) == {"meters": "rrmemory"}


def test_when_app_queue_reads_queues_conf_then_every_queue_runs_the_strategy_written_for_it():
    from cti.simulator.presets import recorded_config

    text = (DIALPLANS / "queues.conf").read_text()
    running = app_queue_strategies(text)
    assert running == written_strategies(text)
    assert running["meters"] == "rrmemory" and running["debt"] == "fewestcalls"
    # The recorded Asterisk set and the simulator the tests and the demo use say the same.
    recorded = app_queue_strategies(
        (CAPTURES / "asterisk-22-recorded" / "config" / "queues.conf").read_text())
    assert {q: running[q] for q in recorded} == recorded
    assert {q.name: running[q.name] for q in recorded_config().queues} == {
        q.name: q.strategy for q in recorded_config().queues}


def test_when_reading_pjsip_conf_then_trunk_lands_in_the_ivr_and_no_real_passwords():
    conf = (DIALPLANS / "pjsip.conf").read_text()
    assert "context=ccs-ivr" in conf
    for password in re.findall(r"^password=(.*)$", conf, flags=re.M):
        assert password == "CHANGE_ME"


# ---- Walking the dialplan: what happens to a caller after AGI(), as Asterisk would run it. ----

Step = tuple[str | None, str, str]  # (label, application, its data)


def extensions(path: Path) -> dict[str, dict[str, list[Step]]]:
    """context → extension → its priorities in order (``n`` and labels as Asterisk numbers them)."""
    result: dict[str, dict[str, list[Step]]] = {}
    for context, lines in sections(path).items():
        exts: dict[str, list[Step]] = {}
        current: list[Step] | None = None
        for line in lines:
            m = re.match(r"^(exten|same)\s*=>\s*(.*)$", line)
            if not m:
                continue
            rest = m.group(2)
            if m.group(1) == "exten":
                name, _, rest = rest.partition(",")
                current = exts.setdefault(name.strip(), [])
            prio, _, app = rest.partition(",")
            label = re.search(r"\((\w+)\)", prio)
            name, _, data = app.partition("(")
            assert current is not None
            current.append((label.group(1) if label else None, name.strip(), data[:-1]))
        result[context] = exts
    return result


def _matches(pattern: str, exten: str) -> bool:
    if not pattern.startswith("_"):
        return pattern == exten
    rx = "".join({"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(c, c)
                 for c in re.findall(r"\[[^\]]*\]|.", pattern[1:]))
    return re.fullmatch(rx, exten) is not None


def _expand(text: str, variables: dict[str, str]) -> str:
    """``${NAME}`` and ``${NAME:offset}`` (a negative offset counts from the end)."""

    def value(m: re.Match[str]) -> str:
        got = variables.get(m.group(1), "")
        return got[int(m.group(2)):] if m.group(2) else got

    return re.sub(r"\$\{([A-Z_]+)(?::(-?\d+))?\}", value, text)


def _condition(expr: str, variables: dict[str, str]) -> bool:
    m = re.fullmatch(r'\$\[\s*"([^"]*)"\s*(=|!=)\s*"([^"]*)"\s*\]', _expand(expr, variables))
    assert m, f"condition this walker does not know: {expr}"
    left, op, right = m.groups()
    return (left == right) == (op == "=")


def run_dialplan(context: str, exten: str, *, agi: dict[str, str]) -> list[tuple[str, str]]:
    """What the channel does from ``context,exten,1``: ("Playback", file), ("Queue", name) or
    ("Hangup", ""). ``agi`` is what the AGI session leaves behind (its variables and AGISTATUS)."""
    plan = extensions(DIALPLANS / "extensions.conf")
    variables = dict(options(sections(DIALPLANS / "extensions.conf")["globals"]))
    done: list[tuple[str, str]] = []
    prio = 0
    steps: list[Step] = []

    def goto(target: str) -> None:
        nonlocal context, exten, prio, steps
        parts = _expand(target, variables).split(",")
        if len(parts) == 1:  # a label in this extension
            prio = next(i for i, s in enumerate(steps) if s[0] == parts[0])
            return
        if len(parts) == 3:
            context = parts.pop(0)
        exten = variables["EXTEN"] = parts[0]
        steps = next(v for k, v in plan[context].items() if _matches(k, exten))
        prio = 0 if parts[1] == "1" else next(i for i, s in enumerate(steps) if s[0] == parts[1])

    goto(f"{context},{exten},1")
    for _ in range(100):
        label, app, data = steps[prio]
        prio += 1
        if app == "Set" and not data.startswith("CHANNEL("):
            name, _, value = data.partition("=")
            variables[name] = _expand(value, variables)
        elif app == "AGI":
            variables.update(agi)
        elif app == "GotoIf":
            cond, _, targets = data.rpartition("?")
            yes, _, no = targets.partition(":")
            if _condition(cond, variables):
                goto(yes)
            elif no:
                goto(no)
        elif app == "Goto":
            goto(data)
        elif app == "Playback":
            done.append(("Playback", _expand(data, variables)))
        elif app == "Queue":
            done.append(("Queue", _expand(data.split(",")[0], variables)))
            return done
        elif app == "Hangup":
            done.append(("Hangup", ""))
            return done
    raise AssertionError("the dialplan walk did not end")


def recorded_agistatus(scenario: str) -> str:
    events = json.loads((AGI_CAPTURES / f"{scenario}.events.json").read_text())
    return next(e["Value"] for e in events if e.get("Variable") == "AGISTATUS")


def test_when_fastagi_server_is_unreachable_then_caller_hears_why_and_reaches_an_operator():
    # What Asterisk 22 really leaves behind when nothing listens on the FastAGI port.
    status = recorded_agistatus("07_fastagi_unreachable")
    assert status == "FAILURE"
    assert run_dialplan("ccs-ivr", "88001234567", agi={"AGISTATUS": status}) == [
        ("Playback", "ccs/ru/self-service-down"), ("Queue", IvrSettings().default_queue),
    ]


def test_when_agi_session_breaks_off_mid_call_then_caller_hears_why_and_reaches_an_operator():
    # The server stopped or lost the call: the socket closes with no variables set.
    for status in ("SUCCESS", "FAILURE"):
        assert run_dialplan("ccs-ivr", "s", agi={"AGISTATUS": status}) == [
            ("Playback", "ccs/ru/self-service-down"), ("Queue", IvrSettings().default_queue),
        ]


def test_when_ivr_chose_a_queue_then_caller_goes_there_even_if_a_prompt_was_missing():
    # A missing prompt makes the whole session FAILURE (recording 02), yet the IVR went on.
    status = recorded_agistatus("02_stream_file_missing_prompt")
    assert status == "FAILURE"
    for agistatus in (status, recorded_agistatus("01_keyed_identify_reading_transfer")):
        assert run_dialplan("ccs-ivr", "s", agi={"AGISTATUS": agistatus, "CCS_QUEUE": "readings"}) \
            == [("Queue", "readings")]


def test_when_the_ivr_fails_and_hands_the_caller_over_then_caller_hears_why_first():
    # ivr/app.py: on its own error the IVR sets CCS_QUEUE and ends CCS_IVR with "error".
    for summary in ("error", "readings:1;error"):
        agi = {"AGISTATUS": "SUCCESS", "CCS_QUEUE": "common", "CCS_IVR": summary}
        assert run_dialplan("ccs-ivr", "s", agi=agi) == [
            ("Playback", "ccs/ru/self-service-down"), ("Queue", "common")]


def test_when_ivr_said_goodbye_or_caller_hung_up_then_the_call_just_ends():
    assert run_dialplan("ccs-ivr", "s", agi={"AGISTATUS": "SUCCESS", "CCS_IVR_DONE": "1"}) == [
        ("Hangup", "")]
    assert run_dialplan("ccs-ivr", "s", agi={"AGISTATUS": "HANGUP"}) == [("Hangup", "")]


def test_when_ivr_is_unavailable_then_the_fallback_queue_is_the_default_queue_and_exists():
    globals_ = options(sections(DIALPLANS / "extensions.conf")["globals"])
    assert globals_["CCS_FALLBACK_QUEUE"] == IvrSettings().default_queue
    assert globals_["CCS_FALLBACK_QUEUE"] in sections(DIALPLANS / "queues.conf")


def test_when_a_queue_call_ends_unanswered_then_the_caller_hears_why_and_else_nothing():
    plan = extensions(DIALPLANS / "extensions.conf")
    queue_steps = plan["ccs-queues"]["_[a-z]."]
    assert [s[2] for s in queue_steps if s[1] == "Playback"] == ["ccs/ru/queue-give-up"]
    give_up = next(i for i, s in enumerate(queue_steps) if s[1] == "Playback")
    assert queue_steps[give_up - 1] == (None, "GotoIf", '$["${QUEUESTATUS}" = ""]?done')


def test_when_the_dialplan_names_a_context_then_it_exists():
    text = (DIALPLANS / "extensions.conf").read_text()  # comments too: they tell the pacer
    named = set(re.findall(r"@(ccs-[a-z-]+)", text))
    named |= set(re.findall(r"Goto\((ccs-[a-z-]+),", text))
    assert "ccs-callee" in named
    assert named <= set(sections(DIALPLANS / "extensions.conf"))
    callee = extensions(DIALPLANS / "extensions.conf")["ccs-callee"]["_X."]
    assert any(app == "Dial" and "@trunk" in data for _, app, data in callee)
