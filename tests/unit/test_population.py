"""The synthetic population: realistic households, deterministic, exact in size.

``places`` is the session-wide catalog from tests/conftest.py.
"""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jukinet.domain.codes import with_check_digit
from jukinet.errors import InvalidLocalGovernmentCode, UnknownMunicipality
from jukinet.seed.given_names import FEMALE_NAMES, MALE_NAMES
from jukinet.seed.names import FAMILY_NAMES, VARIANT_FAMILY_NAMES
from jukinet.seed.places import Places
from jukinet.seed.population import (
    SyntheticHousehold,
    SyntheticPerson,
    age_on,
    generate,
)

TODAY = date(2026, 4, 1)
CHIYODA = "131016"
KOSUGE = "194425"
KATAKANA = re.compile(r"[ァ-ヺー]+")
VARIANTS = {v.name for v in VARIANT_FAMILY_NAMES}
SPOUSES = {"妻", "夫"}


@pytest.fixture(scope="module")
def town(places: Places) -> list[SyntheticHousehold]:
    """A town of 30,000: large enough for shares to be stable."""
    return list(generate(places, CHIYODA, 30_000, random.Random(20260401), TODAY))


def people(households: list[SyntheticHousehold]) -> list[SyntheticPerson]:
    return [person for household in households for person in household.members]


def years_between(earlier: date, later: date) -> int:
    return age_on(earlier, later)


def eighteenth_birthday(born: date) -> date:
    try:
        return born.replace(year=born.year + 18)
    except ValueError:
        return date(born.year + 18, 3, 1)


# --- size and determinism ----------------------------------------------------------


def test_the_town_has_exactly_the_residents_asked_for(town: list[SyntheticHousehold]) -> None:
    assert len(people(town)) == 30_000


@settings(max_examples=25, deadline=None)
@given(residents=st.integers(min_value=0, max_value=400), seed=st.integers(0, 2**32))
def test_any_size_is_met_exactly(places: Places, residents: int, seed: int) -> None:
    households = list(generate(places, CHIYODA, residents, random.Random(seed), TODAY))
    assert len(people(households)) == residents
    assert all(household.members for household in households)


def test_the_same_seed_gives_the_same_population(places: Places) -> None:
    first = list(generate(places, CHIYODA, 2_000, random.Random(7), TODAY))
    again = list(generate(places, CHIYODA, 2_000, random.Random(7), TODAY))
    other = list(generate(places, CHIYODA, 2_000, random.Random(8), TODAY))
    assert first == again
    assert first != other


def test_households_are_streamed_not_built_up_front(places: Places) -> None:
    households = generate(places, CHIYODA, 10**12, random.Random(1), TODAY)
    first_ten = list(itertools.islice(households, 10))
    assert len(first_ten) == 10


def test_bad_arguments_fail_before_anything_is_generated(places: Places) -> None:
    with pytest.raises(UnknownMunicipality):
        generate(places, with_check_digit("13999"), 10, random.Random(1), TODAY)
    with pytest.raises(InvalidLocalGovernmentCode):
        generate(places, "131017", 10, random.Random(1), TODAY)
    with pytest.raises(ValueError, match="-1"):
        generate(places, CHIYODA, -1, random.Random(1), TODAY)


# --- households --------------------------------------------------------------------


def test_each_household_has_one_adult_head_listed_first(town: list[SyntheticHousehold]) -> None:
    for household in town:
        relationships = [person.relationship for person in household.members]
        assert relationships[0] == "世帯主"
        assert relationships.count("世帯主") == 1
        assert age_on(household.members[0].date_of_birth, TODAY) >= 18


def test_nobody_is_born_in_the_future_or_implausibly_long_ago(
    town: list[SyntheticHousehold],
) -> None:
    for person in people(town):
        assert person.date_of_birth <= TODAY
        assert age_on(person.date_of_birth, TODAY) <= 110


