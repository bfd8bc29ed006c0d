"""The event-rule matrix: every event kind against every state of the record it names.

``rules.decide`` runs against ``FakeRegister`` (an in-memory ``RegisterView`` and
``Allocator``); no database. The register holds the 山田 family (head 太郎, wife 花子,
son 一郎) and, in a household of her own at the same address, 山田 梅. The record
under test is 花子's, brought into each state by the events that lead there:

    resident       she lives here
    moved-out      she moved to another municipality (転出)
    moved-abroad   she moved abroad (国外転出)
    dead           she died (死亡)
    retired        she changed her code (R6); the event names her old code
    unknown        a well-formed code nobody here holds
    malformed      her code with a wrong check digit

Events that name a household (move within, merge, head change, joining move-ins)
are checked against every state of the household: current, dissolved by a move-out,
by deaths or by a merge, and a number that was never given.

Each cell is a decision (checked for what it changes) or a refusal (the exact error
class, and a message naming the problem). A refusal changes nothing: ``decide`` is pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest

from jukinet.domain import events as ev
from jukinet.domain.codes import ResidentCode, parse_resident_code
from jukinet.domain.events import EVENT_KINDS
from jukinet.domain.identity import Sex
from jukinet.domain.record import HEAD, Household, Name, ResidentRecord
from jukinet.domain.rules import Decision, decide
from jukinet.errors import (
    EventRefused,
    HouseholdNotFound,
    InvalidResidentCode,
    ResidentNotFound,
)
from tests.unit.fakes import FakeRegister, well_formed
from tests.unit.scene import (
    CERTIFIED,
    DECIDED,
    HANAKO,
    KANDA,
    MARUNOUCHI,
    OSAKA,
    PARIS,
    RECENT,
    REMOVED,
    SATO,
    TODAY,
    UMEDA,
    Expected,
    Family,
    Refused,
    assert_outcome,
    family_register,
    head_change,
    misspelt,
    new_person,
)

# --- the states of 花子's record ------------------------------------------------------


def _moved_out(abroad: bool) -> Callable[[FakeRegister, Family], str]:
    def state(register: FakeRegister, f: Family) -> str:
        code = f.spouse.resident_code
        event = ev.MoveOut((code,), PARIS if abroad else UMEDA, abroad, REMOVED, REMOVED)
        register.record_event(event, TODAY)
        return code

    return state


def _dead(register: FakeRegister, f: Family) -> str:
    register.record_event(ev.Death(f.spouse.resident_code, REMOVED, REMOVED), TODAY)
    return f.spouse.resident_code


def _retired(register: FakeRegister, f: Family) -> str:
    register.record_event(ev.CodeChange(f.spouse.resident_code, REMOVED, REMOVED), TODAY)
    return f.spouse.resident_code


STATES: dict[str, Callable[[FakeRegister, Family], str]] = {
    "resident": lambda register, f: f.spouse.resident_code,
    "moved-out": _moved_out(abroad=False),
    "moved-abroad": _moved_out(abroad=True),
    "dead": _dead,
    "retired": _retired,
    "unknown": lambda register, f: well_formed("1234567890"),
    "malformed": lambda register, f: misspelt(f.spouse.resident_code),
}


NOT_A_RESIDENT = "The person with code {code} is no longer a resident (removed on {removed}: "
MALFORMED = Refused(InvalidResidentCode, "Resident code {code} has a wrong check digit")
NAMES_A_RESIDENT: dict[str, Expected] = {
    "resident": DECIDED,
    "moved-out": Refused(EventRefused, NOT_A_RESIDENT + "転出)."),
    "moved-abroad": Refused(EventRefused, NOT_A_RESIDENT + "国外転出)."),
    "dead": Refused(EventRefused, NOT_A_RESIDENT + "死亡)."),
    "retired": Refused(
        ResidentNotFound,
        "Code {code} was retired at the holder's request (R6); use the current code.",
    ),
    "unknown": Refused(ResidentNotFound, "No resident of this municipality holds code {code}."),
    "malformed": MALFORMED,
}
PRESENTS_A_CODE: dict[str, Expected] = {  # a move-in carrying the person's code
    "resident": Refused(EventRefused, "山田 花子 (code {code}) is already a resident here."),
    "moved-out": DECIDED,  # moving back: the same record lives again
    "moved-abroad": DECIDED,
    "dead": Refused(
        EventRefused,
        "The record with code {code} was closed by death on {removed}; it cannot move in.",
    ),
    "retired": Refused(EventRefused, "Resident code {code} was retired and cannot be used."),
    "unknown": DECIDED,  # a newcomer with the code of their former municipality
    "malformed": MALFORMED,
}
NOT_A_MEMBER = Refused(EventRefused, "{code} is not a member of household {household}.")
BECOMES_HEAD: dict[str, Expected] = {
    "resident": DECIDED,
    "moved-out": NOT_A_MEMBER,
    "moved-abroad": NOT_A_MEMBER,
    "dead": NOT_A_MEMBER,
    "retired": NOT_A_MEMBER,
    "unknown": NOT_A_MEMBER,
    "malformed": MALFORMED,
}


# --- the events, naming the record by ``code`` ------------------------------------------


EVENTS: dict[str, Callable[[str, Family], ev.Event]] = {
    "birth": lambda code, f: ev.Birth(
        code, Name("山田", "次郎", "ヤマダ", "ジロウ"), Sex.MALE, RECENT, RECENT
    ),
    "move-in-abroad": lambda code, f: ev.MoveInFromAbroad(
        (dataclasses.replace(HANAKO, resident_code=code),), KANDA, PARIS, RECENT, RECENT
    ),
    "move-in": lambda code, f: ev.DomesticMoveIn(
        (dataclasses.replace(HANAKO, resident_code=code),), KANDA, UMEDA, OSAKA, RECENT, RECENT
    ),
    "move-out": lambda code, f: ev.MoveOut((code,), UMEDA, False, RECENT, RECENT),
    "move-out-abroad": lambda code, f: ev.MoveOut((code,), PARIS, True, RECENT, RECENT),
    "death": lambda code, f: ev.Death(code, RECENT, RECENT),
    "name-change": lambda code, f: ev.NameChange(code, SATO, RECENT, RECENT),
    "household-split": lambda code, f: ev.HouseholdSplit((code,), code, {}, RECENT, RECENT),
    "head-change": head_change,
    "minor-correction": lambda code, f: ev.MinorCorrection(
        code, "given_kana", "ハナ", "entered wrongly at the move-in", RECENT
    ),
    "code-change": lambda code, f: ev.CodeChange(code, RECENT, RECENT),
}

PERSON_MATRIX: dict[str, dict[str, Expected]] = {
    "birth": NAMES_A_RESIDENT,
    "move-in-abroad": PRESENTS_A_CODE,
    "move-in": PRESENTS_A_CODE,
    "move-out": NAMES_A_RESIDENT,
    "move-out-abroad": NAMES_A_RESIDENT,
    "death": NAMES_A_RESIDENT,
    "name-change": NAMES_A_RESIDENT,
    "household-split": NAMES_A_RESIDENT,
    "head-change": BECOMES_HEAD,
    "minor-correction": NAMES_A_RESIDENT,
    "code-change": NAMES_A_RESIDENT,
}


@dataclass(frozen=True)
class Scene:
    """The register just before the event under test."""

    register: FakeRegister
    family: Family
    code: str
    earlier: ResidentRecord | None  # the record the code named, if any
    next_code: ResidentCode  # the code the pool gives next

    def only(self, decision: Decision) -> ResidentRecord:
        (record,) = decision.records
        return record

    def subject(self, decision: Decision) -> ResidentRecord:
        """花子's new version, the same person as before."""
        record = self.only(decision)
        assert self.earlier is not None
        assert (record.person_id, record.version) == (
            self.earlier.person_id,
            self.earlier.version + 1,
        )
        return record


