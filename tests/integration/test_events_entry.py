"""Entries (記載) at the window: birth, move-in from abroad, domestic move-in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

import pytest

from jukinet.domain import events as ev
from jukinet.domain.access import Session
from jukinet.domain.codes import LocalGovernmentCode, parse_resident_code
from jukinet.domain.identity import Sex
from jukinet.domain.record import HEAD, Address, Name, Status
from jukinet.errors import (
    EventRefused,
    HouseholdNotFound,
    InvalidDate,
    InvalidInput,
    InvalidLocalGovernmentCode,
    InvalidResidentCode,
    ResidentNotFound,
    RoleNotAllowed,
)
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.store import RegisterStore
from tests.helpers import KANDA, MARUNOUCHI, TODAY, arrival, counts, last_audit, name, person
from tests.integration.conftest import (
    OSAKA,
    RECENT,
    SETTLED,
    UMEDA,
    UNKNOWN,
    Family,
    Refusal,
    delta,
    misspelt,
    well_formed,
)

# Codes carried on move-out certificates from Osaka (another municipality's pool).
CERTIFIED = (well_formed("5550001111"), well_formed("5550002222"))


def baby(parent: str, born: date = RECENT, **changes: object) -> ev.Birth:
    b = ev.Birth(parent, name(given="次郎", gk="ジロウ"), Sex.MALE, born, born)
    return replace(b, **changes)  # type: ignore[arg-type]


def certificate(
    *people: ev.NewPerson, address: Address = KANDA, issuer: str = OSAKA, join: int | None = None
) -> ev.DomesticMoveIn:
    return ev.DomesticMoveIn(
        people or (person(family="佐藤", fk="サトウ", code=CERTIFIED[0]),),
        address, UMEDA.text, issuer, RECENT, RECENT, join,
    )  # fmt: skip


# --- birth ---------------------------------------------------------------------


def test_a_birth_enters_the_child_in_the_parents_household_at_their_address(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    receipt = service.record_event(store, clerk, baby(family.spouse.resident_code), TODAY)
    assert (receipt.kind, receipt.reason, receipt.retired_codes) == ("birth", "birth", ())
    (child,) = receipt.records
    assert parse_resident_code(child.resident_code) not in family.codes

    shown = service.show_resident(store, clerk, child.resident_code)
    assert shown == child
    assert shown.status is Status.RESIDENT
    assert (shown.household_id, shown.relationship) == (family.household_id, "子")
    assert shown.address == MARUNOUCHI
    assert (shown.domicile, shown.domicile_head) == (
        family.spouse.domicile,
        family.spouse.domicile_head,
    )
    assert (shown.entry_reason, shown.entry_date, shown.became_resident_on) == (
        "birth",
        RECENT,
        RECENT,
    )
    identity = shown.identity()  # R1: what would leave the municipality
    assert (identity.name, identity.date_of_birth, identity.sex) == ("山田 次郎", RECENT, Sex.MALE)
    assert (identity.address, identity.change_reason, identity.change_date) == (
        MARUNOUCHI.text,
        "birth",
        RECENT,
    )

    household = service.show_household(store, clerk, family.household_id)
    assert household.household.head_person_id == family.head.person_id
    assert [m.name.given for m in household.members] == ["太郎", "花子", "一郎", "次郎"]
    (version,) = service.resident_history(store, clerk, child.resident_code)
    assert (version.kind, version.reason, version.record) == ("birth", "birth", child)


def test_a_birth_draws_a_new_code_from_the_pool(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    """R6: the newborn's code is an unused code of the municipality's pool."""
    before = counts(store)
    service.record_event(store, clerk, baby(family.head.resident_code), TODAY)
    assert counts(store)["unused_codes"] == before["unused_codes"] - 1


def test_a_birth_in_the_future_is_refused(refused: Refusal, family: Family) -> None:
    refused(baby(family.head.resident_code, TODAY + timedelta(days=1)), InvalidDate, "future")


def test_a_birth_notified_before_it_happened_is_refused(refused: Refusal, family: Family) -> None:
    event = baby(family.head.resident_code, notified_on=RECENT - timedelta(days=1))
    refused(event, InvalidDate, "cannot precede the event")


def test_a_birth_notified_in_the_future_is_refused(refused: Refusal, family: Family) -> None:
    event = baby(family.head.resident_code, notified_on=TODAY + timedelta(days=1))
    refused(event, InvalidDate, "notification date")


def test_a_birth_to_an_unknown_parent_is_refused(refused: Refusal, family: Family) -> None:
    refused(
        baby(UNKNOWN), ResidentNotFound, f"No resident of this municipality holds code {UNKNOWN}"
    )


def test_a_birth_to_a_parent_with_a_wrong_check_digit_is_refused(
    refused: Refusal, family: Family
) -> None:
    refused(baby(misspelt(family.head.resident_code)), InvalidResidentCode, "wrong check digit")


def test_a_birth_to_a_parent_who_is_no_longer_resident_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    code = family.spouse.resident_code
    service.record_event(store, clerk, ev.Death(code, RECENT, RECENT, None), TODAY)
    refused(baby(code, TODAY), EventRefused, "no longer a resident (removed on")


def test_a_child_born_before_the_parent_is_refused(refused: Refusal, family: Family) -> None:
    event = baby(family.child.resident_code, family.child.date_of_birth - timedelta(days=1))
    refused(event, EventRefused, "cannot be born before the parent")


def test_a_newborn_cannot_be_recorded_as_head_of_household(
    refused: Refusal, family: Family
) -> None:
    event = baby(family.head.resident_code, relationship=HEAD)
    refused(event, EventRefused, "Only the head of household is recorded as 世帯主")


def test_a_birth_with_an_unknown_relationship_is_refused(refused: Refusal, family: Family) -> None:
    event = baby(family.head.resident_code, relationship="息子")
    refused(event, InvalidInput, "is not a relationship (続柄) the register knows")


@pytest.mark.parametrize(
    ("bad", "phrase"),
    [
        (name(given="  "), "The given name is empty"),
        (name(family="山" * 41), "longer than 40 characters"),
        (name(given="次\u200b郎"), "cannot be recorded"),
        (name(gk="じろう"), "must be written in full-width katakana"),
        (name(fk="yamada"), "must be written in full-width katakana"),
    ],
    ids=["empty", "too-long", "invisible-character", "hiragana-reading", "latin-reading"],
)
def test_a_birth_with_a_name_the_register_cannot_hold_is_refused(
    refused: Refusal, family: Family, bad: Name, phrase: str
) -> None:
    refused(baby(family.head.resident_code, name=bad), InvalidInput, phrase)


# --- move-in from abroad -------------------------------------------------------


def test_a_move_in_from_abroad_forms_a_household_headed_by_its_first_person(
    store: RegisterStore, clerk: Session
) -> None:
    event = arrival(
        person(),
        person("花子", "ハナコ", born=date(1982, 3, 3), sex=Sex.FEMALE, relationship="妻"),
        address=KANDA,
    )
    receipt = service.record_event(store, clerk, event, TODAY)
    assert (receipt.kind, receipt.reason) == ("move-in-abroad", "move-in-abroad")
    head, wife = receipt.records
    assert len({parse_resident_code(head.resident_code), wife.resident_code}) == 2

    view = service.show_household(store, clerk, head.household_id)
    assert view.household.head_person_id == head.person_id
    assert view.household.address == KANDA
    assert view.members == (head, wife)
    shown = service.show_resident(store, clerk, wife.resident_code)
    assert (shown.relationship, shown.address, shown.sex) == ("妻", KANDA, Sex.FEMALE)
    assert shown.previous_address == "アメリカ合衆国カリフォルニア州"
    assert (shown.became_resident_on, shown.address_fixed_on, shown.notified_on) == (
        SETTLED,
        SETTLED,
        SETTLED,
    )
    assert (shown.identity().change_reason, shown.identity().change_date) == (
        "move-in-abroad",
        SETTLED,
    )
    assert [v.reason for v in service.resident_history(store, clerk, head.resident_code)] == [
        "move-in-abroad"
    ]


def test_a_move_in_from_abroad_can_join_a_household_at_its_address(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    grandmother = person("梅", "ウメ", born=date(1950, 1, 1), sex=Sex.FEMALE, relationship="母")
    receipt = service.record_event(
        store, clerk, arrival(grandmother, moved=RECENT, join=family.household_id), TODAY
    )
    (joined,) = receipt.records
    assert (joined.household_id, joined.relationship) == (family.household_id, "母")
    view = service.show_household(store, clerk, family.household_id)
    assert view.household.head_person_id == family.head.person_id
    assert len(view.members) == 4


def test_a_person_who_moved_abroad_comes_back_under_the_same_code(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    """The removed record lives on: the same person, the same code, one history (R6)."""
    code = family.spouse.resident_code
    service.record_event(
        store, clerk, ev.MoveOut((code,), "フランス共和国パリ市", True, RECENT, RECENT), TODAY
    )
    returning = person("花子", "ハナコ", born=date(1982, 3, 3), sex=Sex.FEMALE, code=code)
    before = counts(store)
    receipt = service.record_event(store, clerk, arrival(returning, moved=TODAY), TODAY)

    (back,) = receipt.records
    assert (back.person_id, back.resident_code) == (family.spouse.person_id, code)
    assert counts(store)["unused_codes"] == before["unused_codes"]
    shown = service.show_resident(store, clerk, code)
    assert shown.status is Status.RESIDENT
    assert (shown.removal_reason, shown.removal_date, shown.destination) == (None, None, "")
    assert shown.household_id != family.household_id
    assert shown.relationship == HEAD
    history = service.resident_history(store, clerk, code)
    assert [(v.reason, v.record.status) for v in history] == [
        ("move-in-abroad", Status.RESIDENT),
        ("move-out-abroad", Status.REMOVED),
        ("move-in-abroad", Status.RESIDENT),
    ]


def test_a_move_in_at_an_address_in_another_municipality_is_refused(refused: Refusal) -> None:
    refused(arrival(address=UMEDA), EventRefused, f"lies in municipality {OSAKA}")


def test_a_move_in_at_an_address_with_a_malformed_municipality_code_is_refused(
    refused: Refusal,
) -> None:
    bad = replace(MARUNOUCHI, municipality_code=LocalGovernmentCode("131017"))
    refused(arrival(address=bad), InvalidLocalGovernmentCode, "wrong check digit")


def test_a_move_in_at_an_address_without_block_number_is_refused(refused: Refusal) -> None:
    refused(arrival(address=replace(MARUNOUCHI, block=" ")), InvalidInput, "block number")


def test_a_move_in_dated_in_the_future_is_refused(refused: Refusal) -> None:
    refused(arrival(moved=TODAY + timedelta(days=1)), InvalidDate, "date of moving in")


def test_a_move_in_notified_before_the_move_is_refused(refused: Refusal) -> None:
    event = replace(arrival(), notified_on=SETTLED - timedelta(days=1))
    refused(event, InvalidDate, "cannot precede the event")


def test_a_move_in_naming_no_person_is_refused(refused: Refusal) -> None:
    refused(replace(arrival(), persons=()), EventRefused, "names no person")


def test_a_new_household_whose_first_person_is_not_its_head_is_refused(refused: Refusal) -> None:
    refused(arrival(person(relationship="子")), EventRefused, "must be its head (世帯主)")


def test_a_second_head_of_household_is_refused(refused: Refusal) -> None:
    event = arrival(person(), person("次郎", "ジロウ", relationship=HEAD))
    refused(event, EventRefused, "Only the head of household is recorded as 世帯主")


def test_a_move_in_with_an_unknown_relationship_is_refused(refused: Refusal) -> None:
    event = arrival(person(), person("次郎", "ジロウ", relationship="友人"))
    refused(event, InvalidInput, "'友人' is not a relationship")


def test_a_move_in_with_a_reading_not_in_katakana_is_refused(refused: Refusal) -> None:
    refused(arrival(person(gk="たろう")), InvalidInput, "full-width katakana; got 'たろう'")


def test_a_move_in_of_a_person_born_in_the_future_is_refused(refused: Refusal) -> None:
    refused(arrival(person(born=TODAY + timedelta(days=1))), InvalidDate, "date of birth")


def test_a_move_in_before_being_born_is_refused(refused: Refusal) -> None:
    event = arrival(person(born=SETTLED + timedelta(days=1)))
    refused(event, EventRefused, "山田 太郎 cannot move in before being born")


def test_joining_an_unknown_household_is_refused(refused: Refusal) -> None:
    event = arrival(person(relationship="子"), join=999)
    refused(event, HouseholdNotFound, "There is no household number 999")


def test_joining_a_household_at_another_address_is_refused(
    refused: Refusal, family: Family
) -> None:
    event = arrival(
        person("次郎", "ジロウ", relationship="子"), address=KANDA, join=family.household_id
    )
    refused(event, EventRefused, "people joining it move in at that address")


def test_joining_a_dissolved_household_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    service.record_event(
        store, clerk, ev.MoveOut(family.codes, UMEDA.text, False, RECENT, RECENT), TODAY
    )
    event = arrival(person("次郎", "ジロウ", relationship="子"), join=family.household_id)
    refused(event, EventRefused, f"Household {family.household_id} no longer exists")


def test_a_move_in_of_a_person_already_resident_is_refused(
    refused: Refusal, family: Family
) -> None:
    event = arrival(person(code=family.head.resident_code), address=KANDA)
    refused(event, EventRefused, f"(code {family.head.resident_code}) is already a resident here")


def test_a_move_in_naming_the_same_code_twice_is_refused(refused: Refusal) -> None:
    code = CERTIFIED[0]
    event = arrival(person(code=code), person("次郎", "ジロウ", relationship="子", code=code))
    refused(event, EventRefused, f"Resident code {code} is named twice")


def test_a_move_in_with_a_wrong_check_digit_is_refused(refused: Refusal) -> None:
    refused(arrival(person(code=misspelt(CERTIFIED[0]))), InvalidResidentCode, "wrong check digit")


def test_a_move_in_presenting_the_code_of_a_dead_person_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    code = family.spouse.resident_code
    service.record_event(store, clerk, ev.Death(code, RECENT, RECENT, None), TODAY)
    dead = person("花子", "ハナコ", born=date(1982, 3, 3), sex=Sex.FEMALE, code=code)
    refused(certificate(dead), EventRefused, code)


def test_moving_back_before_the_day_of_moving_out_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    code = family.spouse.resident_code
    service.record_event(store, clerk, ev.MoveOut((code,), "パリ", True, RECENT, RECENT), TODAY)
    back = person("花子", "ハナコ", born=date(1982, 3, 3), sex=Sex.FEMALE, code=code)
    refused(arrival(back, moved=RECENT - timedelta(days=5)), EventRefused, str(RECENT))


# --- domestic move-in ------------------------------------------------------------


def test_a_domestic_move_in_keeps_the_codes_of_the_certificate(
    store: RegisterStore, clerk: Session
) -> None:
    """The code follows the person across municipalities; none is drawn here (R6, R21)."""
    wife = person("美咲", "ミサキ", family="佐藤", fk="サトウ", sex=Sex.FEMALE, relationship="妻")
    event = certificate(
        person(family="佐藤", fk="サトウ", code=CERTIFIED[0]),
        replace(wife, resident_code=CERTIFIED[1]),
    )
    before = counts(store)
    receipt = service.record_event(store, clerk, event, TODAY)
    assert (receipt.kind, receipt.reason) == ("move-in", "move-in")
    assert [r.resident_code for r in receipt.records] == list(CERTIFIED)
    assert counts(store)["unused_codes"] == before["unused_codes"]

    shown = service.show_resident(store, clerk, CERTIFIED[1])
    assert (shown.name.full, shown.relationship, shown.address) == ("佐藤 美咲", "妻", KANDA)
    assert (shown.entry_reason, shown.entry_date, shown.previous_address) == (
        "move-in",
        RECENT,
        UMEDA.text,
    )
    assert shown.identity().change_reason == "move-in"
    view = service.show_household(store, clerk, shown.household_id)
    assert [m.resident_code for m in view.members] == list(CERTIFIED)
    history = service.resident_history(store, clerk, CERTIFIED[0])
    assert [(v.kind, v.reason) for v in history] == [("move-in", "move-in")]


def test_a_domestic_move_in_without_the_resident_code_is_refused(refused: Refusal) -> None:
    refused(certificate(person()), EventRefused, "always carries the resident code")


def test_a_move_in_certificate_issued_by_this_municipality_is_refused(refused: Refusal) -> None:
    event = certificate(issuer=MARUNOUCHI.municipality_code)
    refused(event, EventRefused, "comes from another municipality")


def test_a_move_in_certificate_with_a_malformed_issuer_is_refused(refused: Refusal) -> None:
    refused(certificate(issuer="27100"), InvalidLocalGovernmentCode, "exactly 6 digits")


def test_a_domestic_move_in_presenting_a_retired_code_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    """R6: a code retired at the holder's request is never used again."""
    old = family.child.resident_code
    service.record_event(store, clerk, ev.CodeChange(old, RECENT, RECENT), TODAY)
    event = certificate(person("一郎", "イチロウ", born=date(2010, 4, 4), code=old))
    refused(event, EventRefused, f"Resident code {old} was retired and cannot be used")


