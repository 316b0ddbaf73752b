"""A number-word parser driven by per-language tables (see ru.py, en.py, ko.py).

Words become tokens; tokens are grouped greedily into cardinals ("сто двадцать три" = 123), a new
group starting where a word cannot continue the current one ("сто двадцать три | сорок пять"),
so digit-by-digit, grouped and mixed dictation all come out as one digit string.
"""
from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from speech.numbers.base import Command, NumberKind, NumberReading, split_words


class T(enum.Enum):
    DIGIT = "digit"  # 0-9 said as one word
    ABS = "abs"  # a word with a fixed value: teens, tens, Russian hundreds, Korean native tens
    MULT = "mult"  # multiplies the word before it inside a block: en "hundred", ko 십 백 천
    SCALE = "scale"  # closes a block: thousand, million, 만, 억
    HALF = "half"  # "полтора": 1.5, or 1.5 × the scale after it
    HALF_SUFFIX = "half_suffix"  # "(с) половиной", "(and a) half": + 0.5
    POINT = "point"  # "точка", "запятая", "point", 점
    AND = "and"  # Russian "и" before a fraction ("двенадцать и шесть десятых")
    WHOLE = "whole"  # "целых": ends the integer part of a fraction
    DENOM = "denom"  # "десятых": value is the number of decimal places
    LITERAL = "literal"  # digits written as digits ("123"), kept as written
    MINUS = "minus"  # only as the first word


@dataclass(frozen=True)
class Tok:
    kind: T
    value: int = 0
    low: int = 1  # the lowest decimal place the word fills (twenty: 10, thirteen: 1)
    text: str = ""
    word: int = 0  # index of the spoken word the token came from (Korean packs several)


@dataclass
class Lexicon:
    words: dict[str, Tok]
    fillers: frozenset[str]
    commands: dict[str, Command]
    command_phrases: dict[tuple[str, ...], Command] = field(default_factory=dict)
    block_cap: int = 1000
    implicit_one: bool = True  # a scale or multiplier with no number before it means one of it
    mult_max: int = 10  # the word before a multiplier must be below this
    split: Callable[[str], list[str] | None] | None = None  # for languages written without spaces


def tokenize(text: str, lex: Lexicon) -> list[Tok] | None:
    """Number tokens of ``text`` without fillers and command words; None if a word is unknown."""
    out: list[Tok] = []
    for index, word in enumerate(split_words(text)):
        if word == "[unk]" or word in lex.fillers or word in lex.commands:
            continue
        tok = lex.words.get(word)
        if tok is not None:
            out.append(replace(tok, word=index))
            continue
        if word.isdigit() and word.isascii():
            out.append(Tok(T.LITERAL, int(word), text=word, word=index))
            continue
        pieces = lex.split(word) if lex.split else None
        if pieces is None:
            return None
        out.extend(replace(lex.words[p], word=index) for p in pieces)
    return out


@dataclass
class Group:
    value: Decimal
    digits: str
    single_digit: bool