def _birth(d: Decision, s: Scene) -> None:
    child = s.only(d)
    assert child.person_id not in s.register.records
    assert (child.resident_code, child.household_id, child.address) == (
        s.next_code,
        s.family.household_id,
        MARUNOUCHI,
    )
    assert (child.relationship, child.entry_reason, child.became_resident_on) == (
        "子",
        "birth",
        RECENT,
    )
    assert d.households == ()


def _move_in(why: str) -> Callable[[Decision, Scene], None]:
    def check(d: Decision, s: Scene) -> None:
        record = s.only(d)
        if s.earlier is None:  # a person new to this register, under the code they hold
            assert record.person_id not in s.register.records
        else:  # moving back: the removed record comes back to life, one history (R6)
            assert (record.person_id, record.version) == (
                s.earlier.person_id,
                s.earlier.version + 1,
            )
        assert record.resident_code == s.code
        assert record.is_resident and record.destination == ""
        assert (record.address, record.relationship, record.entry_reason) == (KANDA, HEAD, why)
        (household,) = d.households
        assert (household.head_person_id, household.address) == (record.person_id, KANDA)
        assert household.household_id != s.family.household_id

    return check


def _removed(why: str, destination: str) -> Callable[[Decision, Scene], None]:
    def check(d: Decision, s: Scene) -> None:
        record = s.subject(d)
        assert (record.removal_reason, record.removal_date) == (why, RECENT)
        assert (record.identity_changed_by, record.destination) == (why, destination)
        assert d.households == ()  # the head stays: the household is unchanged

    return check