def test_a_domestic_move_in_of_a_resident_is_refused(refused: Refusal, family: Family) -> None:
    event = certificate(person(code=family.head.resident_code))
    refused(event, EventRefused, "is already a resident here")


# --- every entry: roles and audit ------------------------------------------------

ENTRIES: dict[str, Callable[[Family], ev.Event]] = {
    "birth": lambda f: baby(f.head.resident_code),
    "move-in-abroad": lambda f: arrival(address=KANDA),
    "move-in": lambda f: certificate(),
}


@pytest.mark.parametrize("role", ["auditor", "admin"])
@pytest.mark.parametrize("kind", ENTRIES)
def test_auditors_and_administrators_record_no_entry(
    request: pytest.FixtureRequest, refused: Refusal, family: Family, kind: str, role: str
) -> None:
    """Separation of duties (R10–R12): only window staff record events."""
    session: Session = request.getfixturevalue(role)
    refused(ENTRIES[kind](family), RoleNotAllowed, "may not record an event", by=session)


@pytest.mark.parametrize(
    ("kind", "changed"),
    [
        ("birth", {"persons": 1, "record_history": 1, "unused_codes": -1}),
        (
            "move-in-abroad",
            {
                "persons": 1,
                "record_history": 1,
                "households": 1,
                "household_history": 1,
                "unused_codes": -1,
            },
        ),
        ("move-in", {"persons": 1, "record_history": 1, "households": 1, "household_history": 1}),
    ],
)
def test_every_entry_leaves_one_audit_entry_and_a_history_row_per_record(
    store: RegisterStore, clerk: Session, family: Family, kind: str, changed: dict[str, int]
) -> None:
    """R12: one event row, one audit entry naming the subjects, one history row per record."""
    before = counts(store)
    receipt = service.record_event(store, clerk, ENTRIES[kind](family), TODAY)
    assert delta(before, counts(store)) == {**changed, "events": 1, "audit_log": 1}
    (entry,) = last_audit(store)
    assert (entry.outcome, entry.operation, entry.actor) == ("ok", f"event.{kind}", clerk.actor)
    assert entry.target == ",".join(r.resident_code for r in receipt.records)
    assert entry.detail == f"event {receipt.event_id} ({kind})"
