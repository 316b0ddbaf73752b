"""Russian personal and organisation names with correct male/female forms, and valid INNs."""

from __future__ import annotations

import random

from . import pools

_INN10_W = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_W1 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_W2 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _check(digits: list[int], weights: tuple[int, ...]) -> int:
    return sum(d * w for d, w in zip(digits, weights)) % 11 % 10


def inn10(r: random.Random) -> str:
    """An organisation's INN (10 digits) with a correct check digit."""
    d = [1 + int(r.random() * 9)] + [int(r.random() * 10) for _ in range(8)]
    d.append(_check(d, _INN10_W))
    return "".join(map(str, d))


def inn12(r: random.Random) -> str:
    """An individual entrepreneur's INN (12 digits) with both check digits."""
    d = [1 + int(r.random() * 9)] + [int(r.random() * 10) for _ in range(9)]
    d.append(_check(d, _INN12_W1))
    d.append(_check(d, _INN12_W2))
    return "".join(map(str, d))


def valid_inn(inn: str) -> bool:
    if not inn.isdigit() or len(inn) not in (10, 12):
        return False
    d = [int(c) for c in inn]
    if len(d) == 10:
        return _check(d[:9], _INN10_W) == d[9]
    return _check(d[:10], _INN12_W1) == d[10] and _check(d[:11], _INN12_W2) == d[11]


class Names:
    """Draws full names ("Фамилия Имя Отчество") from the pools with one generator."""

    def __init__(self, r: random.Random) -> None:
        self._rand = r.random
        self._forms = [f for f, w in pools.ORG_FORMS for _ in range(round(w * 100))]

    def person(self) -> str:
        rand = self._rand
        male_s, female_s = pools.SURNAMES[int(rand() * len(pools.SURNAMES))]
        _, father_m, father_f = pools.MALE_NAMES[int(rand() * len(pools.MALE_NAMES))]
        if rand() < 0.5:
            first = pools.MALE_NAMES[int(rand() * len(pools.MALE_NAMES))][0]
            return f"{male_s} {first} {father_m}"
        first = pools.FEMALE_NAMES[int(rand() * len(pools.FEMALE_NAMES))]
        return f"{female_s} {first} {father_f}"

    def org_form(self) -> str:
        """ООО or АО; ИП (an individual entrepreneur, named as a person)."""
        return self._forms[int(self._rand() * len(self._forms))]

    def org_word(self) -> str:
        return pools.ORG_WORDS[int(self._rand() * len(pools.ORG_WORDS))]
