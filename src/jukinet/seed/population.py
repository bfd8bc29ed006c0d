"""A synthetic, realistic resident population for one municipality.

:func:`generate` streams households whose shape follows Japan's 2020 census
closely enough that a register filled with them looks like a real one:

* household types (by household): about 38% one person, 20% a couple alone,
  25% a couple with children, 9% a single parent with children, 5% three
  generations, 3% siblings or unrelated people living together;
* an ageing population: about 29% aged 65 or over and 12% under 15;
* spouses of opposite sex (Japanese law registers no other marriage) and of
  plausible ages; children born while their mother was 20 to 45; given names
  that were usual in the person's birth year; one family name per household
  except for lodgers (同居人); about 1.5% of households write their family name
  in a variant kanji (髙橋, 𠮷田) that the register must keep exactly;
* addresses in the municipality's real towns, domiciles (本籍) in real towns
  anywhere in Japan, mostly nearby.

Everything comes from the ``random.Random`` passed in, so the same seed, the
same ``today`` and the same postal data give the same population. Nothing here
touches a database or the register: it returns plain frozen dataclasses.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Generic, Literal, TypeVar

from jukinet.seed.names import (
    FAMILY_NAMES,
    FEMALE_NAMES,
    MALE_NAMES,
    VARIANT_FAMILY_NAMES,
    GivenName,
)
from jukinet.seed.places import Municipality, Places, Town

__all__ = [
    "SyntheticAddress",
    "SyntheticHousehold",
    "SyntheticPerson",
    "age_on",
    "generate",
]

Sex = Literal["male", "female"]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class SyntheticPerson:
    family_name: str
    given_name: str
    family_kana: str
    given_kana: str
    date_of_birth: date
    sex: Sex
    relationship: str
    """続柄 to the head of household: 世帯主, 妻, 夫, 子, 子の妻, 子の夫, 孫, 父, 母,
    兄, 姉, 弟, 妹 or 同居人."""


@dataclass(frozen=True, slots=True)
class SyntheticAddress:
    town: str
    """"" only in a municipality whose addresses have no town (北都留郡小菅村)."""
    town_kana: str
    block: str
    """"3丁目4番5号" in towns numbered by 丁目, otherwise "1234番地"."""
    building: str
    """"" for a house, else building name and room, e.g. "グランハイツ201"."""


@dataclass(frozen=True, slots=True)
class SyntheticHousehold:
    address: SyntheticAddress
    members: tuple[SyntheticPerson, ...]
    """members[0] is the head (世帯主)."""
    domicile: str
    """本籍, e.g. "東京都千代田区丸の内一丁目1番"."""
    domicile_head: str
    """筆頭者 of the family register: family and given name separated by a space."""
    resident_since: date


def age_on(date_of_birth: date, day: date) -> int:
    """Age in completed years on ``day``."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


# --- shape of the population ------------------------------------------------------

_YEAR = 365.2425
_MAX_AGE = 105

# (household type, share of households)
_HOUSEHOLD_TYPES: tuple[tuple[str, float], ...] = (
    ("single", 0.38),
    ("couple", 0.20),
    ("couple_children", 0.25),
    ("single_parent", 0.09),
    ("three_generations", 0.05),
    ("other", 0.03),
)

