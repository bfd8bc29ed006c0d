"""Corrections (修正) at the window: move within, name change, household split and
merge, head change, minor correction and resident code change (R6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

import pytest

from jukinet.domain import events as ev
from jukinet.domain.access import Session
from jukinet.domain.codes import parse_resident_code
from jukinet.domain.identity import Sex
from jukinet.domain.record import HEAD, Address, Name, ResidentRecord, Status
from jukinet.errors import (
    EventRefused,
    HouseholdNotFound,
    InvalidDate,
    InvalidInput,
    ResidentNotFound,
    RoleNotAllowed,
)
from jukinet.nodes.municipality import service
from jukinet.nodes.municipality.store import RegisterStore
from tests.helpers import KANDA, MARUNOUCHI, TODAY, arrival, counts, last_audit, person
from tests.integration.conftest import (
    RECENT,
    SETTLED,
    UMEDA,
    UNKNOWN,
    Family,
    Refusal,
    delta,
)

TOMORROW = TODAY + timedelta(days=1)
DAY_BEFORE = RECENT - timedelta(days=1)
SATO = Name("佐藤", "花子", "サトウ", "ハナコ")


def grandmother(store: RegisterStore, clerk: Session, at: Address = MARUNOUCHI) -> ResidentRecord:
    """山田 梅, heading a household of her own at ``at``."""
    gm = person("梅", "ウメ", born=date(1950, 1, 1), sex=Sex.FEMALE)
    return service.record_event(store, clerk, arrival(gm, address=at), TODAY).records[0]


def dies(store: RegisterStore, clerk: Session, code: str) -> None:
    service.record_event(store, clerk, ev.Death(code, RECENT, RECENT), TODAY)


def split(f: Family, **changes: object) -> ev.HouseholdSplit:
    """The wife and son leave 太郎's household and form one headed by the wife."""
    event = ev.HouseholdSplit(
        (f.spouse.resident_code, f.child.resident_code),
        f.spouse.resident_code,
        {f.child.resident_code: "子"},
        RECENT,
        RECENT,
    )
    return replace(event, **changes)  # type: ignore[arg-type]


def head_change(f: Family, **changes: object) -> ev.HeadChange:
    """The wife becomes head; 太郎 is her husband, 一郎 stays her son."""
    rels: dict[str, str] = {f.head.resident_code: "夫", f.child.resident_code: "子"}
    event = ev.HeadChange(f.household_id, f.spouse.resident_code, RECENT, RECENT, rels)
    return replace(event, **changes)  # type: ignore[arg-type]


def correction(code: str, field: str, value: str, **changes: object) -> ev.MinorCorrection:
    event = ev.MinorCorrection(code, field, value, "entered wrongly at the move-in", RECENT)
    return replace(event, **changes)  # type: ignore[arg-type]


# --- move within (転居) ------------------------------------------------------------


def test_a_household_moving_within_the_town_changes_every_members_address(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    event = ev.MoveWithin(family.household_id, KANDA, RECENT, RECENT)
    receipt = service.record_event(store, clerk, event, TODAY)
    assert (receipt.kind, receipt.reason) == ("move-within", "move-within")
    assert [r.resident_code for r in receipt.records] == list(family.codes)
    for code in family.codes:
        moved = service.show_resident(store, clerk, code)
        assert (moved.address, moved.previous_address) == (KANDA, MARUNOUCHI.text)
        assert (moved.address_fixed_on, moved.notified_on, moved.became_resident_on) == (
            RECENT,
            RECENT,
            SETTLED,
        )
        assert moved.identity().address == KANDA.text
        assert (moved.identity().change_reason, moved.identity().change_date) == (
            "move-within",
            RECENT,
        )
    assert service.show_household(store, clerk, family.household_id).household.address == KANDA
    history = service.resident_history(store, clerk, family.child.resident_code)
    assert [(v.reason, v.record.address) for v in history] == [
        ("move-in-abroad", MARUNOUCHI),
        ("move-within", KANDA),
    ]


def test_a_move_within_to_the_current_address_is_refused(refused: Refusal, family: Family) -> None:
    event = ev.MoveWithin(family.household_id, MARUNOUCHI, RECENT, RECENT)
    refused(event, EventRefused, "already lives at this address")


def test_a_move_within_to_another_municipality_is_refused(refused: Refusal, family: Family) -> None:
    event = ev.MoveWithin(family.household_id, UMEDA, RECENT, RECENT)
    refused(event, EventRefused, "not in this one (131016)")


def test_a_move_within_of_an_unknown_household_is_refused(refused: Refusal, family: Family) -> None:
    refused(ev.MoveWithin(999, KANDA, RECENT, RECENT), HouseholdNotFound, "no household number 999")


def test_a_move_within_of_a_dissolved_household_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal
) -> None:
    gm = grandmother(store, clerk)
    dies(store, clerk, gm.resident_code)
    event = ev.MoveWithin(gm.household_id, KANDA, RECENT, RECENT)
    refused(event, EventRefused, f"dissolved on {RECENT}")


def test_a_move_within_before_settling_at_the_address_is_refused(
    refused: Refusal, family: Family
) -> None:
    before = SETTLED - timedelta(days=1)
    event = ev.MoveWithin(family.household_id, KANDA, before, RECENT)
    refused(event, EventRefused, f"settled at the current address on {SETTLED}")


def test_a_move_within_in_the_future_is_refused(refused: Refusal, family: Family) -> None:
    event = ev.MoveWithin(family.household_id, KANDA, TOMORROW, TOMORROW)
    refused(event, InvalidDate, "The date of moving")


def test_a_move_within_notified_before_the_move_is_refused(
    refused: Refusal, family: Family
) -> None:
    event = ev.MoveWithin(family.household_id, KANDA, RECENT, DAY_BEFORE)
    refused(event, InvalidDate, "cannot precede the event")


# --- name change -------------------------------------------------------------------


def test_a_name_change_changes_the_identity_information(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    """R1: the name is identity information, so its change reason and date move too."""
    code = family.spouse.resident_code
    receipt = service.record_event(store, clerk, ev.NameChange(code, SATO, RECENT, RECENT), TODAY)
    assert (receipt.kind, receipt.reason) == ("name-change", "name-change")
    shown = service.show_resident(store, clerk, code)
    assert (shown.name, shown.household_id, shown.relationship) == (SATO, family.household_id, "妻")
    identity = shown.identity()
    assert (identity.name, identity.change_reason, identity.change_date) == (
        "佐藤 花子",
        "name-change",
        RECENT,
    )
    history = service.resident_history(store, clerk, code)
    assert [(v.reason, v.record.name.full) for v in history] == [
        ("move-in-abroad", "山田 花子"),
        ("name-change", "佐藤 花子"),
    ]


def test_a_name_change_to_the_recorded_name_is_refused(refused: Refusal, family: Family) -> None:
    event = ev.NameChange(family.spouse.resident_code, family.spouse.name, RECENT, RECENT)
    refused(event, EventRefused, "The new name is the same as the recorded one")


@pytest.mark.parametrize(
    ("bad", "phrase"),
    [
        (replace(SATO, family=""), "The family name is empty"),
        (replace(SATO, family_kana="さとう"), "must be written in full-width katakana"),
    ],
    ids=["empty-family-name", "hiragana-reading"],
)
def test_a_name_change_to_a_name_the_register_cannot_hold_is_refused(
    refused: Refusal, family: Family, bad: Name, phrase: str
) -> None:
    refused(ev.NameChange(family.spouse.resident_code, bad, RECENT, RECENT), InvalidInput, phrase)


def test_a_name_change_of_a_removed_person_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    dies(store, clerk, family.spouse.resident_code)
    event = ev.NameChange(family.spouse.resident_code, SATO, RECENT, RECENT)
    refused(event, EventRefused, "is no longer a resident")


def test_a_name_change_in_the_future_is_refused(refused: Refusal, family: Family) -> None:
    event = ev.NameChange(family.spouse.resident_code, SATO, TOMORROW, TOMORROW)
    refused(event, InvalidDate, "The date of the change")


def test_a_name_change_notified_before_it_happened_is_refused(
    refused: Refusal, family: Family
) -> None:
    event = ev.NameChange(family.spouse.resident_code, SATO, RECENT, DAY_BEFORE)
    refused(event, InvalidDate, "cannot precede the event")


# --- household split (世帯分離) --------------------------------------------------------


def test_a_split_forms_a_new_household_at_the_same_address(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    receipt = service.record_event(store, clerk, split(family), TODAY)
    assert (receipt.kind, receipt.reason) == ("household-split", "household-split")
    wife, son = receipt.records
    new_id = wife.household_id
    assert new_id != family.household_id

    new = service.show_household(store, clerk, new_id)
    assert (new.household.head_person_id, new.household.address) == (wife.person_id, MARUNOUCHI)
    assert [(m.name.given, m.relationship) for m in new.members] == [("花子", HEAD), ("一郎", "子")]
    old = service.show_household(store, clerk, family.household_id)
    assert old.household.head_person_id == family.head.person_id
    assert old.members == (family.head,)
    # R1: household and relationship are not identity information.
    assert service.show_resident(store, clerk, son.resident_code).identity() == (
        family.child.identity()
    )
    history = service.resident_history(store, clerk, wife.resident_code)
    assert [(v.reason, v.record.household_id) for v in history] == [
        ("move-in-abroad", family.household_id),
        ("household-split", new_id),
    ]


def test_the_head_cannot_split_off(refused: Refusal, family: Family) -> None:
    event = split(family, persons=(family.head.resident_code,), new_head=family.head.resident_code)
    refused(event, EventRefused, "The head of household cannot split off")


def test_a_split_of_every_member_is_refused(refused: Refusal, family: Family) -> None:
    event = split(family, persons=family.codes)
    refused(event, EventRefused, "every member would leave")


def test_a_split_whose_new_head_stays_behind_is_refused(refused: Refusal, family: Family) -> None:
    event = split(family, persons=(family.child.resident_code,), relationships={})
    refused(event, EventRefused, "The new head must be one of the persons who split off")


def test_a_split_without_every_relationship_is_refused(refused: Refusal, family: Family) -> None:
    event = split(family, relationships={})
    refused(event, EventRefused, "Give the relationship (続柄) of 山田 一郎 to the head")


def test_a_split_naming_a_relationship_for_someone_staying_is_refused(
    refused: Refusal, family: Family
) -> None:
    rels = {family.child.resident_code: "子", family.head.resident_code: "夫"}
    refused(split(family, relationships=rels), EventRefused, "persons outside the household")


def test_a_split_with_an_unknown_relationship_is_refused(refused: Refusal, family: Family) -> None:
    event = split(family, relationships={family.child.resident_code: "長男"})
    refused(event, InvalidInput, "'長男' is not a relationship")


def test_a_split_with_a_second_head_is_refused(refused: Refusal, family: Family) -> None:
    event = split(family, relationships={family.child.resident_code: HEAD})
    refused(event, EventRefused, "Only the head of household is recorded as 世帯主")


def test_a_split_of_persons_of_different_households_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    gm = grandmother(store, clerk)
    event = split(family, persons=(family.spouse.resident_code, gm.resident_code))
    refused(event, EventRefused, "must belong to the same household")


def test_a_split_naming_no_person_is_refused(refused: Refusal, family: Family) -> None:
    refused(split(family, persons=()), EventRefused, "The event names no person")


def test_a_split_in_the_future_is_refused(refused: Refusal, family: Family) -> None:
    event = split(family, split_on=TOMORROW, notified_on=TOMORROW)
    refused(event, InvalidDate, "The date of the split")


# --- household merge (世帯合併) --------------------------------------------------------


def test_a_merge_moves_every_member_and_dissolves_the_household_left(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    gm = grandmother(store, clerk)
    event = ev.HouseholdMerge(
        gm.household_id, family.household_id, {gm.resident_code: "母"}, RECENT, RECENT
    )
    receipt = service.record_event(store, clerk, event, TODAY)
    assert (receipt.kind, receipt.reason) == ("household-merge", "household-merge")
    (joined,) = receipt.records
    assert (joined.household_id, joined.relationship) == (family.household_id, "母")

    target = service.show_household(store, clerk, family.household_id)
    assert target.household.head_person_id == family.head.person_id
    assert [(m.name.given, m.relationship) for m in target.members] == [
        ("太郎", HEAD),
        ("梅", "母"),
        ("花子", "妻"),
        ("一郎", "子"),
    ]
    source = service.show_household(store, clerk, gm.household_id)
    assert (source.household.dissolved_on, source.household.head_person_id) == (RECENT, None)
    assert source.members == ()
    history = service.resident_history(store, clerk, gm.resident_code)
    assert [(v.reason, v.record.relationship) for v in history] == [
        ("move-in-abroad", HEAD),
        ("household-merge", "母"),
    ]


def test_a_household_cannot_merge_into_itself(refused: Refusal, family: Family) -> None:
    hid = family.household_id
    event = ev.HouseholdMerge(hid, hid, {}, RECENT, RECENT)
    refused(event, EventRefused, "cannot merge into itself")


def test_a_merge_of_households_at_different_addresses_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    gm = grandmother(store, clerk, at=KANDA)
    event = ev.HouseholdMerge(
        gm.household_id, family.household_id, {gm.resident_code: "母"}, RECENT, RECENT
    )
    refused(event, EventRefused, "Households merge only at the same address")


def test_a_merge_into_an_unknown_household_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal
) -> None:
    gm = grandmother(store, clerk)
    event = ev.HouseholdMerge(gm.household_id, 999, {gm.resident_code: "母"}, RECENT, RECENT)
    refused(event, HouseholdNotFound, "There is no household number 999")


def test_a_merge_of_a_dissolved_household_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    gm = grandmother(store, clerk)
    dies(store, clerk, gm.resident_code)
    event = ev.HouseholdMerge(gm.household_id, family.household_id, {}, RECENT, RECENT)
    refused(event, EventRefused, f"Household {gm.household_id} no longer exists")


def test_a_merge_without_every_relationship_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    gm = grandmother(store, clerk)
    event = ev.HouseholdMerge(gm.household_id, family.household_id, {}, RECENT, RECENT)
    refused(event, EventRefused, "Give the relationship (続柄) of 山田 梅")


def test_a_merge_in_the_future_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    gm = grandmother(store, clerk)
    event = ev.HouseholdMerge(
        gm.household_id, family.household_id, {gm.resident_code: "母"}, TOMORROW, TOMORROW
    )
    refused(event, InvalidDate, "The date of the merge")


# --- head change (世帯主変更) ---------------------------------------------------------


def test_a_head_change_rewrites_only_the_relationships_that_change(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    receipt = service.record_event(store, clerk, head_change(family), TODAY)
    assert (receipt.kind, receipt.reason) == ("head-change", "head-change")
    assert [(r.name.given, r.relationship) for r in receipt.records] == [
        ("花子", HEAD),
        ("太郎", "夫"),
    ]
    view = service.show_household(store, clerk, family.household_id)
    assert view.household.head_person_id == family.spouse.person_id
    assert [(m.name.given, m.relationship) for m in view.members] == [
        ("花子", HEAD),
        ("太郎", "夫"),
        ("一郎", "子"),
    ]
    assert service.show_resident(store, clerk, family.child.resident_code) == family.child
    history = service.resident_history(store, clerk, family.head.resident_code)
    assert [(v.reason, v.record.relationship) for v in history] == [
        ("move-in-abroad", HEAD),
        ("head-change", "夫"),
    ]
    # R1: the head of household is not identity information.
    assert history[-1].record.identity() == family.head.identity()


def test_a_head_change_to_a_non_member_is_refused(refused: Refusal, family: Family) -> None:
    refused(head_change(family, new_head=UNKNOWN), EventRefused, "is not a member of household")


def test_a_head_change_to_the_current_head_is_refused(refused: Refusal, family: Family) -> None:
    event = head_change(family, new_head=family.head.resident_code, relationships={})
    refused(event, EventRefused, "山田 太郎 is already the head of this household")


def test_a_head_change_without_every_relationship_is_refused(
    refused: Refusal, family: Family
) -> None:
    event = head_change(family, relationships={family.head.resident_code: "夫"})
    refused(event, EventRefused, "Give the relationship (続柄) of 山田 一郎")


def test_a_head_change_keeping_the_old_head_as_head_is_refused(
    refused: Refusal, family: Family
) -> None:
    rels = {family.head.resident_code: HEAD, family.child.resident_code: "子"}
    refused(head_change(family, relationships=rels), EventRefused, "Only the head of household")


def test_a_head_change_in_an_unknown_household_is_refused(refused: Refusal, family: Family) -> None:
    refused(head_change(family, household_id=999), HouseholdNotFound, "no household number 999")


def test_a_head_change_notified_before_it_happened_is_refused(
    refused: Refusal, family: Family
) -> None:
    refused(head_change(family, notified_on=DAY_BEFORE), InvalidDate, "cannot precede the event")


# --- minor correction (職権修正) -------------------------------------------------------


FIELD_CORRECTIONS = [
    ("family_name", "山﨑", lambda r: r.name.family, "山﨑", True),
    ("given_name", "一朗", lambda r: r.name.given, "一朗", True),
    ("family_kana", "ヤマザキ", lambda r: r.name.family_kana, "ヤマザキ", False),
    ("given_kana", "イチロ", lambda r: r.name.given_kana, "イチロ", False),
    ("date_of_birth", "2010-04-05", lambda r: r.date_of_birth, date(2010, 4, 5), True),
    ("sex", "女", lambda r: r.sex, Sex.FEMALE, True),
    ("relationship", "孫", lambda r: r.relationship, "孫", False),
    ("domicile", "大阪府大阪市北区梅田", lambda r: r.domicile, "大阪府大阪市北区梅田", False),
    ("domicile_head", "山田 花子", lambda r: r.domicile_head, "山田 花子", False),
]


@pytest.mark.parametrize(
    ("field", "value", "read", "expected", "identity"),
    FIELD_CORRECTIONS,
    ids=[c[0] for c in FIELD_CORRECTIONS],
)
def test_a_supervisor_corrects_one_field(
    store: RegisterStore,
    supervisor: Session,
    family: Family,
    field: str,
    value: str,
    read: Callable[[ResidentRecord], object],
    expected: object,
    identity: bool,
) -> None:
    """R1: only a correction of name, date of birth or sex changes identity information."""
    code = family.child.resident_code
    receipt = service.record_event(store, supervisor, correction(code, field, value), TODAY)
    assert (receipt.kind, receipt.reason) == ("minor-correction", "minor-correction")
    shown = service.show_resident(store, supervisor, code)
    assert read(shown) == expected
    assert read(family.child) != expected
    changed = (shown.identity().change_reason, shown.identity().change_date)
    assert changed == (("minor-correction", RECENT) if identity else ("move-in-abroad", SETTLED))
    history = service.resident_history(store, supervisor, code)
    assert [v.reason for v in history] == ["move-in-abroad", "minor-correction"]
    assert history[0].record == family.child
    assert history[1].operator == supervisor.actor


def test_a_minor_correction_by_a_clerk_is_refused(refused: Refusal, family: Family) -> None:
    event = correction(family.child.resident_code, "given_kana", "イチロ")
    refused(event, RoleNotAllowed, "may not correct a record")


@pytest.mark.parametrize(
    ("field", "value", "error", "phrase"),
    [
        ("given_kana", "イチロウ", EventRefused, "The given kana already reads 'イチロウ'"),
        ("sex", "male", EventRefused, "The sex already reads 'male'"),
        ("address", "神田", InvalidInput, "'address' is not a field a minor correction may change"),
        ("resident_code", UNKNOWN, InvalidInput, "is not a field a minor correction may change"),
        ("date_of_birth", "2010/04/05", InvalidDate, "write it as YYYY-MM-DD"),
        ("date_of_birth", str(TOMORROW), InvalidDate, "The date of birth"),
        ("sex", "other", InvalidInput, "is not a sex the register records"),
        ("family_kana", "やまだ", InvalidInput, "must be written in full-width katakana"),
        ("given_name", " ", InvalidInput, "The given name is empty"),
        ("relationship", "いとこ", InvalidInput, "is not a relationship"),
        ("relationship", HEAD, EventRefused, "Only the head of household is recorded as 世帯主"),
    ],
    ids=[
        "same-kana", "same-sex", "address", "code", "malformed-date", "future-birth",
        "unknown-sex", "hiragana", "empty-name", "unknown-relationship", "second-head",
    ],
)  # fmt: skip
def test_a_minor_correction_to_an_impossible_value_is_refused(
    refused: Refusal,
    supervisor: Session,
    family: Family,
    field: str,
    value: str,
    error: type[Exception],
    phrase: str,
) -> None:
    event = correction(family.child.resident_code, field, value)
    refused(event, error, phrase, by=supervisor)


def test_a_minor_correction_of_the_heads_relationship_is_refused(
    refused: Refusal, supervisor: Session, family: Family
) -> None:
    event = correction(family.head.resident_code, "relationship", "夫")
    refused(event, EventRefused, "changes only by a head change", by=supervisor)


def test_a_minor_correction_without_a_reason_is_refused(
    refused: Refusal, supervisor: Session, family: Family
) -> None:
    event = correction(family.child.resident_code, "given_kana", "イチロ", reason="  ")
    refused(event, EventRefused, "needs its reason in words", by=supervisor)


def test_a_minor_correction_dated_in_the_future_is_refused(
    refused: Refusal, supervisor: Session, family: Family
) -> None:
    event = correction(family.child.resident_code, "given_kana", "イチロ", corrected_on=TOMORROW)
    refused(event, InvalidDate, "The date of the correction", by=supervisor)


def test_a_minor_correction_of_a_removed_record_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, supervisor: Session, family: Family
) -> None:
    dies(store, clerk, family.child.resident_code)
    event = correction(family.child.resident_code, "given_kana", "イチロ")
    refused(event, EventRefused, "is no longer a resident", by=supervisor)


# --- resident code change (R6) -----------------------------------------------------


def test_a_code_change_gives_a_new_code_and_retires_the_old_one(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    """R6: a new random code from the pool; the old code names nobody any more."""
    old = family.child.resident_code
    before = counts(store)
    receipt = service.record_event(store, clerk, ev.CodeChange(old, RECENT, RECENT), TODAY)
    (changed,) = receipt.records
    new = changed.resident_code
    assert parse_resident_code(new) != old
    assert (receipt.kind, receipt.reason, receipt.retired_codes) == (
        "code-change",
        "code-change",
        (old,),
    )
    assert delta(before, counts(store)) == {
        "events": 1,
        "record_history": 1,
        "retired_codes": 1,
        "unused_codes": -1,
        "audit_log": 1,
    }
    assert last_audit(store)[0].detail == f"event {receipt.event_id} (code-change); retired {old}"

    shown = service.show_resident(store, clerk, new)
    assert shown == replace(
        family.child,
        resident_code=new,
        version=2,
        identity_changed_by="code-change",
        identity_changed_on=RECENT,
    )
    with pytest.raises(ResidentNotFound) as caught:
        service.show_resident(store, clerk, old)
    assert f"Code {old} was retired" in caught.value.message
    assert f"the record now carries code {new}." in caught.value.message
    history = service.resident_history(store, clerk, new)
    assert [(v.reason, v.record.resident_code) for v in history] == [
        ("move-in-abroad", old),
        ("code-change", new),
    ]


def test_a_retired_code_names_the_current_code_even_after_a_second_change(
    store: RegisterStore, clerk: Session, family: Family
) -> None:
    first = family.child.resident_code
    second = service.record_event(
        store, clerk, ev.CodeChange(first, RECENT, RECENT), TODAY
    ).records[0]
    third = service.record_event(
        store, clerk, ev.CodeChange(second.resident_code, TODAY, TODAY), TODAY
    ).records[0]
    for retired in (first, second.resident_code):
        with pytest.raises(ResidentNotFound, match=f"now carries code {third.resident_code}"):
            service.resident_history(store, clerk, retired)
    history = service.resident_history(store, clerk, third.resident_code)
    assert [v.record.resident_code for v in history] == [
        first,
        second.resident_code,
        third.resident_code,
    ]


def test_a_retired_code_names_nobody_in_an_event(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    """R6: the old code is retired for good: no event can name the person by it."""
    old = family.spouse.resident_code
    service.record_event(store, clerk, ev.CodeChange(old, RECENT, RECENT), TODAY)
    refused(ev.NameChange(old, SATO, TODAY, TODAY), ResidentNotFound, f"Code {old} was retired")


def test_a_code_change_of_a_removed_person_is_refused(
    store: RegisterStore, clerk: Session, refused: Refusal, family: Family
) -> None:
    dies(store, clerk, family.child.resident_code)
    event = ev.CodeChange(family.child.resident_code, TODAY, TODAY)
    refused(event, EventRefused, "is no longer a resident")


def test_a_code_change_of_an_unknown_person_is_refused(refused: Refusal, family: Family) -> None:
    refused(ev.CodeChange(UNKNOWN, RECENT, RECENT), ResidentNotFound, f"holds code {UNKNOWN}")


def test_a_code_change_in_the_future_is_refused(refused: Refusal, family: Family) -> None:
    event = ev.CodeChange(family.child.resident_code, TOMORROW, TOMORROW)
    refused(event, InvalidDate, "The date of the change")


def test_a_code_change_notified_before_the_request_is_refused(
    refused: Refusal, family: Family
) -> None:
    event = ev.CodeChange(family.child.resident_code, RECENT, DAY_BEFORE)
    refused(event, InvalidDate, "cannot precede the event")


# --- every correction: roles and audit ------------------------------------------------

CORRECTIONS: dict[str, tuple[Callable[[Family, ResidentRecord], ev.Event], dict[str, int]]] = {
    "move-within": (
        lambda f, gm: ev.MoveWithin(f.household_id, KANDA, RECENT, RECENT),
        {"record_history": 3, "household_history": 1},
    ),
    "name-change": (
        lambda f, gm: ev.NameChange(f.spouse.resident_code, SATO, RECENT, RECENT),
        {"record_history": 1},
    ),
    "household-split": (
        lambda f, gm: split(f),
        {"record_history": 2, "households": 1, "household_history": 1},
    ),
    "household-merge": (
        lambda f, gm: ev.HouseholdMerge(
            gm.household_id, f.household_id, {gm.resident_code: "母"}, RECENT, RECENT
        ),
        {"record_history": 1, "household_history": 1},
    ),
    "head-change": (lambda f, gm: head_change(f), {"record_history": 2, "household_history": 1}),
    "minor-correction": (
        lambda f, gm: correction(f.child.resident_code, "given_kana", "イチロ"),
        {"record_history": 1},
    ),
    "code-change": (
        lambda f, gm: ev.CodeChange(f.child.resident_code, RECENT, RECENT),
        {"record_history": 1, "retired_codes": 1, "unused_codes": -1},
    ),
}


@pytest.mark.parametrize("role", ["auditor", "admin"])
@pytest.mark.parametrize("kind", CORRECTIONS)
def test_auditors_and_administrators_record_no_correction(
    request: pytest.FixtureRequest,
    store: RegisterStore,
    clerk: Session,
    refused: Refusal,
    family: Family,
    kind: str,
    role: str,
) -> None:
    """Separation of duties (R10–R12): neither may record nor correct."""
    session: Session = request.getfixturevalue(role)
    event = CORRECTIONS[kind][0](family, grandmother(store, clerk))
    refused(event, RoleNotAllowed, f"({session.operator.role}) may not ", by=session)


@pytest.mark.parametrize("kind", CORRECTIONS)
def test_every_correction_leaves_one_audit_entry_and_a_history_row_per_changed_record(
    store: RegisterStore, clerk: Session, supervisor: Session, family: Family, kind: str
) -> None:
    """R12: one event row and one audit entry; history rows only for what changed."""
    make, changed = CORRECTIONS[kind]
    event = make(family, grandmother(store, clerk))
    before = counts(store)
    receipt = service.record_event(store, supervisor, event, TODAY)
    assert delta(before, counts(store)) == {**changed, "events": 1, "audit_log": 1}
    (entry,) = last_audit(store)
    assert (entry.outcome, entry.operation, entry.actor) == (
        "ok",
        f"event.{kind}",
        supervisor.actor,
    )
    assert entry.target == ",".join(r.resident_code for r in receipt.records)
    assert entry.detail.startswith(f"event {receipt.event_id} ({kind})")
    assert [r.status for r in receipt.records] == [Status.RESIDENT] * len(receipt.records)
