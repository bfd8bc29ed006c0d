"""What deciding an event reads, draws and returns, and the lookups every rule shares.

``RegisterView`` is what a rule may read of the register, ``Allocator`` where it
draws new codes and numbers, ``Decision`` what it returns. The lookups refuse with
a sentence for the clerk when a code or household does not fit the event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from jukinet.domain.codes import LocalGovernmentCode, ResidentCode, parse_resident_code
from jukinet.domain.reasons import ChangeReason, reason
from jukinet.domain.record import Household, ResidentRecord
from jukinet.errors import EventRefused, HouseholdNotFound, ResidentNotFound


class RegisterView(Protocol):
    """What ``decide`` may read of the register."""

    @property
    def municipality_code(self) -> LocalGovernmentCode: ...

    def record(self, code: ResidentCode) -> ResidentRecord | None:
        """The record currently holding ``code`` (resident or removed), if any."""

    def household(self, household_id: int) -> Household | None: ...

    def members(self, household_id: int) -> list[ResidentRecord]:
        """Current residents of the household."""

    def code_retired(self, code: ResidentCode) -> bool: ...


class Allocator(Protocol):
    def resident_code(self) -> ResidentCode:
        """An unused code from the pool, at random (R6)."""

    def person_id(self) -> str: ...

    def household_id(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Decision:
    reason: ChangeReason
    occurred_on: date
    records: tuple[ResidentRecord, ...]
    households: tuple[Household, ...] = ()
    retired_codes: tuple[ResidentCode, ...] = ()

    @property
    def subjects(self) -> tuple[ResidentCode, ...]:
        return tuple(r.resident_code for r in self.records)


# --- lookups ---------------------------------------------------------------


def current_resident(view: RegisterView, code: str) -> ResidentRecord:
    """The resident holding ``code``; refused if the code is unknown, retired or removed."""
    parsed = parse_resident_code(code)
    record = view.record(parsed)
    if record is None:
        if view.code_retired(parsed):
            raise ResidentNotFound(
                f"Code {parsed} was retired at the holder's request (R6); use the current code."
            )
        raise ResidentNotFound(f"No resident of this municipality holds code {parsed}.")
    if not record.is_resident:
        raise EventRefused(
            f"The person with code {parsed} is no longer a resident "
            f"(removed on {record.removal_date}: {reason(record.removal_reason or '').name_ja})."
        )
    return record


def live_household(view: RegisterView, household_id: int) -> Household:
    """The household with this number; refused if unknown or dissolved."""
    household = view.household(household_id)
    if household is None:
        raise HouseholdNotFound(f"There is no household number {household_id}.")
    if household.dissolved_on is not None:
        raise EventRefused(
            f"Household {household_id} no longer exists (dissolved on {household.dissolved_on})."
        )
    return household


def one_household(records: Iterable[ResidentRecord]) -> int:
    """The one household all ``records`` belong to; refused if they are in several."""
    ids = {r.household_id for r in records}
    if len(ids) != 1:
        raise EventRefused("All persons of this event must belong to the same household.")
    return ids.pop()


def distinct(codes: tuple[str, ...]) -> None:
    """Refuse an event that names nobody, or somebody twice."""
    if not codes:
        raise EventRefused("The event names no person.")
    if len(set(codes)) != len(codes):
        raise EventRefused("The same person is named twice.")