def _name_change(d: Decision, s: Scene) -> None:
    record = s.subject(d)
    assert (record.name, record.identity_changed_by) == (SATO, "name-change")


def _split(d: Decision, s: Scene) -> None:
    record = s.subject(d)
    (household,) = d.households
    assert household.household_id != s.family.household_id
    assert (household.head_person_id, household.address) == (record.person_id, MARUNOUCHI)
    assert (record.household_id, record.relationship) == (household.household_id, HEAD)


def _head_changed(d: Decision, f: Family) -> None:
    assert [(r.person_id, r.relationship) for r in d.records] == [
        (f.spouse.person_id, HEAD),
        (f.head.person_id, "夫"),  # 一郎 stays 子: no new version
    ]
    (household,) = d.households
    assert (household.household_id, household.head_person_id) == (
        f.household_id,
        f.spouse.person_id,
    )


def _correction(d: Decision, s: Scene) -> None:
    record = s.subject(d)
    assert s.earlier is not None
    assert record.name == dataclasses.replace(s.earlier.name, given_kana="ハナ")


def _code_change(d: Decision, s: Scene) -> None:
    record = s.subject(d)
    assert record.resident_code == s.next_code
    assert d.retired_codes == (s.code,)
    assert record.identity_changed_by == "code-change"


CHECKS: dict[str, Callable[[Decision, Scene], None]] = {
    "birth": _birth,
    "move-in-abroad": _move_in("move-in-abroad"),
    "move-in": _move_in("move-in"),
    "move-out": _removed("move-out", UMEDA),
    "move-out-abroad": _removed("move-out-abroad", PARIS),
    "death": _removed("death", ""),
    "name-change": _name_change,
    "household-split": _split,
    "head-change": lambda d, s: _head_changed(d, s.family),
    "minor-correction": _correction,
    "code-change": _code_change,
}
REASONS = {"move-out-abroad": "move-out-abroad"}  # else the reason is the event kind


@pytest.mark.parametrize(
    ("row", "state"),
    [pytest.param(row, state, id=f"{row}:{state}") for row in PERSON_MATRIX for state in STATES],
)
def test_an_event_naming_a_person_in_each_state(row: str, state: str) -> None:
    """Only a resident's record changes; a removed record (除票) stays closed, except that a
    move-in brings back one closed by a move-out; a retired code names nobody (R6)."""
    register, family = family_register()
    code = STATES[state](register, family)
    try:
        earlier = register.record(parse_resident_code(code))
    except InvalidResidentCode:
        earlier = None
    scene = Scene(register, family, code, earlier, register.pool[0])
    event = EVENTS[row](code, family)
    expected = PERSON_MATRIX[row][state]
    decision = assert_outcome(
        event, expected, register, code=code, removed=REMOVED, household=family.household_id
    )
    if decision is not None:
        assert decision.reason.code == REASONS.get(row, EVENT_KINDS[type(event)])
        assert decision.occurred_on == RECENT
        CHECKS[row](decision, scene)


