"""Run the aiohttp application until SIGINT/SIGTERM, turning start-up faults into one clear line.

Used by `ccs serve` and `ccs demo`. Whatever part started before a fault (pools, the IVR, the
CTI) is stopped again before the error is raised.
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
from collections.abc import Callable

import asyncpg
from aiohttp import web

from ccs.heap import YoungCollector, settle_heap
from ccs.settings import Settings

log = logging.getLogger("ccs")


class StartupError(Exception):
    """A start-up fault, worded for the operator in one line."""


def _busy_port_hint(exc: OSError, settings: Settings) -> str:
    ports = {
        "CCS_HTTP__PORT": settings.http.port,
        "CCS_IVR__AGI_PORT": settings.ivr.agi_port,
        "CCS_IVR__AUDIOSOCKET_PORT": settings.ivr.audiosocket_port,
    }
    names = [name for name, port in ports.items() if port and f", {port})" in str(exc)]
    return f"; set {' or '.join(names)} to a free port" if names else ""


def describe(exc: BaseException, settings: Settings) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return f"a port is taken: {exc}{_busy_port_hint(exc, settings)}"
    if isinstance(exc, asyncpg.UndefinedTableError):
        return f"the database has no schema yet ({exc}); run `ccs migrate` first"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'no details'}"


def event_loop_factory(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The loop the server runs on (``asyncio.Runner(loop_factory=...)``), as
    ``CCS_EVENT_LOOP`` says (None: asyncio's default)."""
    if settings.event_loop == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    if settings.event_loop == "priority":
        from ccs.priority_loop import PriorityLoop

        return PriorityLoop
    return None


async def serve_until_stopped(
    settings: Settings, app: web.Application, on_ready: Callable[[], None] | None = None
) -> None:
    """Serve ``app`` on the configured address until SIGINT or SIGTERM; raises StartupError."""
    from agent_api.access_log import RedactedAccessLogger

    runner = web.AppRunner(app, access_log_class=RedactedAccessLogger)
    try:
        try:
            await runner.setup()
        except Exception as exc:  # noqa: BLE001 (any part that fails to start is a start-up fault)
            log.debug("start-up failed", exc_info=True)
            raise StartupError(f"cannot start: {describe(exc, settings)}") from exc
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        site = web.TCPSite(runner, settings.http.host, settings.http.port)
        try:
            await site.start()
        except OSError as exc:
            raise StartupError(
                f"cannot listen on {settings.http.host}:{settings.http.port} ({exc.strerror}); "
                "set CCS_HTTP__PORT to a free port"
            ) from exc
        settle_heap()
        young = asyncio.create_task(YoungCollector().run(), name="young-gc")
        try:
            if on_ready is not None:
                on_ready()
            await stop.wait()
        finally:
            young.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await young
    finally:
        await runner.cleanup()
