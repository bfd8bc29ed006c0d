"""The scene of the event-rule unit tests: the 山田 family in an in-memory register.

``family_register`` records, through ``rules.decide`` and ``FakeRegister``, the
family's arrival (head 太郎, wife 花子, son 一郎) and, in a household of her own at
the same address, 山田 梅. ``assert_outcome`` decides an event and checks the
refusal expected (its exact class and the clerk's sentence) or returns the decision;
either way ``decide`` writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from jukinet.domain import events as ev
from jukinet.domain.codes import LocalGovernmentCode
from jukinet.domain.identity import Sex
from jukinet.domain.record import HEAD, Address, Name, ResidentRecord
from jukinet.domain.rules import Decision, decide
from jukinet.errors import JukinetError
from tests.unit.fakes import FakeRegister, pool_of, well_formed

TODAY = date(2026, 12, 1)
SETTLED = TODAY - timedelta(days=30)  # the family moved in
REMOVED = TODAY - timedelta(days=20)  # the event that brought the record into its state
RECENT = TODAY - timedelta(days=10)  # the event under test

CHIYODA = LocalGovernmentCode("131016")
OSAKA = LocalGovernmentCode("271004")
MARUNOUCHI = Address(CHIYODA, "東京都千代田区", "丸の内", "一丁目1番1号")
KANDA = Address(CHIYODA, "東京都千代田区", "神田神保町", "二丁目3番4号")
UMEDA = "大阪府大阪市北区梅田一丁目1番1号"
PARIS = "フランス共和国パリ市"
SATO = Name("佐藤", "花子", "サトウ", "ハナコ")
CERTIFIED = well_formed("5550001111")  # a code on a move-out certificate from Osaka


def new_person(
    given: str, kana: str, born: date, sex: Sex, relationship: str, code: str | None = None
) -> ev.NewPerson:
    return ev.NewPerson(
        Name("山田", given, "ヤマダ", kana), born, sex, relationship,
        "東京都千代田区丸の内一丁目1番", "山田 一郎", code,
    )  # fmt: skip


HANAKO = new_person("花子", "ハナコ", date(1982, 3, 3), Sex.FEMALE, HEAD)


@dataclass(frozen=True)
class Family:
    head: ResidentRecord
    spouse: ResidentRecord  # the record under test
    child: ResidentRecord
    grandmother: ResidentRecord  # heads her own household at the same address

    @property
    def household_id(self) -> int:
        return self.head.household_id

    @property
    def codes(self) -> tuple[str, str, str]:
        return (self.head.resident_code, self.spouse.resident_code, self.child.resident_code)


def arrival(*persons: ev.NewPerson) -> ev.MoveInFromAbroad:
    return ev.MoveInFromAbroad(persons, MARUNOUCHI, "アメリカ合衆国", SETTLED, SETTLED)


def family_register() -> tuple[FakeRegister, Family]:
    register = FakeRegister(CHIYODA, pool_of(20))
    head, spouse, child = register.record_event(
        arrival(
            new_person("太郎", "タロウ", date(1980, 5, 5), Sex.MALE, HEAD),
            new_person("花子", "ハナコ", date(1982, 3, 3), Sex.FEMALE, "妻"),
            new_person("一郎", "イチロウ", date(2010, 4, 4), Sex.MALE, "子"),
        ),
        TODAY,
    ).records
    (grandmother,) = register.record_event(
        arrival(new_person("梅", "ウメ", date(1950, 1, 1), Sex.FEMALE, HEAD)), TODAY
    ).records
    return register, Family(head, spouse, child, grandmother)


def misspelt(code: str) -> str:
    return code[:10] + str((int(code[10]) + 1) % 10)


@dataclass(frozen=True)
class Refused:
    error: type[JukinetError]
    message: str  # the clerk's sentence, with {code}, {removed} and {household} filled in


DECIDED = "decided"
Expected = Refused | str


def head_change(code: str, f: Family) -> ev.HeadChange:
    rels: dict[str, str] = {f.head.resident_code: "夫", f.child.resident_code: "子"}
    return ev.HeadChange(f.household_id, code, RECENT, RECENT, rels)


def written(register: FakeRegister) -> tuple[object, ...]:
    return (dict(register.records), dict(register.households), dict(register.retired))


def assert_outcome(
    event: ev.Event, expected: Expected, register: FakeRegister, **names: object
) -> Decision | None:
    """Decide ``event``: the refusal expected (nothing written), or the decision."""
    before = written(register)
    if isinstance(expected, Refused):
        with pytest.raises(JukinetError) as caught:
            decide(event, register, register, TODAY)
        error = caught.value
        assert type(error) is expected.error, f"{type(error).__name__}: {error}"
        assert expected.message.format(**names) in error.message
        assert error.message.endswith("."), error.message
        assert written(register) == before
        return None
    decision = decide(event, register, register, TODAY)
    assert written(register) == before
    return decision
