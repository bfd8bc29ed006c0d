"""Synthetic households by type: a person alone, a couple with or without
children, a single parent, three generations, siblings or a lodger.
"""

from __future__ import annotations

from jukinet.seed.people import People
from jukinet.seed.shape import CHILD_COUNT_PICKER, MAX_AGE, YEAR
from jukinet.seed.synthetic import SyntheticPerson


def household(people: People, kind: str) -> tuple[list[SyntheticPerson], str]:
    """Members (head first) and the given name of the 筆頭者 of their family register."""
    rng = people.rng
    family = people.family_name()
    taken: set[str] = set()
    members: list[SyntheticPerson] = []
    add = members.append

    if kind == "single":
        birth = people.head_birth("single")
        sex = people.sex(0.56 if people.age(birth) < 65 else 0.35)
        head = people.person(family, sex, birth, "世帯主", taken)
        add(head)
        age = people.age(birth)
        # The young living alone are often still in their father's family
        # register, widows in their late husband's.
        if age < 35 and rng.random() < 0.6:
            return members, people.given("male", birth - 30 * 365, taken).name
        if sex == "female" and age >= 60 and rng.random() < 0.7:
            return members, people.given("male", birth - 3 * 365, taken).name
        return members, head.given_name

    if kind in ("couple", "couple_children"):
        husband_birth = people.head_birth(kind)
        wife_birth = people.spouse_birth(husband_birth)
        husband_heads = rng.random() < 0.9
        husband = people.person(
            family, "male", husband_birth, "世帯主" if husband_heads else "夫", taken
        )
        wife = people.person(
            family, "female", wife_birth, "妻" if husband_heads else "世帯主", taken
        )
        members.extend((husband, wife) if husband_heads else (wife, husband))
        if kind == "couple_children":
            count = CHILD_COUNT_PICKER(rng)
            for child in people.child_births(wife_birth, count, 35.0, 0.0, husband_birth):
                add(people.person(family, people.sex(0.51), child, "子", taken))
        return members, husband.given_name

    if kind == "single_parent":
        birth = people.head_birth("single_parent")
        sex = people.sex(0.15)
        head = people.person(family, sex, birth, "世帯主", taken)
        add(head)
        # A father's children are dated from an imagined mother of his age.
        mother = birth if sex == "female" else people.spouse_birth(birth)
        father = birth if sex == "male" else None
        count = 1 if rng.random() < 0.6 else 2
        births = people.child_births(mother, count, 55.0, 0.0, father)
        if not births:
            births = people.child_births(mother, 1, 60.0, 0.0, father)
        for child in births:
            add(people.person(family, people.sex(0.5), child, "子", taken))
        # A divorced mother usually opens a register of her own.
        own_register = sex == "female" and rng.random() < 0.7
        if sex == "male" or own_register:
            return members, head.given_name
        return members, people.given("male", birth - 3 * 365, taken).name

    if kind == "three_generations":
        if rng.random() < 0.6:
            return _with_parents(people, family, taken)
        return _with_grandchildren(people, family, taken)

    # Siblings, or a lodger who keeps his or her own family name.
    birth = people.head_birth("other")
    head = people.person(family, people.sex(0.5), birth, "世帯主", taken)
    add(head)
    if rng.random() < 0.5:
        other = birth + rng.randint(-10 * 365, 10 * 365)
        other = min(max(other, people.age_bounds[MAX_AGE]), people.age_bounds[18])
        sex = people.sex(0.5)
        older = other < birth
        relationship = {
            ("male", True): "兄",
            ("female", True): "姉",
            ("male", False): "弟",
            ("female", False): "妹",
        }[(sex, older)]
        add(people.person(family, sex, other, relationship, taken))
    else:
        lodger_age = min(max(people.age(birth) + rng.randint(-15, 15), 18), 90)
        lodger = people.birth_for_age(int(lodger_age))
        add(people.person(people.family_name(), people.sex(0.5), lodger, "同居人", set()))
    return members, head.given_name


def _with_parents(
    people: People, family: tuple[str, str], taken: set[str]
) -> tuple[list[SyntheticPerson], str]:
    """A couple (or parent) with children, and the head's own father or mother."""
    rng = people.rng
    head_birth = people.head_birth("middle_generation")
    members: list[SyntheticPerson] = []
    married = rng.random() < 0.85
    if married:
        wife_birth = people.spouse_birth(head_birth)
        members.append(people.person(family, "male", head_birth, "世帯主", taken))
        members.append(people.person(family, "female", wife_birth, "妻", taken))
        mother_of_children = wife_birth
        father_of_children: int | None = head_birth
        register_head = members[0].given_name
    else:
        sex = people.sex(0.4)
        members.append(people.person(family, sex, head_birth, "世帯主", taken))
        if sex == "female":
            mother_of_children, father_of_children = head_birth, None
        else:
            mother_of_children = people.spouse_birth(head_birth)
            father_of_children = head_birth
        register_head = members[0].given_name
    count = CHILD_COUNT_PICKER(rng)
    for child in people.child_births(mother_of_children, count, 30.0, 0.0, father_of_children):
        members.append(people.person(family, people.sex(0.51), child, "子", taken))
    # The head was born when the head's mother was 20 to 45.
    grandmother = head_birth - round(rng.uniform(20.05, 44.95) * YEAR)
    grandfather = grandmother - round(max(-3.0, rng.gauss(2.5, 2.5)) * YEAR)
    which = rng.random()
    if which < 0.85 and people.age(grandmother) <= MAX_AGE - 1:
        members.append(people.person(family, "female", grandmother, "母", taken))
    if (which < 0.4 or which >= 0.85) and people.age(grandfather) <= MAX_AGE - 1:
        members.append(people.person(family, "male", grandfather, "父", taken))
    return members, register_head


def _with_grandchildren(
    people: People, family: tuple[str, str], taken: set[str]
) -> tuple[list[SyntheticPerson], str]:
    """An elderly head, perhaps a spouse, a married child and grandchildren."""
    rng = people.rng
    head_birth = people.head_birth("eldest_generation")
    members = [people.person(family, "male", head_birth, "世帯主", taken)]
    wife_birth = people.spouse_birth(head_birth)
    if rng.random() < 0.7:
        members.append(people.person(family, "female", wife_birth, "妻", taken))
    births = people.child_births(wife_birth, 1, 50.0, 25.0, head_birth)
    if not births:
        return members, members[0].given_name
    son = rng.random() < 0.8
    child_birth = births[0]
    members.append(people.person(family, "male" if son else "female", child_birth, "子", taken))
    in_law_birth = people.spouse_birth(child_birth) if son else child_birth - 2 * 365
    if rng.random() < 0.75:
        members.append(
            people.person(
                family,
                "female" if son else "male",
                in_law_birth,
                "子の妻" if son else "子の夫",
                taken,
            )
        )
        mother, father = (in_law_birth, child_birth) if son else (child_birth, in_law_birth)
        count = CHILD_COUNT_PICKER(rng)
        for grandchild in people.child_births(mother, count, 25.0, 0.0, father):
            members.append(people.person(family, people.sex(0.51), grandchild, "孫", taken))
    return members, members[0].given_name
