"""A hardened FastAGI server and the channel object routes talk to.

Why not ``panoramisk.fast_agi.Application``: its handler reads the header with
``while b'\\n\\n' not in buffer: buffer += await reader.read(100)``; a peer that closes before the
blank line makes ``read()`` return ``b''`` at once, forever, without yielding, which freezes the
whole event loop. It also has no header size limit or timeout and logs-and-swallows every route
exception. Here the header is read with ``readuntil(b"\\n\\n")`` under ``asyncio.timeout`` and a
size limit, bad peers get a clean close, routes must be ``async def``, and a route's exception is
logged and handed to ``on_route_error`` (tests use it to fail loudly).
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import inspect
import logging
from collections.abc import Awaitable, Callable

from ivr.tcp_server import ConnectionServer
from ivr.agi_protocol import (
    AgiCommandError,
    AgiHangup,
    AgiHeaderError,
    AgiResult,
    parse_header,
    parse_result_line,
    quote_arg,
)

__all__ = ["FastAgiServer", "AgiChannel", "Route"]

log = logging.getLogger(__name__)

Route = Callable[["AgiChannel"], Awaitable[None]]
RouteErrorHook = Callable[[str, BaseException], None]

_MAX_REPLY_LINES = 64  # a 520 usage text is ~10 lines; more means a confused peer
_DEAD_CHANNEL = 511  # "Command Not Permitted on a dead channel or intercept routine"
# CHANNEL STATUS answers: -1 no such channel, 0 down (6 is up; the IVR answered the call).
_GONE_STATES = (-1, 0)


class AgiChannel:
    """One AGI session: send a command, get its :class:`AgiResult`."""

    def __init__(
        self,
        headers: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        reply_timeout: float,
        encoding: str = "utf-8",
    ) -> None:
        self.headers = headers
        self._reader = reader
        self._writer = writer
        self._reply_timeout = reply_timeout
        self._encoding = encoding
        self.hung_up = False
        self._lock = asyncio.Lock()

    @property
    def uniqueid(self) -> str:
        return self.headers.get("agi_uniqueid", "")

    @property
    def caller_id(self) -> str:
        return self.headers.get("agi_callerid", "")

    @property
    def script(self) -> str:
        return self.headers.get("agi_network_script", "")

    async def command(self, cmd: str, *, timeout: float | None = None) -> AgiResult:
        """Send one command and wait for its reply.

        ``timeout`` bounds the wait: commands that run an application (EXEC, GET DATA, STREAM
        FILE) take as long as the caller does, so callers pass their own bound.
        Raises :class:`AgiHangup` when the channel is gone (a ``HANGUP`` line, ``511`` on a dead
        channel, the connection lost) and :class:`AgiCommandError` on 510/520. A failed command
        (``200 result=-1``) is returned: it is not a hang-up (see :meth:`check_alive`).
        """
        if self.hung_up:
            raise AgiHangup("channel already hung up")
        async with self._lock:
            try:
                self._writer.write(cmd.encode(self._encoding) + b"\n")
                await self._writer.drain()
                async with asyncio.timeout(timeout or self._reply_timeout):
                    result = await self._read_reply()
            except (ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
                # ValueError: a reply line longer than the stream limit, i.e. not Asterisk.
                self.hung_up = True
                raise AgiHangup("AGI connection closed") from exc
            except TimeoutError as exc:
                # A reply that comes later would be taken for the next command's: the session
                # cannot be trusted any more, so it is over.
                self.hung_up = True
                raise AgiHangup(f"no reply to {cmd.split(' ', 1)[0]} in time") from exc
        if result.hangup:
            # Asterisk writes HANGUP on its own when the caller leaves (the command's own answer,
            # 200 result=-1 or 511, comes before or after it); nothing more can be done.
            self.hung_up = True
            raise AgiHangup(result.message or "caller hung up")
        if result.code == _DEAD_CHANNEL:
            self.hung_up = True
            raise AgiHangup("dead channel")
        if result.code != 200:
            raise AgiCommandError(result)
        return result

    async def check_alive(self, after: str) -> None:
        """After a failed command: raise :class:`AgiHangup` if the channel is gone, else return.

        ``200 result=-1`` is what Asterisk answers both for a caller who hung up during the
        command and for a missing file or a failed application on a live channel; CHANNEL STATUS
        tells them apart (``511`` or a ``HANGUP`` line when the caller left).
        """
        status = await self.command("CHANNEL STATUS")
        if status.value in _GONE_STATES:
            self.hung_up = True
            raise AgiHangup(f"channel is down after {after}")

    async def _read_reply(self) -> AgiResult:
        lines = 0
        while True:
            raw = await self._reader.readline()
            if not raw:
                raise asyncio.IncompleteReadError(b"", None)
            line = raw.decode(self._encoding, errors="replace").rstrip("\r\n")
            lines += 1
            if lines > _MAX_REPLY_LINES:
                raise ConnectionError("AGI reply too long")
            result = parse_result_line(line)
            if result.code == 100:  # "100 result=0 Trying..." precedes the real reply
                continue
            if result.code == 520 and line.startswith("520-"):
                return await self._read_usage(result)
            return result

    async def _read_usage(self, first: AgiResult) -> AgiResult:
        parts = [first.message]
        for _ in range(_MAX_REPLY_LINES):
            raw = await self._reader.readline()
            if not raw:
                raise asyncio.IncompleteReadError(b"", None)
            line = raw.decode(self._encoding, errors="replace").rstrip("\r\n")
            if line.startswith("520 "):
                parts.append(line[4:])
                return AgiResult(code=520, message="\n".join(parts))
            parts.append(line)
        raise ConnectionError("AGI usage reply never ended")

    # --- helpers, one per AGI command the flows use -------------------------------------

    async def linkedid(self) -> str:
        """The call's id across all its channels (``CHANNEL(linkedid)``); '' if unknown.

        The environment block carries only this channel's ``agi_uniqueid``: for a call that
        reached the IVR through a Local channel (or any second leg) that is not the id the
        AMI side and the CTI tracker know the call by.
        """
        r = await self.command("GET VARIABLE CHANNEL(linkedid)")
        return r.data if r.result == "1" else ""

    async def answer(self) -> None:
        r = await self.command("ANSWER")
        if r.failed:
            await self.check_alive("ANSWER")

    async def stream_file(self, name: str, escape_digits: str = "") -> str:
        """Play a sound file; return the digit that interrupted it, or ''.

        A file that cannot be played (missing, unreadable) is skipped: the call goes on.
        """
        r = await self.command(f"STREAM FILE {name} {quote_arg(escape_digits)}", timeout=600)
        if r.failed:
            await self.check_alive("STREAM FILE")
            log.warning("prompt %s could not be played; going on", _loggable(name))
            return ""
        return chr(r.value) if r.value and r.value > 0 else ""

    playback = stream_file

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        """Play ``prompt`` and collect DTMF; returns (digits, timed_out).

        A GET DATA that failed on a live channel (its prompt is missing) took no keys: ('', True).
        """
        bound = timeout_ms / 1000 * (max_digits + 1) + 60
        r = await self.command(f"GET DATA {prompt} {timeout_ms} {max_digits}", timeout=bound)
        if r.failed:
            await self.check_alive("GET DATA")
            log.warning("GET DATA with prompt %s failed; no keys taken", _loggable(prompt))
            return "", True
        return r.result, r.data == "timeout"

    async def say_digits(self, digits: str, escape_digits: str = "") -> None:
        await self.command(f"SAY DIGITS {digits} {quote_arg(escape_digits)}", timeout=120)

    async def say_number(self, number: int, escape_digits: str = "") -> None:
        await self.command(f"SAY NUMBER {number} {quote_arg(escape_digits)}", timeout=120)

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(f"SET VARIABLE {name} {quote_arg(value)}")

    async def get_variable(self, name: str) -> str | None:
        r = await self.command(f"GET VARIABLE {name}")
        return r.data if r.result == "1" else None

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command(f"VERBOSE {quote_arg(message)} {level}")

    async def exec(self, application: str, args: str = "", *, timeout: float = 600) -> AgiResult:
        return await self.command(f"EXEC {application} {quote_arg(args)}", timeout=timeout)

    async def hangup(self) -> None:
        with contextlib.suppress(AgiHangup):
            await self.command("HANGUP")
        self.hung_up = True


def _loggable(name: str) -> str:
    """A sound file's name for the log: number words would spell out account numbers."""
    folder, sep, _ = name.rpartition("/words/")
    return f"{folder}/words/*" if sep else name