class _Builder:
    """Builds one cardinal; ``add`` says False when a token cannot continue it."""

    def __init__(self, lex: Lexicon) -> None:
        self.lex = lex
        self.total = 0
        self.last_scale: int | None = None
        self.items: list[tuple[Tok, int, int]] = []  # (token, value, the block floor before it)
        self.floor = lex.block_cap
        self.tokens: list[Tok] = []
        self.closed = False
        self.half = False
        self.literal: str | None = None

    @property
    def fresh(self) -> bool:
        return not self.tokens

    @property
    def block_value(self) -> int:
        return sum(v for _, v, _ in self.items)

    def add(self, tok: Tok) -> bool:
        if self.closed:
            return False
        ok = self._add(tok)
        if ok:
            self.tokens.append(tok)
        return ok

    def _add(self, tok: Tok) -> bool:
        if tok.kind is T.LITERAL or (tok.kind is T.DIGIT and tok.value == 0):
            if not self.fresh:
                return False
            self.literal = tok.text if tok.kind is T.LITERAL else "0"
            self.closed = True
            return True
        if self.half:
            if tok.kind is not T.SCALE:
                return False
            self.total = tok.value * 3 // 2
            self.half = False
            self.closed = True
            return True
        if tok.kind is T.HALF:
            if not self.fresh:
                return False
            self.half = True
            return True
        if tok.kind in (T.DIGIT, T.ABS):
            if tok.value >= self.floor:
                return False
            self.items.append((tok, tok.value, self.floor))
            self.floor = tok.low
            return True
        if tok.kind is T.MULT:
            if self.items and all(i[0].kind is not T.MULT for i in self.items):
                block = self.block_value
                if block < self.lex.mult_max and self.tokens[-1] is self.items[-1][0]:
                    floor_before = self.items[0][2]
                    if block * tok.value >= floor_before:
                        return False
                    self.items = [(tok, block * tok.value, floor_before)]
                    self.floor = tok.value
                    return True
            last = self.items[-1] if self.items else None
            if last is not None and last[0].kind is not T.MULT and last[1] < self.lex.mult_max:
                _, pending, floor_before = last
                value = pending * tok.value
                if value >= floor_before:
                    return False
                self.items[-1] = (tok, value, floor_before)
                self.floor = tok.value
                return True
            if not self.lex.implicit_one or tok.value >= self.floor:
                return False
            self.items.append((tok, tok.value, self.floor))
            self.floor = tok.value
            return True
        if tok.kind is T.SCALE:
            if self.last_scale is not None and tok.value >= self.last_scale:
                return False
            block = self.block_value
            if not self.items:
                if not self.lex.implicit_one:
                    return False
                block = 1
            self.total += block * tok.value
            self.last_scale = tok.value
            self.items = []
            self.floor = min(self.lex.block_cap, tok.value)
            return True
        return False

    def release_tail(self, tok: Tok) -> list[Tok]:
        """Tokens to move into the next group so that ``tok`` can start it.

        "two hundred three hundred": "three" belongs with the second "hundred";
        "сто тысяч двести тысяч": "двести" belongs with the second "тысяч".
        """
        if tok.kind is T.MULT and self.items and self.items[-1][0].kind is not T.MULT:
            # Korean drops the 1 before 십/백/천, so "십일 십" is 11 then 10; only a digit
            # written in the same word ("이백 삼백") goes with the multiplier.
            same_word = self.lex.split is None or self.items[-1][0].word == tok.word
            if same_word and len(self.tokens) > 1 and self.tokens[-1] is self.items[-1][0]:
                moved, _, floor_before = self.items.pop()
                self.tokens.pop()
                self.floor = floor_before
                return [moved]
        if tok.kind is T.SCALE and self.items and self.last_scale is not None:
            count = len(self.items)
            moved = self.tokens[-count:]
            if all(a is b[0] for a, b in zip(moved, self.items, strict=True)):
                del self.tokens[-count:]
                self.items = []
                self.floor = min(self.lex.block_cap, self.last_scale)
                return moved
        return []

    def result(self) -> Group | None:
        if self.literal is not None:
            return Group(Decimal(self.literal), self.literal, self.tokens[0].kind is T.DIGIT)
        if self.half:
            return Group(Decimal("1.5"), "1.5", False)
        value = self.total + self.block_value
        single = len(self.tokens) == 1 and self.tokens[0].kind is T.DIGIT
        return Group(Decimal(value), str(value), single)


def group(tokens: list[Tok], lex: Lexicon) -> list[Group] | None:
    groups: list[Group] = []
    builder = _Builder(lex)
    for tok in tokens:
        if tok.kind not in (T.DIGIT, T.ABS, T.MULT, T.SCALE, T.HALF, T.LITERAL):
            return None
        if builder.add(tok):
            continue
        carried = builder.release_tail(tok)
        done = builder.result()
        if builder.fresh or done is None:
            return None
        groups.append(done)
        builder = _Builder(lex)
        for moved in [*carried, tok]:
            if not builder.add(moved):
                return None
    if not builder.fresh:
        done = builder.result()
        if done is None:
            return None
        groups.append(done)
    return groups


