"""Lookup with exactly the affair's fields, verify without disclosure (R23) and search
by the 4 items across variant kanji (R2, R4, R5).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from jukinet.domain.codes import generate_resident_code
from jukinet.network.messages import LookupRequest, SearchRequest, VerifyRequest
from jukinet.nodes.identity import provision as pv
from tests.integration.provision.nodes import MARUNOUCHI, TABLE, Node

# --- lookup: exactly the affair's fields ------------------------------------------------


def test_lookup_gives_exactly_the_fields_with_their_values(national: Node) -> None:
    code = national.person(name="鈴木 花子", sex="female", date_of_birth=date(1940, 2, 3))
    got = pv.lookup(
        national.store, TABLE, "mutual-aid",
        LookupRequest(affair="mutual-aid-pension-status", resident_code=code),
    )  # fmt: skip
    assert got.record is not None
    assert got.record.fields == {
        "resident_code": code, "name": "鈴木 花子", "date_of_birth": "1940-02-03",
        "sex": "female", "address": MARUNOUCHI, "status": "resident",
        "change_reason": "birth", "change_date": "1950-05-05",
    }  # fmt: skip
    # The pension fund's affair has a sector: a pseudonym, never the code (R4, R5).
    pension = pv.lookup(
        national.store, TABLE, "pension-fund",
        LookupRequest(affair="national-pension-status", resident_code=code),
    )  # fmt: skip
    assert pension.record is not None
    assert "resident_code" not in pension.record.fields
    assert code not in json.dumps(pension.model_dump(), ensure_ascii=False)
    assert len(pension.record.fields["pseudonym"]) == 20
    # An unknown code: not found, audited, no provision row.
    before = national.counts()
    unknown = pv.lookup(
        national.store, TABLE, "mutual-aid",
        LookupRequest(affair="mutual-aid-pension-status", resident_code=generate_resident_code()),
    )  # fmt: skip
    assert not unknown.found and unknown.record is None
    assert national.counts() == (before[0], before[1] + 1)


# --- verify: match without disclosure (R23) ---------------------------------------------


def test_verify_matches_across_variant_kanji_and_returns_no_data(national: Node) -> None:
    code = national.person(name="髙橋 一郎", address="東京都千代田区丸の内一丁目１番１号")

    def check(**kw: Any) -> dict[str, bool]:
        items = {"name": "高橋一郎", "date_of_birth": date(1950, 5, 5), "sex": "male",
                 "address": MARUNOUCHI, **kw}  # fmt: skip
        req = VerifyRequest(affair="passport-issuance", resident_code=code, **items)
        got = pv.verify(national.store, TABLE, "mofa-passport", req)
        assert got.found
        assert set(got.model_dump(exclude_none=True)) == {"found", "matches"}  # no data (R23)
        return dict(got.matches)

    assert all(check().values())  # 髙 = 高, full-width digits, spaces
    assert check(name="ﾀｶﾊｼ ｲﾁﾛｳ")["name"] is False
    assert check(date_of_birth=date(1950, 5, 6)) == {
        "name": True, "date_of_birth": False, "sex": True, "address": True,
    }  # fmt: skip
    assert check(sex="female", address="大阪府")["address"] is False
    rows = national.provisions()
    assert len(rows) == 4
    assert {(r.function, r.fields, r.resident_code) for r in rows} == {("verify", "", code)}


# --- search by the 4 items --------------------------------------------------------------


def test_search_finds_across_variant_kanji_and_caps_candidates(tokyo: Node) -> None:
    wanted = tokyo.person(name="髙﨑 𠮷男", date_of_birth=date(1970, 1, 1))
    for day in range(1, 10):  # nine namesakes, another date of birth each
        tokyo.person(name="高崎 吉男", date_of_birth=date(1980, 1, day),
                     address="東京都新宿区西新宿二丁目8番1号")  # fmt: skip
    tokyo.person(name="高崎 吉男", date_of_birth=date(1970, 1, 1), status="removed",
                 change_reason="death")  # fmt: skip
    tokyo.person(name="山田 太郎")
    affair = "tokyo-child-rearing-allowance"  # max_candidates = 5

    def search(**kw: Any) -> list[Any]:
        got = pv.search(tokyo.store, TABLE, "tokyo-pref", SearchRequest(affair=affair, **kw))
        return list(got.candidates)

    many = search(name="高崎 吉男", address="千代田区")
    assert len(many) == 5
    assert many[0].record.fields["resident_code"] == wanted  # address matched: ranked first
    assert [c.score for c in many] == sorted((c.score for c in many), reverse=True)
    exact = search(name="ﾀｶｻｷ ﾖｼｵ")  # a reading is not a name: folding keeps kanji apart
    assert exact == []
    two = search(name="髙崎　𠮷男", date_of_birth=date(1970, 1, 1), sex="male", address="丸の内")
    assert [c.record.fields["status"] for c in two] == ["resident", "removed"]
    assert two[0].record.fields["resident_code"] == wanted and two[0].score == 1.0
    provided = [r for r in tokyo.provisions() if r.function == "search"]
    assert len(provided) == 5 + 2  # one row per candidate returned
