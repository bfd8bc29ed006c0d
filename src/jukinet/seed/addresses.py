"""Synthetic places: addresses in the municipality's real towns (houses and
flats in named buildings), domiciles (本籍) in real towns anywhere in Japan,
mostly nearby.
"""

from __future__ import annotations

import random

from jukinet.seed.places import Municipality, Places, Town
from jukinet.seed.synthetic import SyntheticAddress

_KANJI_DIGITS = "〇一二三四五六七八九"
_BUILDING_PREFIXES = (
    "グラン", "パーク", "メゾン", "コーポ", "レジデンス", "サンライズ", "エスポワール",
    "ロイヤル", "シャトー", "ヴィラ", "アーバン", "リバーサイド", "ドミール", "ラ・フォーレ",
)  # fmt: skip
_BUILDING_SUFFIXES = (
    "ハイツ", "マンション", "コート", "ヒルズ", "パレス", "ハウス", "テラス", "タワー",
)  # fmt: skip


class Addresses:
    """Draws addresses and domiciles; everything random goes through ``rng``."""

    def __init__(self, places: Places, home: Municipality, rng: random.Random):
        self.places = places
        self.home = home
        self.rng = rng
        self.towns = places.towns(home.code)
        self.all_municipalities = places.municipalities()
        self.same_prefecture = [m for m in self.all_municipalities if m.code[:2] == home.code[:2]]
        self._town_cache: dict[str, list[Town]] = {home.code: self.towns}
        self._buildings: list[tuple[Town | None, str, str, int]] = []

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


def _address(town: Town | None, block: str, building: str) -> SyntheticAddress:
    if town is None:
        return SyntheticAddress(town="", town_kana="", block=block, building=building)
    return SyntheticAddress(town=town.name, town_kana=town.kana, block=block, building=building)
