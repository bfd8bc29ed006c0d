"""A copy of the resident record (住民票の写し): what it prints, as the law decides.

住民基本台帳法 第7条 lists the items of a resident record; 第12条 lets a person ask
for a copy of their own record or their household's, the whole household or some
members, and says which items are left out unless asked for (第12条 第5項):
the relationship to the head (続柄, with the head's name), the family-register
domicile (本籍・筆頭者) and the resident record code (住民票コード). The code is
printed only on a copy for the person or their own household (R4). A wide-area
copy (第12条の4, R20) never prints the domicile, whatever is asked.

This module is the one place that decides which items a copy prints. It holds
no framework: the window service builds a ``ResidentCopy`` from the register (or,
for a wide-area copy, from the home municipality's answer), the renderer draws it,
and the signer digests ``printed_items`` into the copy's verification token.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from jukinet.domain.identity import Sex
from jukinet.domain.record import HEAD, Name, ResidentRecord
from jukinet.errors import CopyRefused

__all__ = [
    "CERTIFICATION",
    "CopyOptions",
    "CopyPerson",
    "Issuer",
    "Requester",
    "ResidentCopy",
    "build_copy",
    "copy_persons",
    "head_name",
    "mayor_title_for",
    "printed_digest",
    "printed_json",
]

# The certification sentence every copy carries above the date and the mayor's name.
CERTIFICATION = "この写しは、住民票の原本と相違ないことを証明する。"


class Requester(StrEnum):
    """Whose copy it is, as the clerk records it (第12条 第1項)."""

    SELF = "self"  # the person's own record
    HOUSEHOLD = "household"  # a member of the same household asks


@dataclass(frozen=True, slots=True)
class CopyOptions:
    """What the request asks for; everything not asked is left out (第12条 第5項)."""

    household: bool = False  # the whole household (else ``members`` or the person alone)
    members: tuple[str, ...] = ()  # resident codes of some members of the household
    with_relationship: bool = False  # 世帯主の氏名及び続柄 (第7条 第4号)
    with_domicile: bool = False  # 本籍・筆頭者 (第7条 第5号); never on a wide-area copy
    with_code: bool = False  # 住民票コード (第7条 第13号), own household only (R4)
    wide_area: bool = False  # 広域交付 (第12条の4): issued by another municipality


@dataclass(frozen=True, slots=True)
class CopyPerson:
    """One person as the copy prints them: an item left out is ``None``."""

    name: Name
    date_of_birth: date
    sex: Sex
    became_resident_on: date  # 住民となった年月日
    address_fixed_on: date  # 住所を定めた年月日
    notified_on: date  # 届出年月日
    previous_address: str  # 従前の住所
    relationship: str | None = None
    resident_code: str | None = None
    domicile: str | None = None
    domicile_head: str | None = None

    def items(self) -> dict[str, str]:
        """The printed items of this person, as text, in the order they are printed."""
        out = {
            "氏名": self.name.full,
            "氏名（かな）": self.name.kana,
            "生年月日": self.date_of_birth.isoformat(),
            "性別": self.sex.ja,
            "住民となった年月日": self.became_resident_on.isoformat(),
            "住所を定めた年月日": self.address_fixed_on.isoformat(),
            "届出年月日": self.notified_on.isoformat(),
            "従前の住所": self.previous_address,
        }
        if self.relationship is not None:
            out["続柄"] = self.relationship
        if self.domicile is not None:
            out["本籍"] = self.domicile
            out["筆頭者"] = self.domicile_head or ""
        if self.resident_code is not None:
            out["住民票コード"] = self.resident_code
        return out


@dataclass(frozen=True, slots=True)
class ResidentCopy:
    """A copy ready to render and sign: the issuer, the household's address, the persons."""

    serial: str  # unique per issuing municipality, printed and in the token
    issuer_code: str  # local government code of the issuing municipality (交付地)
    issuer_name: str  # e.g. 東京都千代田区
    mayor_title: str  # e.g. 千代田区長
    mayor_name: str
    issued_on: date
    address: str  # 住所, the household's address
    head_name: str | None  # 世帯主, printed with the relationship only
    persons: tuple[CopyPerson, ...]
    home_code: str  # the municipality whose register it copies (住所地)
    wide_area: bool = False
    home_name: str = ""  # e.g. 大阪府大阪市: printed beside home_code on a wide-area copy

    def printed_items(self) -> dict[str, object]:
        """Every item the copy prints, as plain JSON data (the token digests it)."""
        head: dict[str, object] = {"世帯主": self.head_name} if self.head_name else {}
        home: dict[str, object] = {"住所地市区町村名": self.home_name} if self.home_name else {}
        return {
            "交付番号": self.serial,
            "交付市区町村": self.issuer_code,
            "住所地市区町村": self.home_code,
            **home,
            "交付年月日": self.issued_on.isoformat(),
            "住所": self.address,
            **head,
            "広域交付": self.wide_area,
            "記載事項": [p.items() for p in self.persons],
        }


