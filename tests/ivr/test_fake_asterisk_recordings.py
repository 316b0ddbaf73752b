"""The fake Asterisk held to a real Asterisk 22.10.1: each recorded FastAGI session's commands
(tests/data/agi/asterisk-22-recorded) are replayed against the fake, with the recorded caller
and the recorded AudioSocket server behaviour, and the fake's answers are compared with what
Asterisk answered: result codes, endpos, HANGUP lines, 511, AudioSocket frames and timeout, and
the AGISTATUS the dialplan saw afterwards (from the AMI side of the same scenario)."""
from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import struct
import time
from dataclasses import dataclass, field

import pytest

from ivr.audiosocket import FRAME_20MS, Kind, encode_frame
from tests.conftest import AGI_CAPTURES
from tests.ivr.fake_asterisk import FakeAsteriskCall, samples, split_args

_CHUNK = re.compile(rb"^(?:(>>>|<<<) (\d+)\n(.*?)(?=^(?:>>>|<<<|===) \d+|\Z)|=== (\d+) ([^\n]*)\n)",
                    re.S | re.M)
_REPLY = re.compile(r"^200 result=(-?\d*)(?: endpos=(\d+))?$")


@dataclass
class Step:
    command: str
    replies: list[str]
    pause: float  # the stand-in's think time before the command


@dataclass
class Session:
    conn: int
    env: list[str]
    steps: list[Step] = field(default_factory=list)
    after_close: list[str] = field(default_factory=list)  # what Asterisk wrote after our EOF


def sessions(name: str) -> list[Session]:
    data = (AGI_CAPTURES / f"{name}.agi.txt").read_bytes()
    out: list[Session] = []
    conn, last_t, closed = 0, 0, False
    for direction, t, body, _mark_t, note in (m.groups() for m in _CHUNK.finditer(data)):
        if note is not None:
            words = note.decode().split()
            if words[0] == "connect":
                conn, closed = int(words[1]), False
            elif words[:1] == ["eof"] and words[2] == "server":
                closed = True
            continue
        text, t_ms = body.decode(), int(t)
        if direction == b">>>" and text.startswith("agi_"):
            out.append(Session(conn, [line.partition(":")[0] for line in text.splitlines()
                                      if line]))
        elif direction == b"<<<":
            out[-1].steps.append(Step(text.rstrip("\n"), [], (t_ms - last_t) / 1000))
        elif closed:
            out[-1].after_close.append(text.rstrip("\n"))
        elif text.strip():
            out[-1].steps[-1].replies.append(text.rstrip("\n"))
        last_t = t_ms
    return out


def recorded_agistatus(name: str) -> list[str]:
    values = []
    for line in (AGI_CAPTURES / f"{name}.events.json").read_text().splitlines():
        line = line.strip().rstrip(",")
        if line.startswith("{"):
            msg = json.loads(line)
            if msg.get("Event") == "VarSet" and msg.get("Variable") == "AGISTATUS":
                values.append(msg["Value"])
    return values


def recorded_frames(name: str, conn: int) -> list[tuple[int, bytes]]:
    path = AGI_CAPTURES / f"{name}.audiosocket.jsonl"
    out = []
    for line in path.read_text().splitlines():
        o = json.loads(line)
        if "b64" in o and o["conn"] == conn and o["dir"] == ">>>":
            raw = base64.b64decode(o["b64"])
            out.append((raw[0], raw[3:]))
    return out


def same_reply(fake: str, real: str, command: str) -> bool:
    """Equal, except where an endpos depends on when the caller pressed or left (then in the
    file)."""
    f, r = _REPLY.match(fake), _REPLY.match(real)
    if not (f and r and r[2] is not None and f[2] is not None):
        return fake == real
    interrupted = r[1] not in ("0",) and int(r[2]) > 0
    if f[1] != r[1]:
        return False
    if interrupted:
        return 0 < int(f[2]) <= samples(split_args(command.partition("STREAM FILE ")[2])[0])
    return f[2] == r[2]


