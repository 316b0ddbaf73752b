"""Property/fuzz harness of the AMI path (cti/amitext.py parser -> tracker -> resync snapshot),
run briefly.

Whatever bytes the PBX (or something pretending to be it) sends: the parser yields messages,
the tracker applies or rejects each one, a snapshot is built and applied, and every time and
number handed on is finite. Never another exception: in the snapshot one would abort every
resync and the CTI would never become ready. The inputs a coverage-guided fuzzer found are
kept below as explicit regression cases.
"""
from __future__ import annotations

import math

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cti.amitext import AmiParser, ami_float, ami_int, read_capture
from cti.snapshot import PbxSnapshot
from cti.tracker import Tracker
from tests.conftest import CAPTURES

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Real frames of the resync lists and of live events (06_status_lists is taken mid-call).
_RECORDED = read_capture(CAPTURES / "asterisk-22-recorded" / "06_status_lists.ami.txt")
_KINDS = ("QueueParams", "QueueMember", "QueueEntry", "CoreShowChannel", "Status", "Newchannel",
          "QueueCallerJoin", "AgentConnect", "AgentComplete", "QueueMemberStatus", "Hangup",
          "FullyBooted", "OriginateResponse")
FRAMES = [m for m in _RECORDED if m.get("Event") in _KINDS]
NUMERIC = ("Wait", "Seconds", "LastCall", "Position", "Penalty", "Status", "CallsTaken",
           "HoldTime", "TalkTime", "RingTime", "Timestamp", "Uptime", "Calls", "Completed",
           "Abandoned", "Reason")
HUGE = "9" * 400


def wire(message: dict) -> bytes:
    lines = []
    for key, value in message.items():
        if key.startswith("_"):
            continue
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key}: {item}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


_number = st.one_of(
    st.integers(-10**30, 10**30).map(str),
    st.sampled_from([HUGE, "-" + HUGE, "1e999", "inf", "nan", "-0", "0x10", "1_000", "١٢",
                     " 7 ", "", "3.5", "." * 3]),
    st.text(max_size=12),
)


@st.composite
def _frame(draw: st.DrawFn) -> bytes:
    message = dict(draw(st.sampled_from(FRAMES)))
    for key in draw(st.lists(st.sampled_from(NUMERIC), max_size=4)):
        message[key] = draw(_number)
    return wire(message)


_piece = st.one_of(_frame(), st.sampled_from([b"\r\n", b"\n", b"\r", b": ", b"\xff\xfe", b"\x00"]),
                   st.binary(max_size=40))
_stream = st.lists(_piece, min_size=1, max_size=25).map(b"".join)


def run_stream(data: bytes, cut: int) -> None:
    published: list = []
    tracker = Tracker(published.append)
    parser = AmiParser()
    messages = []
    for i in range(0, len(data), cut):
        messages.extend(parser.feed(data[i:i + cut]))
    for message in messages:
        tracker.apply(message)
    snapshot = PbxSnapshot.from_messages(messages, all_queues=True)
    published.extend(tracker.resync(snapshot))
    for entry in snapshot.entries:
        assert math.isfinite(entry.wait)
    for channel in snapshot.channels.values():
        assert math.isfinite(channel.seconds)
    for member in snapshot.members:
        assert math.isfinite(member.last_call)
    for event in published:
        for value in event.model_dump().values():
            if isinstance(value, float):
                assert math.isfinite(value), event


def _with(kind: str, **fields: str) -> bytes:
    return wire({**next(m for m in FRAMES if m.get("Event") == kind), **fields})


@FUZZ
@given(_stream, st.integers(1, 64))
@example(_with("QueueEntry", Wait=HUGE), 7)
@example(_with("CoreShowChannel", Seconds=HUGE), 64)
@example(_with("Status", Seconds=HUGE), 64)
@example(_with("QueueMember", LastCall=HUGE), 5)
@example(_with("QueueMemberStatus", LastCall=HUGE), 64)
@example(_with("FullyBooted", Uptime="1e999"), 64)
@example(_with("Newchannel", Timestamp="1e999") + _with("Hangup", Timestamp="inf"), 64)
def test_when_any_bytes_arrive_then_parser_tracker_and_snapshot_hold(data: bytes, cut: int):
    run_stream(data, cut)


@FUZZ
@given(_number)
@example(HUGE)
def test_when_a_numeric_field_is_any_text_then_it_is_a_bounded_number(text: str):
    value = ami_int(text, default=-1)
    assert value == -1 or abs(value) < 10**18
    number = ami_float(text, default=-1.0)
    assert math.isfinite(number) and abs(number) < 1e18
