"""Whatever a request holds, no log line repeats its numbers."""
import asyncio
import logging

from aiohttp import web
from aiohttp.test_utils import TestServer

from agent_api.access_log import RedactedAccessLogger
from ccs.app import create_app
from agent_api.auth import public

DIGITS = "89120000005"


async def _raw(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()


async def test_when_requests_are_hostile_then_no_log_line_holds_their_digits(app_settings, caplog):
    @public
    async def failing(request):
        raise RuntimeError(f"boom for {request.match_info['n']}")

    app = create_app(app_settings)
    app.router.add_get("/api/failing/{n}", failing)
    server = TestServer(app)
    await server.start_server(access_log_class=RedactedAccessLogger)  # as ccs serve runs it
    caplog.set_level(logging.DEBUG)  # every logger, every level, captured at the root
    try:
        requests = [
            f"GET /api/cards/phone/{DIGITS}{'1' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n",  # too long
            f"GET /api/cards/phone/{DIGITS} HTTP/1.1 junk\r\nHost: x\r\n\r\n",  # bad request line
            f"G{DIGITS}T /x HTTP/1.1\r\nHost: x\r\n\r\n",  # bad method
            f"GET /no/such/route/{DIGITS} HTTP/1.1\r\nHost: x\r\n\r\n",
            f"GET /api/failing/{DIGITS} HTTP/1.1\r\nHost: x\r\n\r\n",
            f"GET /api/cards/phone/{DIGITS} HTTP/1.1\r\nHost: x\r\n\r\n",  # no token
        ]
        answers = [await _raw(server.port, r.encode()) for r in requests]
    finally:
        await server.close()
    statuses = [int(a.split(b" ", 2)[1]) for a in answers]
    assert statuses[:4] == [400, 400, 400, 404] and statuses[4:] == [500, 401]
    formatter = logging.Formatter("%(name)s %(message)s")
    lines = [formatter.format(record) for record in caplog.records]
    assert any("aiohttp.access" in line for line in lines)  # the access log did write
    leaked = [line for line in lines if DIGITS in line or DIGITS[1:8] in line]
    assert leaked == []