def test_children_are_younger_than_their_parents(town: list[SyntheticHousehold]) -> None:
    for household in town:
        by_role: dict[str, list[SyntheticPerson]] = {}
        for person in household.members:
            by_role.setdefault(person.relationship, []).append(person)
        head = household.members[0]
        couple = [head, *by_role.get("妻", []), *by_role.get("夫", [])]
        for child in by_role.get("子", []):
            for parent in couple:
                assert parent.date_of_birth < child.date_of_birth, household
        for grandchild in by_role.get("孫", []):
            for elder in (
                by_role.get("子", []) + by_role.get("子の妻", []) + by_role.get("子の夫", [])
            ):
                assert elder.date_of_birth < grandchild.date_of_birth, household
        for parent in by_role.get("父", []) + by_role.get("母", []):
            assert parent.date_of_birth < head.date_of_birth, household


def test_parents_were_of_age_when_their_children_were_born(
    town: list[SyntheticHousehold],
) -> None:
    checked = 0
    for household in town:
        couple = [p for p in household.members if p.relationship in {"世帯主", *SPOUSES}]
        mothers = [p for p in couple if p.sex == "female"]
        fathers = [p for p in couple if p.sex == "male"]
        if len(couple) != 2 or len(mothers) != 1:
            continue
        for child in household.members:
            if child.relationship == "子":
                assert 20 <= years_between(mothers[0].date_of_birth, child.date_of_birth) <= 45
                assert years_between(fathers[0].date_of_birth, child.date_of_birth) >= 20
                checked += 1
    assert checked > 1_000


def test_spouses_are_of_opposite_sex_and_plausible_ages(
    town: list[SyntheticHousehold],
) -> None:
    for household in town:
        head = household.members[0]
        for spouse in household.members[1:]:
            if spouse.relationship in SPOUSES:
                assert spouse.sex != head.sex
                gap = abs(head.date_of_birth.toordinal() - spouse.date_of_birth.toordinal())
                assert gap <= 14 * 366
                assert age_on(spouse.date_of_birth, TODAY) >= 18


def test_a_household_shares_one_family_name_except_lodgers(
    town: list[SyntheticHousehold],
) -> None:
    for household in town:
        family = household.members[0].family_name
        kana = household.members[0].family_kana
        for person in household.members:
            if person.relationship != "同居人":
                assert (person.family_name, person.family_kana) == (family, kana)


def test_the_household_mix_looks_like_japan(town: list[SyntheticHousehold]) -> None:
    sizes = Counter(len(household.members) for household in town)
    single_share = sizes[1] / len(town)
    assert 0.33 <= single_share <= 0.43  # 38.0% in the 2020 census
    assert 2.0 <= 30_000 / len(town) <= 2.4  # 2.21 persons per household
    relationships = Counter(person.relationship for person in people(town))
    for relationship in ("妻", "夫", "子", "父", "母", "孫", "子の妻", "同居人"):
        assert relationships[relationship] > 0, relationship


def test_the_age_pyramid_looks_like_japan(town: list[SyntheticHousehold]) -> None:
    ages = [age_on(person.date_of_birth, TODAY) for person in people(town)]
    elderly = sum(age >= 65 for age in ages) / len(ages)
    children = sum(age < 15 for age in ages) / len(ages)
    assert 0.24 <= elderly <= 0.33  # 28.6% in the 2020 census
    assert 0.09 <= children <= 0.15  # 11.9%
    assert max(ages) >= 90


def test_given_names_fit_the_birth_year(town: list[SyntheticHousehold]) -> None:
    eras = {(n.name, n.sex): (n.born_from, n.born_until) for n in MALE_NAMES + FEMALE_NAMES}
    first = min(born_from for born_from, _ in eras.values())
    last = max(born_until for _, born_until in eras.values())
    for person in people(town):
        born_from, born_until = eras[(person.given_name, person.sex)]
        year = min(max(person.date_of_birth.year, first), last)
        assert born_from <= year <= born_until, person
    # The symptom a clerk would notice first:
    for person in people(town):
        if age_on(person.date_of_birth, TODAY) >= 80:
            assert person.given_name not in {"陽翔", "陽葵", "蓮", "結菜"}


def test_readings_are_katakana(town: list[SyntheticHousehold]) -> None:
    for person in people(town):
        assert KATAKANA.fullmatch(person.family_kana), person
        assert KATAKANA.fullmatch(person.given_kana), person


