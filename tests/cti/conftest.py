"""Fixtures for the AMI connection and the PBX simulator (a fake Asterisk, real TCP)."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from pydantic import SecretStr

from cti.settings import AmiSettings
from cti.simulator import PbxConfig, Simulator
from cti.simulator.presets import recorded_config

SECRET = "test-secret"
# PBX seconds run 40x faster than wall-clock seconds in these tests.
SCALE = 0.025


def ami_settings(port: int, **overrides: object) -> AmiSettings:
    values: dict[str, object] = dict(
        host="127.0.0.1", port=port, username="ccs", secret=SecretStr(SECRET),
        ping_interval=0.2, ping_timeout=0.3, action_timeout=2.0, originate_timeout=5.0,
        reconnect_min=0.02, reconnect_max=0.2, reconnect_interval=0.05)
    values.update(overrides)
    return AmiSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def make_sim() -> AsyncIterator[Callable[..., Awaitable[Simulator]]]:
    sims: list[Simulator] = []

    async def make(config: PbxConfig | None = None, scale: float = SCALE) -> Simulator:
        sim = Simulator(config or recorded_config(), secret=SECRET, time_scale=scale)
        await sim.start()
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        await sim.stop()


@pytest.fixture
async def sim(make_sim: Callable[..., Awaitable[Simulator]]) -> Simulator:
    return await make_sim()


class RawAmi:
    """A bare AMI client on asyncio streams: sees the exact frames the simulator writes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.banner = ""
        self.frames: list[list[tuple[str, str]]] = []
        self._task: asyncio.Task | None = None
        self.closed = asyncio.Event()

    @classmethod
    async def open(cls, port: int) -> RawAmi:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        client.banner = (await reader.readline()).decode()
        client._task = asyncio.get_running_loop().create_task(client._read())
        return client

    async def _read(self) -> None:
        try:
            while True:
                raw = await self.reader.readuntil(b"\r\n\r\n")
                lines = raw.decode("utf-8").split("\r\n")
                self.frames.append([tuple(line.split(": ", 1)) for line in lines if ": " in line])
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed.set()

    def send(self, *fields: tuple[str, str]) -> None:
        self.writer.write(("".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n").encode())

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    def login(self, secret: str = SECRET, events: str = "on") -> None:
        self.send(("Action", "Login"), ("Username", "ccs"), ("Secret", secret), ("Events", events),
                  ("ActionID", "login"))

    def dicts(self) -> list[dict[str, str]]:
        return [dict(f) for f in self.frames]

    def messages(self) -> list[dict[str, str | list[str]]]:
        """Frames as the tracker takes them: a repeated key (ChanVariable) becomes a list."""
        out = []
        for frame in self.frames:
            d: dict[str, str | list[str]] = {}
            for key, value in frame:
                if key in d:
                    prev = d[key]
                    d[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
                else:
                    d[key] = value
            out.append(d)
        return out

    def events(self, *names: str) -> list[dict[str, str]]:
        return [d for d in self.dicts() if "Event" in d and (not names or d["Event"] in names)]

    def answer(self, action_id: str) -> dict[str, str] | None:
        for d in self.dicts():
            if d.get("ActionID") == action_id and "Response" in d:
                return d
        return None

    async def close(self) -> None:
        self.writer.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


@pytest.fixture
async def raw_client() -> AsyncIterator[Callable[[int], Awaitable[RawAmi]]]:
    clients: list[RawAmi] = []

    async def connect(port: int) -> RawAmi:
        client = await RawAmi.open(port)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        await client.close()
