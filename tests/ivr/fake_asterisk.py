"""A fake of Asterisk's side of one inbound IVR call (a PBX fake, named as such).

It connects to the FastAGI server like ``AGI(agi://...)`` does: sends the ``agi_*`` environment
block, answers each command with the lines real Asterisk writes (``200 result=0 endpos=...``,
``200 result=<digits>``, ``200 result= (timeout)``, ``HANGUP``) and, for
``EXEC AudioSocket <uuid>,<host:port>``, connects to the AudioSocket server with that UUID and
streams 20 ms slin frames (and DTMF frames) until the server sends its hangup frame, the way
``AudioSocket()`` does, then replies ``200 result=0``.

The caller is a script of turns, consumed each time the IVR waits for input:
``"keys:<digits>"`` presses keys (interrupting the prompt, the rest through GET DATA or as
AudioSocket DTMF frames), ``"after:<digits>"`` presses them once the prompt has played,
``"voice"`` and ``"silence"`` let the prompt play and stream audio (recognition results come
from the scripted speech engine), ``"hangup"`` hangs up.
An exhausted script behaves as silence.
"""
from __future__ import annotations

import asyncio
import contextlib
import re
import struct
import uuid
from collections import deque
from dataclasses import dataclass, field

from ivr.audiosocket import FRAME_20MS, Kind, encode_frame

_ARGS = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')


def split_args(text: str) -> list[str]:
    return [
        (q.replace('\\"', '"').replace("\\\\", "\\") if q or not b else b)
        for q, b in _ARGS.findall(text)
    ]


@dataclass
class FakeAsteriskCall:
    agi_port: int
    caller: str = "+79120000001"
    uniqueid: str = field(default_factory=lambda: f"1795{uuid.uuid4().int % 10**6}.1")
    script: list[str] = field(default_factory=list)
    hangup_on_file: str | None = None
    has_audiosocket: bool = True  # False: an Asterisk without app_audiosocket loaded
    tone: bytes = b"\x00\x00" * (FRAME_20MS // 2)
    max_audio_frames: int = 1500
    commands: list[str] = field(default_factory=list)
    played: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    hung_up: bool = False
    agi_token: str | None = None  # sent as agi_arg_1, as AGI(url,<token>) does

    def __post_init__(self) -> None:
        self._turns: deque[str] = deque(self.script)
        self._pending_keys = ""

    def _header(self) -> bytes:
        env = {
            "agi_network": "yes",
            "agi_network_script": "ivr",
            "agi_request": f"agi://127.0.0.1:{self.agi_port}/ivr",
            "agi_channel": "PJSIP/trunk-00000001",
            "agi_language": "ru",
            "agi_type": "PJSIP",
            "agi_uniqueid": self.uniqueid,
            "agi_version": "22.1.0",
            "agi_callerid": self.caller,
            "agi_calleridname": "unknown",
            "agi_callingpres": "0",
            "agi_dnid": "88001234567",
            "agi_context": "ccs-ivr",
            "agi_extension": "s",
            "agi_priority": "3",
            "agi_enhanced": "0.0",
            "agi_accountcode": "",
            "agi_threadid": "140000000000000",
        }
        if self.agi_token is not None:
            env["agi_arg_1"] = self.agi_token
        return "".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n"

    def _next_turn(self) -> str:
        return self._turns.popleft() if self._turns else "silence"

    async def run(self, timeout: float = 60.0) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.agi_port)
        writer.write(self._header())
        await writer.drain()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    line = await reader.readline()
                    if not line:
                        return
                    cmd = line.decode().rstrip("\n")
                    self.commands.append(cmd)
                    reply = await self._answer(cmd)
                    writer.write(reply.encode() + b"\n")
                    await writer.drain()
                    if reply == "HANGUP":
                        self.hung_up = True
                        return
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, cmd: str) -> str:
        verb, _, rest = cmd.partition(" ")
        args = split_args(rest)
        if cmd.startswith("STREAM FILE"):
            return self._stream_file(args[1], args[2] if len(args) > 2 else "")
        if cmd.startswith("GET DATA"):
            return self._get_data(int(args[3]) if len(args) > 3 else 20)
        if cmd.startswith("SET VARIABLE"):
            self.variables[args[1]] = args[2]
            return "200 result=1"
        if cmd.startswith("GET VARIABLE"):
            value = self.variables.get(args[1])
            return "200 result=0" if value is None else f"200 result=1 ({value})"
        if verb == "EXEC" and args and args[0] == "AudioSocket":
            if not self.has_audiosocket:
                return "200 result=-2"  # what res_agi answers for an unknown application
            return await self._audiosocket(args[1])
        if verb == "HANGUP":
            return "200 result=1"
        return "200 result=0"

    def _stream_file(self, name: str, escape: str) -> str:
        if self.hangup_on_file is not None and name == self.hangup_on_file:
            return "HANGUP"
        self.played.append(name)
        if not escape or self._pending_keys:
            return "200 result=0 endpos=8000"
        if self._turns and self._turns[0].startswith("keys:"):
            keys = self._turns.popleft()[5:]
            self._pending_keys = keys[1:]
            return f"200 result={ord(keys[0])} endpos=1200"
        if self._turns and self._turns[0] == "hangup":
            self._turns.popleft()
            return "HANGUP"
        return "200 result=0 endpos=8000"

    def _get_data(self, max_digits: int) -> str:
        if self._pending_keys:
            keys, self._pending_keys = self._pending_keys, ""
        else:
            turn = self._next_turn()
            if turn == "hangup":
                return "HANGUP"
            if not turn.startswith(("keys:", "after:")):
                return "200 result= (timeout)"
            keys = turn.partition(":")[2]
        digits = keys.split("#", 1)[0][:max_digits]
        return f"200 result={digits}" if digits else "200 result= (timeout)"

    async def _audiosocket(self, arg: str) -> str:
        call_id, _, address = arg.partition(",")
        host, _, port = address.rpartition(":")
        turn = self._next_turn()
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(encode_frame(Kind.UUID, uuid.UUID(call_id).bytes))
        stopped = asyncio.Event()

        async def watch() -> None:
            # Read what the server sends until its hangup frame or close.
            try:
                while True:
                    kind, length = struct.unpack(">BH", await reader.readexactly(3))
                    await reader.readexactly(length)
                    if kind in (Kind.HANGUP, Kind.ERROR):
                        break
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            stopped.set()

        watcher = asyncio.create_task(watch())
        try:
            frames = 0
            for _ in range(5):
                writer.write(encode_frame(Kind.SLIN, self.tone))
                frames += 1
            if turn == "hangup":
                writer.write(encode_frame(Kind.HANGUP))
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
                return "HANGUP"
            if turn.startswith(("keys:", "after:")):
                for key in turn.partition(":")[2]:
                    writer.write(encode_frame(Kind.DTMF, key.encode()))
            with contextlib.suppress(ConnectionError):
                while not stopped.is_set() and frames < self.max_audio_frames:
                    writer.write(encode_frame(Kind.SLIN, self.tone))
                    frames += 1
                    await writer.drain()
                    await asyncio.sleep(0)
            await asyncio.wait_for(stopped.wait(), 10)
            return "200 result=0"
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
