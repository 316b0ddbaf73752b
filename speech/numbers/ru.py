"""Russian number words: every case and gender form when parsing; nominative when speaking."""
from __future__ import annotations

from decimal import Decimal

from speech.numbers.base import Command, money_parts, plural
from speech.numbers.language import TableLanguage
from speech.numbers.parser import Lexicon, T, Tok

# value → every form a caller may say (nominative first: it is the one we speak).
_UNITS: dict[int, tuple[str, ...]] = {
    0: ("ноль", "нуль", "ноля", "нуля", "нолю", "нулю", "нолем", "нулем", "ноле", "нуле"),
    1: ("один", "одна", "одно", "одного", "одной", "одному", "одним", "одном", "одну", "одною",
        "одни", "одних", "одними", "одним"),
    2: ("два", "две", "двух", "двум", "двумя"),
    3: ("три", "трех", "трем", "тремя"),
    4: ("четыре", "четырех", "четырем", "четырьмя"),
    5: ("пять", "пяти", "пятью"),
    6: ("шесть", "шести", "шестью"),
    7: ("семь", "семи", "семью"),
    8: ("восемь", "восьми", "восемью", "восьмью"),
    9: ("девять", "девяти", "девятью"),
}
_TEENS: dict[int, tuple[str, ...]] = {
    10: ("десять", "десяти", "десятью"),
    11: ("одиннадцать", "одиннадцати", "одиннадцатью"),
    12: ("двенадцать", "двенадцати", "двенадцатью"),
    13: ("тринадцать", "тринадцати", "тринадцатью"),
    14: ("четырнадцать", "четырнадцати", "четырнадцатью"),
    15: ("пятнадцать", "пятнадцати", "пятнадцатью"),
    16: ("шестнадцать", "шестнадцати", "шестнадцатью"),
    17: ("семнадцать", "семнадцати", "семнадцатью"),
    18: ("восемнадцать", "восемнадцати", "восемнадцатью"),
    19: ("девятнадцать", "девятнадцати", "девятнадцатью"),
}
_TENS: dict[int, tuple[str, ...]] = {
    20: ("двадцать", "двадцати", "двадцатью"),
    30: ("тридцать", "тридцати", "тридцатью"),
    40: ("сорок", "сорока"),
    50: ("пятьдесят", "пятидесяти", "пятьюдесятью"),
    60: ("шестьдесят", "шестидесяти", "шестьюдесятью"),
    70: ("семьдесят", "семидесяти", "семьюдесятью"),
    80: ("восемьдесят", "восьмидесяти", "восемьюдесятью", "восьмьюдесятью"),
    90: ("девяносто", "девяноста"),
}
_HUNDREDS: dict[int, tuple[str, ...]] = {
    100: ("сто", "ста", "сотня", "сотни", "сотню"),
    200: ("двести", "двухсот", "двумстам", "двумястами", "двухстах"),
    300: ("триста", "трехсот", "тремстам", "тремястами", "трехстах"),
    400: ("четыреста", "четырехсот", "четыремстам", "четырьмястами", "четырехстах"),
    500: ("пятьсот", "пятисот", "пятистам", "пятьюстами", "пятистах"),
    600: ("шестьсот", "шестисот", "шестистам", "шестьюстами", "шестистах"),
    700: ("семьсот", "семисот", "семистам", "семьюстами", "семистах"),
    800: ("восемьсот", "восьмисот", "восьмистам", "восемьюстами", "восьмьюстами", "восьмистах"),
    900: ("девятьсот", "девятисот", "девятистам", "девятьюстами", "девятистах"),
}
_CASE_ENDINGS = ("", "а", "у", "ом", "е", "ы", "ов", "ам", "ами", "ах")
_SCALES: dict[int, tuple[str, ...]] = {
    1000: ("тысяча", "тысячи", "тысяч", "тысячу", "тысячей", "тысячею", "тысяче", "тысячам",
           "тысячами", "тысячах", "тыща", "тыщи", "тыщ", "тыщу"),
    10**6: tuple("миллион" + e for e in _CASE_ENDINGS),
    10**9: tuple("миллиард" + e for e in _CASE_ENDINGS),
    10**12: tuple("триллион" + e for e in _CASE_ENDINGS),
}
_ADJ_ENDINGS = ("ая", "ых", "ой", "ую", "ым", "ыми", "ые")
_DENOMS: dict[int, str] = {
    1: "десят", 2: "сот", 3: "тысячн", 4: "десятитысячн", 5: "стотысячн", 6: "миллионн",
}

