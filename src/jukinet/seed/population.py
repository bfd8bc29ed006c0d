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

import random
from collections.abc import Callable, Iterator
from datetime import date

from jukinet.seed.addresses import Addresses
from jukinet.seed.households import household
from jukinet.seed.people import People
from jukinet.seed.places import Places
from jukinet.seed.shape import HOUSEHOLD_PICKER
from jukinet.seed.synthetic import (
    SyntheticAddress,
    SyntheticHousehold,
    SyntheticPerson,
    age_on,
)

__all__ = [
    "SyntheticAddress",
    "SyntheticHousehold",
    "SyntheticPerson",
    "age_on",
    "generate",
]


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
    people = People(rng, today)
    addresses = Addresses(places, home, rng)
    return _households(people, addresses, residents)


def _households(
    people: People, addresses: Addresses, residents: int
) -> Iterator[SyntheticHousehold]:
    remaining = residents
    pick: Callable[[random.Random], str] = HOUSEHOLD_PICKER
    while remaining > 0:
        kind = pick(people.rng)
        members, register_head = household(people, kind)
        if len(members) > remaining:
            del members[remaining:]
        remaining -= len(members)
        head = members[0]
        yield SyntheticHousehold(
            address=addresses.address(kind, head.family_name),
            members=tuple(members),
            domicile=addresses.domicile(),
            domicile_head=f"{head.family_name} {register_head}",
            resident_since=people.resident_since(head),
        )
