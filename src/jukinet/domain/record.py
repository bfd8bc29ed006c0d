"""The resident record (住民票) and the household (世帯)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from jukinet.domain.codes import LocalGovernmentCode, ResidentCode
from jukinet.domain.identity import IdentityInfo, Sex

HEAD = "世帯主"

# 続柄 as written in the register: relationship to the head of household.
RELATIONSHIPS = frozenset(
    {
        HEAD,
        "妻",
        "夫",
        "子",
        "子の妻",
        "子の夫",
        "孫",
        "父",
        "母",
        "妻の父",
        "妻の母",
        "夫の父",
        "夫の母",
        "祖父",
        "祖母",
        "兄",
        "姉",
        "弟",
        "妹",
        "伯父",
        "伯母",
        "叔父",
        "叔母",
        "甥",
        "姪",
        "縁故者",
        "同居人",
        "未届の妻",
        "未届の夫",
    }
)


class Status(StrEnum):
    RESIDENT = "resident"
    REMOVED = "removed"  # the record is kept as a removed record (除票), never deleted


@dataclass(frozen=True, slots=True)
class Name:
    family: str
    given: str
    family_kana: str
    given_kana: str

    @property
    def full(self) -> str:
        return f"{self.family} {self.given}"

    @property
    def kana(self) -> str:
        return f"{self.family_kana} {self.given_kana}"


@dataclass(frozen=True, slots=True)
class Address:
    municipality_code: LocalGovernmentCode
    municipality_name: str  # prefecture and municipality, e.g. 東京都千代田区
    town: str
    block: str  # 番地・号, e.g. 一丁目1番1号
    building: str = ""

    @property
    def text(self) -> str:
        tail = f" {self.building}" if self.building else ""
        return f"{self.municipality_name}{self.town}{self.block}{tail}"


@dataclass(frozen=True, slots=True)
class ResidentRecord:
    """One person's resident record; each change makes a new version, the old stays."""

    person_id: str  # internal and never shown; stable across code changes (R6)
    resident_code: ResidentCode
    name: Name
    date_of_birth: date
    sex: Sex
    household_id: int
    relationship: str  # 続柄 to the head of household
    address: Address
    domicile: str  # 本籍 (family-register domicile)
    domicile_head: str  # 筆頭者
    became_resident_on: date  # 住民となった年月日
    address_fixed_on: date  # 住所を定めた年月日
    notified_on: date  # 届出年月日 of the last address change
    previous_address: str  # 前住所
    entry_reason: str
    entry_date: date
    identity_changed_by: str  # last change reason of identity information (R1)
    identity_changed_on: date
    removal_reason: str | None = None
    removal_date: date | None = None
    destination: str = ""  # 転出先, for a move-out
    version: int = 1

    @property
    def status(self) -> Status:
        return Status.RESIDENT if self.removal_reason is None else Status.REMOVED

    @property
    def is_resident(self) -> bool:
        return self.removal_reason is None

    @property
    def is_head(self) -> bool:
        return self.relationship == HEAD

    def identity(self) -> IdentityInfo:
        return IdentityInfo(
            resident_code=self.resident_code,
            name=self.name.full,
            date_of_birth=self.date_of_birth,
            sex=self.sex,
            address=self.address.text,
            change_reason=self.identity_changed_by,
            change_date=self.identity_changed_on,
        )

    def evolve(self, reason: str, on: date, **changes: object) -> ResidentRecord:
        """The next version with ``changes``; stamps the identity change info if R1 moved."""
        new = dataclasses.replace(self, version=self.version + 1, **changes)  # type: ignore[arg-type]
        if identity_core(new) != identity_core(self):
            new = dataclasses.replace(new, identity_changed_by=reason, identity_changed_on=on)
        return new


def identity_core(r: ResidentRecord) -> tuple[object, ...]:
    """What a prefecture holds of a record: the identity items and the status (R1)."""
    return (r.resident_code, r.name.full, r.date_of_birth, r.sex, r.address.text, r.status)


@dataclass(frozen=True, slots=True)
class Household:
    household_id: int
    head_person_id: str | None
    address: Address
    dissolved_on: date | None = None
    version: int = 1

    def evolve(self, **changes: object) -> Household:
        return dataclasses.replace(self, version=self.version + 1, **changes)  # type: ignore[arg-type]
