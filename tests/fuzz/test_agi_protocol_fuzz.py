"""Property/fuzz harness of the AGI reply parser (ivr/agi_protocol.py), run briefly.

Whatever line Asterisk (or something pretending to be it) sends back, ``parse_result_line``
returns a result and finds the same ``key=value (data)`` fields as panoramisk's expression,
which is kept here as the reference; and it does so in time linear in the line's length: the
old ``findall`` rescanned a run of word characters without ``=`` from each of its positions, so
``"200 " + "a" * 9900`` took about 1 s and a 16 KB line about 3 s, on the event loop. Those
inputs are regression cases below.
"""
from __future__ import annotations

import re
import time

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ivr.agi_protocol import AgiHeaderError, parse_header, parse_result_line

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# panoramisk's parse_agi_result expression: the reference for which fields a line has.
REFERENCE = re.compile(r"(?P<key>\w+)=(?P<value>[^\s]*)\s*(?:\((?P<data>[^)]*)\))?")

# Lines the size a FastAGI reply can reach (the stream limit is 16 KB; 64 KB for margin).
LONG = 64 * 1024
SLOW_LINES = [
    "200 " + "a" * 9900,  # the fuzzer's find: ~1 s before the fix
    "200 " + "a" * LONG,
    "200 " + "a_1" * (LONG // 3),
    "200 " + "a=1 (" * (LONG // 5),  # "(" never closed
    "200 " + "(" * LONG,
    "200 result=" + "1" * LONG,
    "200 " + "é" * LONG,  # \w is Unicode
]

_line_text = st.lists(
    st.sampled_from(list("ab_19=() -\t\x00)Я#") + [" result=", " endpos=", " ("]), max_size=80,
).map("".join)


def fields(line: str) -> tuple[str, str, dict[str, str]]:
    r = parse_result_line(line)
    return r.result, r.data, r.extra


def reference_fields(line: str) -> tuple[str, str, dict[str, str]] | None:
    m = re.match(r"^(\d{3})([ -]?)(.*)$", line)
    if m is None or m[1] != "200":
        return None
    result, data, extra = "", "", {}
    for key, value, kv_data in REFERENCE.findall(m[3]):
        if key == "result":
            result, data = value, kv_data
        else:
            extra[key] = value
    return result, data, extra


@FUZZ
@given(rest=_line_text, code=st.sampled_from(["200", "510", "511", "520", "100", "", "2x0"]))
@example(rest="result=1 (Иванов)", code="200")
@example(rest="result=-1 endpos=0", code="200")
@example(rest="a" * 500, code="200")
def test_when_any_reply_line_is_parsed_then_fields_are_those_of_panoramisks_expression(rest, code):
    line = f"{code} {rest}" if code else rest
    parsed = parse_result_line(line)
    expected = reference_fields(line.rstrip("\r\n"))
    if expected is not None and line.strip() != "HANGUP":
        assert fields(line) == expected
    assert 0 <= parsed.code <= 999


@FUZZ
@given(
    result=st.integers(-2, 10**12).map(str) | st.just(""),
    data=st.text(alphabet=st.characters(blacklist_characters="()\n\r"), max_size=30),
    endpos=st.none() | st.integers(0, 10**7),
)
@example(result="", data="hangup", endpos=None)
def test_when_a_well_formed_reply_is_parsed_then_its_values_come_back(result, data, endpos):
    line = f"200 result={result}" + (f" ({data})" if data else "") + (
        f" endpos={endpos}" if endpos is not None else "")
    parsed = parse_result_line(line)
    assert (parsed.code, parsed.result, parsed.data) == (200, result, data)
    assert parsed.extra == ({"endpos": str(endpos)} if endpos is not None else {})
    assert parsed.failed == (result == "-1")
    # "(hangup)" is RECORD FILE's word for a caller who hung up (and the generator's too,
    # one time in many runs): it is the only data that means one.
    assert parsed.hangup == (data == "hangup")


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
@example(b"agi_network: yes\nagi_request: agi://x/ivr\n")
@example(b"\xff\xfe")
def test_when_any_header_block_is_parsed_then_it_is_a_dict_or_a_header_error(block):
    try:
        headers = parse_header(block)
    except AgiHeaderError:
        return
    assert all(k.startswith("agi_") for k in headers)


def test_when_reply_lines_are_long_and_pathological_then_they_parse_in_linear_time():
    # Before the fix the first line took ~1 s and the 64 KB ones minutes (quadratic); linear
    # parsing takes milliseconds, so the bound below is generous for a loaded machine.
    for line in SLOW_LINES:
        started = time.process_time()
        parsed = parse_result_line(line)
        spent = time.process_time() - started
        assert spent < 0.25, (line[:20], len(line), spent)
        assert parsed.code == 200
    assert parse_result_line("200 result=" + "1" * LONG).result == "1" * LONG
