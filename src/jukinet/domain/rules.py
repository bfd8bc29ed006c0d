"""Deciding an event: is it legal in the register's state, and what does it change?

``decide`` is pure: it reads the register through ``RegisterView``, draws new
codes and numbers through ``Allocator``, and returns a ``Decision`` (the new
versions of records and households). Persisting the decision is the adapters' job.
Every refusal is an ``EventRefused`` (or ``InvalidInput``) with a sentence for the clerk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Protocol

from jukinet.domain import checks
from jukinet.domain.codes import LocalGovernmentCode, ResidentCode, parse_resident_code
from jukinet.domain.events import (
    Birth,
    CodeChange,
    Death,
    DomesticMoveIn,
    Event,
    HeadChange,
    HouseholdMerge,
    HouseholdSplit,
    MinorCorrection,
    MoveInFromAbroad,
    MoveOut,
    MoveWithin,
    NameChange,
)
from jukinet.domain.reasons import ChangeReason, reason
from jukinet.domain.record import HEAD, Household, ResidentRecord
from jukinet.errors import EventRefused, HouseholdNotFound, ResidentNotFound

# A move-out may be notified up to 14 days before the planned date (転出予定日).
MOVE_OUT_NOTICE = timedelta(days=14)


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


def decide(event: Event, view: RegisterView, alloc: Allocator, today: date) -> Decision:
    """Check ``event`` against the register and return what it changes."""
    match event:
        case Birth():
            return _birth(event, view, alloc, today)
        case MoveInFromAbroad() | DomesticMoveIn():
            return _move_in(event, view, alloc, today)
        case MoveWithin():
            return _move_within(event, view, today)
        case MoveOut():
            return _move_out(event, view, today)
        case Death():
            return _death(event, view, today)
        case NameChange():
            return _name_change(event, view, today)
        case HouseholdSplit():
            return _split(event, view, alloc, today)
        case HouseholdMerge():
            return _merge(event, view, today)
        case HeadChange():
            return _head_change(event, view, today)
        case MinorCorrection():
            return _correction(event, view, today)
        case CodeChange():
            return _code_change(event, view, alloc, today)


# --- lookups ---------------------------------------------------------------


def _resident(view: RegisterView, code: str) -> ResidentRecord:
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


def _household(view: RegisterView, household_id: int) -> Household:
    household = view.household(household_id)
    if household is None:
        raise HouseholdNotFound(f"There is no household number {household_id}.")
    if household.dissolved_on is not None:
        raise EventRefused(
            f"Household {household_id} no longer exists (dissolved on {household.dissolved_on})."
        )
    return household


def _one_household(records: Iterable[ResidentRecord]) -> int:
    ids = {r.household_id for r in records}
    if len(ids) != 1:
        raise EventRefused("All persons of this event must belong to the same household.")
    return ids.pop()


def _distinct(codes: tuple[str, ...]) -> None:
    if not codes:
        raise EventRefused("The event names no person.")
    if len(set(codes)) != len(codes):
        raise EventRefused("The same person is named twice.")


# --- entries ---------------------------------------------------------------


def _birth(event: Birth, view: RegisterView, alloc: Allocator, today: date) -> Decision:
    checks.name(event.name)
    checks.relationship(event.relationship, allow_head=False)
    checks.not_future(event.date_of_birth, today, "date of birth")
    checks.notified_after(event.notified_on, event.date_of_birth, today)
    parent = _resident(view, event.parent_code)
    if event.date_of_birth <= parent.date_of_birth:
        raise EventRefused("The child cannot be born before the parent.")
    born = event.date_of_birth
    child = ResidentRecord(
        person_id=alloc.person_id(),
        resident_code=alloc.resident_code(),
        name=event.name,
        date_of_birth=born,
        sex=event.sex,
        household_id=parent.household_id,
        relationship=event.relationship,
        address=parent.address,
        domicile=parent.domicile,
        domicile_head=parent.domicile_head,
        became_resident_on=born,
        address_fixed_on=born,
        notified_on=event.notified_on,
        previous_address="",
        entry_reason="birth",
        entry_date=born,
        identity_changed_by="birth",
        identity_changed_on=born,
    )
    return Decision(reason("birth"), born, (child,))


def _move_in(
    event: MoveInFromAbroad | DomesticMoveIn, view: RegisterView, alloc: Allocator, today: date
) -> Decision:
    domestic = isinstance(event, DomesticMoveIn)
    why = "move-in" if domestic else "move-in-abroad"
    checks.address_in(event.address, view.municipality_code)
    checks.not_future(event.moved_on, today, "date of moving in")
    checks.notified_after(event.notified_on, event.moved_on, today)
    if isinstance(event, DomesticMoveIn):
        checks.other_municipality(event.certificate_issuer, view.municipality_code)
    if not event.persons:
        raise EventRefused("The move-in names no person.")
    if event.join_household is None:
        if event.persons[0].relationship != HEAD:
            raise EventRefused("The first person of a new household must be its head (世帯主).")
        household = Household(alloc.household_id(), None, event.address)
        others = event.persons[1:]
    else:
        household = _household(view, event.join_household)
        if household.address != event.address:
            raise EventRefused(
                f"Household {household.household_id} lives at {household.address.text}; "
                "people joining it move in at that address."
            )
        others = event.persons
    for p in others:
        checks.relationship(p.relationship, allow_head=False)
    seen: set[str] = set()
    records: list[ResidentRecord] = []
    for p in event.persons:
        checks.name(p.name)
        checks.not_future(p.date_of_birth, today, "date of birth")
        if p.date_of_birth > event.moved_on:
            raise EventRefused(f"{p.name.full} cannot move in before being born.")
        earlier: ResidentRecord | None = None
        if p.resident_code is None:
            if domestic:
                raise EventRefused(
                    f"{p.name.full}: a move-in certificate always carries the resident code."
                )
            code = alloc.resident_code()
        else:
            code = parse_resident_code(p.resident_code)
            if code in seen:
                raise EventRefused(f"Resident code {code} is named twice.")
            if view.code_retired(code):
                raise EventRefused(f"Resident code {code} was retired and cannot be used.")
            earlier = view.record(code)
            if earlier is not None:
                _may_move_back(earlier, event.moved_on)
        seen.add(code)
        fields = dict(
            resident_code=code,
            name=p.name,
            date_of_birth=p.date_of_birth,
            sex=p.sex,
            household_id=household.household_id,
            relationship=p.relationship,
            address=event.address,
            domicile=p.domicile,
            domicile_head=p.domicile_head,
            became_resident_on=event.moved_on,
            address_fixed_on=event.moved_on,
            notified_on=event.notified_on,
            previous_address=event.previous_address,
            entry_reason=why,
            entry_date=event.moved_on,
            removal_reason=None,
            removal_date=None,
            destination="",
        )
        if earlier is not None:  # moving back: the removed record lives on in history
            records.append(earlier.evolve(why, event.moved_on, **fields))
        else:
            records.append(
                ResidentRecord(
                    person_id=alloc.person_id(),
                    identity_changed_by=why,
                    identity_changed_on=event.moved_on,
                    **fields,  # type: ignore[arg-type]
                )
            )
    if event.join_household is not None:  # the household itself does not change
        return Decision(reason(why), event.moved_on, tuple(records))
    household = Household(household.household_id, records[0].person_id, event.address)
    return Decision(reason(why), event.moved_on, tuple(records), (household,))


def _may_move_back(earlier: ResidentRecord, moved_on: date) -> None:
    """A removed record may come back to life by a move-in, unless it was closed by death."""
    code = earlier.resident_code
    if earlier.is_resident:
        raise EventRefused(f"{earlier.name.full} (code {code}) is already a resident here.")
    if earlier.removal_reason == "death":
        raise EventRefused(
            f"The record with code {code} was closed by death on {earlier.removal_date}; "
            "it cannot move in."
        )
    if earlier.removal_date is not None and moved_on < earlier.removal_date:
        raise EventRefused(
            f"{earlier.name.full} moved out on {earlier.removal_date}; "
            "moving back cannot be dated earlier."
        )


# --- removals ----------------------------------------------------------------


def _new_head_if_needed(
    view: RegisterView, leaving: list[ResidentRecord], new_head: str | None, on: date
) -> tuple[list[ResidentRecord], list[Household]]:
    """Members staying behind, re-headed if the head leaves; the household's new state."""
    household = _household(view, leaving[0].household_id)
    leaving_ids = {r.person_id for r in leaving}
    staying = [m for m in view.members(household.household_id) if m.person_id not in leaving_ids]
    head_leaves = household.head_person_id in leaving_ids
    if not staying:
        if new_head is not None:
            raise EventRefused("Nobody stays in the household, so it needs no new head.")
        return [], [household.evolve(dissolved_on=on, head_person_id=None)]
    if not head_leaves:
        if new_head is not None:
            raise EventRefused("The head of household stays, so no new head is named.")
        return [], []
    if new_head is None:
        raise EventRefused(
            "The head of household leaves while others stay: name the new head of household."
        )
    head = next((m for m in staying if m.resident_code == parse_resident_code(new_head)), None)
    if head is None:
        raise EventRefused(f"The new head {new_head} is not a member who stays in the household.")
    return (
        [head.evolve("head-change", on, relationship=HEAD)],
        [household.evolve(head_person_id=head.person_id)],
    )


def _move_out(event: MoveOut, view: RegisterView, today: date) -> Decision:
    _distinct(event.persons)
    checks.not_future(event.notified_on, today, "notification date")
    if event.moved_on > event.notified_on + MOVE_OUT_NOTICE:
        raise EventRefused("A move-out is notified at most 14 days before the planned date.")
    if not event.destination.strip():
        raise EventRefused("A move-out needs the destination (転出先).")
    why = "move-out-abroad" if event.abroad else "move-out"
    leaving = [_resident(view, c) for c in event.persons]
    _one_household(leaving)
    for r in leaving:
        if event.moved_on < r.address_fixed_on:
            raise EventRefused(
                f"{r.name.full} cannot move out before settling at the address "
                f"({r.address_fixed_on})."
            )
    reheaded, households = _new_head_if_needed(view, leaving, event.new_head, event.moved_on)
    removed = [
        r.evolve(
            why,
            event.moved_on,
            removal_reason=why,
            removal_date=event.moved_on,
            destination=event.destination.strip(),
            notified_on=event.notified_on,
        )
        for r in leaving
    ]
    return Decision(reason(why), event.moved_on, (*removed, *reheaded), tuple(households))


def _death(event: Death, view: RegisterView, today: date) -> Decision:
    checks.not_future(event.died_on, today, "date of death")
    checks.notified_after(event.notified_on, event.died_on, today)
    person = _resident(view, event.resident_code)
    if event.died_on < person.date_of_birth:
        raise EventRefused("The date of death is before the date of birth.")
    if event.died_on < person.became_resident_on:
        raise EventRefused(
            f"{person.name.full} became a resident on {person.became_resident_on}; "
            "a death before that belongs to another municipality's register."
        )
    reheaded, households = _new_head_if_needed(view, [person], event.new_head, event.died_on)
    dead = person.evolve("death", event.died_on, removal_reason="death", removal_date=event.died_on)
    return Decision(reason("death"), event.died_on, (dead, *reheaded), tuple(households))


