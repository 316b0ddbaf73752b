"""Korean number words (Sino-Korean and native), table-driven; expectations written by hand."""
from __future__ import annotations

from decimal import Decimal

import pytest

from speech import Command, NumberKind, parse_command, parse_digits, parse_number

NUMBERS = [
    ("영", "0", NumberKind.CARDINAL),
    ("공", "0", NumberKind.CARDINAL),
    ("일", "1", NumberKind.CARDINAL),
    ("이", "2", NumberKind.CARDINAL),
    ("삼", "3", NumberKind.CARDINAL),
    ("사", "4", NumberKind.CARDINAL),
    ("오", "5", NumberKind.CARDINAL),
    ("육", "6", NumberKind.CARDINAL),
    ("칠", "7", NumberKind.CARDINAL),
    ("팔", "8", NumberKind.CARDINAL),
    ("구", "9", NumberKind.CARDINAL),
    ("십", "10", NumberKind.CARDINAL),
    ("십일", "11", NumberKind.CARDINAL),
    ("이십", "20", NumberKind.CARDINAL),
    ("이십삼", "23", NumberKind.CARDINAL),
    ("구십구", "99", NumberKind.CARDINAL),
    ("백", "100", NumberKind.CARDINAL),
    ("일백", "100", NumberKind.CARDINAL),
    ("백일", "101", NumberKind.CARDINAL),
    ("삼백", "300", NumberKind.CARDINAL),
    ("삼백사십오", "345", NumberKind.CARDINAL),
    ("천", "1000", NumberKind.CARDINAL),
    ("천이백", "1200", NumberKind.CARDINAL),
    ("이천삼백", "2300", NumberKind.CARDINAL),
    ("이천오", "2005", NumberKind.CARDINAL),
    ("구천구백구십구", "9999", NumberKind.CARDINAL),
    ("만", "10000", NumberKind.CARDINAL),
    ("일만", "10000", NumberKind.CARDINAL),
    ("만 이천삼백사십오", "12345", NumberKind.CARDINAL),
    ("만이천삼백사십오", "12345", NumberKind.CARDINAL),
    ("십만", "100000", NumberKind.CARDINAL),
    ("백만", "1000000", NumberKind.CARDINAL),
    ("천만", "10000000", NumberKind.CARDINAL),
    ("일억", "100000000", NumberKind.CARDINAL),
    ("일억 이천삼백사십오만 육천칠백팔십구", "123456789", NumberKind.CARDINAL),
    ("삼억 오만", "300050000", NumberKind.CARDINAL),
    ("일조", "1000000000000", NumberKind.CARDINAL),
    ("삼 백", "300", NumberKind.CARDINAL),
    ("이 십 삼", "23", NumberKind.CARDINAL),
    ("하나", "1", NumberKind.CARDINAL),
    ("다섯", "5", NumberKind.CARDINAL),
    ("아홉", "9", NumberKind.CARDINAL),
    ("열", "10", NumberKind.CARDINAL),
    ("열하나", "11", NumberKind.CARDINAL),
    ("열다섯", "15", NumberKind.CARDINAL),
    ("스물", "20", NumberKind.CARDINAL),
    ("스물하나", "21", NumberKind.CARDINAL),
    ("서른 둘", "32", NumberKind.CARDINAL),
    ("마흔다섯", "45", NumberKind.CARDINAL),
    ("일흔일곱", "77", NumberKind.CARDINAL),
    ("여든여덟", "88", NumberKind.CARDINAL),
    ("아흔아홉", "99", NumberKind.CARDINAL),
    ("공 공 일 이", "0012", NumberKind.DIGIT_SEQUENCE),
    ("영 영 칠", "007", NumberKind.DIGIT_SEQUENCE),
    ("일 이 삼 사 오 육 칠 팔", "12345678", NumberKind.DIGIT_SEQUENCE),
    ("하나 둘 셋", "123", NumberKind.DIGIT_SEQUENCE),
    ("공 하나 둘", "012", NumberKind.DIGIT_SEQUENCE),
    ("일이삼", "123", NumberKind.DIGIT_SEQUENCE),
    ("공공칠", "007", NumberKind.DIGIT_SEQUENCE),
    ("백이십삼 사십오", "12345", NumberKind.MIXED),
    ("십이 삼십사 오십육", "123456", NumberKind.MIXED),
    ("이십 공 오", "2005", NumberKind.MIXED),
    ("공 공 사십오", "0045", NumberKind.MIXED),
    ("만 이천삼백사십오 점 육", "12345.6", NumberKind.DECIMAL),
    ("십이 점 오", "12.5", NumberKind.DECIMAL),
    ("삼 점 일사", "3.14", NumberKind.DECIMAL),
    ("삼 점 일 사", "3.14", NumberKind.DECIMAL),
    ("영 점 오", "0.5", NumberKind.DECIMAL),
    ("영 점 영 오", "0.05", NumberKind.DECIMAL),
    ("십이점오", "12.5", NumberKind.DECIMAL),
    ("마이너스 오", "-5", NumberKind.CARDINAL),
    ("음 삼백", "300", NumberKind.CARDINAL),
    ("어 일 이 삼", "123", NumberKind.DIGIT_SEQUENCE),
    ("[unk] 칠 [unk]", "7", NumberKind.CARDINAL),
    ("네 오", "5", NumberKind.CARDINAL),
]

NOT_NUMBERS = [
    "", "[unk]", "네", "아니요", "상담원", "음 어", "안녕하세요", "점", "오 점",
    "삼 점 일 점 이", "일곱개", "마이너스",
]

COMMANDS = [
    ("네", Command.YES),
    ("예", Command.YES),
    ("응", Command.YES),
    ("아니요", Command.NO),
    ("아니", Command.NO),
    ("아뇨", Command.NO),
    ("다시", Command.REPEAT),
    ("반복", Command.REPEAT),
    ("상담원", Command.OPERATOR),
    ("아니요 상담원", Command.OPERATOR),
    ("음 네", Command.YES),
]


@pytest.mark.parametrize(("text", "digits", "kind"), NUMBERS)
def test_when_korean_number_is_said_then_it_is_read(text, digits, kind):
    reading = parse_number(text, "ko")
    assert reading is not None
    assert reading.digits == digits
    assert reading.value == Decimal(digits)
    assert reading.kind is kind


@pytest.mark.parametrize(("text", "digits", "kind"), NUMBERS)
def test_when_korean_digits_are_asked_for_then_only_integers_count(text, digits, kind):
    expected = None if kind is NumberKind.DECIMAL else digits
    assert parse_digits(text, "ko") == expected


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_when_no_korean_number_is_said_then_nothing_is_read(text):
    assert parse_number(text, "ko") is None


@pytest.mark.parametrize(("text", "command"), COMMANDS)
def test_when_korean_command_is_said_then_it_is_recognised(text, command):
    assert parse_command(text, "ko") is command


@pytest.mark.parametrize("text", ["", "삼", "네 아니요", "안녕하세요"])
def test_when_no_clear_korean_command_then_none(text):
    assert parse_command(text, "ko") is None
