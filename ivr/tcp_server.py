"""What the FastAGI and AudioSocket servers share: listening, one task per connection, and a
graceful stop that gives connections a moment to finish before cancelling them."""
from __future__ import annotations

import asyncio
import contextlib


class ConnectionServer:
    """Subclasses implement ``_serve(reader, writer)`` for one connection."""

    _stream_limit: int = 2**16

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.sockets
        return self._server.sockets[0].getsockname()[1]

    def status(self) -> dict[str, object]:
        """For /health: whether the port is open and how many connections it serves."""
        return {"listening": self._server is not None and self._server.is_serving(),
                "connections": len(self._tasks)}

    async def start(self, host: str, port: int) -> None:
        # limit= bounds readuntil(): a longer line raises LimitOverrunError.
        self._server = await asyncio.start_server(
            self._accept, host, port, limit=self._stream_limit
        )

    async def stop(self, grace: float = 2.0) -> None:
        """Stop accepting; give connections ``grace`` seconds to finish, then cancel them."""
        if self._server is not None:
            self._server.close()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, OSError) as exc:
            self._connection_lost(exc)
        except asyncio.CancelledError:
            pass  # server shutdown: this task is the connection's top level, nobody awaits more
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def _connection_lost(self, exc: BaseException) -> None:
        raise exc
