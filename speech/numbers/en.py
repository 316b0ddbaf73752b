"""English number words: "twelve thousand three hundred forty-five point six", "oh" as zero."""
from __future__ import annotations

from decimal import Decimal

from speech.numbers.base import Command, money_parts
from speech.numbers.language import TableLanguage
from speech.numbers.parser import Lexicon, T, Tok

_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
          "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))

FILLERS = frozenset(
    "uh um er erm ah hmm well so like and a an the my number account is it's its it okay ok "
    "please let me see".split()
)
COMMANDS: dict[str, Command] = {
    **dict.fromkeys("yes yeah yep yup correct right sure confirm".split(), Command.YES),
    **dict.fromkeys("no nope wrong incorrect cancel".split(), Command.NO),
    **dict.fromkeys("repeat again pardon".split(), Command.REPEAT),
    **dict.fromkeys("operator agent human person representative".split(), Command.OPERATOR),
}
COMMAND_PHRASES: dict[tuple[str, ...], Command] = {
    ("say", "that", "again"): Command.REPEAT,
    ("not", "right"): Command.NO,
    ("not", "correct"): Command.NO,
}


def _lexicon() -> Lexicon:
    words: dict[str, Tok] = {}
    for value, word in enumerate(_DIGITS):
        words[word] = Tok(T.DIGIT, value, 1, word)
    for word in ("oh", "o", "nought", "naught", "nil"):
        words[word] = Tok(T.DIGIT, 0, 1, word)
    for value, word in enumerate(_TEENS, start=10):
        words[word] = Tok(T.ABS, value, 1, word)
    for value, word in enumerate(_TENS):
        if word:
            words[word] = Tok(T.ABS, value * 10, 10, word)
    words["hundred"] = Tok(T.MULT, 100, 1, "hundred")
    for value, word in _SCALES:
        words[word] = Tok(T.SCALE, value, 1, word)
    for word in ("point", "dot", "decimal"):
        words[word] = Tok(T.POINT, text=word)
    words["half"] = Tok(T.HALF_SUFFIX, text="half")
    for word in ("minus", "negative"):
        words[word] = Tok(T.MINUS, text=word)
    return Lexicon(
        words=words,
        fillers=FILLERS,
        commands=COMMANDS,
        command_phrases=COMMAND_PHRASES,
        block_cap=10000,  # "twelve hundred" is a block of its own
        implicit_one=True,
        mult_max=100,
    )


def _below_thousand(n: int) -> list[str]:
    out: list[str] = []
    if n >= 100:
        out += [_DIGITS[n // 100], "hundred"]
        n %= 100
    if 10 <= n <= 19:
        out.append(_TEENS[n - 10])
    elif n >= 20:
        out.append(_TENS[n // 10] + (f"-{_DIGITS[n % 10]}" if n % 10 else ""))
    elif n:
        out.append(_DIGITS[n])
    return out


def integer_to_words(n: int) -> str:
    if n < 0:
        return "minus " + integer_to_words(-n)
    if n == 0:
        return "zero"
    if n >= 10**15:
        raise ValueError("numbers of 10^15 and above are read digit by digit")
    out: list[str] = []
    for scale, word in _SCALES:
        count, n = divmod(n, scale)
        if count:
            out += [*_below_thousand(count), word]
    out += _below_thousand(n)
    return " ".join(out)


def number_to_words(n: int | Decimal) -> str:
    if isinstance(n, Decimal):
        if not n.is_finite():
            raise ValueError(f"not a finite number: {n}")
        exponent = int(n.as_tuple().exponent)
        if exponent >= 0:
            return integer_to_words(int(n))
        text = f"{abs(n):f}"
        whole, frac = text.split(".")
        prefix = "minus " if n.is_signed() else ""
        return f"{prefix}{integer_to_words(int(whole))} point {digits_to_words(frac)}"
    return integer_to_words(int(n))


def money_to_words(amount: Decimal) -> str:
    negative, roubles, kopecks = money_parts(amount)
    prefix = "minus " if negative else ""
    parts: list[str] = []
    if roubles or not kopecks:
        parts.append(f"{integer_to_words(roubles)} rouble{'' if roubles == 1 else 's'}")
    if kopecks:
        parts.append(f"{integer_to_words(kopecks)} kopeck{'' if kopecks == 1 else 's'}")
    return prefix + " ".join(parts)


def digits_to_words(digits: str) -> str:
    if not digits.isdigit() or not digits.isascii():
        raise ValueError("digits_to_words takes a string of 0-9")
    return " ".join(_DIGITS[int(d)] for d in digits)


def grammar_words() -> list[str]:
    words = [*_DIGITS, "oh", *_TEENS, *(t for t in _TENS if t), "hundred"]
    words += [w for _, w in _SCALES] + ["point", "half", "and", "a"]
    words += list(COMMANDS) + [w for phrase in COMMAND_PHRASES for w in phrase]
    words += ["uh", "um"]
    return list(dict.fromkeys(words))


LANGUAGE = TableLanguage(
    "en",
    _lexicon(),
    number_to_words=number_to_words,
    money_to_words=money_to_words,
    digits_to_words=digits_to_words,
    grammar_words=grammar_words,
)
