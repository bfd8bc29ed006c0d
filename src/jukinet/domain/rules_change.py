"""Rules of the correction family (修正): move within the municipality, name change,
household split, merge and change of head, minor correction, resident code change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date

from jukinet.domain import checks
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.decision import (
    Allocator,
    Decision,
    RegisterView,
    current_resident,
    distinct,
    live_household,
    one_household,
)
from jukinet.domain.events import (
    CodeChange,
    HeadChange,
    HouseholdMerge,
    HouseholdSplit,
    MinorCorrection,
    MoveWithin,
    NameChange,
)
from jukinet.domain.reasons import reason
from jukinet.domain.record import HEAD, Household, ResidentRecord
from jukinet.errors import EventRefused


def move_within(event: MoveWithin, view: RegisterView, today: date) -> Decision:
    checks.address_in(event.address, view.municipality_code)
    checks.not_future(event.moved_on, today, "date of moving")
    checks.notified_after(event.notified_on, event.moved_on, today)
    household = live_household(view, event.household_id)
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


def name_change(event: NameChange, view: RegisterView, today: date) -> Decision:
    checks.name(event.name)
    checks.not_future(event.changed_on, today, "date of the change")
    checks.notified_after(event.notified_on, event.changed_on, today)
    person = current_resident(view, event.resident_code)
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


def split(event: HouseholdSplit, view: RegisterView, alloc: Allocator, today: date) -> Decision:
    distinct(event.persons)
    checks.not_future(event.split_on, today, "date of the split")
    checks.notified_after(event.notified_on, event.split_on, today)
    leaving = [current_resident(view, c) for c in event.persons]
    household = live_household(view, one_household(leaving))
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


def merge(event: HouseholdMerge, view: RegisterView, today: date) -> Decision:
    checks.not_future(event.merged_on, today, "date of the merge")
    checks.notified_after(event.notified_on, event.merged_on, today)
    if event.from_household == event.into_household:
        raise EventRefused("A household cannot merge into itself.")
    source = live_household(view, event.from_household)
    target = live_household(view, event.into_household)
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


def head_change(event: HeadChange, view: RegisterView, today: date) -> Decision:
    checks.not_future(event.changed_on, today, "date of the change")
    checks.notified_after(event.notified_on, event.changed_on, today)
    household = live_household(view, event.household_id)
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


def correction(event: MinorCorrection, view: RegisterView, today: date) -> Decision:
    checks.not_future(event.corrected_on, today, "date of the correction")
    if not event.reason.strip():
        raise EventRefused("A correction needs its reason in words.")
    person = current_resident(view, event.resident_code)
    changes = checks.correction(person, event.field, event.value, today)
    corrected = person.evolve("minor-correction", event.corrected_on, **changes)
    if corrected.version == person.version + 1 and _same(corrected, person):
        raise EventRefused(f"The {event.field.replace('_', ' ')} already reads {event.value!r}.")
    return Decision(reason("minor-correction"), event.corrected_on, (corrected,))


def _same(a: ResidentRecord, b: ResidentRecord) -> bool:
    return replace(a, version=b.version) == b


def code_change(event: CodeChange, view: RegisterView, alloc: Allocator, today: date) -> Decision:
    checks.not_future(event.changed_on, today, "date of the change")
    checks.notified_after(event.notified_on, event.changed_on, today)
    person = current_resident(view, event.resident_code)
    changed = person.evolve("code-change", event.changed_on, resident_code=alloc.resident_code())
    return Decision(
        reason("code-change"),
        event.changed_on,
        (changed,),
        retired_codes=(person.resident_code,),
    )