# Age of the head (of the husband, for couples) by household type, as
# (lowest, highest, weight) bands. Tuned so that the whole population comes out
# near the 2020 census: ~29% aged 65+, ~12% under 15, 2.2 persons per household.
_AgeBands = tuple[tuple[int, int, float], ...]
_HEAD_AGES: dict[str, _AgeBands] = {
    "single": ((18, 24, 8), (25, 34, 11), (35, 44, 9), (45, 54, 11), (55, 64, 11),
               (65, 74, 19), (75, 84, 18), (85, 98, 10)),
    "couple": ((22, 34, 5), (35, 49, 6), (50, 64, 19), (65, 74, 34), (75, 84, 28),
               (85, 95, 8)),
    "couple_children": ((24, 34, 17), (35, 44, 31), (45, 54, 26), (55, 64, 16),
                        (65, 74, 8), (75, 85, 2)),
    "single_parent": ((25, 39, 18), (40, 54, 30), (55, 69, 20), (70, 79, 18), (80, 92, 14)),
    "middle_generation": ((30, 39, 25), (40, 49, 45), (50, 60, 30)),
    "eldest_generation": ((60, 69, 30), (70, 79, 45), (80, 92, 25)),
    "other": ((20, 39, 35), (40, 64, 35), (65, 90, 30)),
}  # fmt: skip
_CHILD_COUNTS = ((1, 0.42), (2, 0.42), (3, 0.14), (4, 0.02))
_VARIANT_SHARE = 0.015
_KANJI_DIGITS = "〇一二三四五六七八九"
_BUILDING_PREFIXES = (
    "グラン", "パーク", "メゾン", "コーポ", "レジデンス", "サンライズ", "エスポワール",
    "ロイヤル", "シャトー", "ヴィラ", "アーバン", "リバーサイド", "ドミール", "ラ・フォーレ",
)  # fmt: skip
_BUILDING_SUFFIXES = (
    "ハイツ", "マンション", "コート", "ヒルズ", "パレス", "ハウス", "テラス", "タワー",
)  # fmt: skip


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for weight in weights:
        total += weight
        out.append(total)
    return out


class _Picker(Generic[_T]):
    """Weighted choice by bisection: many times faster than random.choices per call."""

    __slots__ = ("_cumulative", "_items", "_total")

    def __init__(self, items: Sequence[_T], weights: Sequence[float]) -> None:
        self._items = tuple(items)
        self._cumulative = _cumulative(weights)
        self._total = self._cumulative[-1]

    def __call__(self, rng: random.Random) -> _T:
        return self._items[bisect.bisect_right(self._cumulative, rng.random() * self._total)]


_HOUSEHOLD_PICKER = _Picker([t for t, _ in _HOUSEHOLD_TYPES], [w for _, w in _HOUSEHOLD_TYPES])
_FAMILY_PICKER = _Picker([(f.name, f.kana) for f in FAMILY_NAMES], [f.weight for f in FAMILY_NAMES])
_CHILD_COUNT_PICKER = _Picker([n for n, _ in _CHILD_COUNTS], [w for _, w in _CHILD_COUNTS])
_AGE_PICKERS = {
    kind: _Picker([(lo, hi) for lo, hi, _ in bands], [w for _, _, w in bands])
    for kind, bands in _HEAD_AGES.items()
}


def _names_by_year(names: Sequence[GivenName]) -> dict[int, tuple[GivenName, ...]]:
    first = min(n.born_from for n in names)
    last = max(n.born_until for n in names)
    table = {}
    for year in range(first, last + 1):
        usual = tuple(n for n in names if n.born_from <= year <= n.born_until)
        if usual:
            table[year] = usual
    return table


# --- the generator -----------------------------------------------------------------


