"""Synthetic persons: birth dates by age, given names usual in the birth year,
family names, spouses and children of plausible ages.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date

from jukinet.seed.given_names import FEMALE_NAMES, MALE_NAMES
from jukinet.seed.names import VARIANT_FAMILY_NAMES, GivenName, Sex
from jukinet.seed.shape import AGE_PICKERS, FAMILY_PICKER, MAX_AGE, VARIANT_SHARE, YEAR
from jukinet.seed.synthetic import SyntheticPerson


class People:
    """Draws persons; everything random goes through ``rng``."""

    def __init__(self, rng: random.Random, today: date):
        self.rng = rng
        self.today_ordinal = today.toordinal()
        # The birth dates of someone aged exactly n today lie in (bounds[n+1], bounds[n]].
        self.age_bounds = [_years_before(today, n).toordinal() for n in range(MAX_AGE + 2)]
        self._given = {"male": _names_by_year(MALE_NAMES), "female": _names_by_year(FEMALE_NAMES)}
        self._given_years = {sex: (min(table), max(table)) for sex, table in self._given.items()}

    def birth_for_age(self, age: int) -> int:
        age = min(max(age, 0), MAX_AGE)
        return self.rng.randint(self.age_bounds[age + 1] + 1, self.age_bounds[age])

    def head_birth(self, kind: str) -> int:
        lo, hi = AGE_PICKERS[kind](self.rng)
        return self.birth_for_age(self.rng.randint(lo, hi))

    def age(self, ordinal: int) -> float:
        return (self.today_ordinal - ordinal) / YEAR

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
        if self.rng.random() < VARIANT_SHARE:
            variant = VARIANT_FAMILY_NAMES[self.rng.randrange(len(VARIANT_FAMILY_NAMES))]
            return variant.name, variant.kana
        return FAMILY_PICKER(self.rng)

    def sex(self, male_share: float) -> Sex:
        return "male" if self.rng.random() < male_share else "female"

    def spouse_birth(self, husband_ordinal: int) -> int:
        """Birth of a wife for this husband: usually a little younger, always 18+."""
        gap = min(max(round(self.rng.gauss(2.0, 3.0)), -6), 12)
        wife = husband_ordinal + gap * 365 + self.rng.randrange(-180, 181)
        return min(wife, self.age_bounds[18])

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
            births.append(min(mother_ordinal + round(at * YEAR), self.today_ordinal))
            at += self.rng.uniform(1.2, 5.0)
        return births

    def resident_since(self, head: SyntheticPerson) -> date:
        adult = _eighteenth_birthday(head.date_of_birth).toordinal()
        return date.fromordinal(self.rng.randint(adult, max(adult, self.today_ordinal)))


def _names_by_year(names: Sequence[GivenName]) -> dict[int, tuple[GivenName, ...]]:
    first = min(n.born_from for n in names)
    last = max(n.born_until for n in names)
    table = {}
    for year in range(first, last + 1):
        usual = tuple(n for n in names if n.born_from <= year <= n.born_until)
        if usual:
            table[year] = usual
    return table


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
