"""AMI wire text -> messages (dicts), and readers for the recorded captures.

A message is a dict of the frame's fields with keys exactly as on the wire; a key that repeats
(ChanVariable, Variable, Output...) maps to a list of its values in wire order. Values keep their
raw text (an empty value stays ``""``). Lines that are not ``Key: Value`` are skipped and counted,
never fatal: one broken line must not cost the rest of the stream.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

Message = dict[str, "str | list[str]"]

BANNER_KEY = "_banner"
_BANNER_MARK = "Call Manager/"

# Asterisk writes numbers as C ints, longs and time_t (at most 19 digits) and times as
# seconds.microseconds. Anything longer is garbage: int() of it works, but float() of it
# overflows and an unbounded int poisons every sum or JSON it reaches.
_INT = re.compile(r"[+-]?[0-9]{1,18}")
_DECIMAL = re.compile(r"[+-]?[0-9]{1,18}(?:\.[0-9]{0,9})?")


def ami_int(value: object, default: int = 0) -> int:
    """An AMI numeric field as an int; missing, garbled or out-of-range text gives ``default``."""
    if isinstance(value, str) and _INT.fullmatch(value.strip()):
        return int(value)
    return default


def ami_float(value: object, default: float = 0.0) -> float:
    """An AMI decimal field (``Timestamp: 1796285229.061006``, ``HoldTime: 3``) as a finite
    float; anything else (``inf``, ``nan``, ``1e999``, hundreds of digits) gives ``default``."""
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        return float(value)
    return default


def _add(msg: dict, key: str, value: str) -> None:
    old = msg.get(key)
    if old is None:
        msg[key] = value
    elif isinstance(old, list):
        old.append(value)
    else:
        msg[key] = [old, value]


class AmiParser:
    """Incremental parser: ``feed(bytes)`` returns the messages completed by those bytes.

    Accepts CRLF or LF line ends, even mixed, and chunks cut anywhere (inside a CRLF, inside a
    UTF-8 sequence). The banner line comes out as ``{"_banner": "Asterisk Call Manager/11.0.0"}``.
    """

    def __init__(self, max_buffer: int = 1 << 20) -> None:
        self._buf = b""
        self._max_buffer = max_buffer
        self.garbage_lines = 0
        self.dropped_bytes = 0
        self.messages = 0

    def feed(self, data: bytes) -> list[Message]:
        buf = self._buf + data
        # Work only on complete lines; a trailing "\r" may be half of a CRLF.
        cut = buf.rfind(b"\n")
        if cut < 0:
            self._buf = self._guard(buf)
            return []
        ready, rest = buf[: cut + 1], buf[cut + 1 :]
        text = ready.decode("utf-8", "replace").replace("\r\n", "\n")
        blocks = text.split("\n\n")
        tail = blocks.pop()  # text after the last blank line: an unfinished block (or "")
        out: list[Message] = []
        for block in blocks:
            self._parse_block(block, out)
        # Lines of an unfinished block go back to the buffer, except a banner, which ends in
        # a single line break and must not wait for a blank line.
        if tail:
            first, _, others = tail.partition("\n")
            if _BANNER_MARK in first and ":" not in first.split("/", 1)[0]:
                out.append({BANNER_KEY: first})
                tail = others
        self._buf = self._guard(tail.encode("utf-8") + rest)
        self.messages += len(out)
        return out

    def _guard(self, buf: bytes) -> bytes:
        # A peer that never sends a blank line must not make us grow without bound.
        if len(buf) > self._max_buffer:
            self.dropped_bytes += len(buf)
            self.garbage_lines += 1
            return b""
        return buf

    def _parse_block(self, block: str, out: list[Message]) -> None:
        msg: dict = {}
        for line in block.split("\n"):
            if not line:
                continue
            key, sep, value = line.partition(":")
            if not sep or not key or key != key.strip():
                if _BANNER_MARK in line and not msg:
                    out.append({BANNER_KEY: line})
                else:
                    self.garbage_lines += 1
                continue
            if value.startswith(" "):
                value = value[1:]
            _add(msg, key, value)
        if msg:
            out.append(msg)


def parse_text(data: bytes | str) -> list[Message]:
    """Parse a complete stream (a trailing block without the final blank line is kept too)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    parser = AmiParser(max_buffer=max(1 << 20, len(raw) + 16))
    out = parser.feed(raw)
    return out + parser.feed(b"\r\n\r\n")


# --- captures -------------------------------------------------------------------------------

_CHUNK = re.compile(
    rb"^(?:(>>>|<<<) (\d+)\n(.*?)(?=^(?:>>>|<<<|===) \d+|\Z)|=== (\d+) ([^\n]*)\n)", re.S | re.M
)


def transcript_server_bytes(path: Path) -> list[tuple[int, bytes]]:
    """Server-direction (``<<<``) byte chunks of an ``.ami.txt`` transcript, one list per
    connection: ``[(connection_number, exact_bytes), ...]``."""
    conns: list[tuple[int, bytes]] = []
    current: list[bytes] = []
    number = 0
    for m in _CHUNK.finditer(Path(path).read_bytes()):
        direction, _t, body, _t2, note = m.groups()
        if direction is None:
            if note and note.startswith(b"connect"):
                if current:
                    conns.append((number, b"".join(current)))
                number, current = int(note.split()[1]), []
            continue
        if direction == b"<<<":
            current.append(body)
    if current:
        conns.append((number, b"".join(current)))
    return conns


def read_transcript(path: Path) -> list[Message]:
    """Every server message of a transcript, parsed from its exact bytes; a new connection's
    banner marks the reconnect."""
    out: list[Message] = []
    for _conn, data in transcript_server_bytes(path):
        out.extend(parse_text(data))
    return out


def read_json_list(path: Path) -> list[Message]:
    """``*.events.json`` of asterisk-22-recorded, and the cacofonisk fixtures (a JSON list of
    dicts); values are turned into strings, as they would be on the wire."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out: list[Message] = []
    for item in data:
        if not isinstance(item, dict):
            continue
        msg: dict = {}
        for key, value in item.items():
            if isinstance(value, list):
                msg[key] = [str(v) for v in value]
            else:
                msg[key] = value if isinstance(value, str) else json.dumps(value)
        out.append(msg)
    return out


def read_raw(path: Path) -> list[Message]:
    """A raw AMI byte stream (verbara ``.raw``, panoramisk ``.yaml`` traces)."""
    return parse_text(Path(path).read_bytes())


def read_capture(path: Path) -> list[Message]:
    name = Path(path).name
    if name.endswith(".ami.txt"):
        return read_transcript(path)
    if name.endswith(".json"):
        return read_json_list(path)
    return read_raw(path)


def iter_events(messages: list[Message]) -> Iterator[Message]:
    return (m for m in messages if "Event" in m)