# --- events naming a household ------------------------------------------------------------


def _dissolved_by_move_out(register: FakeRegister, f: Family) -> int:
    register.record_event(ev.MoveOut(f.codes, UMEDA, False, REMOVED, REMOVED), TODAY)
    return f.household_id


def _dissolved_by_deaths(register: FakeRegister, f: Family) -> int:
    for record in (f.child, f.spouse, f.head):  # the head last: nobody needs to succeed him
        register.record_event(ev.Death(record.resident_code, REMOVED, REMOVED), TODAY)
    return f.household_id


def _dissolved_by_merge(register: FakeRegister, f: Family) -> int:
    register.record_event(
        ev.HouseholdMerge(f.household_id, f.grandmother.household_id, _as_her(f), REMOVED, REMOVED),
        TODAY,
    )
    return f.household_id


def _as_her(f: Family, without: str | None = None) -> dict[str, str]:
    """The family's relationships to 梅, head of the household they merge into."""
    rels = {
        f.head.resident_code: "子",
        f.spouse.resident_code: "子の妻",
        f.child.resident_code: "孫",
    }
    return {code: rel for code, rel in rels.items() if code != without}


HOUSEHOLD_STATES: dict[str, Callable[[FakeRegister, Family], int]] = {
    "current": lambda register, f: f.household_id,
    "dissolved-by-move-out": _dissolved_by_move_out,
    "dissolved-by-deaths": _dissolved_by_deaths,
    "dissolved-by-merge": _dissolved_by_merge,
    "never-given": lambda register, f: 999,
}
GONE = Refused(EventRefused, "Household {household} no longer exists (dissolved on {removed}).")
HOUSEHOLD_ROW: dict[str, Expected] = {
    "current": DECIDED,
    "dissolved-by-move-out": GONE,
    "dissolved-by-deaths": GONE,
    "dissolved-by-merge": GONE,
    "never-given": Refused(HouseholdNotFound, "There is no household number {household}."),
}
MOTHER = new_person("トメ", "トメ", date(1952, 2, 2), Sex.FEMALE, "母")

HOUSEHOLD_EVENTS: dict[str, Callable[[int, Family], ev.Event]] = {
    "move-within": lambda hid, f: ev.MoveWithin(hid, KANDA, RECENT, RECENT),
    "household-merge:from": lambda hid, f: ev.HouseholdMerge(
        hid, f.grandmother.household_id, _as_her(f), RECENT, RECENT
    ),
    "household-merge:into": lambda hid, f: ev.HouseholdMerge(
        f.grandmother.household_id, hid, {f.grandmother.resident_code: "母"}, RECENT, RECENT
    ),
    "head-change": lambda hid, f: dataclasses.replace(
        head_change(f.spouse.resident_code, f), household_id=hid
    ),
    "move-in-abroad:joining": lambda hid, f: ev.MoveInFromAbroad(
        (MOTHER,), MARUNOUCHI, PARIS, RECENT, RECENT, hid
    ),
    "move-in:joining": lambda hid, f: ev.DomesticMoveIn(
        (dataclasses.replace(MOTHER, resident_code=CERTIFIED),),
        MARUNOUCHI,
        UMEDA,
        OSAKA,
        RECENT,
        RECENT,
        hid,
    ),
}


def _moved_within(d: Decision, f: Family) -> None:
    assert [r.person_id for r in d.records] == [
        f.head.person_id,
        f.spouse.person_id,
        f.child.person_id,
    ]
    for r in d.records:
        assert (r.address, r.previous_address, r.address_fixed_on) == (
            KANDA,
            MARUNOUCHI.text,
            RECENT,
        )
    (household,) = d.households
    assert (household.household_id, household.address) == (f.household_id, KANDA)