class FastAgiServer(ConnectionServer):
    """Accepts FastAGI connections and runs the route named by ``agi_network_script``."""

    def __init__(
        self,
        *,
        header_timeout: float = 5.0,
        max_header_bytes: int = 16384,
        reply_timeout: float = 30.0,
        on_route_error: RouteErrorHook | None = None,
        token: str | None = None,
    ) -> None:
        super().__init__()
        # FastAGI has no authentication of its own: the dialplan passes a shared secret as the
        # first AGI argument, AGI(agi://server/ivr,<token>), and peers without it are refused.
        self._token = token
        self._routes: dict[str, Route] = {}
        self._stream_limit = max_header_bytes
        self._header_timeout = header_timeout
        self._reply_timeout = reply_timeout
        self._on_route_error = on_route_error

    def add_route(self, path: str, route: Route) -> None:
        if not inspect.iscoroutinefunction(route):
            raise TypeError("FastAGI routes must be async def functions")
        if path in self._routes:
            raise ValueError(f"route {path!r} already exists")
        self._routes[path] = route

    async def _read_header(self, reader: asyncio.StreamReader) -> dict[str, str]:
        try:
            async with asyncio.timeout(self._header_timeout):
                block = await reader.readuntil(b"\n\n")
        except TimeoutError as exc:
            raise AgiHeaderError("header timed out") from exc
        except asyncio.IncompleteReadError as exc:
            raise AgiHeaderError("peer closed before the header ended") from exc
        except asyncio.LimitOverrunError as exc:
            raise AgiHeaderError("header too large") from exc
        return parse_header(block[:-2])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            headers = await self._read_header(reader)
        except AgiHeaderError as exc:
            log.warning("FastAGI connection refused: %s", exc)
            return
        if self._token is not None and not hmac.compare_digest(
            headers.get("agi_arg_1", "").encode(), self._token.encode()
        ):
            log.warning("FastAGI connection refused: missing or wrong token")
            return
        path = headers.get("agi_network_script", "")
        route = self._routes.get(path)
        if route is None:
            log.error("FastAGI: no route for %r", path)
            return
        channel = AgiChannel(headers, reader, writer, reply_timeout=self._reply_timeout)
        try:
            await route(channel)
        except asyncio.CancelledError:
            raise
        except AgiHangup:
            log.info("FastAGI %s: channel hung up", path)
        except Exception as exc:
            log.exception("FastAGI route %r failed", path)
            if self._on_route_error is not None:
                self._on_route_error(path, exc)
