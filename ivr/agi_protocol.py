"""The AGI wire protocol: the header block Asterisk sends first and the reply lines it sends back.

Replies look like ``200 result=1 (timeout) endpos=1234``, ``510 Invalid or unknown command``,
``511 Command Not Permitted on a dead channel or intercept routine``, a multi-line usage error
(``520-Invalid command syntax.  Proper usage follows:`` ... ``520 End of proper usage.``) or the
bare line ``HANGUP`` that Asterisk writes when the caller hangs up.
The fields follow panoramisk's ``parse_agi_result`` (``key=value (data)``) but the scan is
linear in the line's length and the result is typed.

``200 result=-1`` is a *failed command*, not a hang-up: a real Asterisk 22 answers it for a
missing prompt file (``200 result=-1 endpos=0``), a GET DATA whose prompt is missing and an
AudioSocket that timed out, with the channel still up (tests/data/agi/asterisk-22-recorded, 02
and 05). A hang-up is the ``HANGUP`` line, a ``511`` answer, or a channel status that says so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "AgiResult",
    "AgiError",
    "AgiHangup",
    "AgiCommandError",
    "AgiHeaderError",
    "parse_header",
    "parse_result_line",
    "quote_arg",
]

_RE_CODE = re.compile(r"^(?P<code>\d{3})(?P<sep>[ -]?)(?P<rest>.*)$")
# panoramisk's ``key=value`` expression, but a key may only start where a word starts: without
# the lookbehind, a long run of word characters with no "=" was rescanned from each of its
# positions (quadratic: a 16 KB reply line took 3 s on the event loop).
_RE_KV = re.compile(r"(?<!\w)(?P<key>\w+)=(?P<value>\S*)\s*")


class AgiError(Exception):
    """Base of the FastAGI errors."""


class AgiHeaderError(AgiError):
    """The peer did not send a usable AGI header (garbage, too big, too slow or cut off)."""


class AgiHangup(AgiError):
    """The channel hung up: every further command is pointless."""


class AgiCommandError(AgiError):
    """Asterisk refused a command (510, 511, 520)."""

    def __init__(self, result: AgiResult) -> None:
        super().__init__(f"AGI {result.code}: {result.message}")
        self.result = result


@dataclass(frozen=True)
class AgiResult:
    code: int
    result: str = ""
    data: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    message: str = ""
    hangup: bool = False

    @property
    def ok(self) -> bool:
        return self.code == 200 and not self.hangup and not self.failed

    @property
    def failed(self) -> bool:
        """The command ran and failed (``200 result=-1``); the channel may well be up."""
        return self.code == 200 and self.result == "-1"

    @property
    def value(self) -> int | None:
        try:
            return int(self.result)
        except ValueError:
            return None


def parse_result_line(line: str) -> AgiResult:
    """One reply line (without its newline) to an :class:`AgiResult`.

    Multi-line 520 replies are assembled by the caller; this sees their first line only.
    """
    line = line.rstrip("\r\n")
    if line.strip() == "HANGUP":
        return AgiResult(code=0, hangup=True, message="HANGUP")
    m = _RE_CODE.match(line)
    if m is None:
        return AgiResult(code=0, message=line)
    code = int(m["code"])
    rest = m["rest"]
    if code != 200:
        return AgiResult(code=code, message=rest.strip())
    result, data, extra = "", "", {}
    for key, value, kv_data in _fields(rest):
        if key == "result":
            result, data = value, kv_data
        else:
            extra[key] = value
    # "(hangup)" is RECORD FILE's word for a caller who hung up; "-1" alone is only a failure.
    return AgiResult(code=200, result=result, data=data, extra=extra, hangup=data == "hangup")


def _fields(rest: str) -> list[tuple[str, str, str]]:
    """``key=value (data)`` triples, as panoramisk's expression finds them, in linear time.

    Each character is looked at a bounded number of times: a key starts only at a word start,
    and the ``(`` of a data part is closed by a search that is skipped once no ``)`` is left.
    """
    out: list[tuple[str, str, str]] = []
    last_close = rest.rfind(")")
    pos = 0
    while (m := _RE_KV.search(rest, pos)) is not None:
        pos = m.end()
        data = ""
        if pos < last_close and rest.startswith("(", pos):
            close = rest.find(")", pos + 1)
            data, pos = rest[pos + 1 : close], close + 1
        out.append((m["key"], m["value"], data))
    return out


def parse_header(block: bytes, encoding: str = "utf-8") -> dict[str, str]:
    """The ``agi_*`` environment block (without its final blank line) to a dict.

    Raises :class:`AgiHeaderError` when the block is not an AGI header at all.
    """
    try:
        text = block.decode(encoding)
    except UnicodeDecodeError as exc:
        raise AgiHeaderError("header is not valid text") from exc
    headers: dict[str, str] = {}
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line:
            continue
        key, sep, value = line.partition(": ")
        if not sep or not key.startswith("agi_"):
            raise AgiHeaderError("header line is not an agi_ variable")
        headers[key] = value
    if "agi_network_script" not in headers and "agi_request" not in headers:
        raise AgiHeaderError("header has no agi_request")
    return headers


def quote_arg(arg: str) -> str:
    """Quote one AGI argument; Asterisk's parser splits on spaces and honours double quotes."""
    if any(c in arg for c in "\r\n"):
        raise ValueError("AGI arguments cannot contain line breaks")
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