# --- corrections -------------------------------------------------------------


def _move_within(event: MoveWithin, view: RegisterView, today: date) -> Decision:
    checks.address_in(event.address, view.municipality_code)
    checks.not_future(event.moved_on, today, "date of moving")
    checks.notified_after(event.notified_on, event.moved_on, today)
    household = _household(view, event.household_id)
    if household.address == event.address:
        raise EventRefused("The household already lives at this address.")
    members = view.members(household.household_id)
    for m in members:
        if event.moved_on < m.address_fixed_on:
            raise EventRefused(
                f"{m.name.full} settled at the current address on {m.address_fixed_on}; "
                "the move cannot be earlier."
            )
    moved = tuple(
        m.evolve(
            "move-within",
            event.moved_on,
            address=event.address,
            previous_address=m.address.text,
            address_fixed_on=event.moved_on,
            notified_on=event.notified_on,
        )
        for m in members
    )
    return Decision(
        reason("move-within"), event.moved_on, moved, (household.evolve(address=event.address),)
    )


def _name_change(event: NameChange, view: RegisterView, today: date) -> Decision:
    checks.name(event.name)
    checks.not_future(event.changed_on, today, "date of the change")
    checks.notified_after(event.notified_on, event.changed_on, today)
    person = _resident(view, event.resident_code)
    if person.name == event.name:
        raise EventRefused("The new name is the same as the recorded one.")
    changed = person.evolve("name-change", event.changed_on, name=event.name)
    return Decision(reason("name-change"), event.changed_on, (changed,))


def _relationships(
    mapping: Mapping[str, str], people: Iterable[ResidentRecord], head: ResidentRecord | None = None
) -> dict[str, str]:
    """Relationship per person id, requiring one for every person listed."""
    by_code = {parse_resident_code(k): v for k, v in mapping.items()}
    if head is not None and head.resident_code in by_code:
        raise EventRefused(
            f"{head.name.full} becomes 世帯主; give relationships only for the other members."
        )
    result: dict[str, str] = {}
    for p in people:
        rel = by_code.pop(p.resident_code, None)
        if rel is None:
            raise EventRefused(f"Give the relationship (続柄) of {p.name.full} to the head.")
        checks.relationship(rel, allow_head=False)
        result[p.person_id] = rel
    if by_code:
        raise EventRefused(
            f"Relationships were given for persons outside the household: {sorted(by_code)}."
        )
    return result


