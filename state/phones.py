"""Phone numbers to E.164: every shape a Russian caller ID or a typed number arrives in.

Accepted shapes of one number ``+79123456789`` (spaces, dashes, dots, slashes and parentheses
are ignored anywhere):

- ``+7 912 345-67-89``, ``7(912)3456789``, ``8 (912) 345 67 89``, ``89123456789``, ``9123456789``
- ``+8 912 ...`` (a common slip for ``+7`` or ``8``), ``810 7 912 ...`` and ``007 912 ...``
  (Russian and international long-distance prefixes in front of the country code)
- landlines with their area code: ``8 (495) 123-45-67`` -> ``+74951234567``

A national number in the +7 zone has 10 digits and never starts with 0, 1 or 2. A number without
an area code (a bare 5-7 digit local number) cannot be placed and is refused.

Foreign numbers are accepted only in an unambiguous international form (``+44 20 ...``,
``00 44 ...``, ``810 44 ...``): 7 to 15 digits after the ``+`` and no leading 0, as in E.164.
Country codes are not checked against the ITU list.

The only ambiguous form is ``+8`` followed by 10 digits: it is read as Russian when the 10 digits
form a national number that can exist (first digit 3-9), otherwise as a foreign number (``+82 2
...`` stays Korean).
"""
from __future__ import annotations

__all__ = ["InvalidPhone", "normalize_phone", "try_normalize_phone", "is_russian"]

# Separators people and switches put between digits (NBSP and the dash family included).
_SEPARATORS = frozenset(" \t\u00a0\u2009\u202f-\u2010\u2011\u2012\u2013\u2014.()/")
_DIGITS = frozenset("0123456789")
_NATIONAL_FIRST = frozenset("3456789")
_MAX_INPUT = 64  # longer strings are not phone numbers; keeps error messages short too


class InvalidPhone(ValueError):
    """The text is not a phone number this system can dial or match."""


def _national(national: str) -> str | None:
    if len(national) == 10 and national[0] in _NATIONAL_FIRST:
        return "+7" + national
    return None


def _international(digits: str) -> str:
    """Digits after a ``+`` (or an international prefix): country code and subscriber number."""
    if digits.startswith("7"):
        if (e164 := _national(digits[1:])) is not None:
            return e164
        raise InvalidPhone(
            f"a +7 number needs 10 digits after the country code, got {len(digits) - 1}"
        )
    if not 7 <= len(digits) <= 15:
        raise InvalidPhone(f"an international number has 7-15 digits, got {len(digits)}")
    if digits[0] == "0":
        raise InvalidPhone("a country code never starts with 0")
    return "+" + digits


def normalize_phone(raw: str) -> str:
    """Return the E.164 form (``+79123456789``) of ``raw`` or raise :class:`InvalidPhone`."""
    if not isinstance(raw, str):
        raise InvalidPhone(f"a phone number must be text, got {type(raw).__name__}")
    text = raw.strip()
    if not text:
        raise InvalidPhone("the phone number is empty")
    if len(text) > _MAX_INPUT:
        raise InvalidPhone(f"the phone number is too long ({len(text)} characters)")
    plus = text.startswith("+")
    if plus:
        text = text[1:]
    digits_list: list[str] = []
    for ch in text:
        if ch in _DIGITS:
            digits_list.append(ch)
        elif ch not in _SEPARATORS:
            # Never echo the input: it is a consumer's personal data and may reach a log.
            raise InvalidPhone(
                "the phone number may contain only digits, a leading +, spaces, dashes, dots "
                "and parentheses"
            )
    digits = "".join(digits_list)
    if not digits:
        raise InvalidPhone("the phone number has no digits")

    if plus:
        # "+8 912 ..." is a slip for "+7" or "8"; "+8" followed by a foreign-looking number is
        # left to the international rules (e.g. +82 Korea, +86 China).
        if len(digits) == 11 and digits[0] == "8" and (e164 := _national(digits[1:])):
            return e164
        return _international(digits)
    if digits.startswith("810") and len(digits) > 11:
        return _international(digits[3:])
    if digits.startswith("00") and len(digits) > 11:
        return _international(digits[2:])
    if len(digits) == 11 and digits[0] in "78":
        if (e164 := _national(digits[1:])) is not None:
            return e164
        raise InvalidPhone("the area or operator code of a Russian number starts with 3-9")
    if len(digits) == 10:
        if (e164 := _national(digits)) is not None:
            return e164
        raise InvalidPhone("the area or operator code of a Russian number starts with 3-9")
    if len(digits) < 10:
        raise InvalidPhone(
            f"the phone number is too short ({len(digits)} digits): give it with the area code"
        )
    raise InvalidPhone(
        f"the phone number has {len(digits)} digits: a Russian number has 10 after +7 or 8, "
        "a foreign one needs a leading +"
    )


def try_normalize_phone(raw: str | None) -> str | None:
    """E.164 or None: for caller IDs, which may be withheld, empty or an internal extension."""
    if raw is None:
        return None
    try:
        return normalize_phone(raw)
    except InvalidPhone:
        return None


def is_russian(e164: str) -> bool:
    return e164.startswith("+7") and len(e164) == 12
