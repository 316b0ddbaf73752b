"""Run as a script: a peer hangs up mid-header, then a healthy request arrives.

``python -m tests.ivr.agi_freeze_demo panoramisk`` serves with panoramisk 1.4's FastAGI
handler, ``... ours`` with ivr.fastagi. It prints ``A sent`` once the broken peer is gone and
``served`` when the healthy request got its command. With panoramisk the event loop spins on
``reader.read()`` returning b'' and ``served`` never comes: the parent test runs this in a
subprocess with a timeout, so the suite itself never hangs.
"""
from __future__ import annotations

import asyncio
import sys

HEADER = b"agi_network: yes\nagi_network_script: health\nagi_request: agi://x/health\n\n"


async def health(request) -> None:
    send = getattr(request, "send_command", None) or request.command
    await send("NOOP")


async def main(kind: str) -> None:
    if kind == "panoramisk":
        from panoramisk.fast_agi import Application

        app = Application()
        app.add_route("health", health)
        server = await asyncio.start_server(app.handler, "127.0.0.1", 0)
    else:
        from ivr.fastagi import FastAgiServer

        ours = FastAgiServer(header_timeout=1.0)
        ours.add_route("health", health)
        await ours.start("127.0.0.1", 0)
        server = ours._server
    port = server.sockets[0].getsockname()[1]

    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEADER[:30])  # half a header, then hang up
    await writer.drain()
    writer.close()
    print("A sent", flush=True)

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEADER)
    await writer.drain()
    command = await reader.readline()
    writer.write(b"200 result=0\n")
    await writer.drain()
    print("served", command.decode().strip(), flush=True)
    writer.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