class AudioSocketStandIn:
    """The recorded AudioSocket servers' behaviour: what they did when Asterisk connected."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.frames: list[tuple[int, bytes]] = []
        self.server: asyncio.Server | None = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        keepalive = None
        if self.behaviour == "send_silence":  # 05 B: frames from the server only, then hangup
            async def send() -> None:
                for _ in range(125):  # 2.5 s, more than the 2 s timeout (recorded: 6 s)
                    writer.write(encode_frame(Kind.SLIN, bytes(FRAME_20MS)))
                    await writer.drain()
                    await asyncio.sleep(0.02)
                writer.write(encode_frame(Kind.HANGUP))
            keepalive = asyncio.create_task(send())
        digits = 0
        try:
            while True:
                kind, length = struct.unpack(">BH", await reader.readexactly(3))
                self.frames.append((kind, await reader.readexactly(length)))
                if kind == Kind.DTMF:
                    digits += 1
                    if self.behaviour == "close_on_dtmf":  # 09 B
                        break
                    if self.behaviour == "hangup_on_dtmf" or (  # 09 A, 01 (12-digit account)
                            self.behaviour == "hangup_after_12" and digits == 12):
                        writer.write(encode_frame(Kind.HANGUP))
                        await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if keepalive is not None:
                keepalive.cancel()
            writer.close()

    async def __aenter__(self) -> AudioSocketStandIn:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]


async def replay(session: Session, fake_kw: dict, audio: AudioSocketStandIn | None):
    """Play the recorded stand-in's part against the fake; returns the fake and its answers."""
    got: list[list[str]] = []
    after: list[str] = []
    env: list[str] = []

    async def stand_in(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        env.extend(line.decode().partition(":")[0]
                   for line in (await reader.readuntil(b"\n\n")).splitlines() if line)
        for step in session.steps:
            if step.pause > 0.1:
                await asyncio.sleep(min(step.pause, 2.0))
            command = step.command
            if audio is not None:
                command = re.sub(r"127\.0\.0\.1:9092", f"127.0.0.1:{audio.port}", command)
            writer.write(command.encode() + b"\n")
            await writer.drain()
            lines = []
            for _ in step.replies:
                async with asyncio.timeout(10):
                    lines.append((await reader.readline()).decode().rstrip("\n"))
            got.append(lines)
        writer.write_eof()
        while line := await reader.readline():
            after.append(line.decode().rstrip("\n"))
        writer.close()

    server = await asyncio.start_server(stand_in, "127.0.0.1", 0)
    try:
        call = FakeAsteriskCall(server.sockets[0].getsockname()[1], **fake_kw)
        await call.run(timeout=30)
        await asyncio.sleep(0.05)
    finally:
        server.close()
    return call, env, got, after


LOCAL = {"channel_type": "Local", "caller": "+79120000009"}
SCENARIOS = {
    # name: per recorded connection, (the fake's caller, the AudioSocket server's behaviour)
    "01_keyed_identify_reading_transfer": [(
        {**LOCAL, "uniqueid": "1796285450.25", "key_gap": 0.272,
         "script": ["after:100200300403#", "keys:1@ccs/ru/menu", "keys:1@ccs/ru/ask-reading",
                    "after:2500#", "keys:1@ccs/ru/confirm-hint", "keys:0@ccs/ru/menu"]},
        "hangup_after_12")],
    "02_stream_file_missing_prompt": [(
        {**LOCAL, "missing_files": frozenset({"ccs/ru/no-such-prompt"})}, None)],
    "03_caller_hangs_up_stream_file_get_data": [
        ({**LOCAL, "script": ["hangup"]}, None), ({**LOCAL, "script": ["hangup"]}, None)],
    "04_get_data_12_digits_then_hash": [
        ({**LOCAL, "script": ["after:100200300403#"]}, None),
        ({**LOCAL, "script": ["after:100200300403#"]}, None)],
    "05_audiosocket_no_media_timeout": [
        ({**LOCAL, "caller_media": False}, "silent"),
        ({**LOCAL, "caller_media": False}, "send_silence")],
    "06_exec_audiosocket_module_unloaded": [({**LOCAL, "has_audiosocket": False}, None)],
    "09_dtmf_during_audiosocket": [
        ({**LOCAL, "script": ["after:5"]}, "hangup_on_dtmf"),
        ({**LOCAL, "script": ["after:5"]}, "close_on_dtmf")],
}
RECORDED = {name: sessions(name) for name in SCENARIOS}  # read at import, not on the loop
AGISTATUS = {name: recorded_agistatus(name) for name in SCENARIOS}
FRAMES = {name: {s.conn + 1: recorded_frames(name, s.conn + 1) for s in RECORDED[name]
                 if any("AudioSocket" in st.command for st in s.steps)}
          for name in SCENARIOS if (AGI_CAPTURES / f"{name}.audiosocket.jsonl").exists()}


def test_when_recordings_are_read_then_every_scenario_has_its_sessions():
    assert {name: len(s) for name, s in RECORDED.items()} == {
        name: len(conns) for name, conns in SCENARIOS.items()}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_when_recorded_commands_are_replayed_then_the_fake_answers_as_asterisk_did(name):
    statuses = []
    for session, (fake_kw, audio_behaviour) in zip(RECORDED[name], SCENARIOS[name], strict=True):
        async with contextlib.AsyncExitStack() as stack:
            audio = (await stack.enter_async_context(AudioSocketStandIn(audio_behaviour))
                     if audio_behaviour else None)
            started = time.monotonic()
            call, env, got, after = await replay(session, fake_kw, audio)
            elapsed = time.monotonic() - started
        assert env == session.env  # the same 24 agi_* lines, in Asterisk's order
        for step, replies in zip(session.steps, got, strict=True):
            assert len(replies) == len(step.replies), (step.command, replies, step.replies)
            for fake, real in zip(replies, step.replies):
                assert same_reply(fake, real, step.command), (step.command, fake, real)
        assert after == session.after_close == ["HANGUP"]
        statuses.append(call.agi_status)
        if audio is not None and session.conn + 1 in FRAMES.get(name, {}):
            real = FRAMES[name][session.conn + 1]
            exec_uuid = [s.command for s in session.steps if "AudioSocket" in s.command][0]
            assert audio.frames[0] == real[0] == (Kind.UUID, bytes.fromhex(
                split_args(exec_uuid.partition("EXEC ")[2])[1].split(",")[0].replace("-", "")))
            assert {k for k, _ in audio.frames} <= {k for k, _ in real} <= {
                Kind.UUID, Kind.SLIN, Kind.DTMF}
            assert [p for k, p in audio.frames if k == Kind.DTMF] == [
                p for k, p in real if k == Kind.DTMF]
            assert all(p == bytes(FRAME_20MS) for k, p in audio.frames + real if k == Kind.SLIN)
        if name.startswith("05") and audio_behaviour == "silent":
            assert 2.0 <= elapsed < 4.0  # "Reached timeout after 2000 ms of no activity"
    assert statuses == AGISTATUS[name]
