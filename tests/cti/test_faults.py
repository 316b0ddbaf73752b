"""Malformed and hostile input on the AMI link: the client recovers or discards cleanly."""
from __future__ import annotations

import pytest

from cti.connection import AmiConnection
from tests.helpers import until

from .conftest import ami_settings


@pytest.fixture
async def link(sim):
    seen: list[dict] = []
    conn = AmiConnection(ami_settings(sim.port), on_event=lambda m: seen.append(dict(m)))
    await conn.start()
    await conn.wait_ready(5)
    yield conn, seen
    await conn.stop()


def user_events(seen: list[dict], name: str) -> list[dict]:
    return [e for e in seen if e.get("UserEvent") == name]


def mark(name: str, **fields: str) -> bytes:
    body = "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return f"Event: UserEvent\r\nUserEvent: {name}\r\n{body}\r\n".encode()


async def alive(conn: AmiConnection, sim, seen) -> None:
    answer = await conn.send({"Action": "Ping"})
    assert answer["Ping"] == "Pong"
    sim.inject(mark("After"))
    await until(lambda: user_events(seen, "After"), timeout=5)


async def test_when_garbage_bytes_arrive_then_they_are_skipped_and_the_link_lives(sim, link):
    conn, seen = link
    sim.inject(b"\x00\xff\xfe garbage without colon\r\n\x81\x82: \xc3\x28\r\n\r\n")
    sim.inject(b"\r\n\r\n: only a colon\r\n\r\nResponse\r\n\r\n")
    await alive(conn, sim, seen)
    assert conn.status()["logged_in"]


async def test_when_a_frame_is_cut_by_a_reset_then_the_next_link_starts_clean(sim, link):
    conn, seen = link
    sim.inject(b"Event: UserEvent\r\nUserEvent: Half\r\nSeq: 1")
    await until(lambda: conn._protocol is not None and "Half" in conn._protocol._text, timeout=5)
    sim.drop_connections()
    await until(lambda: conn.status()["reconnects"] >= 1 and conn.ready.is_set(), timeout=5)
    sim.inject(mark("Whole", Seq="2"))
    await until(lambda: user_events(seen, "Whole"), timeout=5)
    assert user_events(seen, "Half") == []
    assert user_events(seen, "Whole")[0]["Seq"] == "2"


async def test_when_a_field_holds_one_megabyte_then_it_is_delivered_whole(sim, link):
    conn, seen = link
    sim.inject(mark("Big", Data="x" * (1 << 20)))
    await until(lambda: user_events(seen, "Big"), timeout=10)
    assert len(user_events(seen, "Big")[0]["Data"]) == 1 << 20
    await alive(conn, sim, seen)


async def test_when_a_frame_never_ends_then_it_is_dropped_without_growing_memory(sim, link):
    conn, seen = link
    sim.inject(b"Event: UserEvent\r\nData: " + b"y" * (5 << 20))
    await until(lambda: conn._protocol is not None and conn._protocol.discarded_frames >= 1,
                timeout=10)
    assert len(conn._protocol._text) < conn._protocol.max_frame
    sim.inject(b"\r\n\r\n")
    await alive(conn, sim, seen)


async def test_when_a_utf8_name_is_split_across_reads_then_it_arrives_intact(sim, link):
    conn, seen = link
    data = mark("Name", CallerIDName="Алексей Иванов")
    cut = data.index("Алексей".encode()) + 1  # inside the first Cyrillic letter
    sim.inject(data[:cut])
    await until(lambda: conn._protocol is not None and "Name" in conn._protocol._text, timeout=5)
    sim.inject(data[cut:])
    await until(lambda: user_events(seen, "Name"), timeout=5)
    assert user_events(seen, "Name")[0]["CallerIDName"] == "Алексей Иванов"


async def test_when_fifty_thousand_events_flood_in_then_all_arrive_in_order(sim, link):
    conn, seen = link
    count = 50_000
    sim.inject(b"".join(mark("Flood", Seq=str(i)) for i in range(count)))
    await until(lambda: len(user_events(seen, "Flood")) == count, timeout=30)
    seqs = [int(e["Seq"]) for e in user_events(seen, "Flood")]
    assert seqs == list(range(count))
    await alive(conn, sim, seen)


async def test_when_the_event_handler_raises_then_dispatch_goes_on(sim):
    seen: list[str] = []

    def handler(message) -> None:
        if message.get("UserEvent") == "Boom":
            raise ValueError("handler bug")
        seen.append(str(message.get("UserEvent")))

    conn = AmiConnection(ami_settings(sim.port), on_event=handler)
    await conn.start()
    try:
        await conn.wait_ready(5)
        sim.inject(mark("Boom") + mark("After"))
        await until(lambda: "After" in seen, timeout=5)
        assert conn.status()["logged_in"]
    finally:
        await conn.stop()