def _merged_from(d: Decision, f: Family) -> None:
    assert [(r.person_id, r.household_id, r.relationship) for r in d.records] == [
        (f.head.person_id, f.grandmother.household_id, "子"),
        (f.spouse.person_id, f.grandmother.household_id, "子の妻"),
        (f.child.person_id, f.grandmother.household_id, "孫"),
    ]
    assert d.households == (_dissolved(f.household_id),)


def _merged_into(d: Decision, f: Family) -> None:
    (record,) = d.records
    assert (record.person_id, record.household_id, record.relationship) == (
        f.grandmother.person_id,
        f.household_id,
        "母",
    )
    assert d.households == (_dissolved(f.grandmother.household_id),)


def _dissolved(household_id: int) -> Household:
    return Household(household_id, None, MARUNOUCHI, dissolved_on=RECENT, version=2)


def _joined(d: Decision, f: Family) -> None:
    (record,) = d.records
    assert (record.household_id, record.relationship, record.address) == (
        f.household_id,
        "母",
        MARUNOUCHI,
    )
    assert d.households == ()  # the household itself does not change


HOUSEHOLD_CHECKS: dict[str, Callable[[Decision, Family], None]] = {
    "move-within": _moved_within,
    "household-merge:from": _merged_from,
    "household-merge:into": _merged_into,
    "head-change": _head_changed,
    "move-in-abroad:joining": _joined,
    "move-in:joining": _joined,
}


@pytest.mark.parametrize(
    ("row", "state"),
    [
        pytest.param(row, state, id=f"{row}:{state}")
        for row in HOUSEHOLD_EVENTS
        for state in HOUSEHOLD_STATES
    ],
)
def test_an_event_naming_a_household_in_each_state(row: str, state: str) -> None:
    """A dissolved household stays dissolved; a number never given is not found."""
    register, family = family_register()
    household_id = HOUSEHOLD_STATES[state](register, family)
    event = HOUSEHOLD_EVENTS[row](household_id, family)
    decision = assert_outcome(
        event, HOUSEHOLD_ROW[state], register, household=household_id, removed=REMOVED
    )
    if decision is not None:
        assert decision.reason.code == EVENT_KINDS[type(event)]
        HOUSEHOLD_CHECKS[row](decision, family)


# --- a removed member stays behind ----------------------------------------------------------

MEMBER_STATES = ("resident", "moved-out", "moved-abroad", "dead")


@pytest.mark.parametrize("state", MEMBER_STATES)
@pytest.mark.parametrize("kind", ["move-within", "household-merge"])
def test_a_household_moves_and_merges_with_its_residents_only(kind: str, state: str) -> None:
    """The removed record (除票) keeps its household and address: it is not rewritten."""
    register, f = family_register()
    STATES[state](register, f)
    resident = state == "resident"
    event: ev.Event = (
        ev.MoveWithin(f.household_id, KANDA, RECENT, RECENT)
        if kind == "move-within"
        else ev.HouseholdMerge(
            f.household_id,
            f.grandmother.household_id,
            _as_her(f, without=None if resident else f.spouse.resident_code),
            RECENT,
            RECENT,
        )
    )
    decision = decide(event, register, register, TODAY)
    staying = [f.head.person_id, f.child.person_id]
    expected = [f.head.person_id, f.spouse.person_id, f.child.person_id] if resident else staying
    assert [r.person_id for r in decision.records] == expected


def test_the_matrix_covers_every_event_kind() -> None:
    """A new event kind fails here until it has its row."""
    _, f = family_register()
    kinds = {EVENT_KINDS[type(make("12345678903", f))] for make in EVENTS.values()}
    kinds |= {EVENT_KINDS[type(make(1, f))] for make in HOUSEHOLD_EVENTS.values()}
    assert kinds == set(EVENT_KINDS.values())
    assert set(PERSON_MATRIX) == set(EVENTS) == set(CHECKS)
    assert set(HOUSEHOLD_EVENTS) == set(HOUSEHOLD_CHECKS)
