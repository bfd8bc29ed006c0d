"""Rules of the removal family (消除): move-out (domestic or abroad), death."""

from __future__ import annotations

from datetime import date, timedelta

from jukinet.domain import checks
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.decision import (
    Decision,
    RegisterView,
    current_resident,
    distinct,
    live_household,
    one_household,
)
from jukinet.domain.events import Death, MoveOut
from jukinet.domain.reasons import reason
from jukinet.domain.record import HEAD, Household, ResidentRecord
from jukinet.errors import EventRefused

# A move-out may be notified up to 14 days before the planned date (転出予定日).
MOVE_OUT_NOTICE = timedelta(days=14)


def _new_head_if_needed(
    view: RegisterView, leaving: list[ResidentRecord], new_head: str | None, on: date
) -> tuple[list[ResidentRecord], list[Household]]:
    """Members staying behind, re-headed if the head leaves; the household's new state."""
    household = live_household(view, leaving[0].household_id)
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


def move_out(event: MoveOut, view: RegisterView, today: date) -> Decision:
    distinct(event.persons)
    checks.not_future(event.notified_on, today, "notification date")
    if event.moved_on > event.notified_on + MOVE_OUT_NOTICE:
        raise EventRefused("A move-out is notified at most 14 days before the planned date.")
    if not event.destination.strip():
        raise EventRefused("A move-out needs the destination (転出先).")
    why = "move-out-abroad" if event.abroad else "move-out"
    leaving = [current_resident(view, c) for c in event.persons]
    one_household(leaving)
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


def death(event: Death, view: RegisterView, today: date) -> Decision:
    checks.not_future(event.died_on, today, "date of death")
    checks.notified_after(event.notified_on, event.died_on, today)
    person = current_resident(view, event.resident_code)
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
