"""The simulator held to real Asterisk 22: the recordings' own client actions are replayed against
it (time-scaled), and its app_queue/originate events, answers and field layouts are compared with
what Asterisk sent in the same scenario."""
from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from functools import cache

import pytest

from tests.conftest import CAPTURES
from tests.helpers import until

from .conftest import SCALE

RECORDED = CAPTURES / "asterisk-22-recorded"
KEY_EVENTS = ("QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled",
              "AgentConnect", "AgentComplete", "AgentRingNoAnswer", "QueueMemberPause",
              "QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPenalty", "OriginateResponse",
              "UserEvent")
KEY_FIELDS = ("Queue", "Interface", "Reason", "Paused", "PausedReason", "Response", "Membership",
              "Position", "Count", "UserEvent", "Result", "Penalty")
_CHUNK = re.compile(rb"^(?:(>>>|<<<) (\d+)\n(.*?)(?=^(?:>>>|<<<|===) \d+|\Z)|=== (\d+) ([^\n]*)\n)",
                    re.S | re.M)


@cache
def recorded_messages(name: str) -> tuple[dict, ...]:
    out = []
    for line in (RECORDED / f"{name}.events.json").read_text().splitlines():
        line = line.strip().rstrip(",")
        if line in ("[", "]", ""):
            continue
        out.append(json.loads(line))
    return tuple(out)


def client_actions(name: str) -> list[tuple[int, bytes]]:
    data = (RECORDED / f"{name}.ami.txt").read_bytes()
    return [(int(m.group(2)), m.group(3)) for m in _CHUNK.finditer(data) if m.group(1) == b">>>"]


def layout(fields) -> tuple[str, ...]:
    if isinstance(fields, dict):  # events.json folds a repeated key into one list
        keys = [k for k, v in fields.items() for _ in (v if isinstance(v, list) else [v])]
    else:
        keys = [k for k, *_ in fields]
    return tuple(re.sub(r"^ChanVariable\(.*\)$", "ChanVariable()", k) for k in keys
                 if not k.startswith("_"))


@cache
def recorded_layouts() -> dict[str, set[tuple[str, ...]]]:
    out: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for path in RECORDED.glob("*.events.json"):
        for msg in recorded_messages(path.name.removesuffix(".events.json")):
            kind = msg.get("Event") or (f"Response:{msg['Response']}" if "Response" in msg else None)
            if kind:
                out[kind].add(layout(msg))
    return out


def key_sequence(messages) -> list[tuple]:
    """(Event, key fields) of the app_queue/originate events; runs of one event type are sorted
    because ringall rings members in Asterisk's hash-container order."""
    seq: list[tuple] = []
    for m in messages:
        if m.get("Event") in KEY_EVENTS:
            seq.append((m["Event"], *[(f, m[f]) for f in KEY_FIELDS if f in m]))
    out: list[tuple] = []
    run: list[tuple] = []
    for item in seq:
        if run and run[-1][0] != item[0]:
            out += sorted(run)
            run = []
        run.append(item)
    return out + sorted(run)


async def replay(sim, raw_client, name: str):
    client = await raw_client(sim.port)
    client.login()
    start = time.monotonic()
    actions = client_actions(name)
    for t_ms, body in actions:
        if b"Action: Login" in body or b"Action: Logoff" in body:
            continue
        due = start + t_ms / 1000 * SCALE
        await until(lambda: time.monotonic() >= due, timeout=60)
        client.send_raw(body)
    end = start + actions[-1][0] / 1000 * SCALE + 0.05
    await until(lambda: time.monotonic() >= end, timeout=60)
    await until(lambda: not sim.pbx.factory.channels, timeout=5)
    return client


@pytest.mark.parametrize("name", ["01_answered", "02_agent_hangs_up", "03_abandon",
                                  "04_ring_no_answer", "05_member_management",
                                  "07_originate_outcomes"])
async def test_when_recorded_actions_are_replayed_then_queue_events_match_asterisk(
        sim, raw_client, name):
    client = await replay(sim, raw_client, name)
    got = client.dicts()
    assert key_sequence(got) == key_sequence(recorded_messages(name))
    member_status = Counter((m["Interface"], m["Status"], m["Paused"])
                            for m in got if m.get("Event") == "QueueMemberStatus")
    expected = Counter((m["Interface"], m["Status"], m["Paused"])
                       for m in recorded_messages(name) if m.get("Event") == "QueueMemberStatus")
    assert set(member_status) == set(expected)


@pytest.mark.parametrize("name", ["01_answered", "04_ring_no_answer", "05_member_management",
                                  "06_status_lists", "07_originate_outcomes"])
async def test_when_recorded_actions_are_replayed_then_answers_and_layouts_match_asterisk(
        sim, raw_client, name):
    client = await replay(sim, raw_client, name)
    recorded = {m["ActionID"]: m for m in recorded_messages(name)
                if "Response" in m and "Event" not in m}
    for action_id, expected in recorded.items():
        if action_id.endswith("-1") or expected["Response"] == "Goodbye":
            continue  # login is ours; logoff is not replayed
        answer = client.answer(action_id)
        assert answer is not None, action_id
        assert (answer["Response"], answer.get("Message")) == \
            (expected["Response"], expected.get("Message")), action_id
    layouts = recorded_layouts()
    produced = {}
    for fields in client.frames:
        d = dict(fields)
        kind = d.get("Event") or f"Response:{d.get('Response')}"
        produced.setdefault(kind, layout(fields))
    shared = [kind for kind in produced if kind in layouts]
    assert len(shared) >= 5
    for kind in shared:
        assert produced[kind] in layouts[kind], kind


async def test_when_pbx_restarts_then_pause_and_dynamic_member_are_gone_like_recording_10(
        sim, raw_client):
    client = await raw_client(sim.port)
    client.login()
    client.send(("Action", "QueuePause"), ("Queue", "support"),
                ("Interface", "Local/1001@agents/n"), ("Paused", "true"), ("Reason", "lunch"),
                ("ActionID", "p"))
    client.send(("Action", "QueueAdd"), ("Queue", "support"), ("Interface", "Local/1099@agents/n"),
                ("MemberName", "Temp Agent"), ("Penalty", "0"), ("ActionID", "a"))
    await until(lambda: client.answer("a"), timeout=2)
    await sim.restart()
    await until(lambda: client.closed.is_set(), timeout=2)
    assert [e["Event"] for e in client.events()][-1] == "Shutdown"
    assert client.events("Shutdown")[0]["Restart"] == "True"
    again = await raw_client(sim.port)
    again.login()
    await until(lambda: again.events("FullyBooted"), timeout=2)
    again.send(("Action", "QueueStatus"), ("Queue", "support"), ("ActionID", "s"))
    await until(lambda: again.events("QueueStatusComplete"), timeout=2)
    members = {m["Location"]: m for m in again.events("QueueMember")}
    assert set(members) == {"Local/1001@agents/n", "Local/1002@agents/n"}
    assert members["Local/1001@agents/n"]["Paused"] == "0"
    booted = again.events("FullyBooted")[0]
    assert layout(booted.items()) in recorded_layouts()["FullyBooted"]
    assert "Timestamp" in booted
