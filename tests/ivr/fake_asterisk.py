"""A fake of Asterisk's side of one inbound IVR call (a PBX fake, named as such).

Held to a real Asterisk 22.10.1 (tests/data/agi/asterisk-22-recorded, read its README; the
recorded exchanges are replayed against this fake in test_fake_asterisk_recordings.py). It
connects to the FastAGI server like ``AGI(agi://...)`` does and sends the recorded 24-line
``agi_*`` environment block; then it answers each command with the lines Asterisk writes:

- STREAM FILE: ``200 result=0 endpos=<file length>`` played through, ``200 result=<key>
  endpos=<n>`` interrupted, ``200 result=-1 endpos=0`` for a missing file, and for a caller who
  hangs up ``200 result=-1 endpos=<n>`` followed by a separate ``HANGUP`` line;
- GET DATA: ``200 result=<digits>`` (at once on max digits, ``#`` not included), ``-1`` for a
  missing prompt, ``-1`` then ``HANGUP`` on a hang-up;
- after a hang-up the channel is dead: STREAM FILE, GET DATA, CHANNEL STATUS, ANSWER answer
  ``511 Command Not Permitted on a dead channel or intercept routine``; GET/SET VARIABLE, EXEC
  still answer 200;
- EXEC AudioSocket: connects to the server named in its argument, sends the UUID frame, then the
  caller's audio (320-byte slin frames, or none at all for a line without media, as with
  ``transmit_silence = no``) and keys (``03 00 01 <digit>``); answers ``200 result=0`` when the
  server sends its hangup frame or closes, and ``200 result=-1`` after ``idle_timeout`` (2 s)
  without a frame in either direction; ``200 result=-2`` without app_audiosocket;
- ``HANGUP`` when the server closes its side, as at the end of every recorded session.

Keys the caller presses after an entry that ended at its maximum length (the ``#`` after 12
digits) arrive ``key_gap`` seconds later: during the next STREAM FILE, GET DATA or AudioSocket if
that is already running (it interrupts a prompt only if the key is one of its escape digits),
dropped if no command runs then (recording 04).

The caller is a script of turns, consumed each time the IVR waits for input:
``"keys:<digits>"`` presses keys (interrupting the next interruptible prompt, the rest through
GET DATA or as AudioSocket DTMF frames; ``"keys:<digits>@<file>"`` waits for that prompt),
``"after:<digits>"`` presses them once the prompt has played, ``"voice"`` and ``"silence"`` let
the prompt play and stream audio (recognition results come from the scripted speech engine),
``"hangup"`` hangs up (``"hangup@listen"``: once the prompts have played, while the IVR
listens). An exhausted script behaves as silence.

Not recorded, so modelled as the Asterisk sources suggest: an AudioSocket server that cannot be
reached and a server error frame end ``AudioSocket()`` with ``200 result=-1``; a caller who hangs
up during AudioSocket closes the stream, then ``200 result=-1`` and ``HANGUP``.
"""
from __future__ import annotations

import asyncio
import contextlib
import re
import struct
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

from ivr.audiosocket import FRAME_20MS, Kind, encode_frame

_ARGS = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')
DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
# Lengths in 8 kHz samples of the prompts as the recordings played them (endpos when played to
# the end); other files are taken as one second long.
RECORDED_SAMPLES = {
    "ccs/ru/welcome": 28201, "ccs/ru/ask-account": 27938, "ccs/ru/not-understood": 12803,
    "ccs/ru/words/elektroenergiya": 7638, "ccs/ru/meter-ending": 6295, "ccs/ru/words/nol": 2826,
    "ccs/ru/words/chetyre": 4320, "ccs/ru/words/tri": 3429, "ccs/ru/you-said": 4623,
    "ccs/ru/words/dvenadtsat": 6286, "ccs/ru/words/tysyach": 4076, "ccs/ru/words/pyatsot": 4735,
    "ccs/ru/reading-saved": 8834, "ccs/ru/anything-else": 9426, "ccs/ru/transfer": 21812,
    "ccs/ru/goodbye": 14234, "ccs/ru/ask-reading": 43539,
}
_MEDIA = ("STREAM FILE", "GET DATA", "CHANNEL STATUS", "ANSWER")  # refused on a dead channel


def split_args(text: str) -> list[str]:
    return [
        (q.replace('\\"', '"').replace("\\\\", "\\") if q or not b else b)
        for q, b in _ARGS.findall(text)
    ]


def samples(name: str) -> int:
    return RECORDED_SAMPLES.get(name, 8000)


