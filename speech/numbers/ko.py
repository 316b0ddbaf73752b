"""Korean number words: Sino-Korean (일 이 삼 … 십 백 천 만 억), 공/영 for zero, 점 for the point,
and native-Korean words (하나 둘 셋 … 열 스물 … 아흔) for digits and numbers below 100.

Korean writes a number as one word ("이천삼백"), so a word made only of number pieces is split
into them before parsing.
"""
from __future__ import annotations

from decimal import Decimal

from speech.numbers.base import Command, money_parts
from speech.numbers.language import TableLanguage
from speech.numbers.parser import Lexicon, T, Tok

SINO = ("영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
_NATIVE_DIGITS = ("하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟", "아홉")
# Attributive forms said before a counter ("한 번", "두 개"); 네 is left out: it means "yes".
_NATIVE_ATTRIBUTIVE = {"한": 1, "두": 2, "세": 3}
_NATIVE_TENS = ("열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔")
_MULTS = (("천", 1000), ("백", 100), ("십", 10))
_SCALES = (("조", 10**12), ("억", 10**8), ("만", 10**4))

FILLERS = frozenset(
    "음 어 그 저 에 아 뭐 그러니까 제 번호 번호는 계좌 고객 요 은 는 이요 한번".split()
)
COMMANDS: dict[str, Command] = {
    **dict.fromkeys("네 예 응 맞아요 맞습니다 그래요 좋아요".split(), Command.YES),
    **dict.fromkeys("아니요 아니오 아니 아뇨 아닙니다 틀려요".split(), Command.NO),
    **dict.fromkeys("다시 반복".split(), Command.REPEAT),
    **dict.fromkeys("상담원 상담사 직원".split(), Command.OPERATOR),
}


def _lexicon() -> Lexicon:
    words: dict[str, Tok] = {}
    for value, word in enumerate(SINO):
        words[word] = Tok(T.DIGIT, value, 1, word)
    words["공"] = Tok(T.DIGIT, 0, 1, "공")
    for value, word in enumerate(_NATIVE_DIGITS, start=1):
        words[word] = Tok(T.DIGIT, value, 1, word)
    for word, value in _NATIVE_ATTRIBUTIVE.items():
        words[word] = Tok(T.DIGIT, value, 1, word)
    for value, word in enumerate(_NATIVE_TENS, start=1):
        # 열다섯 is 15: a native ten leaves the units place free.
        words[word] = Tok(T.ABS, value * 10, 10, word)
    for word, value in _MULTS:
        words[word] = Tok(T.MULT, value, 1, word)
    for word, value in _SCALES:
        words[word] = Tok(T.SCALE, value, 1, word)
    words["점"] = Tok(T.POINT, text="점")
    words["마이너스"] = Tok(T.MINUS, text="마이너스")
    return Lexicon(
        words=words,
        fillers=FILLERS,
        commands=COMMANDS,
        block_cap=10**4,
        implicit_one=True,  # 십, 백, 천, 만 alone mean one of each
        mult_max=10,
        split=_split,
    )


_PIECES = frozenset(
    [*SINO, "공", *_NATIVE_DIGITS, *_NATIVE_TENS, *(w for w, _ in _MULTS), *(w for w, _ in _SCALES),
     "점"]
)
_LONGEST = max(map(len, _PIECES))


def _split(word: str) -> list[str] | None:
    """Cut a word into number pieces, longest piece first (일곱 is 7, not 일 + 곱); None if it
    is not made of number pieces alone."""
    if len(word) > 64:
        return None
    # best[i]: a split of word[i:], filled from the end so each position is solved once.
    best: list[list[str] | None] = [None] * len(word) + [[]]
    for i in range(len(word) - 1, -1, -1):
        for size in range(min(_LONGEST, len(word) - i), 0, -1):
            rest = best[i + size]
            if word[i : i + size] in _PIECES and rest is not None:
                best[i] = [word[i : i + size], *rest]
                break
    return best[0]


def _block(n: int) -> str:
    """1..9999 as one word; a 1 before 십/백/천 is not said (백, not 일백)."""
    out = ""
    for word, mult in _MULTS:
        count, n = divmod(n, mult)
        if count:
            out += ("" if count == 1 else SINO[count]) + word
    if n:
        out += SINO[n]
    return out


def integer_to_words(n: int) -> str:
    if n < 0:
        return "마이너스 " + integer_to_words(-n)
    if n == 0:
        return "영"
    if n >= 10**16:
        raise ValueError("numbers of 10^16 and above are read digit by digit")
    out: list[str] = []
    for word, scale in _SCALES:
        count, n = divmod(n, scale)
        if count:
            out.append(("" if count == 1 and scale == 10**4 else _block(count)) + word)
    if n:
        out.append(_block(n))
    return " ".join(out)


def number_to_words(n: int | Decimal) -> str:
    if isinstance(n, Decimal):
        if not n.is_finite():
            raise ValueError(f"not a finite number: {n}")
        if int(n.as_tuple().exponent) >= 0:
            return integer_to_words(int(n))
        whole, frac = f"{abs(n):f}".split(".")
        prefix = "마이너스 " if n.is_signed() else ""
        return f"{prefix}{integer_to_words(int(whole))} 점 {' '.join(SINO[int(d)] for d in frac)}"
    return integer_to_words(int(n))


def money_to_words(amount: Decimal) -> str:
    """Whole units as 원 and hundredths as 전, for symmetry with the other languages."""
    negative, units, hundredths = money_parts(amount)
    prefix = "마이너스 " if negative else ""
    parts: list[str] = []
    if units or not hundredths:
        parts.append(f"{integer_to_words(units)} 원")
    if hundredths:
        parts.append(f"{integer_to_words(hundredths)} 전")
    return prefix + " ".join(parts)


def digits_to_words(digits: str) -> str:
    if not digits.isdigit() or not digits.isascii():
        raise ValueError("digits_to_words takes a string of 0-9")
    return " ".join("공" if d == "0" else SINO[int(d)] for d in digits)


def grammar_words() -> list[str]:
    words = [*SINO, "공", *(w for w, _ in _MULTS), *(w for w, _ in _SCALES), "점"]
    words += [*_NATIVE_DIGITS, *_NATIVE_TENS]
    words += list(COMMANDS) + ["음", "어"]
    return list(dict.fromkeys(words))


LANGUAGE = TableLanguage(
    "ko",
    _lexicon(),
    number_to_words=number_to_words,
    money_to_words=money_to_words,
    digits_to_words=digits_to_words,
    grammar_words=grammar_words,
)
