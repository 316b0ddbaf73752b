"""English number words, table-driven; expectations written by hand."""
from __future__ import annotations

from decimal import Decimal

import pytest

from speech import Command, NumberKind, parse_command, parse_digits, parse_number

NUMBERS = [
    ("zero", "0", NumberKind.CARDINAL),
    ("one", "1", NumberKind.CARDINAL),
    ("nine", "9", NumberKind.CARDINAL),
    ("ten", "10", NumberKind.CARDINAL),
    ("eleven", "11", NumberKind.CARDINAL),
    ("nineteen", "19", NumberKind.CARDINAL),
    ("twenty", "20", NumberKind.CARDINAL),
    ("twenty-one", "21", NumberKind.CARDINAL),
    ("twenty one", "21", NumberKind.CARDINAL),
    ("forty-five", "45", NumberKind.CARDINAL),
    ("ninety-nine", "99", NumberKind.CARDINAL),
    ("hundred", "100", NumberKind.CARDINAL),
    ("a hundred", "100", NumberKind.CARDINAL),
    ("one hundred", "100", NumberKind.CARDINAL),
    ("one hundred and five", "105", NumberKind.CARDINAL),
    ("one hundred five", "105", NumberKind.CARDINAL),
    ("three hundred forty-five", "345", NumberKind.CARDINAL),
    ("nine hundred ninety-nine", "999", NumberKind.CARDINAL),
    ("a thousand", "1000", NumberKind.CARDINAL),
    ("one thousand", "1000", NumberKind.CARDINAL),
    ("one thousand and one", "1001", NumberKind.CARDINAL),
    ("twelve hundred", "1200", NumberKind.CARDINAL),
    ("twelve hundred thirty-four", "1234", NumberKind.CARDINAL),
    ("twenty five hundred", "2500", NumberKind.CARDINAL),
    ("two thousand five", "2005", NumberKind.CARDINAL),
    ("twelve thousand three hundred forty-five", "12345", NumberKind.CARDINAL),
    ("twelve thousand three hundred and forty-five", "12345", NumberKind.CARDINAL),
    ("one hundred thousand", "100000", NumberKind.CARDINAL),
    ("nine hundred ninety-nine thousand nine hundred ninety-nine", "999999",
     NumberKind.CARDINAL),
    ("a million", "1000000", NumberKind.CARDINAL),
    ("two million three hundred thousand", "2300000", NumberKind.CARDINAL),
    ("one hundred twenty-three million four hundred fifty-six thousand seven hundred "
     "eighty-nine", "123456789", NumberKind.CARDINAL),
    ("one billion", "1000000000", NumberKind.CARDINAL),
    ("oh", "0", NumberKind.CARDINAL),
    ("oh oh one two", "0012", NumberKind.DIGIT_SEQUENCE),
    ("zero zero seven", "007", NumberKind.DIGIT_SEQUENCE),
    ("o o seven", "007", NumberKind.DIGIT_SEQUENCE),
    ("one two three four five six seven eight", "12345678", NumberKind.DIGIT_SEQUENCE),
    ("nine one one", "911", NumberKind.DIGIT_SEQUENCE),
    ("one two three forty five", "12345", NumberKind.MIXED),
    ("twelve thirty-four fifty-six", "123456", NumberKind.MIXED),
    ("twenty oh five", "2005", NumberKind.MIXED),
    ("nineteen eighty four", "1984", NumberKind.MIXED),
    ("two hundred three hundred", "200300", NumberKind.MIXED),
    ("oh oh forty-five", "0045", NumberKind.MIXED),
    ("twelve thousand three hundred forty-five point six", "12345.6", NumberKind.DECIMAL),
    ("twelve point five", "12.5", NumberKind.DECIMAL),
    ("twelve point oh five", "12.05", NumberKind.DECIMAL),
    ("three point one four", "3.14", NumberKind.DECIMAL),
    ("zero point five", "0.5", NumberKind.DECIMAL),
    ("point five", "0.5", NumberKind.DECIMAL),
    ("one dot two", "1.2", NumberKind.DECIMAL),
    ("twelve and a half", "12.5", NumberKind.DECIMAL),
    ("minus five", "-5", NumberKind.CARDINAL),
    ("minus two point five", "-2.5", NumberKind.DECIMAL),
    ("uh twelve", "12", NumberKind.CARDINAL),
    ("um my account number is one two three", "123", NumberKind.DIGIT_SEQUENCE),
    ("well it's forty-two", "42", NumberKind.CARDINAL),
    ("[unk] seven [unk]", "7", NumberKind.CARDINAL),
    ("Twelve Hundred", "1200", NumberKind.CARDINAL),
    ("yes twelve", "12", NumberKind.CARDINAL),
]

NOT_NUMBERS = [
    "", "[unk]", "yes", "no", "operator", "uh um", "five apples", "point",
    "one point two point three", "minus", "five minus three", "hello there", "half",
]

COMMANDS = [
    ("yes", Command.YES),
    ("yeah", Command.YES),
    ("yes correct", Command.YES),
    ("that is right", Command.YES),
    ("no", Command.NO),
    ("nope", Command.NO),
    ("not correct", Command.NO),
    ("repeat", Command.REPEAT),
    ("say that again", Command.REPEAT),
    ("pardon", Command.REPEAT),
    ("operator", Command.OPERATOR),
    ("no operator please", Command.OPERATOR),
    ("let me speak to a human", Command.OPERATOR),
    ("agent", Command.OPERATOR),
]


@pytest.mark.parametrize(("text", "digits", "kind"), NUMBERS)
def test_when_english_number_is_said_then_it_is_read(text, digits, kind):
    reading = parse_number(text, "en")
    assert reading is not None
    assert reading.digits == digits
    assert reading.value == Decimal(digits)
    assert reading.kind is kind


@pytest.mark.parametrize(("text", "digits", "kind"), NUMBERS)
def test_when_english_digits_are_asked_for_then_only_integers_count(text, digits, kind):
    expected = None if kind is NumberKind.DECIMAL else digits
    assert parse_digits(text, "en") == expected


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_when_no_english_number_is_said_then_nothing_is_read(text):
    assert parse_number(text, "en") is None


@pytest.mark.parametrize(("text", "command"), COMMANDS)
def test_when_english_command_is_said_then_it_is_recognised(text, command):
    assert parse_command(text, "en") is command


@pytest.mark.parametrize("text", ["", "twelve", "yes no", "hello"])
def test_when_no_clear_english_command_then_none(text):
    assert parse_command(text, "en") is None
