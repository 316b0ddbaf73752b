"""Property/fuzz harness of the billing CSV parser (state/billing_parse.py), run briefly.

Whatever the bytes, parsing ends in rows, line-numbered rejections or one ImportRefused: never
another exception (a cron job reads `ccs import-billing`'s exit 1 as "some rows rejected").
The inputs a coverage-guided fuzzer found are kept below as explicit regression cases.
"""
from __future__ import annotations

import io
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from state.billing_format import ImportRefused, ImportReport
from state.billing_parse import _header, _parse, _parse_block, _parse_lines

SERVICES = frozenset({"electricity", "heating", "hot_water", "cold_water"})
HEADER = (
    "account;consumer_kind;full_name;inn;city;street;house;apartment;timezone;phone;service;"
    "service_status;period;charged;paid;balance;debt;penalty;months_overdue\n"
)
ROW = "2000000001;person;Лебедева Анна;;Томск;ул. Ленина;5;12;;;electricity;;2026-0{m};1;1;0;0;0;0\n"
ROWS = [ROW.format(m=m) for m in range(1, 10)]
LAYOUT = _header(HEADER, SERVICES)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Lines mostly shaped like the format, with the characters that trouble a CSV reader mixed in.
_piece = st.one_of(
    st.sampled_from(ROWS),
    st.sampled_from(['"', "\r", "\n", "\r\n", ";", '""', "\x00", ";;;", "é", "\\", "\t"]),
    st.text(max_size=20),
)
_text = st.lists(_piece, max_size=30).map("".join)


def parse_text(text: str) -> tuple[ImportReport, list[bytes], int]:
    report = ImportReport(file="")
    out: list[bytes] = []
    last, _ = _parse_lines(io.StringIO(text, newline="\n"), 1, LAYOUT, report, out.append)
    return report, out, last


def parse_file(data: bytes) -> ImportReport:
    report = ImportReport(file="")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "billing.csv"
        path.write_bytes(data)
        _parse(path, SERVICES, report, lambda chunk: None, threading.Event(), workers=0)
    return report


@FUZZ
@given(_text)
@example("2000000001;person;Лебедева\rАнна;;Томск;ул. Ленина;5;12;;;electricity;;2026-01;1;1;0;0;0;0\n")
@example(ROWS[0].rstrip("\n") + "\r" + ROWS[1].rstrip("\n") + "\r" + ROWS[2])
@example('"' + "x" * (129 << 10) + "\n" + "".join(ROWS))
def test_when_any_text_is_parsed_then_it_ends_in_rows_or_numbered_rejections(text):
    report, out, last = parse_text(text)
    lines = 1 + text.count("\n") + (not text.endswith("\n") and text != "")
    assert all(2 <= r.line <= max(lines, 2) for r in report.rejected)
    assert report.rejected_count <= report.rows_read
    staged = b"".join(out).decode().splitlines()
    assert len(staged) == report.rows_read - report.rejected_count
    assert last <= lines


@FUZZ
@given(st.binary(max_size=300) | _text.map(lambda t: (HEADER + t).encode()))
@example(HEADER.replace("\n", "\r").encode() + "".join(ROWS).replace("\n", "\r").encode())
@example(b"account;full_name\r" + b"x" * (70 << 10))
def test_when_any_file_is_parsed_then_only_a_clear_refusal_can_stop_it(data):
    try:
        parse_file(data)
    except ImportRefused as exc:
        assert str(exc).startswith("line ")


@FUZZ
@given(_text)
def test_when_a_block_ends_outside_quotes_then_it_parses_as_in_one_thread(text):
    block = text.encode()
    data, report, clean = _parse_block(block, 1, LAYOUT)
    one_report, one_out, _ = parse_text(text)
    if clean:
        assert data == b"".join(one_out)
        assert (report.rows_read, report.rejected) == (one_report.rows_read, one_report.rejected)


# --- the fuzzer's findings, with the outcome each must have ---------------------------------


def test_when_a_field_holds_a_stray_cr_then_its_line_is_rejected_and_the_rest_is_read():
    stray = ROWS[1].replace("Лебедева Анна", "Лебедева\rАнна")
    report, out, _ = parse_text(ROWS[0] + stray + ROWS[2])
    assert [(r.line, "carriage return" in r.reason) for r in report.rejected] == [(3, True)]
    assert report.rows_read == 3 and len(b"".join(out).splitlines()) == 2


def test_when_the_file_has_cr_only_line_ends_then_it_is_refused_naming_them():
    data = (HEADER + "".join(ROWS)).replace("\n", "\r").encode()
    with pytest.raises(ImportRefused, match="CR-only line ends"):
        parse_file(data)


def test_when_rows_have_cr_only_line_ends_after_an_lf_header_then_the_line_is_rejected():
    report = parse_file((HEADER + "".join(ROWS[:3]).replace("\n", "\r") + "\n").encode())
    assert [(r.line, "CR-only" in r.reason) for r in report.rejected] == [(2, True)]


def test_when_a_stray_quote_opens_a_field_past_the_limit_then_one_line_is_rejected_and_the_rows_after_it_are_read():
    stray = ROWS[0].replace("Лебедева Анна", '"Лебедева Анна')
    after = ROWS * 200  # more than 128 KiB of good rows that the open quote swallows
    report, out, last = parse_text(stray + "".join(after))
    assert [(r.line, "stray quote" in r.reason) for r in report.rejected] == [(2, True)]
    assert len(b"".join(out).splitlines()) == len(after)
    assert last == 1 + 1 + len(after)


def test_when_a_stray_quote_opens_a_field_past_the_limit_in_a_block_then_it_is_as_in_one_thread():
    text = '"' + "x" * (129 << 10) + "\n" + "".join(ROWS)
    data, report, clean = _parse_block(text.encode(), 1, LAYOUT)
    one_report, one_out, _ = parse_text(text)
    assert clean
    assert data == b"".join(one_out) and report.rejected == one_report.rejected
    assert [r.line for r in report.rejected] == [2]


def test_when_a_stray_quote_swallows_rows_to_the_end_then_one_line_is_rejected_and_they_are_read():
    stray = ROWS[0].replace("Лебедева Анна", '"Лебедева Анна')
    report, out, _ = parse_text(stray + "".join(ROWS[1:]))
    assert [(r.line, "stray quote" in r.reason) for r in report.rejected] == [(2, True)]
    assert len(b"".join(out).splitlines()) == len(ROWS) - 1
