"""What the synthetic population is made of: persons, addresses, households.

Plain frozen dataclasses, yielded by :func:`jukinet.seed.population.generate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from jukinet.seed.names import Sex

__all__ = ["SyntheticAddress", "SyntheticHousehold", "SyntheticPerson", "age_on"]


@dataclass(frozen=True, slots=True)
class SyntheticPerson:
    family_name: str
    given_name: str
    family_kana: str
    given_kana: str
    date_of_birth: date
    sex: Sex
    relationship: str
    """続柄 to the head of household: 世帯主, 妻, 夫, 子, 子の妻, 子の夫, 孫, 父, 母,
    兄, 姉, 弟, 妹 or 同居人."""


@dataclass(frozen=True, slots=True)
class SyntheticAddress:
    town: str
    """"" only in a municipality whose addresses have no town (北都留郡小菅村)."""
    town_kana: str
    block: str
    """"3丁目4番5号" in towns numbered by 丁目, otherwise "1234番地"."""
    building: str
    """"" for a house, else building name and room, e.g. "グランハイツ201"."""


@dataclass(frozen=True, slots=True)
class SyntheticHousehold:
    address: SyntheticAddress
    members: tuple[SyntheticPerson, ...]
    """members[0] is the head (世帯主)."""
    domicile: str
    """本籍, e.g. "東京都千代田区丸の内一丁目1番"."""
    domicile_head: str
    """筆頭者 of the family register: family and given name separated by a space."""
    resident_since: date


def age_on(date_of_birth: date, day: date) -> int:
    """Age in completed years on ``day``."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday
