"""Every other rule of every event kind, as unit tests of ``rules.decide``.

The refusals that do not depend on the state of the record named (that matrix is
``test_event_rules``): dates, names, relationships, addresses and each event's
household rules, each with its exact error class and the clerk's sentence; and the
decisions the matrix does not show (a successor for a leaving head, a move-out
notified ahead, which corrections change identity information, R1). No database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from jukinet.domain import events as ev
from jukinet.domain.codes import LocalGovernmentCode
from jukinet.domain.events import EVENT_KINDS
from jukinet.domain.identity import Sex
from jukinet.domain.record import HEAD, Name, ResidentRecord
from jukinet.domain.rules import decide
from jukinet.errors import (
    EventRefused,
    InvalidDate,
    InvalidInput,
    InvalidLocalGovernmentCode,
    JukinetError,
)
from tests.unit.fakes import FakeRegister
from tests.unit.scene import (
    CERTIFIED,
    CHIYODA,
    HANAKO,
    KANDA,
    MARUNOUCHI,
    OSAKA,
    PARIS,
    RECENT,
    SATO,
    SETTLED,
    TODAY,
    UMEDA,
    Family,
    Refused,
    assert_outcome,
    family_register,
    head_change,
    new_person,
)

# --- every other rule, per event kind -------------------------------------------------------
# The refusals that do not depend on the record's state: dates, names, relationships,
# addresses, and the household rules of each event. Each builder may record the events
# that set the scene first; the refusal itself must write nothing.

TOMORROW = TODAY + timedelta(days=1)
DAY_BEFORE = RECENT - timedelta(days=1)
Builder = Callable[[FakeRegister, Family], ev.Event]


def baby(parent: str, born: date = RECENT, **changes: object) -> ev.Birth:
    event = ev.Birth(parent, Name("山田", "次郎", "ヤマダ", "ジロウ"), Sex.MALE, born, born)
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


def newcomer(**changes: object) -> ev.NewPerson:
    person = new_person("健", "ケン", date(1990, 6, 6), Sex.MALE, HEAD)
    return dataclasses.replace(person, **changes)  # type: ignore[arg-type]


def abroad(*persons: ev.NewPerson, **changes: object) -> ev.MoveInFromAbroad:
    event = ev.MoveInFromAbroad(persons or (newcomer(),), KANDA, PARIS, RECENT, RECENT)
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


def certificate(*persons: ev.NewPerson, **changes: object) -> ev.DomesticMoveIn:
    people = persons or (newcomer(resident_code=CERTIFIED),)
    event = ev.DomesticMoveIn(people, KANDA, UMEDA, OSAKA, RECENT, RECENT)
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


def leaving(*codes: str, **changes: object) -> ev.MoveOut:
    event = ev.MoveOut(codes, UMEDA, False, RECENT, RECENT)
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


def split(f: Family, **changes: object) -> ev.HouseholdSplit:
    """花子 and 一郎 leave 太郎's household and form one headed by 花子."""
    event = ev.HouseholdSplit(
        (f.spouse.resident_code, f.child.resident_code),
        f.spouse.resident_code,
        {f.child.resident_code: "子"},
        RECENT,
        RECENT,
    )
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


def merge(f: Family, **changes: object) -> ev.HouseholdMerge:
    """梅 joins her son's household."""
    event = ev.HouseholdMerge(
        f.grandmother.household_id,
        f.household_id,
        {f.grandmother.resident_code: "母"},
        RECENT,
        RECENT,
    )
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


def correction(code: str, field: str, value: str, **changes: object) -> ev.MinorCorrection:
    event = ev.MinorCorrection(code, field, value, "entered wrongly at the move-in", RECENT)
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


def _moved_abroad_then_back_too_early(r: FakeRegister, f: Family) -> ev.Event:
    code = f.spouse.resident_code
    r.record_event(ev.MoveOut((code,), PARIS, True, RECENT, RECENT), TODAY)
    back = dataclasses.replace(HANAKO, resident_code=code)
    return abroad(back, moved_on=RECENT - timedelta(days=5), notified_on=RECENT)


def _grandmother_at_kanda(r: FakeRegister, f: Family) -> ev.Event:
    r.record_event(ev.MoveWithin(f.grandmother.household_id, KANDA, RECENT, RECENT), TODAY)
    return merge(f)


def refusal(
    case: str, make: Builder, error: type[JukinetError], message: str
) -> pytest.ParameterSet:
    return pytest.param(make, error, message, id=case)


NAME = Name("山田", "次郎", "ヤマダ", "ジロウ")
REFUSALS = [
    # birth
    refusal(
        "birth:in-the-future",
        lambda r, f: baby(f.head.resident_code, TOMORROW),
        InvalidDate,
        f"The date of birth ({TOMORROW}) is in the future.",
    ),
    refusal(
        "birth:notified-before",
        lambda r, f: baby(f.head.resident_code, notified_on=DAY_BEFORE),
        InvalidDate,
        f"The notification ({DAY_BEFORE}) cannot precede the event ({RECENT}).",
    ),
    refusal(
        "birth:notified-in-the-future",
        lambda r, f: baby(f.head.resident_code, notified_on=TOMORROW),
        InvalidDate,
        f"The notification date ({TOMORROW}) is in the future.",
    ),
    refusal(
        "birth:before-the-parent",
        lambda r, f: baby(f.child.resident_code, f.child.date_of_birth - timedelta(days=1)),
        EventRefused,
        "The child cannot be born before the parent.",
    ),
    refusal(
        "birth:as-head",
        lambda r, f: baby(f.head.resident_code, relationship=HEAD),
        EventRefused,
        "Only the head of household is recorded as 世帯主.",
    ),
    refusal(
        "birth:unknown-relationship",
        lambda r, f: baby(f.head.resident_code, relationship="息子"),
        InvalidInput,
        "'息子' is not a relationship (続柄) the register knows.",
    ),
    refusal(
        "birth:empty-name",
        lambda r, f: baby(f.head.resident_code, name=dataclasses.replace(NAME, given="  ")),
        InvalidInput,
        "The given name is empty.",
    ),
    refusal(
        "birth:too-long-name",
        lambda r, f: baby(f.head.resident_code, name=dataclasses.replace(NAME, family="山" * 41)),
        InvalidInput,
        "The family name is longer than 40 characters.",
    ),
    refusal(
        "birth:invisible-character",
        lambda r, f: baby(f.head.resident_code, name=dataclasses.replace(NAME, given="次\u200b郎")),
        InvalidInput,
        "The given name contains a character that cannot be recorded.",
    ),
    refusal(
        "birth:hiragana-reading",
        lambda r, f: baby(
            f.head.resident_code, name=dataclasses.replace(NAME, given_kana="じろう")
        ),
        InvalidInput,
        "must be written in full-width katakana; got 'じろう'.",
    ),
    refusal(
        "birth:latin-reading",
        lambda r, f: baby(
            f.head.resident_code, name=dataclasses.replace(NAME, family_kana="yamada")
        ),
        InvalidInput,
        "must be written in full-width katakana; got 'yamada'.",
    ),
    # move-in from abroad
    refusal(
        "move-in-abroad:other-municipality",
        lambda r, f: abroad(address=dataclasses.replace(KANDA, municipality_code=OSAKA)),
        EventRefused,
        f"The address lies in municipality {OSAKA}, not in this one ({CHIYODA}).",
    ),
    refusal(
        "move-in-abroad:malformed-municipality",
        lambda r, f: abroad(
            address=dataclasses.replace(KANDA, municipality_code=LocalGovernmentCode("131017"))
        ),
        InvalidLocalGovernmentCode,
        "Local government code 131017 has a wrong check digit",
    ),
    refusal(
        "move-in-abroad:no-block-number",
        lambda r, f: abroad(address=dataclasses.replace(KANDA, block=" ")),
        InvalidInput,
        "The block number of the address is empty.",
    ),
    refusal(
        "move-in-abroad:in-the-future",
        lambda r, f: abroad(moved_on=TOMORROW, notified_on=TOMORROW),
        InvalidDate,
        f"The date of moving in ({TOMORROW}) is in the future.",
    ),
    refusal(
        "move-in-abroad:notified-before",
        lambda r, f: abroad(notified_on=DAY_BEFORE),
        InvalidDate,
        "cannot precede the event",
    ),
    refusal(
        "move-in-abroad:nobody",
        lambda r, f: abroad(persons=()),
        EventRefused,
        "The move-in names no person.",
    ),
    refusal(
        "move-in-abroad:first-not-head",
        lambda r, f: abroad(newcomer(relationship="子")),
        EventRefused,
        "The first person of a new household must be its head (世帯主).",
    ),
    refusal(
        "move-in-abroad:second-head",
        lambda r, f: abroad(newcomer(), newcomer(name=NAME)),
        EventRefused,
        "Only the head of household is recorded as 世帯主.",
    ),
    refusal(
        "move-in-abroad:unknown-relationship",
        lambda r, f: abroad(newcomer(), newcomer(name=NAME, relationship="友人")),
        InvalidInput,
        "'友人' is not a relationship (続柄) the register knows.",
    ),
    refusal(
        "move-in-abroad:hiragana-reading",
        lambda r, f: abroad(newcomer(name=dataclasses.replace(NAME, given_kana="たろう"))),
        InvalidInput,
        "full-width katakana; got 'たろう'.",
    ),
    refusal(
        "move-in-abroad:born-in-the-future",
        lambda r, f: abroad(newcomer(date_of_birth=TOMORROW)),
        InvalidDate,
        f"The date of birth ({TOMORROW}) is in the future.",
    ),
    refusal(
        "move-in-abroad:before-being-born",
        lambda r, f: abroad(newcomer(date_of_birth=RECENT + timedelta(days=1))),
        EventRefused,
        "山田 健 cannot move in before being born.",
    ),
    refusal(
        "move-in-abroad:joining-at-another-address",
        lambda r, f: abroad(newcomer(relationship="子"), join_household=f.household_id),
        EventRefused,
        f"lives at {MARUNOUCHI.text}; people joining it move in at that address.",
    ),
    refusal(
        "move-in-abroad:same-code-twice",
        lambda r, f: abroad(
            newcomer(resident_code=CERTIFIED),
            newcomer(name=NAME, relationship="子", resident_code=CERTIFIED),
        ),
        EventRefused,
        f"Resident code {CERTIFIED} is named twice.",
    ),
    refusal(
        "move-in-abroad:back-before-moving-out",
        _moved_abroad_then_back_too_early,
        EventRefused,
        f"山田 花子 moved out on {RECENT}; moving back cannot be dated earlier.",
    ),
    # domestic move-in
    refusal(
        "move-in:without-code",
        lambda r, f: certificate(newcomer()),
        EventRefused,
        "山田 健: a move-in certificate always carries the resident code.",
    ),
    refusal(
        "move-in:issued-here",
        lambda r, f: certificate(certificate_issuer=CHIYODA),
        EventRefused,
        "A move-in certificate comes from another municipality, not this one.",
    ),
    refusal(
        "move-in:malformed-issuer",
        lambda r, f: certificate(certificate_issuer="27100"),
        InvalidLocalGovernmentCode,
        "A local government code has exactly 6 digits",
    ),
    # move-out
    refusal(
        "move-out:more-than-14-days-ahead",
        lambda r, f: leaving(
            f.child.resident_code, moved_on=TODAY + timedelta(days=15), notified_on=TODAY
        ),
        EventRefused,
        "A move-out is notified at most 14 days before the planned date.",
    ),
    refusal("move-out:nobody", lambda r, f: leaving(), EventRefused, "The event names no person."),
    refusal(
        "move-out:same-person-twice",
        lambda r, f: leaving(f.child.resident_code, f.child.resident_code),
        EventRefused,
        "The same person is named twice.",
    ),
    refusal(
        "move-out:notified-in-the-future",
        lambda r, f: leaving(f.child.resident_code, notified_on=TOMORROW),
        InvalidDate,
        f"The notification date ({TOMORROW}) is in the future.",
    ),
    refusal(
        "move-out:no-destination",
        lambda r, f: leaving(f.child.resident_code, destination=" "),
        EventRefused,
        "A move-out needs the destination (転出先).",
    ),
    refusal(
        "move-out:two-households",
        lambda r, f: leaving(f.child.resident_code, f.grandmother.resident_code),
        EventRefused,
        "All persons of this event must belong to the same household.",
    ),
    refusal(
        "move-out:before-settling",
        lambda r, f: leaving(f.child.resident_code, moved_on=SETTLED - timedelta(days=1)),
        EventRefused,
        f"山田 一郎 cannot move out before settling at the address ({SETTLED}).",
    ),
    refusal(
        "move-out:head-without-successor",
        lambda r, f: leaving(f.head.resident_code),
        EventRefused,
        "The head of household leaves while others stay: name the new head of household.",
    ),
    refusal(
        "move-out:successor-while-head-stays",
        lambda r, f: leaving(f.child.resident_code, new_head=f.spouse.resident_code),
        EventRefused,
        "The head of household stays, so no new head is named.",
    ),
    refusal(
        "move-out:successor-when-nobody-stays",
        lambda r, f: leaving(*f.codes, new_head=f.spouse.resident_code),
        EventRefused,
        "Nobody stays in the household, so it needs no new head.",
    ),
    refusal(
        "move-out:successor-leaves-too",
        lambda r, f: leaving(
            f.head.resident_code, f.spouse.resident_code, new_head=f.spouse.resident_code
        ),
        EventRefused,
        "is not a member who stays in the household.",
    ),
    # death
    refusal(
        "death:in-the-future",
        lambda r, f: ev.Death(f.child.resident_code, TOMORROW, TOMORROW),
        InvalidDate,
        f"The date of death ({TOMORROW}) is in the future.",
    ),
    refusal(
        "death:notified-before",
        lambda r, f: ev.Death(f.child.resident_code, RECENT, DAY_BEFORE),
        InvalidDate,
        "cannot precede the event",
    ),
    refusal(
        "death:before-birth",
        lambda r, f: ev.Death(
            f.child.resident_code, f.child.date_of_birth - timedelta(days=1), RECENT
        ),
        EventRefused,
        "The date of death is before the date of birth.",
    ),
    refusal(
        "death:before-becoming-resident",
        lambda r, f: ev.Death(f.child.resident_code, SETTLED - timedelta(days=1), RECENT),
        EventRefused,
        f"山田 一郎 became a resident on {SETTLED}; a death before that belongs "
        "to another municipality's register.",
    ),
    refusal(
        "death:head-without-successor",
        lambda r, f: ev.Death(f.head.resident_code, RECENT, RECENT),
        EventRefused,
        "name the new head of household.",
    ),
    refusal(
        "death:successor-while-head-stays",
        lambda r, f: ev.Death(f.child.resident_code, RECENT, RECENT, f.spouse.resident_code),
        EventRefused,
        "The head of household stays, so no new head is named.",
    ),
    # move within
    refusal(
        "move-within:same-address",
        lambda r, f: ev.MoveWithin(f.household_id, MARUNOUCHI, RECENT, RECENT),
        EventRefused,
        "The household already lives at this address.",
    ),
    refusal(
        "move-within:other-municipality",
        lambda r, f: ev.MoveWithin(
            f.household_id, dataclasses.replace(KANDA, municipality_code=OSAKA), RECENT, RECENT
        ),
        EventRefused,
        f"not in this one ({CHIYODA}).",
    ),
    refusal(
        "move-within:before-settling",
        lambda r, f: ev.MoveWithin(f.household_id, KANDA, SETTLED - timedelta(days=1), RECENT),
        EventRefused,
        f"settled at the current address on {SETTLED}; the move cannot be earlier.",
    ),
    refusal(
        "move-within:in-the-future",
        lambda r, f: ev.MoveWithin(f.household_id, KANDA, TOMORROW, TOMORROW),
        InvalidDate,
        f"The date of moving ({TOMORROW}) is in the future.",
    ),
    refusal(
        "move-within:notified-before",
        lambda r, f: ev.MoveWithin(f.household_id, KANDA, RECENT, DAY_BEFORE),
        InvalidDate,
        "cannot precede the event",
    ),
    # name change
    refusal(
        "name-change:same-name",
        lambda r, f: ev.NameChange(f.spouse.resident_code, f.spouse.name, RECENT, RECENT),
        EventRefused,
        "The new name is the same as the recorded one.",
    ),
    refusal(
        "name-change:empty-family-name",
        lambda r, f: ev.NameChange(
            f.spouse.resident_code, dataclasses.replace(SATO, family=""), RECENT, RECENT
        ),
        InvalidInput,
        "The family name is empty.",
    ),
    refusal(
        "name-change:hiragana-reading",
        lambda r, f: ev.NameChange(
            f.spouse.resident_code, dataclasses.replace(SATO, family_kana="さとう"), RECENT, RECENT
        ),
        InvalidInput,
        "must be written in full-width katakana",
    ),
    refusal(
        "name-change:in-the-future",
        lambda r, f: ev.NameChange(f.spouse.resident_code, SATO, TOMORROW, TOMORROW),
        InvalidDate,
        f"The date of the change ({TOMORROW}) is in the future.",
    ),
    refusal(
        "name-change:notified-before",
        lambda r, f: ev.NameChange(f.spouse.resident_code, SATO, RECENT, DAY_BEFORE),
        InvalidDate,
        "cannot precede the event",
    ),
    # household split
    refusal(
        "household-split:the-head",
        lambda r, f: split(f, persons=(f.head.resident_code,), new_head=f.head.resident_code),
        EventRefused,
        "The head of household cannot split off; change the head of household first.",
    ),
    refusal(
        "household-split:everybody",
        lambda r, f: split(f, persons=f.codes),
        EventRefused,
        "A split leaves somebody behind; here every member would leave.",
    ),
    refusal(
        "household-split:new-head-stays",
        lambda r, f: split(f, persons=(f.child.resident_code,), relationships={}),
        EventRefused,
        "The new head must be one of the persons who split off.",
    ),
    refusal(
        "household-split:relationship-missing",
        lambda r, f: split(f, relationships={}),
        EventRefused,
        "Give the relationship (続柄) of 山田 一郎 to the head.",
    ),
    refusal(
        "household-split:relationship-of-someone-staying",
        lambda r, f: split(
            f, relationships={f.child.resident_code: "子", f.head.resident_code: "夫"}
        ),
        EventRefused,
        "Relationships were given for persons outside the household",
    ),
    refusal(
        "household-split:unknown-relationship",
        lambda r, f: split(f, relationships={f.child.resident_code: "長男"}),
        InvalidInput,
        "'長男' is not a relationship (続柄) the register knows.",
    ),
    refusal(
        "household-split:second-head",
        lambda r, f: split(f, relationships={f.child.resident_code: HEAD}),
        EventRefused,
        "Only the head of household is recorded as 世帯主.",
    ),
    refusal(
        "household-split:two-households",
        lambda r, f: split(f, persons=(f.spouse.resident_code, f.grandmother.resident_code)),
        EventRefused,
        "All persons of this event must belong to the same household.",
    ),
    refusal(
        "household-split:nobody",
        lambda r, f: split(f, persons=()),
        EventRefused,
        "The event names no person.",
    ),
    refusal(
        "household-split:in-the-future",
        lambda r, f: split(f, split_on=TOMORROW, notified_on=TOMORROW),
        InvalidDate,
        f"The date of the split ({TOMORROW}) is in the future.",
    ),
    # household merge
    refusal(
        "household-merge:into-itself",
        lambda r, f: merge(f, from_household=f.household_id, relationships={}),
        EventRefused,
        "A household cannot merge into itself.",
    ),
    refusal(
        "household-merge:other-address",
        _grandmother_at_kanda,
        EventRefused,
        "Households merge only at the same address; record the move (転居) first.",
    ),
    refusal(
        "household-merge:relationship-missing",
        lambda r, f: merge(f, relationships={}),
        EventRefused,
        "Give the relationship (続柄) of 山田 梅 to the head.",
    ),
    refusal(
        "household-merge:in-the-future",
        lambda r, f: merge(f, merged_on=TOMORROW, notified_on=TOMORROW),
        InvalidDate,
        f"The date of the merge ({TOMORROW}) is in the future.",
    ),
    # head change
    refusal(
        "head-change:the-current-head",
        lambda r, f: dataclasses.replace(head_change(f.head.resident_code, f), relationships={}),
        EventRefused,
        "山田 太郎 is already the head of this household.",
    ),
    refusal(
        "head-change:relationship-missing",
        lambda r, f: dataclasses.replace(
            head_change(f.spouse.resident_code, f), relationships={f.head.resident_code: "夫"}
        ),
        EventRefused,
        "Give the relationship (続柄) of 山田 一郎 to the head.",
    ),
    refusal(
        "head-change:old-head-stays-head",
        lambda r, f: dataclasses.replace(
            head_change(f.spouse.resident_code, f),
            relationships={f.head.resident_code: HEAD, f.child.resident_code: "子"},
        ),
        EventRefused,
        "Only the head of household is recorded as 世帯主.",
    ),
    refusal(
        "head-change:new-head-among-relationships",
        lambda r, f: dataclasses.replace(
            head_change(f.spouse.resident_code, f),
            relationships={
                f.spouse.resident_code: "妻",
                f.head.resident_code: "夫",
                f.child.resident_code: "子",
            },
        ),
        EventRefused,
        "山田 花子 becomes 世帯主; give relationships only for the other members.",
    ),
    refusal(
        "head-change:notified-before",
        lambda r, f: dataclasses.replace(
            head_change(f.spouse.resident_code, f), notified_on=DAY_BEFORE
        ),
        InvalidDate,
        "cannot precede the event",
    ),
    # minor correction
    refusal(
        "minor-correction:same-kana",
        lambda r, f: correction(f.child.resident_code, "given_kana", "イチロウ"),
        EventRefused,
        "The given kana already reads 'イチロウ'.",
    ),
    refusal(
        "minor-correction:same-sex",
        lambda r, f: correction(f.child.resident_code, "sex", "male"),
        EventRefused,
        "The sex already reads 'male'.",
    ),
    refusal(
        "minor-correction:address",
        lambda r, f: correction(f.child.resident_code, "address", "神田"),
        InvalidInput,
        "'address' is not a field a minor correction may change.",
    ),
    refusal(
        "minor-correction:code",
        lambda r, f: correction(f.child.resident_code, "resident_code", CERTIFIED),
        InvalidInput,
        "'resident_code' is not a field a minor correction may change.",
    ),
    refusal(
        "minor-correction:malformed-date",
        lambda r, f: correction(f.child.resident_code, "date_of_birth", "2010/04/05"),
        InvalidDate,
        "'2010/04/05' is not a date (write it as YYYY-MM-DD).",
    ),
    refusal(
        "minor-correction:born-in-the-future",
        lambda r, f: correction(f.child.resident_code, "date_of_birth", str(TOMORROW)),
        InvalidDate,
        f"The date of birth ({TOMORROW}) is in the future.",
    ),
    refusal(
        "minor-correction:unknown-sex",
        lambda r, f: correction(f.child.resident_code, "sex", "other"),
        InvalidInput,
        "'other' is not a sex the register records (male/female).",
    ),
    refusal(
        "minor-correction:hiragana",
        lambda r, f: correction(f.child.resident_code, "family_kana", "やまだ"),
        InvalidInput,
        "must be written in full-width katakana; got 'やまだ'.",
    ),
    refusal(
        "minor-correction:empty-name",
        lambda r, f: correction(f.child.resident_code, "given_name", " "),
        InvalidInput,
        "The given name is empty.",
    ),
    refusal(
        "minor-correction:unknown-relationship",
        lambda r, f: correction(f.child.resident_code, "relationship", "いとこ"),
        InvalidInput,
        "'いとこ' is not a relationship (続柄) the register knows.",
    ),
    refusal(
        "minor-correction:second-head",
        lambda r, f: correction(f.child.resident_code, "relationship", HEAD),
        EventRefused,
        "Only the head of household is recorded as 世帯主.",
    ),
    refusal(
        "minor-correction:heads-relationship",
        lambda r, f: correction(f.head.resident_code, "relationship", "夫"),
        EventRefused,
        "The head's relationship changes only by a head change.",
    ),
    refusal(
        "minor-correction:no-reason",
        lambda r, f: correction(f.child.resident_code, "given_kana", "イチロ", reason="  "),
        EventRefused,
        "A correction needs its reason in words.",
    ),
    refusal(
        "minor-correction:in-the-future",
        lambda r, f: correction(
            f.child.resident_code, "given_kana", "イチロ", corrected_on=TOMORROW
        ),
        InvalidDate,
        f"The date of the correction ({TOMORROW}) is in the future.",
    ),
    # code change
    refusal(
        "code-change:in-the-future",
        lambda r, f: ev.CodeChange(f.child.resident_code, TOMORROW, TOMORROW),
        InvalidDate,
        f"The date of the change ({TOMORROW}) is in the future.",
    ),
    refusal(
        "code-change:notified-before",
        lambda r, f: ev.CodeChange(f.child.resident_code, RECENT, DAY_BEFORE),
        InvalidDate,
        "cannot precede the event",
    ),
]


@pytest.mark.parametrize(("make", "error", "message"), REFUSALS)
def test_each_rule_of_each_event_refuses_with_its_reason(
    make: Builder, error: type[JukinetError], message: str
) -> None:
    register, family = family_register()
    assert_outcome(make(register, family), Refused(error, message), register)


def test_every_event_kind_has_its_own_refusals() -> None:
    kinds = {str(p.id).split(":")[0] for p in REFUSALS}
    assert kinds == set(EVENT_KINDS.values())


# --- decisions beyond the matrix ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["move-out", "death"])
def test_the_head_leaving_hands_the_household_to_the_named_successor(kind: str) -> None:
    register, f = family_register()
    code, successor = f.head.resident_code, f.spouse.resident_code
    event: ev.Event = (
        leaving(code, new_head=successor)
        if kind == "move-out"
        else ev.Death(code, RECENT, RECENT, successor)
    )
    decision = decide(event, register, register, TODAY)
    assert [(r.person_id, r.removal_reason, r.relationship) for r in decision.records] == [
        (f.head.person_id, kind, HEAD),
        (f.spouse.person_id, None, HEAD),
    ]
    (household,) = decision.households
    assert (household.household_id, household.head_person_id) == (
        f.household_id,
        f.spouse.person_id,
    )


def test_a_move_out_may_be_notified_up_to_14_days_before_the_planned_date() -> None:
    register, f = family_register()
    planned = TODAY + timedelta(days=14)
    event = leaving(f.child.resident_code, moved_on=planned, notified_on=TODAY)
    (removed,) = decide(event, register, register, TODAY).records
    assert (removed.removal_date, removed.notified_on) == (planned, TODAY)


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
def test_a_minor_correction_changes_identity_information_only_for_name_birth_and_sex(
    field: str,
    value: str,
    read: Callable[[ResidentRecord], object],
    expected: object,
    identity: bool,
) -> None:
    """R1: the full name, date of birth and sex are identity information; readings,
    relationship and domicile are not, so correcting them keeps the change stamp."""
    register, f = family_register()
    (corrected,) = decide(
        correction(f.child.resident_code, field, value), register, register, TODAY
    ).records
    assert read(f.child) != expected
    assert read(corrected) == expected
    stamp = (corrected.identity_changed_by, corrected.identity_changed_on)
    assert stamp == (("minor-correction", RECENT) if identity else ("move-in-abroad", SETTLED))
