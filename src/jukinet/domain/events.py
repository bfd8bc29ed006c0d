"""The events a clerk records at the window, as small frozen commands.

Persons are named by their resident code, households by their number. Each event
carries the date it happened (異動年月日) and the date it was notified (届出年月日).
Whether an event is legal in the register's state is decided in ``rules``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from jukinet.domain.identity import Sex
from jukinet.domain.record import Address, Name


@dataclass(frozen=True, slots=True)
class NewPerson:
    """A person entering the register (by move-in); ``resident_code`` is the code they hold."""

    name: Name
    date_of_birth: date
    sex: Sex
    relationship: str
    domicile: str
    domicile_head: str
    resident_code: str | None = None


@dataclass(frozen=True, slots=True)
class Birth:
    parent_code: str  # the child joins this parent's household and address
    name: Name
    sex: Sex
    date_of_birth: date
    notified_on: date
    relationship: str = "子"


@dataclass(frozen=True, slots=True)
class MoveInFromAbroad:
    persons: tuple[NewPerson, ...]
    address: Address
    previous_address: str  # the country and place abroad
    moved_on: date
    notified_on: date
    join_household: int | None = None  # else the first person heads a new household


@dataclass(frozen=True, slots=True)
class DomesticMoveIn:
    """Move-in on a paper move-out certificate (転出証明書) from another municipality."""

    persons: tuple[NewPerson, ...]  # each with the resident code from the certificate
    address: Address
    previous_address: str
    certificate_issuer: str  # local government code of the municipality moved from
    moved_on: date
    notified_on: date
    join_household: int | None = None


@dataclass(frozen=True, slots=True)
class MoveWithin:
    """転居: a whole household moves to another address in the same municipality."""

    household_id: int
    address: Address
    moved_on: date
    notified_on: date


@dataclass(frozen=True, slots=True)
class MoveOut:
    persons: tuple[str, ...]
    destination: str
    abroad: bool
    moved_on: date  # may be the planned date, up to 14 days ahead
    notified_on: date
    new_head: str | None = None  # needed when the head leaves and others stay


@dataclass(frozen=True, slots=True)
class Death:
    resident_code: str
    died_on: date
    notified_on: date
    new_head: str | None = None


@dataclass(frozen=True, slots=True)
class NameChange:
    resident_code: str
    name: Name
    changed_on: date
    notified_on: date


@dataclass(frozen=True, slots=True)
class HouseholdSplit:
    """世帯分離: some members leave their household and form a new one at the same address."""

    persons: tuple[str, ...]
    new_head: str
    relationships: Mapping[str, str]  # relationship to the new head, for each other person
    split_on: date
    notified_on: date


@dataclass(frozen=True, slots=True)
class HouseholdMerge:
    """世帯合併: every member of one household joins another at the same address."""

    from_household: int
    into_household: int
    relationships: Mapping[str, str]  # relationship to the receiving head, per member
    merged_on: date
    notified_on: date


@dataclass(frozen=True, slots=True)
class HeadChange:
    household_id: int
    new_head: str
    changed_on: date
    notified_on: date
    relationships: Mapping[str, str] = field(default_factory=dict)


CORRECTABLE_FIELDS = (
    "family_name",
    "given_name",
    "family_kana",
    "given_kana",
    "date_of_birth",
    "sex",
    "relationship",
    "domicile",
    "domicile_head",
)


@dataclass(frozen=True, slots=True)
class MinorCorrection:
    """職権修正: a clerk corrects one field that was recorded wrongly."""

    resident_code: str
    field: str
    value: str
    reason: str  # why, in words; kept in the event log
    corrected_on: date


@dataclass(frozen=True, slots=True)
class CodeChange:
    """R6: on the resident's request, a new random code; the old one retired for good."""

    resident_code: str
    changed_on: date
    notified_on: date


Event = (
    Birth
    | MoveInFromAbroad
    | DomesticMoveIn
    | MoveWithin
    | MoveOut
    | Death
    | NameChange
    | HouseholdSplit
    | HouseholdMerge
    | HeadChange
    | MinorCorrection
    | CodeChange
)

EVENT_KINDS: dict[type[object], str] = {
    Birth: "birth",
    MoveInFromAbroad: "move-in-abroad",
    DomesticMoveIn: "move-in",
    MoveWithin: "move-within",
    MoveOut: "move-out",
    Death: "death",
    NameChange: "name-change",
    HouseholdSplit: "household-split",
    HouseholdMerge: "household-merge",
    HeadChange: "head-change",
    MinorCorrection: "minor-correction",
    CodeChange: "code-change",
}