class _Builder:
    """Per-call state of :func:`generate`; everything random goes through ``rng``."""

    def __init__(self, places: Places, home: Municipality, rng: random.Random, today: date):
        self.places = places
        self.home = home
        self.rng = rng
        self.today_ordinal = today.toordinal()
        self.towns = places.towns(home.code)
        self.all_municipalities = places.municipalities()
        self.same_prefecture = [m for m in self.all_municipalities if m.code[:2] == home.code[:2]]
        self._town_cache: dict[str, list[Town]] = {home.code: self.towns}
        # The birth dates of someone aged exactly n today lie in (bounds[n+1], bounds[n]].
        self._age_bounds = [_years_before(today, n).toordinal() for n in range(_MAX_AGE + 2)]
        self._given = {"male": _names_by_year(MALE_NAMES), "female": _names_by_year(FEMALE_NAMES)}
        self._given_years = {sex: (min(table), max(table)) for sex, table in self._given.items()}
        self._buildings: list[tuple[Town | None, str, str, int]] = []

    # -- people --

    def birth_for_age(self, age: int) -> int:
        age = min(max(age, 0), _MAX_AGE)
        return self.rng.randint(self._age_bounds[age + 1] + 1, self._age_bounds[age])

    def head_birth(self, kind: str) -> int:
        lo, hi = _AGE_PICKERS[kind](self.rng)
        return self.birth_for_age(self.rng.randint(lo, hi))

    def age(self, ordinal: int) -> float:
        return (self.today_ordinal - ordinal) / _YEAR

    def given(self, sex: Sex, birth_ordinal: int, taken: set[str]) -> GivenName:
        table = self._given[sex]
        first, last = self._given_years[sex]
        year = min(max(date.fromordinal(birth_ordinal).year, first), last)
        choices = table[year]
        name = choices[self.rng.randrange(len(choices))]
        for _ in range(4):
            if name.name not in taken:
                break
            name = choices[self.rng.randrange(len(choices))]
        return name

    def person(
        self,
        family: tuple[str, str],
        sex: Sex,
        birth_ordinal: int,
        relationship: str,
        taken: set[str],
    ) -> SyntheticPerson:
        birth_ordinal = min(birth_ordinal, self.today_ordinal)
        given = self.given(sex, birth_ordinal, taken)
        taken.add(given.name)
        return SyntheticPerson(
            family_name=family[0],
            given_name=given.name,
            family_kana=family[1],
            given_kana=given.kana,
            date_of_birth=date.fromordinal(birth_ordinal),
            sex=sex,
            relationship=relationship,
        )

    def family_name(self) -> tuple[str, str]:
        if self.rng.random() < _VARIANT_SHARE:
            variant = VARIANT_FAMILY_NAMES[self.rng.randrange(len(VARIANT_FAMILY_NAMES))]
            return variant.name, variant.kana
        return _FAMILY_PICKER(self.rng)

    def sex(self, male_share: float) -> Sex:
        return "male" if self.rng.random() < male_share else "female"

    def spouse_birth(self, husband_ordinal: int) -> int:
        """Birth of a wife for this husband: usually a little younger, always 18+."""
        gap = min(max(round(self.rng.gauss(2.0, 3.0)), -6), 12)
        wife = husband_ordinal + gap * 365 + self.rng.randrange(-180, 181)
        return min(wife, self._age_bounds[18])

    def child_births(
        self,
        mother_ordinal: int,
        count: int,
        oldest: float,
        youngest: float = 0.0,
        father_ordinal: int | None = None,
    ) -> list[int]:
        """Births of up to ``count`` children, oldest first, born when the mother was
        20 to 45 (and the father, if known, at least 20), aged between ``youngest``
        and ``oldest`` years today."""
        mother_age = self.age(mother_ordinal)
        lo = max(20.05, mother_age - oldest)
        if father_ordinal is not None:
            # A wife older than her husband must not make him a teenage father.
            lo = max(lo, 20.05 + mother_age - self.age(father_ordinal))
        hi = min(44.95, mother_age - youngest)
        births: list[int] = []
        if lo > hi:
            return births
        at = self.rng.uniform(lo, min(hi, max(lo, 34.0)))
        while len(births) < count and at <= hi:
            births.append(min(mother_ordinal + round(at * _YEAR), self.today_ordinal))
            at += self.rng.uniform(1.2, 5.0)
        return births

    # -- households --

    def household(self, kind: str) -> tuple[list[SyntheticPerson], str]:
        """Members (head first) and the given name of the 筆頭者 of their family register."""
        rng = self.rng
        family = self.family_name()
        taken: set[str] = set()
        members: list[SyntheticPerson] = []
        add = members.append

        if kind == "single":
            birth = self.head_birth("single")
            sex = self.sex(0.56 if self.age(birth) < 65 else 0.35)
            head = self.person(family, sex, birth, "世帯主", taken)
            add(head)
            age = self.age(birth)
            # The young living alone are often still in their father's family
            # register, widows in their late husband's.
            if age < 35 and rng.random() < 0.6:
                return members, self.given("male", birth - 30 * 365, taken).name
            if sex == "female" and age >= 60 and rng.random() < 0.7:
                return members, self.given("male", birth - 3 * 365, taken).name
            return members, head.given_name

        if kind in ("couple", "couple_children"):
            husband_birth = self.head_birth(kind)
            wife_birth = self.spouse_birth(husband_birth)
            husband_heads = rng.random() < 0.9
            husband = self.person(
                family, "male", husband_birth, "世帯主" if husband_heads else "夫", taken
            )
            wife = self.person(
                family, "female", wife_birth, "妻" if husband_heads else "世帯主", taken
            )
            members.extend((husband, wife) if husband_heads else (wife, husband))
            if kind == "couple_children":
                count = _CHILD_COUNT_PICKER(rng)
                for child in self.child_births(wife_birth, count, 35.0, 0.0, husband_birth):
                    add(self.person(family, self.sex(0.51), child, "子", taken))
            return members, husband.given_name

        if kind == "single_parent":
            birth = self.head_birth("single_parent")
            sex = self.sex(0.15)
            head = self.person(family, sex, birth, "世帯主", taken)
            add(head)
            # A father's children are dated from an imagined mother of his age.
            mother = birth if sex == "female" else self.spouse_birth(birth)
            father = birth if sex == "male" else None
            count = 1 if rng.random() < 0.6 else 2
            births = self.child_births(mother, count, 55.0, 0.0, father)
            if not births:
                births = self.child_births(mother, 1, 60.0, 0.0, father)
            for child in births:
                add(self.person(family, self.sex(0.5), child, "子", taken))
            # A divorced mother usually opens a register of her own.
            own_register = sex == "female" and rng.random() < 0.7
            if sex == "male" or own_register:
                return members, head.given_name
            return members, self.given("male", birth - 3 * 365, taken).name

        if kind == "three_generations":
            if rng.random() < 0.6:
                return self._with_parents(family, taken)
            return self._with_grandchildren(family, taken)

        # Siblings, or a lodger who keeps his or her own family name.
        birth = self.head_birth("other")
        head = self.person(family, self.sex(0.5), birth, "世帯主", taken)
        add(head)
        if rng.random() < 0.5:
            other = birth + rng.randint(-10 * 365, 10 * 365)
            other = min(max(other, self._age_bounds[_MAX_AGE]), self._age_bounds[18])
            sex = self.sex(0.5)
            older = other < birth
            relationship = {
                ("male", True): "兄",
                ("female", True): "姉",
                ("male", False): "弟",
                ("female", False): "妹",
            }[(sex, older)]
            add(self.person(family, sex, other, relationship, taken))
        else:
            lodger_age = min(max(self.age(birth) + rng.randint(-15, 15), 18), 90)
            lodger = self.birth_for_age(int(lodger_age))
            add(self.person(self.family_name(), self.sex(0.5), lodger, "同居人", set()))
        return members, head.given_name

    def _with_parents(
        self, family: tuple[str, str], taken: set[str]
    ) -> tuple[list[SyntheticPerson], str]:
        """A couple (or parent) with children, and the head's own father or mother."""
        rng = self.rng
        head_birth = self.head_birth("middle_generation")
        members: list[SyntheticPerson] = []
        married = rng.random() < 0.85
        if married:
            wife_birth = self.spouse_birth(head_birth)
            members.append(self.person(family, "male", head_birth, "世帯主", taken))
            members.append(self.person(family, "female", wife_birth, "妻", taken))
            mother_of_children = wife_birth
            father_of_children: int | None = head_birth
            register_head = members[0].given_name
        else:
            sex = self.sex(0.4)
            members.append(self.person(family, sex, head_birth, "世帯主", taken))
            if sex == "female":
                mother_of_children, father_of_children = head_birth, None
            else:
                mother_of_children = self.spouse_birth(head_birth)
                father_of_children = head_birth
            register_head = members[0].given_name
        count = _CHILD_COUNT_PICKER(rng)
        for child in self.child_births(mother_of_children, count, 30.0, 0.0, father_of_children):
            members.append(self.person(family, self.sex(0.51), child, "子", taken))
        # The head was born when the head's mother was 20 to 45.
        grandmother = head_birth - round(rng.uniform(20.05, 44.95) * _YEAR)
        grandfather = grandmother - round(max(-3.0, rng.gauss(2.5, 2.5)) * _YEAR)
        which = rng.random()
        if which < 0.85 and self.age(grandmother) <= _MAX_AGE - 1:
            members.append(self.person(family, "female", grandmother, "母", taken))
        if (which < 0.4 or which >= 0.85) and self.age(grandfather) <= _MAX_AGE - 1:
            members.append(self.person(family, "male", grandfather, "父", taken))
        return members, register_head

    def _with_grandchildren(
        self, family: tuple[str, str], taken: set[str]
    ) -> tuple[list[SyntheticPerson], str]:
        """An elderly head, perhaps a spouse, a married child and grandchildren."""
        rng = self.rng
        head_birth = self.head_birth("eldest_generation")
        members = [self.person(family, "male", head_birth, "世帯主", taken)]
        wife_birth = self.spouse_birth(head_birth)
        if rng.random() < 0.7:
            members.append(self.person(family, "female", wife_birth, "妻", taken))
        births = self.child_births(wife_birth, 1, 50.0, 25.0, head_birth)
        if not births:
            return members, members[0].given_name
        son = rng.random() < 0.8
        child_birth = births[0]
        members.append(self.person(family, "male" if son else "female", child_birth, "子", taken))
        in_law_birth = self.spouse_birth(child_birth) if son else child_birth - 2 * 365
        if rng.random() < 0.75:
            members.append(
                self.person(
                    family,
                    "female" if son else "male",
                    in_law_birth,
                    "子の妻" if son else "子の夫",
                    taken,
                )
            )
            mother, father = (in_law_birth, child_birth) if son else (child_birth, in_law_birth)
            count = _CHILD_COUNT_PICKER(rng)
            for grandchild in self.child_births(mother, count, 25.0, 0.0, father):
                members.append(self.person(family, self.sex(0.51), grandchild, "孫", taken))
        return members, members[0].given_name

    # -- places --

    def towns_of(self, municipality: Municipality) -> list[Town]:
        towns = self._town_cache.get(municipality.code)
        if towns is None:
            towns = self._town_cache[municipality.code] = self.places.towns(municipality.code)
        return towns

    def domicile(self) -> str:
        rng = self.rng
        draw = rng.random()
        if draw < 0.4:
            municipality = self.home
        elif draw < 0.65:
            municipality = self.same_prefecture[rng.randrange(len(self.same_prefecture))]
        else:
            municipality = self.all_municipalities[rng.randrange(len(self.all_municipalities))]
        place = municipality.prefecture + municipality.name
        towns = self.towns_of(municipality)
        if not towns:
            return f"{place}{rng.randint(1, 2000)}番地"
        town = towns[rng.randrange(len(towns))]
        if town.has_chome:
            return f"{place}{town.name}{_KANJI_DIGITS[rng.randint(1, 5)]}丁目{rng.randint(1, 30)}番"
        return f"{place}{town.name}{rng.randint(1, 3000)}番地"

    def address(self, kind: str, family: str) -> SyntheticAddress:
        rng = self.rng
        flat_share = {"single": 0.7, "three_generations": 0.05}.get(kind, 0.35)
        if rng.random() < flat_share:
            if self._buildings and rng.random() < 0.5:
                town, block, name, floors = self._buildings[rng.randrange(len(self._buildings))]
            else:
                town, block = self._plot()
                name = self._building_name(town, family)
                floors = rng.randint(2, 12)
                if len(self._buildings) >= 64:
                    self._buildings[rng.randrange(64)] = (town, block, name, floors)
                else:
                    self._buildings.append((town, block, name, floors))
            room = f"{rng.randint(1, floors)}{rng.randint(1, 8):02d}"
            return _address(town, block, name + room)
        town, block = self._plot()
        return _address(town, block, "")

    def _plot(self) -> tuple[Town | None, str]:
        rng = self.rng
        if not self.towns:
            return None, f"{rng.randint(1, 2000)}番地"
        town = self.towns[rng.randrange(len(self.towns))]
        if town.has_chome:
            return town, f"{rng.randint(1, 5)}丁目{rng.randint(1, 30)}番{rng.randint(1, 30)}号"
        return town, f"{rng.randint(1, 3000)}番地"

    def _building_name(self, town: Town | None, family: str) -> str:
        rng = self.rng
        prefix = _BUILDING_PREFIXES[rng.randrange(len(_BUILDING_PREFIXES))]
        suffix = _BUILDING_SUFFIXES[rng.randrange(len(_BUILDING_SUFFIXES))]
        style = rng.random()
        if style < 0.5:
            return prefix + suffix
        if style < 0.75 and town is not None:
            return prefix + town.name
        if style < 0.9:
            return f"{family}{'荘' if rng.random() < 0.5 else 'ハイツ'}"
        return f"{prefix}{suffix}{'ⅠⅡⅢ'[rng.randrange(3)]}"

    def resident_since(self, head: SyntheticPerson) -> date:
        adult = _eighteenth_birthday(head.date_of_birth).toordinal()
        return date.fromordinal(self.rng.randint(adult, max(adult, self.today_ordinal)))


