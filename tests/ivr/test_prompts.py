"""Prompt modules: both locales say the same things, and every file name is playable."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from ivr.prompts import Prompt, load
from state.readings import RejectReason

LOCALES = ("ru", "en")


def public_names(module) -> set[str]:
    return {n for n in vars(module) if not n.startswith("_") and n.isupper()}


def test_when_comparing_locales_then_they_define_the_same_prompts_and_builders():
    ru, en = load("ru"), load("en")
    assert public_names(ru) == public_names(en)
    builders = {"confirm_account", "choose_account", "meter_intro", "readback", "balance_line",
                "total_debt", "outage_line", "outages_count", "when"}
    assert all(callable(getattr(m, b)) for m in (ru, en) for b in builders)


@pytest.mark.parametrize("lang", LOCALES)
def test_when_a_reading_is_rejected_then_every_reason_has_a_prompt(lang):
    prompts = load(lang)
    assert {r.value for r in RejectReason} == set(prompts.REJECTED)


@pytest.mark.parametrize("lang", LOCALES)
def test_when_prompts_are_built_then_files_are_ascii_paths_in_the_locale_folder(lang):
    p = load(lang)
    built = [
        p.confirm_account("1234567890"), p.choose_account(["1234567890", "2234567891"]),
        p.meter_intro("electricity", "A-778812", "night"), p.readback(Decimal("12345.6")),
        p.balance_line("heating", Decimal("1234.56"), Decimal(0)), p.total_debt(Decimal("0.99")),
        p.outage_line("electricity", False, dt.datetime(2026, 11, 22, 17, 5)),
        *(v for v in vars(p).values() if isinstance(v, Prompt)),
    ]
    for prompt in built:
        assert prompt.files and prompt.text
        for name in prompt.files:
            assert re.fullmatch(rf"ccs/{lang}/[a-z0-9_/-]+", name), name


def test_when_english_texts_are_checked_then_no_russian_is_left_in_them():
    en = load("en")
    texts = [v.text for v in vars(en).values() if isinstance(v, Prompt)]
    texts += [v.text for v in en.REJECTED.values()]
    assert not [t for t in texts if re.search("[А-Яа-яЁё]", t)]


def test_when_language_is_unknown_then_loading_fails_clearly():
    with pytest.raises(ValueError):
        load("xx")
