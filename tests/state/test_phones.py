import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from state.phones import InvalidPhone, is_russian, normalize_phone, try_normalize_phone

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")  # the CHECK on phones.e164


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+7 912 345-67-89", "+79123456789"),
        ("89123456789", "+79123456789"),
        ("9123456789", "+79123456789"),
        ("7(912)3456789", "+79123456789"),
        ("8 (912) 345 67 89", "+79123456789"),
        ("8.912.345.67.89", "+79123456789"),
        ("  +7\u00a0912\u00a0345\u201367\u201389 ", "+79123456789"),
        ("+8 912 345 67 89", "+79123456789"),
        ("810 7 912 345 67 89", "+79123456789"),
        ("007 912 345 67 89", "+79123456789"),
        ("8 (495) 123-45-67", "+74951234567"),
        ("+7 (3412) 12-34-56", "+73412123456"),
        ("(383) 212-34-56", "+73832123456"),
        ("+44 20 7946 0958", "+442079460958"),
        ("00 44 20 7946 0958", "+442079460958"),
        ("810 49 30 1234567", "+49301234567"),
        ("+82 2 1234 5678", "+82212345678"),
        ("+1 (202) 555-0123", "+12025550123"),
    ],
)
def test_when_a_known_shape_is_given_then_it_normalises_to_e164(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "8 912 CALL ME",
        "+7 912 345 67 8",
        "+7 912 345 67 890",
        "345-67-89",
        "8 (212) 345 67 89",
        "0123456789",
        "912345678901234",
        "+0 123 456 789",
        "+123",
        "++79123456789",
        "8 912 345 67 89 доб. 12",
        "+7 912 345 67 89 ext 5",
        "１２３４５６７８９０",
        "9" * 100,
    ],
)
def test_when_garbage_is_given_then_invalid_phone_is_raised(raw):
    with pytest.raises(InvalidPhone):
        normalize_phone(raw)


def test_when_the_error_is_raised_then_the_message_does_not_echo_the_number():
    with pytest.raises(InvalidPhone) as info:
        normalize_phone("8 912 345 67 89 доб. 12")
    assert "912" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_when_not_text_then_invalid_phone_is_raised():
    with pytest.raises(InvalidPhone):
        normalize_phone(79123456789)  # type: ignore[arg-type]


def test_when_caller_id_is_withheld_then_try_normalize_returns_none():
    assert try_normalize_phone(None) is None
    assert try_normalize_phone("anonymous") is None
    assert try_normalize_phone("101") is None
    assert try_normalize_phone("89123456789") == "+79123456789"


def test_when_checking_origin_then_only_plus7_numbers_are_russian():
    assert is_russian("+79123456789")
    assert not is_russian("+442079460958")


national_numbers = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)
prefixes = st.sampled_from(["+7", "8", "7", "", "810 7", "+8", "007", "+7 ", "8 ", "8-"])
separators = st.sampled_from(["", " ", "-", ".", "\u00a0", " - "])


@st.composite
def formatted(draw) -> tuple[str, str]:
    national = draw(national_numbers)
    prefix = draw(prefixes)
    # A random split of the 10 digits into groups, the first optionally in parentheses.
    cuts = sorted(draw(st.sets(st.integers(1, 9), max_size=4)))
    groups = [national[a:b] for a, b in zip([0, *cuts], [*cuts, 10])]
    if draw(st.booleans()):
        groups[0] = f"({groups[0]})"
    body = draw(separators).join(groups)
    pad = draw(st.sampled_from(["", " ", "\t"]))
    return f"{pad}{prefix}{draw(separators)}{body}{pad}", "+7" + national


@given(formatted())
@settings(max_examples=300)
def test_when_any_formatting_of_a_russian_number_then_same_e164(case):
    raw, expected = case
    assert normalize_phone(raw) == expected


@given(formatted())
def test_when_normalising_twice_then_the_result_does_not_change(case):
    once = normalize_phone(case[0])
    assert normalize_phone(once) == once


@given(
    st.one_of(
        st.text(max_size=30),
        st.text(alphabet="0123456789+-() .", max_size=25),
        st.from_regex(r"\+[0-9]{1,17}", fullmatch=True),
    )
)
@settings(max_examples=500)
def test_when_random_input_then_invalid_phone_or_valid_e164(raw):
    try:
        result = normalize_phone(raw)
    except InvalidPhone:
        return
    assert E164.match(result)
    assert normalize_phone(result) == result
    if result.startswith("+7"):
        assert len(result) == 12 and result[2] in "3456789"