def _split(event: HouseholdSplit, view: RegisterView, alloc: Allocator, today: date) -> Decision:
    _distinct(event.persons)
    checks.not_future(event.split_on, today, "date of the split")
    checks.notified_after(event.notified_on, event.split_on, today)
    leaving = [_resident(view, c) for c in event.persons]
    household = _household(view, _one_household(leaving))
    if len(leaving) == len(view.members(household.household_id)):
        raise EventRefused("A split leaves somebody behind; here every member would leave.")
    if any(r.person_id == household.head_person_id for r in leaving):
        raise EventRefused(
            "The head of household cannot split off; change the head of household first."
        )
    head = next(
        (r for r in leaving if r.resident_code == parse_resident_code(event.new_head)), None
    )
    if head is None:
        raise EventRefused("The new head must be one of the persons who split off.")
    rels = _relationships(event.relationships, [r for r in leaving if r is not head], head)
    new = Household(alloc.household_id(), head.person_id, household.address)
    on = event.split_on
    moved = [
        r.evolve(
            "household-split",
            on,
            household_id=new.household_id,
            relationship=HEAD if r is head else rels[r.person_id],
        )
        for r in leaving
    ]
    return Decision(reason("household-split"), on, tuple(moved), (new,))


def _merge(event: HouseholdMerge, view: RegisterView, today: date) -> Decision:
    checks.not_future(event.merged_on, today, "date of the merge")
    checks.notified_after(event.notified_on, event.merged_on, today)
    if event.from_household == event.into_household:
        raise EventRefused("A household cannot merge into itself.")
    source = _household(view, event.from_household)
    target = _household(view, event.into_household)
    if source.address != target.address:
        raise EventRefused(
            "Households merge only at the same address; record the move (転居) first."
        )
    joining = view.members(source.household_id)
    rels = _relationships(event.relationships, joining)
    on = event.merged_on
    moved = tuple(
        r.evolve(
            "household-merge",
            on,
            household_id=target.household_id,
            relationship=rels[r.person_id],
        )
        for r in joining
    )
    dissolved = source.evolve(dissolved_on=on, head_person_id=None)
    return Decision(reason("household-merge"), on, moved, (dissolved,))


def _head_change(event: HeadChange, view: RegisterView, today: date) -> Decision:
    checks.not_future(event.changed_on, today, "date of the change")
    checks.notified_after(event.notified_on, event.changed_on, today)
    household = _household(view, event.household_id)
    members = view.members(household.household_id)
    new_code = parse_resident_code(event.new_head)
    head = next((m for m in members if m.resident_code == new_code), None)
    if head is None:
        raise EventRefused(f"{new_code} is not a member of household {household.household_id}.")
    if head.person_id == household.head_person_id:
        raise EventRefused(f"{head.name.full} is already the head of this household.")
    others = [m for m in members if m is not head]
    rels = _relationships(event.relationships, others, head)
    on = event.changed_on
    changed = [head.evolve("head-change", on, relationship=HEAD)]
    changed += [
        m.evolve("head-change", on, relationship=rels[m.person_id])
        for m in others
        if rels[m.person_id] != m.relationship
    ]
    return Decision(
        reason("head-change"),
        on,
        tuple(changed),
        (household.evolve(head_person_id=head.person_id),),
    )


def _correction(event: MinorCorrection, view: RegisterView, today: date) -> Decision:
    checks.not_future(event.corrected_on, today, "date of the correction")
    if not event.reason.strip():
        raise EventRefused("A correction needs its reason in words.")
    person = _resident(view, event.resident_code)
    changes = checks.correction(person, event.field, event.value, today)
    corrected = person.evolve("minor-correction", event.corrected_on, **changes)
    if corrected.version == person.version + 1 and _same(corrected, person):
        raise EventRefused(f"The {event.field.replace('_', ' ')} already reads {event.value!r}.")
    return Decision(reason("minor-correction"), event.corrected_on, (corrected,))


def _same(a: ResidentRecord, b: ResidentRecord) -> bool:
    return replace(a, version=b.version) == b


def _code_change(event: CodeChange, view: RegisterView, alloc: Allocator, today: date) -> Decision:
    checks.not_future(event.changed_on, today, "date of the change")
    checks.notified_after(event.notified_on, event.changed_on, today)
    person = _resident(view, event.resident_code)
    changed = person.evolve("code-change", event.changed_on, resident_code=alloc.resident_code())
    return Decision(
        reason("code-change"),
        event.changed_on,
        (changed,),
        retired_codes=(person.resident_code,),
    )
