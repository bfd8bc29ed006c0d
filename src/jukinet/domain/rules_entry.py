"""Rules of the entry family (記載): birth, move-in from abroad, domestic move-in."""

from __future__ import annotations

from datetime import date

from jukinet.domain import checks
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.decision import (
    Allocator,
    Decision,
    RegisterView,
    current_resident,
    live_household,
)
from jukinet.domain.events import Birth, DomesticMoveIn, MoveInFromAbroad
from jukinet.domain.reasons import reason
from jukinet.domain.record import HEAD, Household, ResidentRecord
from jukinet.errors import EventRefused


def birth(event: Birth, view: RegisterView, alloc: Allocator, today: date) -> Decision:
    checks.name(event.name)
    checks.relationship(event.relationship, allow_head=False)
    checks.not_future(event.date_of_birth, today, "date of birth")
    checks.notified_after(event.notified_on, event.date_of_birth, today)
    parent = current_resident(view, event.parent_code)
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


def move_in(
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
        household = live_household(view, event.join_household)
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
