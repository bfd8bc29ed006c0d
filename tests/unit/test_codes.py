"""Resident record codes and local government codes (R6; MISSION.md formats)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jukinet.domain.codes import (
    generate_resident_code,
    local_government_code_check_digit,
    parse_local_government_code,
    parse_resident_code,
    prefecture_code_of,
    resident_code_check_digit,
    with_check_digit,
)
from jukinet.errors import InvalidLocalGovernmentCode, InvalidResidentCode

bodies = st.text(alphabet="0123456789", min_size=10, max_size=10)


def reference_check_digit(body: str) -> int:
    """The rule as written in MISSION.md, spelled out independently of the implementation."""
    weights = [2, 3, 4, 5, 6, 7, 2, 3, 4, 5]
    total = sum(int(body[9 - i]) * weights[i] for i in range(10))
    r = total % 11
    return 0 if r in (0, 1) else 11 - r


@given(bodies)
def test_resident_check_digit_follows_the_published_rule(body: str) -> None:
    assert resident_code_check_digit(body) == reference_check_digit(body)


@given(bodies)
def test_a_code_with_its_check_digit_is_valid(body: str) -> None:
    code = body + str(reference_check_digit(body))
    assert parse_resident_code(code) == code


@given(bodies, st.integers(0, 9))
def test_any_other_last_digit_is_refused_with_the_right_one_named(body: str, last: int) -> None:
    right = reference_check_digit(body)
    if last == right:
        return
    with pytest.raises(InvalidResidentCode, match=f"should be {right}"):
        parse_resident_code(body + str(last))


@given(bodies, st.integers(0, 9), st.integers(1, 9))
def test_a_single_wrong_digit_in_the_body_is_caught_unless_weights_collide(
    body: str, position: int, delta: int
) -> None:
    code = body + str(reference_check_digit(body))
    wrong_digit = (int(code[position]) + delta) % 10
    typo = code[:position] + str(wrong_digit) + code[position + 1 :]
    # Modulus 11 catches every single-digit error whose remainder maps to a new
    # digit; the 0/1 remainders share check digit 0, the one blind spot of the scheme.
    if reference_check_digit(typo[:10]) == int(typo[10]):
        assert {reference_check_digit(body)} == {0}
    else:
        with pytest.raises(InvalidResidentCode):
            parse_resident_code(typo)


@pytest.mark.parametrize(
    "text", ["", "1234567890", "123456789012", "1234567890a", "１２３４５６７８９０１"]
)
def test_malformed_resident_codes_are_refused(text: str) -> None:
    with pytest.raises(InvalidResidentCode, match="11 digits"):
        parse_resident_code(text)


def test_generated_codes_are_valid_and_random() -> None:
    codes = {generate_resident_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert parse_resident_code(code) == code
    # No structure: the first digit takes every value.
    assert {c[0] for c in codes} == set("0123456789")


def test_chiyoda_has_check_digit_6() -> None:
    assert with_check_digit("13101") == "131016"
    assert parse_local_government_code("131016") == "131016"
    assert prefecture_code_of(parse_local_government_code("131016")) == "130001"


@given(st.text(alphabet="0123456789", min_size=5, max_size=5))
def test_local_government_check_digit_follows_the_published_rule(five: str) -> None:
    a, b, c, d, e = (int(x) for x in five)
    expected = (11 - (6 * a + 5 * b + 4 * c + 3 * d + 2 * e) % 11) % 10
    assert local_government_code_check_digit(five) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("131017", "should be 6"),
        ("13101", "exactly 6 digits"),
        ("13101a", "exactly 6 digits"),
        (with_check_digit("48101"), "01 to 47"),
        (with_check_digit("00101"), "01 to 47"),
    ],
)
def test_bad_local_government_codes_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidLocalGovernmentCode, match=reason):
        parse_local_government_code(text)
