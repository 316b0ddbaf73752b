"""Round trips for every language: a number spoken by number_to_words reads back as itself."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from speech import NumberKind, digits_to_words, number_to_words, parse_digits, parse_number

LANGS = ["ru", "en", "ko"]
EXAMPLES = settings(max_examples=300, deadline=None)


@pytest.mark.parametrize("lang", LANGS)
@EXAMPLES
@given(n=st.integers(min_value=0, max_value=10**9))
def test_when_an_integer_is_spoken_then_it_reads_back_as_itself(lang, n):
    reading = parse_number(number_to_words(n, lang), lang)
    assert reading is not None
    assert reading.value == n
    assert reading.digits == str(n)
    assert reading.kind is NumberKind.CARDINAL


@pytest.mark.parametrize("lang", LANGS)
@EXAMPLES
@given(n=st.integers(min_value=-(10**9), max_value=-1))
def test_when_a_negative_integer_is_spoken_then_it_reads_back_as_itself(lang, n):
    reading = parse_number(number_to_words(n, lang), lang)
    assert reading is not None and reading.value == n


@pytest.mark.parametrize("lang", LANGS)
@EXAMPLES
@given(
    value=st.decimals(
        min_value=Decimal("0"), max_value=Decimal("999999999"), places=3,
        allow_nan=False, allow_infinity=False,
    ),
    places=st.integers(min_value=1, max_value=3),
)
def test_when_a_decimal_is_spoken_then_it_reads_back_with_the_same_value(lang, value, places):
    value = value.quantize(Decimal(1).scaleb(-places))
    reading = parse_number(number_to_words(value, lang), lang)
    assert reading is not None
    assert reading.value == value
    assert reading.kind is NumberKind.DECIMAL


@pytest.mark.parametrize("lang", LANGS)
@EXAMPLES
@given(digits=st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_when_digits_are_spoken_one_by_one_then_the_same_string_comes_back(lang, digits):
    assert parse_digits(digits_to_words(digits, lang), lang) == digits


@pytest.mark.parametrize("lang", LANGS)
@EXAMPLES
@given(text=st.text(max_size=60))
def test_when_text_is_arbitrary_then_parsers_never_crash(lang, text):
    reading = parse_number(text, lang)
    assert reading is None or reading.value == Decimal(reading.digits)
    parse_digits(text, lang)


@pytest.mark.parametrize("lang", LANGS)
@EXAMPLES
@given(groups=st.lists(st.integers(min_value=10, max_value=99), min_size=2, max_size=6))
def test_when_an_account_is_said_in_pairs_then_the_pairs_are_joined(lang, groups):
    text = " ".join(number_to_words(g, lang) for g in groups)
    assert parse_digits(text, lang) == "".join(map(str, groups))