FILLERS = frozenset(
    "э ээ эээ эм мм м а ну так вот значит это типа короче пожалуйста сейчас там ой ага "
    "мой мое моя номер лицевой лицевого счет счета счета показания показание "
    "получается скажем наверное где то примерно около с еще раз соедините позовите "
    "переключите дайте мне меня нужен нужна хочу со".split()
)
COMMANDS: dict[str, Command] = {
    **dict.fromkeys("да ага угу верно правильно подтверждаю согласен конечно".split(), Command.YES),
    **dict.fromkeys("нет неверно неправильно отмена".split(), Command.NO),
    **dict.fromkeys("повторите повтори повторить повтор повторно".split(), Command.REPEAT),
    **dict.fromkeys(
        "оператор оператора оператору оператором операторе человек специалист специалиста "
        "специалистом консультант консультанта консультантом".split(),
        Command.OPERATOR,
    ),
}
COMMAND_PHRASES: dict[tuple[str, ...], Command] = {
    ("еще", "раз"): Command.REPEAT,
    ("не", "понял"): Command.REPEAT,
    ("не", "поняла"): Command.REPEAT,
    ("не", "расслышал"): Command.REPEAT,
    ("не", "верно"): Command.NO,
    ("не", "правильно"): Command.NO,
}


def _lexicon() -> Lexicon:
    words: dict[str, Tok] = {}

    def put(forms: tuple[str, ...], tok: Tok) -> None:
        for form in forms:
            words[form] = Tok(tok.kind, tok.value, tok.low, form)

    for value, forms in _UNITS.items():
        put(forms, Tok(T.DIGIT, value))
    for value, forms in _TEENS.items():
        put(forms, Tok(T.ABS, value, 1))
    for value, forms in _TENS.items():
        put(forms, Tok(T.ABS, value, 10))
    for value, forms in _HUNDREDS.items():
        put(forms, Tok(T.ABS, value, 100))
    for value, forms in _SCALES.items():
        put(forms, Tok(T.SCALE, value))
    put(("полтора", "полторы", "полутора"), Tok(T.HALF))
    put(("половиной",), Tok(T.HALF_SUFFIX))
    put(("точка", "запятая", "запятой"), Tok(T.POINT))
    put(("и",), Tok(T.AND))
    put(("минус",), Tok(T.MINUS))
    put(tuple("цел" + e for e in _ADJ_ENDINGS), Tok(T.WHOLE))
    for places, stem in _DENOMS.items():
        put(tuple(stem + e for e in _ADJ_ENDINGS), Tok(T.DENOM, places))
    return Lexicon(
        words=words,
        fillers=FILLERS,
        commands=COMMANDS,
        command_phrases=COMMAND_PHRASES,
        block_cap=1000,
        implicit_one=True,
    )