def printed_json(copy: ResidentCopy) -> str:
    """The printed items as canonical JSON (sorted keys, no spaces): what the digest is of,
    and what a signed copy carries for a verifier to compare (docs/copies.md)."""
    return json.dumps(
        copy.printed_items(), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )


def printed_digest(copy: ResidentCopy) -> str:
    """SHA-256 (hex) of the printed items as canonical JSON (sorted keys, UTF-8)."""
    return hashlib.sha256(printed_json(copy).encode("utf-8")).hexdigest()


def copy_persons(
    person: ResidentRecord,
    household: list[ResidentRecord],
    options: CopyOptions,
) -> tuple[CopyPerson, ...]:
    """The persons a copy prints for ``person`` (the one asked about), in household order.

    ``household`` is every current member of the person's household, head first.
    Raises ``CopyRefused`` (one sentence) for members outside the household, a removed
    record, or items the law does not give for this copy.
    """
    if not person.is_resident:
        raise CopyRefused(
            f"Resident {person.resident_code} is not a resident of this register any more; "
            "a copy of a removed record (除票) is a different certificate."
        )
    codes = {str(m.resident_code): m for m in household}
    if options.household and options.members:
        raise CopyRefused("Ask for the whole household or for some members, not both.")
    if options.household:
        chosen = list(household)
    elif options.members:
        unknown = [c for c in options.members if c not in codes]
        if unknown:
            raise CopyRefused(
                f"{', '.join(unknown)} is not a member of the household of "
                f"{person.resident_code}; a copy holds members of one household only."
            )
        wanted = set(options.members) | {str(person.resident_code)}
        chosen = [m for m in household if str(m.resident_code) in wanted]
    else:
        chosen = [person]
    with_domicile = options.with_domicile and not options.wide_area
    return tuple(
        CopyPerson(
            name=m.name,
            date_of_birth=m.date_of_birth,
            sex=m.sex,
            became_resident_on=m.became_resident_on,
            address_fixed_on=m.address_fixed_on,
            notified_on=m.notified_on,
            previous_address=m.previous_address,
            relationship=(m.relationship if options.with_relationship else None),
            resident_code=(str(m.resident_code) if options.with_code else None),
            domicile=(m.domicile if with_domicile else None),
            domicile_head=(m.domicile_head if with_domicile else None),
        )
        for m in chosen
    )


def head_name(household: list[ResidentRecord], options: CopyOptions) -> str | None:
    """The head's name, printed with the relationships only (第7条 第4号)."""
    if not options.with_relationship:
        return None
    head = next((m for m in household if m.relationship == HEAD), None)
    return head.name.full if head else None


@dataclass(frozen=True, slots=True)
class Issuer:
    """The municipality that issues and certifies a copy (交付地), and its mayor."""

    code: str
    name: str  # e.g. 東京都千代田区
    mayor_title: str  # e.g. 千代田区長
    mayor_name: str


def mayor_title_for(municipality_name: str) -> str:
    """The mayor's title from the municipality's full name: 東京都千代田区 -> 千代田区長,
    長野県北佐久郡軽井沢町 -> 軽井沢町長 (prefecture and county are not part of it)."""
    for prefecture in ("東京都", "北海道", "京都府", "大阪府"):
        if municipality_name.startswith(prefecture):
            rest = municipality_name.removeprefix(prefecture)
            break
    else:
        at = municipality_name.find("県")
        rest = municipality_name[at + 1 :] if 0 < at <= 3 else municipality_name
    county = rest.find("郡")  # 北佐久郡軽井沢町; not 郡山市 nor 大和郡山市, which are cities
    if county > 0 and rest.endswith(("町", "村")):
        rest = rest[county + 1 :]
    return f"{rest}長"


def build_copy(
    person: ResidentRecord,
    household: list[ResidentRecord],
    options: CopyOptions,
    *,
    issuer: Issuer,
    serial: str,
    issued_on: date,
) -> ResidentCopy:
    """The copy of ``person``'s record (or household's) as ``issuer`` issues it.

    The same for a copy of the issuer's own resident and for a wide-area copy
    (``options.wide_area``), where ``person`` and ``household`` are what the home
    municipality answered."""
    return ResidentCopy(
        serial=serial,
        issuer_code=issuer.code,
        issuer_name=issuer.name,
        mayor_title=issuer.mayor_title,
        mayor_name=issuer.mayor_name,
        issued_on=issued_on,
        address=person.address.text,
        head_name=head_name(household, options),
        persons=copy_persons(person, household, options),
        home_code=str(person.address.municipality_code),
        home_name=person.address.municipality_name,
        wide_area=options.wide_area,
    )
