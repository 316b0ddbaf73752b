"""Reading numbers and money back to the caller: plural forms, genders, rounding."""
from __future__ import annotations

from decimal import Decimal

import pytest

from speech import money_to_words, number_to_words
from speech.errors import UnsupportedLanguage

RU_MONEY = [
    ("123.45", "сто двадцать три рубля сорок пять копеек"),
    ("1.01", "один рубль одна копейка"),
    ("2.02", "два рубля две копейки"),
    ("3.03", "три рубля три копейки"),
    ("4.04", "четыре рубля четыре копейки"),
    ("5.05", "пять рублей пять копеек"),
    ("10.10", "десять рублей десять копеек"),
    ("11.11", "одиннадцать рублей одиннадцать копеек"),
    ("12.12", "двенадцать рублей двенадцать копеек"),
    ("13.13", "тринадцать рублей тринадцать копеек"),
    ("14.14", "четырнадцать рублей четырнадцать копеек"),
    ("15.15", "пятнадцать рублей пятнадцать копеек"),
    ("20", "двадцать рублей"),
    ("21.21", "двадцать один рубль двадцать одна копейка"),
    ("22.22", "двадцать два рубля двадцать две копейки"),
    ("25.25", "двадцать пять рублей двадцать пять копеек"),
    ("101", "сто один рубль"),
    ("111", "сто одиннадцать рублей"),
    ("112", "сто двенадцать рублей"),
    ("114", "сто четырнадцать рублей"),
    ("1000", "одна тысяча рублей"),
    ("2000", "две тысячи рублей"),
    ("5000", "пять тысяч рублей"),
    ("21000", "двадцать одна тысяча рублей"),
    ("1000000", "один миллион рублей"),
    ("2000000.99", "два миллиона рублей девяносто девять копеек"),
    ("0.45", "сорок пять копеек"),
    ("0.01", "одна копейка"),
    ("0", "ноль рублей"),
    ("0.004", "ноль рублей"),
    ("0.005", "одна копейка"),
    ("1.995", "два рубля"),
    ("-5.50", "минус пять рублей пятьдесят копеек"),
    ("1234.5", "одна тысяча двести тридцать четыре рубля пятьдесят копеек"),
]


@pytest.mark.parametrize(("amount", "words"), RU_MONEY)
def test_when_money_is_read_in_russian_then_plural_forms_agree(amount, words):
    assert money_to_words(Decimal(amount), "ru") == words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("123.45", "one hundred twenty-three roubles forty-five kopecks"),
        ("1.01", "one rouble one kopeck"),
        ("0.5", "fifty kopecks"),
        ("0", "zero roubles"),
    ],
)
def test_when_money_is_read_in_english_then_singular_and_plural_agree(amount, words):
    assert money_to_words(Decimal(amount), "en") == words


@pytest.mark.parametrize(
    ("amount", "words"),
    [("1234", "천이백삼십사 원"), ("10000", "만 원"), ("0.5", "오십 전"), ("1.01", "일 원 일 전")],
)
def test_when_money_is_read_in_korean_then_won_is_named(amount, words):
    assert money_to_words(Decimal(amount), "ko") == words


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "ноль"),
        (1, "один"),
        (2, "два"),
        (1000, "одна тысяча"),
        (2000, "две тысячи"),
        (22000, "двадцать две тысячи"),
        (1001000, "один миллион одна тысяча"),
        (2002002, "два миллиона две тысячи два"),
        (11000, "одиннадцать тысяч"),
        (Decimal("1.5"), "одна целая пять десятых"),
        (Decimal("2.25"), "две целых двадцать пять сотых"),
        (Decimal("0.001"), "ноль целых одна тысячная"),
        (Decimal("21.1"), "двадцать одна целая одна десятая"),
        (Decimal("12345.6"), "двенадцать тысяч триста сорок пять целых шесть десятых"),
        (Decimal("7"), "семь"),
    ],
)
def test_when_a_number_is_spoken_in_russian_then_genders_agree(number, words):
    assert number_to_words(number, "ru") == words


@pytest.mark.parametrize(
    ("number", "lang", "words"),
    [
        (12345, "en", "twelve thousand three hundred forty-five"),
        (Decimal("12.05"), "en", "twelve point zero five"),
        (12345, "ko", "만 이천삼백사십오"),
        (123456789, "ko", "일억 이천삼백사십오만 육천칠백팔십구"),
        (Decimal("3.14"), "ko", "삼 점 일 사"),
    ],
)
def test_when_a_number_is_spoken_in_other_languages_then_it_reads_naturally(number, lang, words):
    assert number_to_words(number, lang) == words


@pytest.mark.parametrize("lang", ["ru", "en", "ko"])
def test_when_a_number_cannot_be_spoken_then_a_clear_error(lang):
    with pytest.raises(ValueError):
        number_to_words(Decimal("NaN"), lang)
    with pytest.raises(ValueError):
        number_to_words(10**20, lang)


def test_when_language_is_unknown_then_a_clear_error():
    with pytest.raises(UnsupportedLanguage, match="de"):
        number_to_words(5, "de")