def test_variant_kanji_family_names_appear_and_are_kept_as_written(
    places: Places,
) -> None:
    households = list(generate(places, CHIYODA, 50_000, random.Random(3), TODAY))
    variant = [h for h in households if h.members[0].family_name in VARIANTS]
    assert 0.005 <= len(variant) / len(households) <= 0.03
    written = {h.members[0].family_name for h in variant}
    assert len(written) >= 10
    assert "𠮷田" in written or "髙橋" in written


def test_residence_starts_after_the_head_came_of_age(town: list[SyntheticHousehold]) -> None:
    for household in town:
        head = household.members[0]
        assert eighteenth_birthday(head.date_of_birth) <= household.resident_since <= TODAY


# --- places ------------------------------------------------------------------------


def test_addresses_lie_in_real_towns_of_the_municipality(
    places: Places, town: list[SyntheticHousehold]
) -> None:
    towns = {t.name: t for t in places.towns(CHIYODA)}
    buildings = 0
    for household in town:
        address = household.address
        assert towns[address.town].kana == address.town_kana
        if towns[address.town].has_chome:
            assert re.fullmatch(r"\d+丁目\d+番\d+号", address.block), address
        else:
            assert re.fullmatch(r"\d+番地", address.block), address
        if address.building:
            buildings += 1
            assert re.search(r"\d{3,4}$", address.building), address
    assert 0.3 <= buildings / len(town) <= 0.7


def test_domiciles_name_real_places_and_a_register_head(
    places: Places, town: list[SyntheticHousehold]
) -> None:
    prefixes = {m.prefecture + m.name for m in places.municipalities()}
    home = 0
    for household in town:
        assert any(household.domicile.startswith(prefix) for prefix in prefixes)
        assert re.search(r"(丁目\d+番|\d+番地)$", household.domicile), household.domicile
        home += household.domicile.startswith("東京都千代田区")
        family, given_name = household.domicile_head.split(" ")
        assert family == household.members[0].family_name
        assert given_name
    assert 0.3 <= home / len(town) <= 0.5


def test_a_municipality_without_town_names_gets_lot_numbers(places: Places) -> None:
    households = list(generate(places, KOSUGE, 300, random.Random(5), TODAY))
    assert len(people(households)) == 300
    for household in households:
        assert household.address.town == ""
        assert household.address.town_kana == ""
        assert re.fullmatch(r"\d+番地", household.address.block)


# --- the name data -----------------------------------------------------------------


def test_family_names_are_common_weighted_and_unique() -> None:
    assert len(FAMILY_NAMES) >= 150
    assert len({f.name for f in FAMILY_NAMES}) == len(FAMILY_NAMES)
    assert FAMILY_NAMES[0].name == "佐藤"
    assert all(f.weight > 0 and KATAKANA.fullmatch(f.kana) for f in FAMILY_NAMES)


def test_given_names_span_the_generations() -> None:
    for names in (MALE_NAMES, FEMALE_NAMES):
        assert len(names) >= 80
        assert min(n.born_from for n in names) <= 1910
        assert max(n.born_until for n in names) >= 2025
        assert all(n.born_from <= n.born_until for n in names)
        assert all(KATAKANA.fullmatch(n.kana) for n in names)
        # Every birth year from 1900 on has names to choose from.
        for year in range(1900, 2026):
            assert any(n.born_from <= year <= n.born_until for n in names), year


def test_variant_names_differ_from_their_plain_form_in_writing_only() -> None:
    plain_readings = {f.name: f.kana for f in FAMILY_NAMES}
    assert {
        "髙橋",
        "山﨑",
        "渡邉",
        "渡邊",
        "𠮷田",
        "齋藤",
        "齊藤",
        "濵田",
        "髙田",
        "宮﨑",
        "德永",
    } <= {v.name for v in VARIANT_FAMILY_NAMES}
    for variant in VARIANT_FAMILY_NAMES:
        assert variant.name != variant.plain
        assert len(variant.name) == len(variant.plain)
        assert KATAKANA.fullmatch(variant.kana)
        if variant.plain in plain_readings:
            assert plain_readings[variant.plain] == variant.kana
