"""An in-memory register: a real implementation of the ports ``rules.decide`` reads.

``FakeRegister`` is a ``RegisterView`` (records, households, retired codes) and an
``Allocator`` (codes from a pool, person ids, household numbers), holding everything
in dicts. ``apply`` writes a ``Decision`` as the register store does (the new
versions replace the old, retired codes are remembered), so a test can bring a
record into any state by recording the events that lead there.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date

from jukinet.domain.codes import LocalGovernmentCode, ResidentCode, resident_code_check_digit
from jukinet.domain.events import Event
from jukinet.domain.record import HEAD, Household, ResidentRecord
from jukinet.domain.rules import Allocator, Decision, RegisterView, decide
from jukinet.errors import PoolExhausted


def well_formed(body: str) -> ResidentCode:
    """The resident code with a correct check digit for a 10-digit ``body``."""
    return ResidentCode(body + str(resident_code_check_digit(body)))


def pool_of(count: int, prefix: str = "9") -> list[ResidentCode]:
    """``count`` distinct well-formed codes, e.g. the unused codes of a municipality."""
    return [well_formed(f"{prefix}{n:0{10 - len(prefix)}d}") for n in range(1, count + 1)]


class FakeRegister:
    """A municipality's register in memory (``RegisterView`` and ``Allocator``)."""

    def __init__(
        self, municipality: LocalGovernmentCode, pool: Iterable[ResidentCode] = ()
    ) -> None:
        self._municipality = municipality
        self.records: dict[str, ResidentRecord] = {}  # person id -> current version
        self.households: dict[int, Household] = {}
        self.retired: dict[ResidentCode, str] = {}  # retired code -> person id
        self.pool: list[ResidentCode] = list(pool)  # unused codes, drawn in order
        self._person_ids = itertools.count(1)
        self._household_ids = itertools.count(1)

    # --- RegisterView ------------------------------------------------------------
    @property
    def municipality_code(self) -> LocalGovernmentCode:
        return self._municipality

    def record(self, code: ResidentCode) -> ResidentRecord | None:
        return next((r for r in self.records.values() if r.resident_code == code), None)

    def household(self, household_id: int) -> Household | None:
        return self.households.get(household_id)

    def members(self, household_id: int) -> list[ResidentRecord]:
        """Current residents of the household: the head first, then by date of birth."""
        current = [
            r for r in self.records.values() if r.household_id == household_id and r.is_resident
        ]
        return sorted(current, key=lambda r: (r.relationship != HEAD, r.date_of_birth))

    def code_retired(self, code: ResidentCode) -> bool:
        return code in self.retired

    # --- Allocator ---------------------------------------------------------------
    def resident_code(self) -> ResidentCode:
        if not self.pool:
            raise PoolExhausted("No unused resident code is left in the pool.")
        return self.pool.pop(0)

    def person_id(self) -> str:
        return f"person-{next(self._person_ids)}"

    def household_id(self) -> int:
        return next(self._household_ids)

    # --- writes, as the register store does them ------------------------------------
    def apply(self, decision: Decision) -> None:
        for code in decision.retired_codes:
            holder = self.record(code)
            assert holder is not None, f"retiring {code}, which nobody holds"
            self.retired[code] = holder.person_id
        for record in decision.records:
            self.records[record.person_id] = record
        for household in decision.households:
            self.households[household.household_id] = household

    def record_event(self, event: Event, today: date) -> Decision:
        """Decide ``event`` and write the decision, as the window does."""
        decision = decide(event, self, self, today)
        self.apply(decision)
        return decision


def _implements_the_ports(register: FakeRegister) -> tuple[RegisterView, Allocator]:
    """mypy checks here that the fake is a ``RegisterView`` and an ``Allocator``."""
    return register, register
