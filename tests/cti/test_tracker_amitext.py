"""AMI wire text parsing (cti/amitext.py)."""
from __future__ import annotations

import json

from cti.amitext import AmiParser, parse_text, transcript_server_bytes

from .replay import RECORDED


def test_when_transcript_bytes_are_fed_in_tiny_chunks_then_messages_match_events_json():
    path = RECORDED / "01_answered.ami.txt"
    (conn, data), = transcript_server_bytes(path)
    parser = AmiParser()
    got = []
    for i in range(0, len(data), 7):
        got.extend(parser.feed(data[i:i + 7]))
    expected = json.loads((RECORDED / "01_answered.events.json").read_text())
    expected = [{k: v for k, v in m.items() if not k.startswith("_t") and k != "_conn"}
                for m in expected]
    assert got == expected and parser.garbage_lines == 0


def test_when_lines_are_lf_and_values_empty_then_raw_text_is_kept():
    (msg,) = parse_text(b"Event: X\nAccountCode: \nChanVariable: A=1\nChanVariable: B=\n\n")
    assert msg == {"Event": "X", "AccountCode": "", "ChanVariable": ["A=1", "B="]}


def test_when_garbage_lines_appear_then_they_are_skipped_and_counted():
    parser = AmiParser()
    out = parser.feed(b"Event: A\r\nthis is junk\r\nKey: v\r\n\r\n\x00\xff\r\n\r\nEvent: B\r\n\r\n")
    assert out == [{"Event": "A", "Key": "v"}, {"Event": "B"}]
    assert parser.garbage_lines == 2


def test_when_a_peer_never_ends_a_block_then_buffer_stays_bounded():
    parser = AmiParser(max_buffer=1000)
    for _ in range(100):
        parser.feed(b"Key: " + b"x" * 100 + b"\r\n")
    assert parser.dropped_bytes > 0 and parser.feed(b"Event: Z\r\n\r\n") == [{"Event": "Z"}]


def test_when_utf8_is_cut_between_chunks_then_cyrillic_survives():
    data = "Event: Newchannel\r\nCallerIDName: Алексей Иванов\r\n\r\n".encode()
    parser = AmiParser()
    cut = data.index("Ал".encode()) + 1
    assert parser.feed(data[:cut]) == []
    assert parser.feed(data[cut:])[0]["CallerIDName"] == "Алексей Иванов"
