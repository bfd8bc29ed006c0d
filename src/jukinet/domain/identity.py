"""Identity information (本人確認情報, R1): what prefectures and the national body hold.

Exactly the four items (name, date of birth, sex, address), the resident record
code, and the change information (reason and date). Nothing else: this type is
what leaves a municipality, so nothing else can.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from jukinet.domain.codes import ResidentCode


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"

    @property
    def ja(self) -> str:
        return "男" if self is Sex.MALE else "女"


@dataclass(frozen=True, slots=True)
class IdentityInfo:
    resident_code: ResidentCode
    name: str
    date_of_birth: date
    sex: Sex
    address: str
    change_reason: str
    change_date: date