@dataclass
class FakeAsteriskCall:
    agi_port: int
    caller: str = "+79120000001"
    uniqueid: str = field(default_factory=lambda: f"1795{uuid.uuid4().int % 10**6}.2")
    # None: the channel is the call's first (a PJSIP trunk call: linkedid == uniqueid). A call
    # that reaches the IVR over a Local channel has the other half's id (recording 01).
    linkedid: str | None = None
    channel_type: str = "PJSIP"  # or "Local", as in the recordings
    script: list[str] = field(default_factory=list)
    hangup_on_file: str | None = None
    missing_files: frozenset[str] = frozenset()
    has_audiosocket: bool = True  # False: an Asterisk without app_audiosocket loaded
    caller_media: bool = True  # False: the caller's leg sends no frames (transmit_silence = no)
    idle_timeout: float = 2.0  # app_audiosocket's inactivity limit, both directions counted
    key_gap: float = 0.4  # SendDTMF(keys,250,150): a key ends 400 ms after the previous one
    tone: bytes = b"\x00\x00" * (FRAME_20MS // 2)
    max_audio_frames: int = 1500
    commands: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    played: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=lambda: {"CCS_QUEUE": ""})
    hung_up: bool = False
    agi_status: str = "SUCCESS"  # what the dialplan would see in AGISTATUS afterwards
    audiosocket_results: list[str] = field(default_factory=list)
    agi_token: str | None = None  # sent as agi_arg_1, as AGI(url,<token>) does

    def __post_init__(self) -> None:
        self._turns: deque[str] = deque(self.script)
        self._pending_keys = ""
        self._in_flight: list[tuple[float, str]] = []  # (when the key ends, key)
        if self.linkedid is None:
            self.linkedid = self.uniqueid

    def _header(self) -> bytes:
        channel = ("Local/s@ccs-ivr-0000000c;2" if self.channel_type == "Local"
                   else "PJSIP/trunk-00000001")
        env = {
            "agi_network": "yes",
            "agi_network_script": "ivr",
            "agi_request": f"agi://127.0.0.1:{self.agi_port}/ivr",
            "agi_channel": channel,
            "agi_language": "ru",
            "agi_type": self.channel_type,
            "agi_uniqueid": self.uniqueid,
            "agi_version": "22.10.1",
            "agi_callerid": self.caller,
            "agi_calleridname": "Test caller",
            "agi_callingpres": "0",
            "agi_callingani2": "0",
            "agi_callington": "0",
            "agi_callingtns": "0",
            "agi_dnid": "unknown",
            "agi_rdnis": "unknown",
            "agi_context": "ccs-ivr",
            "agi_extension": "s",
            "agi_priority": "5",
            "agi_enhanced": "0.0",
            "agi_accountcode": "",
            "agi_threadid": "140271149971136",
            "agi_arg_1": self.agi_token or "",
        }
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
                        # The script closed its side: Asterisk still writes HANGUP, then closes.
                        with contextlib.suppress(ConnectionError):
                            writer.write(b"HANGUP\n")
                            await writer.drain()
                        return
                    cmd = line.decode().rstrip("\n")
                    self.commands.append(cmd)
                    was_dead = self.hung_up
                    reply = await self._answer(cmd)
                    self.replies.append(reply)
                    writer.write(reply.encode() + b"\n")
                    if self.hung_up and not was_dead:
                        # The caller left during this command: a separate HANGUP line follows.
                        writer.write(b"HANGUP\n")
                    await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _hang_up(self) -> None:
        self.hung_up = True
        self.agi_status = "HANGUP"

    async def _answer(self, cmd: str) -> str:
        verb, _, rest = cmd.partition(" ")
        args = split_args(rest)
        if self.hung_up and cmd.startswith(_MEDIA):
            return DEAD
        if cmd.startswith("STREAM FILE"):
            return await self._stream_file(args[1], args[2] if len(args) > 2 else "")
        if cmd.startswith("GET DATA"):
            return self._get_data(args[1], int(args[3]) if len(args) > 3 else 20)
        if cmd.startswith("CHANNEL STATUS"):
            return "200 result=6"
        if cmd.startswith("SET VARIABLE"):
            self.variables[args[1]] = args[2]
            return "200 result=1"
        if cmd.startswith("GET VARIABLE"):
            builtin = {"CHANNEL(linkedid)": self.linkedid, "CHANNEL(language)": "ru"}
            value = builtin.get(args[1], self.variables.get(args[1]))
            return "200 result=0" if value is None else f"200 result=1 ({value})"
        if verb == "EXEC" and args and args[0] == "AudioSocket":
            if not self.has_audiosocket:
                return "200 result=-2"  # what res_agi answers for an unknown application
            if self.hung_up:
                return "200 result=-1"
            result = await self._audiosocket(args[1])
            self.audiosocket_results.append(result)
            return result
        if verb == "HANGUP":
            self._hang_up()
            return "200 result=1"
        return "200 result=0"

    def _keys_now(self, started: float) -> list[tuple[float, str]]:
        """The caller's late keys that reach the command started at ``started``."""
        keys = [(due, key) for due, key in self._in_flight if due >= started]
        self._in_flight = []
        return keys

    async def _stream_file(self, name: str, escape: str) -> str:
        started = time.monotonic()
        late = self._keys_now(started)
        if name in self.missing_files:
            self.agi_status = "FAILURE"  # one missing file fails the whole AGI session (02)
            return "200 result=-1 endpos=0"
        if self.hangup_on_file is not None and name == self.hangup_on_file:
            self._hang_up()
            return f"200 result=-1 endpos={samples(name) // 2}"
        self.played.append(name)
        for due, key in late:  # they come while this prompt plays; others are ignored
            if key in escape:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                pos = max(1, round((due - started) * 8000))
                return f"200 result={ord(key)} endpos={min(pos, samples(name))}"
        if not escape or self._pending_keys:
            return f"200 result=0 endpos={samples(name)}"
        turn = self._turns[0] if self._turns else ""
        if turn.startswith("keys:"):
            keys, _, at = turn[5:].partition("@")
            if at and at != name:
                return f"200 result=0 endpos={samples(name)}"
            self._turns.popleft()
            self._pending_keys = keys[1:]
            return f"200 result={ord(keys[0])} endpos={min(1200, samples(name))}"
        if turn == "hangup":
            self._turns.popleft()
            self._hang_up()
            return f"200 result=-1 endpos={samples(name) // 2}"
        return f"200 result=0 endpos={samples(name)}"

    def _get_data(self, prompt: str, max_digits: int) -> str:
        late = "".join(key for _, key in self._keys_now(time.monotonic()))
        if prompt in self.missing_files:
            return "200 result=-1"  # at once, no keys taken (02)
        if late or self._pending_keys:
            keys, self._pending_keys = late + self._pending_keys, ""
        else:
            turn = self._next_turn()
            if turn.startswith("hangup"):
                self._hang_up()
                return "200 result=-1"
            if not turn.startswith(("keys:", "after:")):
                return "200 result= (timeout)"
            keys = turn.partition(":")[2].partition("@")[0]
        digits, rest = "", keys
        while rest and len(digits) < max_digits:
            key, rest = rest[0], rest[1:]
            if key == "#":
                break
            digits += key
        self._fly(rest, time.monotonic())
        return f"200 result={digits}"

    def _fly(self, keys: str, ended: float) -> None:
        """Keys pressed after the entry ended: each comes ``key_gap`` after the previous one."""
        self._in_flight = [(ended + self.key_gap * (n + 1), k) for n, k in enumerate(keys)]

    async def _audiosocket(self, arg: str) -> str:
        call_id, _, address = arg.partition(",")
        host, _, port = address.rpartition(":")
        late = self._keys_now(time.monotonic())
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            return "200 result=-1"  # the caller's turn is still to come, on the next command
        turn = self._next_turn()
        last_activity = time.monotonic()
        stopped = asyncio.Event()

        def active() -> None:
            nonlocal last_activity
            last_activity = time.monotonic()

        async def watch() -> None:
            # Read what the server sends until its hangup frame or close; any frame is activity.
            try:
                while True:
                    kind, length = struct.unpack(">BH", await reader.readexactly(3))
                    await reader.readexactly(length)
                    active()
                    if kind in (Kind.HANGUP, Kind.ERROR):
                        self._server_error = kind == Kind.ERROR
                        break
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            stopped.set()

        async def idle() -> None:
            while time.monotonic() - last_activity < self.idle_timeout:
                await asyncio.sleep(0.02)

        def audio() -> None:
            if self.caller_media:
                writer.write(encode_frame(Kind.SLIN, self.tone))
                active()

        self._server_error = False
        writer.write(encode_frame(Kind.UUID, uuid.UUID(call_id).bytes))
        active()
        watcher = asyncio.create_task(watch())
        idler = asyncio.create_task(idle())
        try:
            for _ in range(5):
                audio()
            if turn.startswith("hangup"):
                self._hang_up()
                return "200 result=-1"
            keys = "".join(k for _, k in late)
            if turn.startswith(("keys:", "after:")):
                keys += turn.partition(":")[2].partition("@")[0]
            head, tail = (keys[:-1], keys[-1]) if keys.endswith("#") and len(keys) > 1 else (
                keys, "")
            for key in head:
                writer.write(encode_frame(Kind.DTMF, key.encode()))
                active()
            if tail:
                # The terminator comes key_gap later, with the line's audio in between: if the
                # server has stopped listening by then, it reaches the next command instead.
                sent_at = time.monotonic()
                with contextlib.suppress(ConnectionError):
                    while not stopped.is_set() and time.monotonic() - sent_at < self.key_gap:
                        audio()
                        await writer.drain()
                        await asyncio.sleep(0.02)
                if stopped.is_set():
                    self._in_flight = [(sent_at + self.key_gap, tail)]
                else:
                    writer.write(encode_frame(Kind.DTMF, tail.encode()))
                    active()
            with contextlib.suppress(ConnectionError):
                frames = 0
                while not stopped.is_set() and frames < self.max_audio_frames:
                    if not self.caller_media:
                        break
                    audio()
                    frames += 1
                    await writer.drain()
                    await asyncio.sleep(0)
            await asyncio.wait({watcher, idler}, timeout=30,
                               return_when=asyncio.FIRST_COMPLETED)
            if not stopped.is_set():
                return "200 result=-1"  # "Reached timeout after 2000 ms of no activity" (05)
            return "200 result=-1" if self._server_error else "200 result=0"
        finally:
            for task in (watcher, idler):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
