"""Removals (消除) at the window: move-out (domestic and abroad) and death.

A removed record (除票) is never deleted: it stays readable with its removal
reason and date, and its history keeps every version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from jukinet.domain import events as ev
from jukinet.domain.access import Session
from jukinet.domain.record import HEAD, Status
from jukinet.errors import (
    EventRefused,
    InvalidDate,
    InvalidResidentCode,
    ResidentNotFound,
    RoleNotAllowed,
)
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.store import RegisterStore
from tests.helpers import KANDA, TODAY, arrival, counts, last_audit, person
from tests.integration.conftest import (
    RECENT,
    SETTLED,
    UMEDA,
    UNKNOWN,
    Family,
    Refusal,
    delta,
    misspelt,
)

DESTINATION = UMEDA.text


def move_out(*codes: str, abroad: bool = False, new_head: str | None = None) -> ev.MoveOut:
    where = "フランス共和国パリ市" if abroad else DESTINATION
    return ev.MoveOut(codes, where, abroad, RECENT, RECENT, new_head)


def death(code: str, new_head: str | None = None) -> ev.Death:
    return ev.Death(code, RECENT, RECENT, new_head)


# --- move-out --------------------------------------------------------------------


def test_a_household_moving_out_is_removed_and_dissolved(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    receipt = service.record_event(store, clerk, move_out(*family.codes), TODAY)
    assert (receipt.kind, receipt.reason) == ("move-out", "move-out")
    assert [r.resident_code for r in receipt.records] == list(family.codes)

    for code in family.codes:  # 除票: still readable, with reason, date and destination
        removed = service.show_resident(store, clerk, code)
        assert removed.status is Status.REMOVED
        assert (removed.removal_reason, removed.removal_date, removed.destination) == (
            "move-out",
            RECENT,
            DESTINATION,
        )
        assert (removed.identity().change_reason, removed.identity().change_date) == (
            "move-out",
            RECENT,
        )
    view = service.show_household(store, clerk, family.household_id)
    assert (view.household.dissolved_on, view.household.head_person_id) == (RECENT, None)
    assert view.members == ()
    history = service.resident_history(store, clerk, family.head.resident_code)
    assert [(v.reason, v.record.status) for v in history] == [
        ("move-in-abroad", Status.RESIDENT),
        ("move-out", Status.REMOVED),
    ]
    assert history[0].record == family.head


def test_members_moving_abroad_leave_the_head_in_the_household(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    event = move_out(family.spouse.resident_code, family.child.resident_code, abroad=True)
    receipt = service.record_event(store, clerk, event, TODAY)
    assert receipt.reason == "move-out-abroad"
    for code in event.persons:
        removed = service.show_resident(store, clerk, code)
        assert (removed.status, removed.removal_reason) == (Status.REMOVED, "move-out-abroad")
        assert removed.destination == "フランス共和国パリ市"
    view = service.show_household(store, clerk, family.household_id)
    assert view.household.head_person_id == family.head.person_id
    assert view.household.dissolved_on is None
    assert view.members == (family.head,)


def test_the_head_moving_out_hands_the_household_to_the_named_new_head(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    event = move_out(family.head.resident_code, new_head=family.spouse.resident_code)
    receipt = service.record_event(store, clerk, event, TODAY)
    assert [r.resident_code for r in receipt.records] == [
        family.head.resident_code,
        family.spouse.resident_code,
    ]
    view = service.show_household(store, clerk, family.household_id)
    assert view.household.head_person_id == family.spouse.person_id
    assert [(m.name.given, m.relationship) for m in view.members] == [
        ("花子", HEAD),
        ("一郎", "子"),
    ]
    assert service.show_resident(store, clerk, family.head.resident_code).status is Status.REMOVED
    history = service.resident_history(store, clerk, family.spouse.resident_code)
    assert [(v.reason, v.record.relationship) for v in history] == [
        ("move-in-abroad", "妻"),
        ("move-out", HEAD),
    ]


def test_a_move_out_may_be_notified_up_to_14_days_before_the_planned_date(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    planned = TODAY + timedelta(days=14)
    event = replace(move_out(family.child.resident_code), moved_on=planned, notified_on=TODAY)
    service.record_event(store, clerk, event, TODAY)
    removed = service.show_resident(store, clerk, family.child.resident_code)
    assert (removed.removal_date, removed.notified_on) == (planned, TODAY)


def test_a_move_out_more_than_14_days_ahead_is_refused(refused: Refusal, family: Family) -> None:
    event = replace(
        move_out(family.child.resident_code),
        moved_on=TODAY + timedelta(days=15),
        notified_on=TODAY,
    )
    refused(event, EventRefused, "at most 14 days before the planned date")


def test_a_move_out_of_a_non_resident_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    code = family.child.resident_code
    service.record_event(store, clerk, move_out(code, abroad=True), TODAY)
    refused(move_out(code), EventRefused, f"{code} is no longer a resident (removed on {RECENT}")


def test_a_move_out_of_an_unknown_person_is_refused(refused: Refusal, family: Family) -> None:
    refused(move_out(UNKNOWN), ResidentNotFound, "No resident of this municipality holds code")


def test_a_move_out_with_a_wrong_check_digit_is_refused(refused: Refusal, family: Family) -> None:
    refused(move_out(misspelt(family.child.resident_code)), InvalidResidentCode, "check digit")


def test_a_move_out_naming_no_person_is_refused(refused: Refusal) -> None:
    refused(move_out(), EventRefused, "The event names no person")


def test_a_move_out_naming_a_person_twice_is_refused(refused: Refusal, family: Family) -> None:
    code = family.child.resident_code
    refused(move_out(code, code), EventRefused, "The same person is named twice")


def test_a_move_out_notified_in_the_future_is_refused(refused: Refusal, family: Family) -> None:
    event = replace(move_out(family.child.resident_code), notified_on=TODAY + timedelta(days=1))
    refused(event, InvalidDate, "notification date")


def test_a_move_out_without_destination_is_refused(refused: Refusal, family: Family) -> None:
    event = replace(move_out(family.child.resident_code), destination="  ")
    refused(event, EventRefused, "needs the destination (転出先)")


def test_a_move_out_of_persons_of_different_households_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    neighbour = service.record_event(
        store,
        clerk,
        arrival(person("健", "ケン", family="鈴木", fk="スズキ"), address=KANDA),
        TODAY,
    ).records[0]
    event = move_out(family.child.resident_code, neighbour.resident_code)
    refused(event, EventRefused, "must belong to the same household")


def test_a_move_out_before_settling_at_the_address_is_refused(
    refused: Refusal, family: Family
) -> None:
    event = replace(move_out(family.child.resident_code), moved_on=SETTLED - timedelta(days=1))
    refused(event, EventRefused, f"cannot move out before settling at the address ({SETTLED})")


def test_the_head_leaving_without_naming_a_new_head_is_refused(
    refused: Refusal, family: Family
) -> None:
    event = move_out(family.head.resident_code)
    refused(event, EventRefused, "name the new head of household")


def test_naming_a_new_head_while_the_head_stays_is_refused(
    refused: Refusal, family: Family
) -> None:
    event = move_out(family.child.resident_code, new_head=family.spouse.resident_code)
    refused(event, EventRefused, "The head of household stays")


def test_naming_a_new_head_when_nobody_stays_is_refused(refused: Refusal, family: Family) -> None:
    event = move_out(*family.codes, new_head=family.spouse.resident_code)
    refused(event, EventRefused, "Nobody stays in the household")


def test_a_new_head_who_leaves_too_is_refused(refused: Refusal, family: Family) -> None:
    leaving = (family.head.resident_code, family.spouse.resident_code)
    event = move_out(*leaving, new_head=family.spouse.resident_code)
    refused(event, EventRefused, "is not a member who stays in the household")


# --- death -----------------------------------------------------------------------


def test_a_death_removes_the_record_which_stays_readable(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    died = RECENT - timedelta(days=3)
    event = ev.Death(family.spouse.resident_code, died, RECENT)
    receipt = service.record_event(store, clerk, event, TODAY)
    assert (receipt.kind, receipt.reason) == ("death", "death")
    removed = service.show_resident(store, clerk, family.spouse.resident_code)
    assert removed.status is Status.REMOVED
    assert (removed.removal_reason, removed.removal_date) == ("death", died)
    assert (removed.identity().change_reason, removed.identity().change_date) == ("death", died)
    assert (removed.household_id, removed.address) == (family.household_id, family.spouse.address)
    view = service.show_household(store, clerk, family.household_id)
    assert view.household.head_person_id == family.head.person_id
    assert view.members == (family.head, family.child)
    history = service.resident_history(store, clerk, family.spouse.resident_code)
    assert [(v.kind, v.reason) for v in history] == [
        ("move-in-abroad", "move-in-abroad"),
        ("death", "death"),
    ]


def test_the_death_of_the_head_hands_the_household_to_the_named_new_head(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    event = death(family.head.resident_code, new_head=family.spouse.resident_code)
    service.record_event(store, clerk, event, TODAY)
    view = service.show_household(store, clerk, family.household_id)
    assert view.household.head_person_id == family.spouse.person_id
    assert [(m.name.given, m.relationship) for m in view.members] == [
        ("花子", HEAD),
        ("一郎", "子"),
    ]


def test_the_death_of_the_last_member_dissolves_the_household(
    store: RegisterStore, clerk: Session
) -> None:
    alone = service.record_event(store, clerk, arrival(), TODAY).records[0]
    service.record_event(store, clerk, death(alone.resident_code), TODAY)
    view = service.show_household(store, clerk, alone.household_id)
    assert (view.household.dissolved_on, view.household.head_person_id) == (RECENT, None)
    assert view.members == ()


def test_the_death_of_a_removed_person_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    code = family.child.resident_code
    service.record_event(store, clerk, death(code), TODAY)
    refused(death(code), EventRefused, f"removed on {RECENT}: 死亡")


def test_the_death_of_an_unknown_person_is_refused(refused: Refusal, family: Family) -> None:
    refused(death(UNKNOWN), ResidentNotFound, f"holds code {UNKNOWN}")


def test_a_death_in_the_future_is_refused(refused: Refusal, family: Family) -> None:
    event = replace(death(family.child.resident_code), died_on=TODAY + timedelta(days=1))
    refused(event, InvalidDate, "The date of death")


def test_a_death_notified_before_it_happened_is_refused(refused: Refusal, family: Family) -> None:
    event = replace(death(family.child.resident_code), notified_on=RECENT - timedelta(days=1))
    refused(event, InvalidDate, "cannot precede the event")


def test_a_death_before_birth_is_refused(refused: Refusal, family: Family) -> None:
    born = family.child.date_of_birth
    event = ev.Death(family.child.resident_code, born - timedelta(days=1), RECENT)
    refused(event, EventRefused, "The date of death is before the date of birth")


def test_the_death_of_the_head_without_naming_a_new_head_is_refused(
    refused: Refusal, family: Family
) -> None:
    refused(death(family.head.resident_code), EventRefused, "name the new head of household")


def test_naming_a_new_head_when_a_member_dies_is_refused(refused: Refusal, family: Family) -> None:
    event = death(family.child.resident_code, new_head=family.spouse.resident_code)
    refused(event, EventRefused, "The head of household stays")


def test_a_death_before_becoming_resident_is_refused(refused: Refusal, family: Family) -> None:
    before = SETTLED - timedelta(days=1)
    refused(ev.Death(family.child.resident_code, before, RECENT), EventRefused, str(SETTLED))


# --- every removal: roles and audit ------------------------------------------------

REMOVALS: dict[str, Callable[[Family], ev.Event]] = {
    "move-out": lambda f: move_out(f.child.resident_code),
    "move-out-abroad": lambda f: move_out(f.child.resident_code, abroad=True),
    "death": lambda f: death(f.child.resident_code),
}


@pytest.mark.parametrize("role", ["auditor", "admin"])
@pytest.mark.parametrize("case", REMOVALS)
def test_auditors_and_administrators_record_no_removal(
    request: pytest.FixtureRequest, refused: Refusal, family: Family, case: str, role: str
) -> None:
    """Separation of duties (R10–R12): only window staff record events."""
    session: Session = request.getfixturevalue(role)
    refused(REMOVALS[case](family), RoleNotAllowed, "may not record an event", by=session)


@pytest.mark.parametrize("case", REMOVALS)
def test_every_removal_leaves_one_audit_entry_and_a_history_row_per_record(
    store: RegisterStore, clerk: Session, family: Family, case: str
) -> None:
    """R12: one event row, one audit entry naming the subject, one history row."""
    before = counts(store)
    receipt = service.record_event(store, clerk, REMOVALS[case](family), TODAY)
    assert delta(before, counts(store)) == {"events": 1, "record_history": 1, "audit_log": 1}
    (entry,) = last_audit(store)
    kind = receipt.kind
    assert (entry.outcome, entry.operation, entry.target) == (
        "ok",
        f"event.{kind}",
        family.child.resident_code,
    )
    assert entry.detail == f"event {receipt.event_id} ({case})"


def test_a_removal_that_re_heads_the_household_writes_both_records_and_the_household(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    """R12: the leaving head and the new head each get a history row; the household one."""
    before = counts(store)
    event = move_out(family.head.resident_code, new_head=family.spouse.resident_code)
    service.record_event(store, clerk, event, TODAY)
    assert delta(before, counts(store)) == {
        "events": 1,
        "record_history": 2,
        "household_history": 1,
        "audit_log": 1,
    }
