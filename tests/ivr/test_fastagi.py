"""The hardened FastAGI server, against panoramisk's handler and against bad peers."""
from __future__ import annotations

import asyncio
import contextlib
import sys

import pytest

from ivr.agi_protocol import AgiCommandError, AgiHangup, parse_header, parse_result_line
from ivr.fastagi import AgiChannel, FastAgiServer
from tests.conftest import ROOT
from tests.helpers import until

HEADER = (
    b"agi_network: yes\nagi_network_script: health\nagi_request: agi://127.0.0.1/health\n"
    b"agi_channel: PJSIP/a-1\nagi_uniqueid: 1700000000.1\nagi_callerid: +79120000001\n\n"
)


async def run_demo(kind: str, wait_after_a: float) -> tuple[list[str], bool]:
    """Run agi_freeze_demo in a subprocess; returns its lines and whether it had to be killed."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.ivr.agi_freeze_demo", kind,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    killed = False
    try:
        # Startup (imports) may be slow on a busy machine; the freeze is judged after "A sent".
        async with asyncio.timeout(30):
            lines.append((await proc.stdout.readline()).decode().strip())
        try:
            async with asyncio.timeout(wait_after_a):
                while line := await proc.stdout.readline():
                    lines.append(line.decode().strip())
                await proc.wait()
        except TimeoutError:
            killed = True
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return lines, killed


async def test_when_peer_hangs_up_mid_header_then_panoramisk_freezes_but_ours_serves_next():
    pan_lines, pan_killed = await run_demo("panoramisk", wait_after_a=3.0)
    assert pan_lines[0] == "A sent"
    assert pan_killed and not any(line.startswith("served") for line in pan_lines)

    our_lines, our_killed = await run_demo("ours", wait_after_a=30.0)
    assert not our_killed
    assert our_lines == ["A sent", "served NOOP"]


@contextlib.asynccontextmanager
async def agi_server(route, errors: list[BaseException] | None = None, **kw):
    server = FastAgiServer(
        header_timeout=kw.pop("header_timeout", 0.5),
        max_header_bytes=kw.pop("max_header_bytes", 4096),
        reply_timeout=2.0,
        on_route_error=(lambda path, exc: errors.append(exc)) if errors is not None else None,
    )
    server.add_route("health", route)
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop(grace=0.5)


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    return await reader.read(65536) == b""


async def test_when_bad_peers_connect_then_each_is_closed_while_a_parallel_request_is_served():
    served: list[str] = []

    async def health(ch: AgiChannel) -> None:
        served.append(ch.uniqueid)
        await ch.command("NOOP")

    async with agi_server(health) as server:
        bad = []
        for payload in (
            HEADER[:40],  # cut off: written, then the peer closes its side
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\n\n",  # garbage
            b"agi_x: " + b"a" * 10000,  # oversize, never a blank line
            b"",  # silent peer: the header timeout closes it
        ):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(payload)
            await writer.drain()
            if payload == HEADER[:40]:
                writer.write_eof()
            bad.append((reader, writer))

        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(HEADER)
        await writer.drain()
        assert await reader.readline() == b"NOOP\n"
        writer.write(b"200 result=0\n")
        await writer.drain()
        assert served == ["1700000000.1"]
        for bad_reader, _ in bad:
            assert await asyncio.wait_for(closed_by_server(bad_reader), 5)
        for _, w in bad + [(reader, writer)]:
            w.close()


async def test_when_route_raises_then_error_reaches_hook_and_connection_closes():
    errors: list[BaseException] = []

    async def broken(ch: AgiChannel) -> None:
        raise RuntimeError("bug in a flow")

    async with agi_server(broken, errors) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(HEADER)
        await writer.drain()
        assert await asyncio.wait_for(closed_by_server(reader), 5)
        await until(lambda: errors)
        writer.close()
    assert [str(e) for e in errors] == ["bug in a flow"]


def test_when_route_is_not_async_then_it_is_refused():
    server = FastAgiServer()
    with pytest.raises(TypeError):
        server.add_route("health", lambda ch: None)


@pytest.mark.parametrize("last", [b"HANGUP\n", b"511 Command Not Permitted on a dead channel or "
                                              b"intercept routine\n"])
async def test_when_asterisk_replies_510_520_then_typed_errors_and_511_or_hangup_is_a_hangup(last):
    outcomes: list[object] = []

    async def route(ch: AgiChannel) -> None:
        for cmd in ("BOGUS", "STREAM FILE y \"\"", "GET DATA", "STREAM FILE x \"\"",
                    "SAY DIGITS 1 \"\"", "NOOP"):
            try:
                outcomes.append(await ch.command(cmd))
            except AgiCommandError as exc:
                outcomes.append(exc.result.code)
            except AgiHangup:
                outcomes.append("hangup")
                return

    replies = [
        b"510 Invalid or unknown command\n",
        b"200 result=-1 endpos=0\n",  # a missing file: a failed command, the channel is up
        b"520-Invalid command syntax.  Proper usage follows:\n"
        b" Usage: GET DATA <file to be streamed> [timeout] [maxdigits]\n"
        b"520 End of proper usage.\n",
        b"100 result=0 Trying...\n200 result=0 endpos=8000\n",
        last,
    ]
    async with agi_server(route) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(HEADER)
        for reply in replies:
            await reader.readline()
            writer.write(reply)
            await writer.drain()
        await until(lambda: len(outcomes) == 5)
        writer.close()
    assert outcomes[0] == 510
    assert outcomes[1].failed and not outcomes[1].hangup
    assert outcomes[2] == 520
    assert outcomes[3].code == 200 and outcomes[3].extra == {"endpos": "8000"}
    assert outcomes[4:] == ["hangup"]  # and nothing is sent on a channel known to be gone


@pytest.mark.parametrize(
    ("line", "code", "result", "data", "hangup", "failed"),
    [
        ("200 result=0", 200, "0", "", False, False),
        ("200 result=49 endpos=1200", 200, "49", "", False, False),
        ("200 result= (timeout)", 200, "", "timeout", False, False),
        ("200 result=1 (Иванов)", 200, "1", "Иванов", False, False),
        # A missing prompt or a failed AudioSocket on a live channel (recordings 02, 05).
        ("200 result=-1", 200, "-1", "", False, True),
        ("200 result=-1 endpos=0", 200, "-1", "", False, True),
        ("200 result=0 (hangup)", 200, "0", "hangup", True, False),
        ("HANGUP", 0, "", "", True, False),
        ("510 Invalid or unknown command", 510, "", "", False, False),
        ("garbage", 0, "", "", False, False),
    ],
)
def test_when_parsing_reply_lines_then_fields_match(line, code, result, data, hangup, failed):
    parsed = parse_result_line(line)
    assert (parsed.code, parsed.result, parsed.data, parsed.hangup, parsed.failed) == (
        code, result, data, hangup, failed,
    )


def test_when_header_has_non_agi_lines_then_it_is_refused():
    from ivr.agi_protocol import AgiHeaderError

    assert parse_header(HEADER[:-2])["agi_network_script"] == "health"
    with pytest.raises(AgiHeaderError):
        parse_header(b"GET / HTTP/1.1\r\nHost: x")
    with pytest.raises(AgiHeaderError):
        parse_header(b"\xff\xfe")


async def test_when_server_starts_and_stops_then_status_follows():
    async def health(ch: AgiChannel) -> None:
        return None

    async with agi_server(health) as server:
        assert server.status() == {"listening": True, "connections": 0}
    assert server.status() == {"listening": False, "connections": 0}


async def test_when_asterisk_does_not_reply_in_time_then_channel_is_given_up():
    outcome: list[str] = []

    async def route(ch: AgiChannel) -> None:
        try:
            await ch.command("NOOP", timeout=0.2)
        except AgiHangup:
            outcome.append("gave up")
        with contextlib.suppress(AgiHangup):
            await ch.command("NOOP")
            outcome.append("sent again")

    async with agi_server(route) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(HEADER)
        assert await reader.readline() == b"NOOP\n"  # and never answered
        assert await asyncio.wait_for(closed_by_server(reader), 5)
        writer.close()
    assert outcome == ["gave up"]
