"""The AudioSocket server over real TCP, with the real Vosk engine behind it."""
from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import uuid

import numpy as np

from ivr.audiosocket import (
    FRAME_20MS,
    Audio,
    AudioSocketServer,
    Dtmf,
    Ended,
    ErrorCode,
    Kind,
    encode_frame,
)
from ivr.listen import ListenLimits, listen_turn
from speech import NumberGrammar
from tests.helpers import until

LIMITS = ListenLimits(max_seconds=4.0, no_input_seconds=1.0, end_silence_seconds=0.6,
                      dtmf_timeout_seconds=1.0, read_timeout=3.0)


def tone(seconds: float, freq: float = 440.0, amplitude: float = 8000.0) -> bytes:
    t = np.arange(int(seconds * 8000)) / 8000
    return (np.sin(2 * np.pi * freq * t) * amplitude).astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * 8000) * 2)


@contextlib.asynccontextmanager
async def audio_server(**kw):
    server = AudioSocketServer(max_frame_bytes=kw.pop("max_frame_bytes", 8192),
                               read_timeout=kw.pop("read_timeout", 3.0))
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop(grace=0.5)


async def connect(server: AudioSocketServer, call_uuid: uuid.UUID | None):
    """Asterisk's side: connect and announce the call UUID (the first frame)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    if call_uuid is not None:
        writer.write(encode_frame(Kind.UUID, call_uuid.bytes))
        await writer.drain()
    return reader, writer


async def send_pcm(writer: asyncio.StreamWriter, pcm: bytes) -> None:
    for offset in range(0, len(pcm), FRAME_20MS):
        writer.write(encode_frame(Kind.SLIN, pcm[offset : offset + FRAME_20MS]))
        await writer.drain()


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes] | None:
    """The next frame from the server, or None when it closed."""
    try:
        kind, length = struct.unpack(">BH", await reader.readexactly(3))
        return kind, await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        return None


async def test_when_audio_streams_in_20ms_frames_then_real_recognizer_hears_grammar_words_only(
    vosk_engine,
):
    grammar = NumberGrammar("ko")
    known, _ = vosk_engine.split_vocabulary(grammar.words)
    async with audio_server() as server:
        session = server.expect()
        reader, writer = await connect(server, session.uuid)
        sender = asyncio.create_task(send_pcm(writer, tone(1.0) + silence(1.5)))
        assert await session.wait_connected(5)
        async with vosk_engine.session(grammar=grammar) as recognizer:
            heard = await listen_turn(session, recognizer, 4, LIMITS)
            fed = recognizer.audio_seconds
        await sender
        session.close()
        assert await read_frame(reader) == (Kind.HANGUP, b"")
        writer.close()
    # Speech (the tone) then 0.6 s of quiet ended the turn: everything up to there reached Vosk.
    assert heard.ended is None
    assert 1.0 < heard.audio_seconds < 2.5
    assert abs(fed - heard.audio_seconds) < 0.05
    assert set(heard.text.split()) <= set(known) | {"[unk]"}


async def test_when_caller_is_silent_then_real_recognizer_returns_empty(vosk_engine):
    async with audio_server() as server:
        session = server.expect()
        reader, writer = await connect(server, session.uuid)
        sender = asyncio.create_task(send_pcm(writer, silence(2.0)))
        async with vosk_engine.session(grammar=NumberGrammar("ko")) as recognizer:
            heard = await listen_turn(session, recognizer, 4, LIMITS)
        await sender
        writer.close()
    assert heard.text == "" and heard.digits == ""
    assert heard.audio_seconds >= LIMITS.no_input_seconds


async def test_when_caller_presses_keys_then_digits_arrive_as_dtmf_events():
    async with audio_server() as server:
        session = server.expect()
        reader, writer = await connect(server, session.uuid)
        await send_pcm(writer, silence(0.1))
        for key in b"42#":
            writer.write(encode_frame(Kind.DTMF, bytes([key])))
        await writer.drain()
        events = [await session.next_event(2) for _ in range(8)]
        writer.write(encode_frame(Kind.HANGUP))
        await writer.drain()
        assert await session.next_event(2) == Ended("hangup")
        writer.close()
    assert [e for e in events if isinstance(e, Dtmf)] == [Dtmf("4"), Dtmf("2"), Dtmf("#")]
    assert sum(len(e.pcm) for e in events if isinstance(e, Audio)) == len(silence(0.1))


async def test_when_keys_come_during_listening_then_turn_returns_the_digits(vosk_engine):
    async with audio_server() as server:
        session = server.expect()
        reader, writer = await connect(server, session.uuid)
        await send_pcm(writer, silence(0.2))
        for key in b"12#":
            writer.write(encode_frame(Kind.DTMF, bytes([key])))
        await send_pcm(writer, silence(0.2))
        async with vosk_engine.session(grammar=NumberGrammar("ko")) as recognizer:
            heard = await listen_turn(session, recognizer, 6, LIMITS)
        writer.close()
    assert heard.digits == "12"


async def test_when_a_late_terminator_comes_first_then_it_is_passed_over_and_keys_still_count(
    vosk_engine
):
    async def turn(late_terminator: bool):
        async with audio_server() as server:
            session = server.expect()
            reader, writer = await connect(server, session.uuid)
            # The "#" that ended the previous 12-digit entry, then this answer's key.
            for key in b"#1":
                writer.write(encode_frame(Kind.DTMF, bytes([key])))
            await send_pcm(writer, silence(1.2))
            async with vosk_engine.session(grammar=NumberGrammar("ko")) as recognizer:
                heard = await listen_turn(session, recognizer, 1, LIMITS,
                                          late_terminator=late_terminator)
            writer.close()
        return heard

    assert (await turn(True)).digits == "1"
    assert (await turn(False)).digits == ""  # otherwise "#" alone is this answer


async def test_when_peer_hangs_up_then_session_ends_and_listening_stops(vosk_engine):
    async with audio_server() as server:
        session = server.expect()
        reader, writer = await connect(server, session.uuid)
        await send_pcm(writer, silence(0.2))
        writer.write(encode_frame(Kind.HANGUP))
        await writer.drain()
        async with vosk_engine.session(grammar=NumberGrammar("ko")) as recognizer:
            heard = await listen_turn(session, recognizer, 4, LIMITS)
        assert await read_frame(reader) is None  # server closed its side
        writer.close()
    assert heard.ended == "hangup"


async def assert_still_serving(server: AudioSocketServer) -> None:
    session = server.expect()
    reader, writer = await connect(server, session.uuid)
    await send_pcm(writer, silence(0.04))
    assert isinstance(await session.next_event(2), Audio)
    session.close()
    assert await read_frame(reader) == (Kind.HANGUP, b"")
    writer.close()


async def test_when_first_frame_is_garbage_then_error_frame_close_and_server_goes_on():
    async with audio_server() as server:
        reader, writer = await connect(server, None)
        writer.write(b"\x42\x00\x03abc")
        await writer.drain()
        assert await read_frame(reader) == (Kind.ERROR, bytes([ErrorCode.PROTOCOL]))
        assert await read_frame(reader) is None
        writer.close()
        await assert_still_serving(server)


async def test_when_unknown_kind_mid_stream_then_error_frame_and_session_ends():
    async with audio_server() as server:
        session = server.expect()
        reader, writer = await connect(server, session.uuid)
        writer.write(encode_frame(0x42, b"zz"))
        await writer.drain()
        assert await read_frame(reader) == (Kind.ERROR, bytes([ErrorCode.PROTOCOL]))
        assert await session.next_event(2) == Ended("protocol")
        writer.close()
        await assert_still_serving(server)


async def test_when_frame_is_truncated_then_connection_closes_and_session_ends():
    async with audio_server() as server:
        session = server.expect()
        reader, writer = await connect(server, session.uuid)
        writer.write(struct.pack(">BH", Kind.SLIN, FRAME_20MS) + b"\x00" * 100)
        writer.write_eof()
        await writer.drain()
        assert await session.next_event(2) == Ended("truncated")
        assert await read_frame(reader) is None
        writer.close()
        await assert_still_serving(server)


async def test_when_length_header_exceeds_limit_then_refused_without_reading_payload():
    # The length field is 16 bits, so 0xFFFF is the largest claim a peer can make (a 10 MB
    # header cannot be encoded); anything above max_frame_bytes is refused from the header alone.
    async with audio_server(max_frame_bytes=4096) as server:
        session = server.expect()
        reader, writer = await connect(server, session.uuid)
        writer.write(struct.pack(">BH", Kind.SLIN, 0xFFFF) + b"\x00" * 10)
        await writer.drain()
        assert await read_frame(reader) == (Kind.ERROR, bytes([ErrorCode.TOO_LARGE]))
        assert await read_frame(reader) is None
        assert await session.next_event(2) == Ended("too_large")
        writer.close()
        await assert_still_serving(server)


async def test_when_uuid_is_unknown_then_error_frame_and_close():
    async with audio_server() as server:
        reader, writer = await connect(server, uuid.uuid4())
        assert await read_frame(reader) == (Kind.ERROR, bytes([ErrorCode.UNKNOWN_CALL]))
        assert await read_frame(reader) is None
        writer.close()


async def test_when_peer_goes_quiet_then_read_timeout_closes_with_error():
    async with audio_server(read_timeout=0.3) as server:
        session = server.expect()
        reader, writer = await connect(server, session.uuid)
        assert await read_frame(reader) == (Kind.ERROR, bytes([ErrorCode.TIMEOUT]))
        assert await session.next_event(2) == Ended("timeout")
        writer.close()


async def test_when_peer_resets_while_server_keeps_alive_then_session_ends_at_once():
    async with audio_server(read_timeout=3.0) as server:
        session = server.expect()
        session.keep_alive()
        reader, writer = await connect(server, session.uuid)
        assert await read_frame(reader) == (Kind.SLIN, bytes(FRAME_20MS))  # silence from us
        await asyncio.sleep(0.1)  # more silence frames arrive, unread
        # Closing with unread data (or SO_LINGER 0) makes the kernel send a reset, not a FIN.
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()
        assert await session.next_event(1) == Ended("closed")


async def test_when_listening_on_a_line_without_media_then_server_sends_silence_to_keep_it():
    async with audio_server(read_timeout=0.3) as server:
        session = server.expect()
        session.keep_alive()
        reader, writer = await connect(server, session.uuid)
        # Asterisk ends AudioSocket() after 2 s without a frame either way (recording 05):
        # here the peer sends nothing and the server keeps sending 20 ms of silence, past its
        # own read timeout (the listening flow bounds the turn, not the frame reader).
        frames = [await asyncio.wait_for(read_frame(reader), 1) for _ in range(30)]
        assert all(f == (Kind.SLIN, bytes(FRAME_20MS)) for f in frames)
        assert session.ended is None
        session.close()
        while (frame := await read_frame(reader)) is not None and frame[0] == Kind.SLIN:
            pass
        assert frame == (Kind.HANGUP, b"")
        writer.close()


async def test_when_server_sends_audio_then_peer_receives_20ms_slin_frames():
    async with audio_server() as server:
        session = server.expect()
        reader, writer = await connect(server, session.uuid)
        assert await session.wait_connected(2)
        pcm = tone(0.1)
        await session.send_audio(pcm, pace=False)
        frames = [await read_frame(reader) for _ in range(5)]
        writer.close()
    assert all(f is not None and f[0] == Kind.SLIN and len(f[1]) == FRAME_20MS for f in frames)
    assert b"".join(f[1] for f in frames) == pcm


async def test_when_peer_hangs_up_behind_a_full_queue_then_no_audio_before_it_is_lost():
    async with audio_server() as server:
        session = server.expect()
        reader, writer = await connect(server, session.uuid)
        frames = 400  # more than the session queue holds: the reader is pushed back on


        async def send() -> None:
            await send_pcm(writer, bytes(FRAME_20MS * frames))
            writer.write(encode_frame(Kind.HANGUP))
            await writer.drain()

        sender = asyncio.create_task(send())
        await until(lambda: session.backlog_full)  # the reader is now held back
        got = 0
        while not isinstance(event := await session.next_event(3), Ended):
            got += 1
        await sender
        writer.close()
    assert (got, event) == (frames, Ended("hangup"))