def _address(town: Town | None, block: str, building: str) -> SyntheticAddress:
    if town is None:
        return SyntheticAddress(town="", town_kana="", block=block, building=building)
    return SyntheticAddress(town=town.name, town_kana=town.kana, block=block, building=building)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year - years, day=28)


def _eighteenth_birthday(born: date) -> date:
    try:
        return born.replace(year=born.year + 18)
    except ValueError:  # born on 29 February: count from 1 March, the later day
        return date(born.year + 18, 3, 1)


def generate(
    places: Places,
    municipality_code: str,
    residents: int,
    rng: random.Random,
    today: date,
) -> Iterator[SyntheticHousehold]:
    """Yield households living in the municipality until they hold ``residents`` people.

    The last household may be cut short (its youngest generation dropped) so that
    the total is exact. Raises UnknownMunicipality / InvalidLocalGovernmentCode
    for a bad code, before yielding anything, and ValueError if ``residents`` is
    negative.
    """
    if residents < 0:
        raise ValueError(f"A population cannot have {residents} residents.")
    home = places.municipality(municipality_code)
    return _households(_Builder(places, home, rng, today), residents)


def _households(builder: _Builder, residents: int) -> Iterator[SyntheticHousehold]:
    remaining = residents
    pick: Callable[[random.Random], str] = _HOUSEHOLD_PICKER
    while remaining > 0:
        kind = pick(builder.rng)
        members, register_head = builder.household(kind)
        if len(members) > remaining:
            del members[remaining:]
        remaining -= len(members)
        head = members[0]
        yield SyntheticHousehold(
            address=builder.address(kind, head.family_name),
            members=tuple(members),
            domicile=builder.domicile(),
            domicile_head=f"{head.family_name} {register_head}",
            resident_since=builder.resident_since(head),
        )
