"""AMI wire format as Asterisk 22 writes it: `Key: Value` lines, CRLF, a blank line per message.

Field names and their order follow the recordings in tests/data/ami/asterisk-22-recorded.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
EOL = "\r\n"

Field = tuple[str, str]
Fields = list[Field]


def _clean(value: object) -> str:
    # A value with a line break would end the frame early on the client side.
    return str(value).replace("\r", " ").replace("\n", " ")


def frame(fields: Iterable[Field]) -> bytes:
    out = [f"{key}: {_clean(value)}" for key, value in fields]
    return (EOL.join(out) + EOL + EOL).encode("utf-8")


def response(action_id: str | None, message: str, status: str = "Success",
             extra: Sequence[Field] = ()) -> bytes:
    fields: Fields = [("Response", status)]
    if action_id is not None:
        fields.append(("ActionID", action_id))
    fields.extend(extra)
    fields.append(("Message", message))
    return frame(fields)


def list_start(action_id: str | None, message: str) -> bytes:
    return response(action_id, message, extra=[("EventList", "start")])


def list_complete(event: str, action_id: str | None, count: int,
                  extra: Sequence[Field] = ()) -> bytes:
    fields: Fields = [("Event", event)]
    if action_id is not None:
        fields.append(("ActionID", action_id))
    fields += [("EventList", "Complete"), ("ListItems", str(count)), *extra]
    return frame(fields)


def event(name: str, privilege: str, timestamp: float | None, body: Sequence[Field]) -> bytes:
    fields: Fields = [("Event", name), ("Privilege", privilege)]
    if timestamp is not None:
        fields.append(("Timestamp", f"{timestamp:.6f}"))
    fields.extend(body)
    return frame(fields)


class FrameReader:
    """Splits the client's byte stream into actions; tolerates LF-only line ends.

    A frame larger than `max_frame` is discarded (with the rest of the buffer) instead of
    growing memory without bound.
    """

    def __init__(self, max_frame: int = 1 << 20) -> None:
        self._buffer = b""
        self._max = max_frame
        self.discarded = 0

    def feed(self, data: bytes) -> list[dict[str, str | list[str]]]:
        self._buffer += data.replace(b"\r\n", b"\n")
        frames: list[dict[str, str | list[str]]] = []
        while True:
            head, sep, rest = self._buffer.partition(b"\n\n")
            if not sep:
                break
            self._buffer = rest
            parsed = parse_frame(head.decode("utf-8", "replace"))
            if parsed:
                frames.append(parsed)
        if len(self._buffer) > self._max:
            self._buffer = b""
            self.discarded += 1
        return frames


def parse_frame(text: str) -> dict[str, str | list[str]]:
    """Keys are lower-cased (AMI action headers are case-insensitive); repeats become lists."""
    out: dict[str, str | list[str]] = {}
    for line in text.split("\n"):
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        value = value[1:] if value.startswith(" ") else value
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def first(action: dict[str, str | list[str]], key: str, default: str = "") -> str:
    value = action.get(key.lower(), default)
    if isinstance(value, list):
        return value[0] if value else default
    return value


def every(action: dict[str, str | list[str]], key: str) -> list[str]:
    value = action.get(key.lower())
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
