"""The shape of the synthetic population: census shares as tables, and weighted choice.

The tables are tuned so that the whole population comes out near Japan's 2020
census (see ``population.py``); the pickers draw from them quickly.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from typing import Generic, TypeVar

from jukinet.seed.names import FAMILY_NAMES

_T = TypeVar("_T")

YEAR = 365.2425
MAX_AGE = 105

# (household type, share of households)
HOUSEHOLD_TYPES: tuple[tuple[str, float], ...] = (
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
AgeBands = tuple[tuple[int, int, float], ...]
HEAD_AGES: dict[str, AgeBands] = {
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
CHILD_COUNTS = ((1, 0.42), (2, 0.42), (3, 0.14), (4, 0.02))
VARIANT_SHARE = 0.015


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for weight in weights:
        total += weight
        out.append(total)
    return out


class Picker(Generic[_T]):
    """Weighted choice by bisection: many times faster than random.choices per call."""

    __slots__ = ("_cumulative", "_items", "_total")

    def __init__(self, items: Sequence[_T], weights: Sequence[float]) -> None:
        self._items = tuple(items)
        self._cumulative = _cumulative(weights)
        self._total = self._cumulative[-1]

    def __call__(self, rng: random.Random) -> _T:
        return self._items[bisect.bisect_right(self._cumulative, rng.random() * self._total)]


HOUSEHOLD_PICKER = Picker([t for t, _ in HOUSEHOLD_TYPES], [w for _, w in HOUSEHOLD_TYPES])
FAMILY_PICKER = Picker([(f.name, f.kana) for f in FAMILY_NAMES], [f.weight for f in FAMILY_NAMES])
CHILD_COUNT_PICKER = Picker([n for n, _ in CHILD_COUNTS], [w for _, w in CHILD_COUNTS])
AGE_PICKERS = {
    kind: Picker([(lo, hi) for lo, hi, _ in bands], [w for _, _, w in bands])
    for kind, bands in HEAD_AGES.items()
}