def _integer_digits(tokens: list[Tok], lex: Lexicon) -> str | None:
    if not tokens:
        return "0"
    groups = group(tokens, lex)
    if not groups or any("." in g.digits for g in groups):
        return None
    return "".join(g.digits for g in groups)


def _decimal(int_digits: str, frac: str) -> NumberReading:
    digits = f"{int_digits}.{frac}"
    return NumberReading(value=Decimal(digits), digits=digits, kind=NumberKind.DECIMAL)


def parse_tokens(tokens: list[Tok], lex: Lexicon) -> NumberReading | None:
    if tokens and tokens[0].kind is T.MINUS:
        reading = parse_tokens(tokens[1:], lex)
        if reading is None or reading.kind in (NumberKind.DIGIT_SEQUENCE, NumberKind.MIXED):
            return None
        return NumberReading(value=-reading.value, digits="-" + reading.digits, kind=reading.kind)
    if not tokens or any(t.kind is T.MINUS for t in tokens):
        return None
    kinds = [t.kind for t in tokens]
    if kinds[-1] is T.HALF_SUFFIX:
        int_digits = _integer_digits([t for t in tokens[:-1] if t.kind is not T.AND], lex)
        if int_digits is None or not tokens[:-1]:
            return None
        return _decimal(int_digits, "5")
    if T.DENOM in kinds:
        if kinds.count(T.DENOM) != 1 or kinds[-1] is not T.DENOM:
            return None
        places = tokens[-1].value
        split = max((i for i, k in enumerate(kinds) if k in (T.WHOLE, T.AND, T.POINT)), default=-1)
        head = tokens[:split] if split >= 0 else []
        # "одна целая и пять десятых": the marker words between the parts carry no value.
        while head and head[-1].kind in (T.WHOLE, T.AND):
            head = head[:-1]
        if any(t.kind in (T.WHOLE, T.AND, T.POINT) for t in head):
            return None
        int_digits = _integer_digits(head, lex)
        numerator = group(tokens[split + 1 : -1], lex)
        if int_digits is None or not numerator or len(numerator) != 1:
            return None
        num = numerator[0].digits
        if "." in num or len(num) > places:
            return None
        return _decimal(int_digits, num.zfill(places))
    points = [i for i, k in enumerate(kinds) if k in (T.POINT, T.WHOLE)]
    if points:
        if len(points) != 1:
            return None
        at = points[0]
        int_digits = _integer_digits([t for t in tokens[:at] if t.kind is not T.AND], lex)
        after = group(tokens[at + 1 :], lex)
        if int_digits is None or not after or any("." in g.digits for g in after):
            return None
        return _decimal(int_digits, "".join(g.digits for g in after))
    groups = group([t for t in tokens if t.kind is not T.AND], lex)
    if not groups:
        return None
    digits = "".join(g.digits for g in groups)
    if len(groups) == 1:
        kind = NumberKind.DECIMAL if "." in digits else NumberKind.CARDINAL
    elif any("." in g.digits for g in groups):
        return None
    elif all(g.single_digit for g in groups):
        kind = NumberKind.DIGIT_SEQUENCE
    else:
        kind = NumberKind.MIXED
    return NumberReading(value=Decimal(digits), digits=digits, kind=kind)


def parse_number(text: str, lex: Lexicon) -> NumberReading | None:
    tokens = tokenize(text, lex)
    return None if tokens is None else parse_tokens(tokens, lex)


def parse_digits(text: str, lex: Lexicon) -> str | None:
    reading = parse_number(text, lex)
    if reading is None or reading.kind is NumberKind.DECIMAL:
        return None
    return reading.digits
