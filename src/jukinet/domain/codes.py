"""Resident record codes (住民票コード) and local government codes (JIS X 0402).

Both formats are fixed by public sources (MISSION.md, "Facts that fix formats").
A resident code is 10 random digits and a modulus-11 check digit; it carries no
meaning (R6). A local government code is prefecture (2) + municipality (3) +
check digit.
"""

from __future__ import annotations

import secrets
from typing import NewType

from jukinet.errors import InvalidLocalGovernmentCode, InvalidResidentCode

ResidentCode = NewType("ResidentCode", str)
LocalGovernmentCode = NewType("LocalGovernmentCode", str)

# Weights applied from the rightmost body digit leftwards.
_RESIDENT_WEIGHTS = (2, 3, 4, 5, 6, 7, 2, 3, 4, 5)
_LG_WEIGHTS = (6, 5, 4, 3, 2)


def resident_code_check_digit(body: str) -> int:
    """Check digit of a 10-digit resident code body (modulus 11)."""
    if len(body) != 10 or not body.isascii() or not body.isdigit():
        raise InvalidResidentCode(f"A resident code body has 10 digits; got {body!r}.")
    total = sum(int(d) * w for d, w in zip(reversed(body), _RESIDENT_WEIGHTS, strict=True))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def parse_resident_code(text: str) -> ResidentCode:
    """Return ``text`` as a resident code, or raise with the reason it is not one."""
    value = text.strip()
    if len(value) != 11 or not value.isascii() or not value.isdigit():
        raise InvalidResidentCode(f"A resident code has exactly 11 digits; {text!r} is not one.")
    expected = resident_code_check_digit(value[:10])
    if int(value[10]) != expected:
        raise InvalidResidentCode(
            f"Resident code {value} has a wrong check digit: the last digit should be {expected}."
        )
    return ResidentCode(value)


def generate_resident_code() -> ResidentCode:
    """A fresh random resident code (cryptographically random body, R6)."""
    body = f"{secrets.randbelow(10**10):010d}"
    return ResidentCode(body + str(resident_code_check_digit(body)))


def local_government_code_check_digit(five: str) -> int:
    """Check digit of a 5-digit local government code (JIS X 0402)."""
    if len(five) != 5 or not five.isascii() or not five.isdigit():
        raise InvalidLocalGovernmentCode(
            f"A local government code without check digit has 5 digits; got {five!r}."
        )
    total = sum(int(d) * w for d, w in zip(five, _LG_WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def parse_local_government_code(text: str) -> LocalGovernmentCode:
    """Return ``text`` as a 6-digit local government code, or raise with the reason."""
    value = text.strip()
    if len(value) != 6 or not value.isascii() or not value.isdigit():
        raise InvalidLocalGovernmentCode(
            f"A local government code has exactly 6 digits (e.g. 131016); {text!r} is not one."
        )
    expected = local_government_code_check_digit(value[:5])
    if int(value[5]) != expected:
        raise InvalidLocalGovernmentCode(
            f"Local government code {value} has a wrong check digit: "
            f"the last digit should be {expected}."
        )
    prefecture = int(value[:2])
    if not 1 <= prefecture <= 47:
        raise InvalidLocalGovernmentCode(
            f"Local government code {value} names prefecture {value[:2]}; "
            "prefectures are numbered 01 to 47."
        )
    return LocalGovernmentCode(value)


def with_check_digit(five: str) -> LocalGovernmentCode:
    """The 6-digit local government code for a 5-digit one (13101 -> 131016)."""
    return LocalGovernmentCode(five + str(local_government_code_check_digit(five)))


def prefecture_code_of(code: LocalGovernmentCode) -> LocalGovernmentCode:
    """The prefecture's own local government code (e.g. 131016 -> 130001)."""
    return with_check_digit(code[:2] + "000")