# Speaking: nominative forms.
_UNIT_M = ("", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_UNIT_F = ("", "одна", "две", *_UNIT_M[3:])
_UNIT_N = ("", "одно", "два", *_UNIT_M[3:])
_SCALE_FORMS = (
    (10**12, ("триллион", "триллиона", "триллионов"), "m"),
    (10**9, ("миллиард", "миллиарда", "миллиардов"), "m"),
    (10**6, ("миллион", "миллиона", "миллионов"), "m"),
    (1000, ("тысяча", "тысячи", "тысяч"), "f"),
)
DIGIT_WORDS = ("ноль", *_UNIT_M[1:])


def _triad(n: int, gender: str) -> list[str]:
    units = {"m": _UNIT_M, "f": _UNIT_F, "n": _UNIT_N}[gender]
    out: list[str] = []
    if n >= 100:
        out.append(_HUNDREDS[n // 100 * 100][0])
        n %= 100
    if 10 <= n <= 19:
        out.append(_TEENS[n][0])
        return out
    if n >= 20:
        out.append(_TENS[n // 10 * 10][0])
        n %= 10
    if n:
        out.append(units[n])
    return out


def integer_to_words(n: int, gender: str = "m") -> str:
    """Cardinal in the nominative; ``gender`` (m/f/n) agrees with the noun that follows."""
    if n < 0:
        return "минус " + integer_to_words(-n, gender)
    if n == 0:
        return "ноль"
    if n >= 10**15:
        raise ValueError("numbers of 10^15 and above are read digit by digit")
    out: list[str] = []
    for scale, forms, scale_gender in _SCALE_FORMS:
        count, n = divmod(n, scale)
        if count:
            out += _triad(count, scale_gender)
            out.append(plural(count, *forms))
    out += _triad(n, gender)
    return " ".join(out)


def _decimal_to_words(value: Decimal) -> str:
    sign, digits, exponent = value.as_tuple()
    places = -int(exponent)
    whole = int(abs(value))
    frac = int("".join(map(str, digits))[-places:] or "0")
    prefix = "минус " if sign else ""
    if places > max(_DENOMS):
        frac_digits = "".join(map(str, digits))[-places:].rjust(places, "0")
        return f"{prefix}{integer_to_words(whole)} запятая {digits_to_words(frac_digits)}"
    whole_word = plural(whole, "целая", "целых", "целых")
    stem = _DENOMS[places]
    frac_word = plural(frac, stem + "ая", stem + "ых", stem + "ых")
    return (
        f"{prefix}{integer_to_words(whole, 'f')} {whole_word} "
        f"{integer_to_words(frac, 'f')} {frac_word}"
    )


def number_to_words(n: int | Decimal) -> str:
    if isinstance(n, Decimal):
        if not n.is_finite():
            raise ValueError(f"not a finite number: {n}")
        if int(n.as_tuple().exponent) >= 0:
            return integer_to_words(int(n))
        return _decimal_to_words(n)
    return integer_to_words(int(n))


def money_to_words(amount: Decimal) -> str:
    """"сто двадцать три рубля сорок пять копеек"; kopecks are rounded half up."""
    negative, rubles, kopecks = money_parts(amount)
    prefix = "минус " if negative else ""
    parts: list[str] = []
    if rubles or not kopecks:
        parts.append(f"{integer_to_words(rubles)} {plural(rubles, 'рубль', 'рубля', 'рублей')}")
    if kopecks:
        word = plural(kopecks, "копейка", "копейки", "копеек")
        parts.append(f"{integer_to_words(kopecks, 'f')} {word}")
    return prefix + " ".join(parts)


def digits_to_words(digits: str) -> str:
    if not digits.isdigit() or not digits.isascii():
        raise ValueError("digits_to_words takes a string of 0-9")
    return " ".join(DIGIT_WORDS[int(d)] for d in digits)


def grammar_words() -> list[str]:
    """The words a number-and-command grammar needs, nominative and common case forms."""
    words = [w for forms in (*_UNITS.values(), *_TEENS.values(), *_TENS.values(),
                             *_HUNDREDS.values(), *_SCALES.values()) for w in forms]
    words += ["полтора", "полторы", "половиной", "с", "и", "точка", "запятая"]
    words += ["целая", "целых"] + [_DENOMS[p] + e for p in (1, 2, 3) for e in ("ая", "ых")]
    words += list(COMMANDS) + [w for phrase in COMMAND_PHRASES for w in phrase]
    words += ["э", "ну", "так"]
    return list(dict.fromkeys(words))


LANGUAGE = TableLanguage(
    "ru",
    _lexicon(),
    number_to_words=number_to_words,
    money_to_words=money_to_words,
    digits_to_words=digits_to_words,
    grammar_words=grammar_words,
)
