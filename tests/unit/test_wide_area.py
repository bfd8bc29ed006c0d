"""A wide-area copy at the window, before and after the network (R20, 第12条の4, R4).

What A refuses itself before anything is sent, the messages' shape (the answer has no
place for the domicile), and the copy A builds from B's answer.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from pydantic import ValidationError

from jukinet.domain.copies import Issuer, mayor_title_for, printed_digest
from jukinet.errors import InvalidLocalGovernmentCode, InvalidResidentCode, WideAreaRefused
from jukinet.network.messages_wide_area import WideAreaAnswer, WideAreaRequest
from jukinet.nodes.municipality.wide_area import (
    WindowAsk,
    _checked,
    build_request,
    wide_area_copy,
)

CODE, OTHER = "75078888997", "81985026386"
PERSON = {
    "family_name": "髙橋", "given_name": "一郎", "family_kana": "タカハシ",
    "given_kana": "イチロウ", "date_of_birth": "2010-04-04", "sex": "male",
    "became_resident_on": "2018-12-24", "address_fixed_on": "2018-12-24",
    "notified_on": "2018-12-24", "previous_address": "",
}  # fmt: skip


@pytest.mark.parametrize(
    ("ask", "error", "phrase"),
    [
        (WindowAsk("131015", CODE, "licence", licence="301234567890"),
         InvalidLocalGovernmentCode, "check digit"),
        (WindowAsk("131016", CODE, "licence", licence="301234567890"),
         WideAreaRefused, "is this municipality"),
        (WindowAsk("131041", CODE, None), WideAreaRefused, "Record how the person's identity"),
        (WindowAsk("131041", CODE, "licence"), WideAreaRefused, "12 digits"),
        (WindowAsk("131041", CODE, "licence", licence="３０１２３４５６７８９０"),
         WideAreaRefused, "12 digits"),
        (WindowAsk("131041", CODE, "licence", OTHER, licence="301234567890"),
         WideAreaRefused, "household copy"),
        (WindowAsk("131041", "7507888899", "licence", licence="301234567890"),
         InvalidResidentCode, "11 digits"),
    ],
)  # fmt: skip
def test_a_refuses_what_it_can_tell_before_sending(
    ask: WindowAsk, error: type[Exception], phrase: str
) -> None:
    with pytest.raises(error) as caught:
        _checked(ask, "131016")
    assert phrase in str(caught.value)


def test_a_card_verification_needs_the_card_in_the_reader() -> None:
    with pytest.raises(WideAreaRefused, match="card in the window's reader"):
        build_request(WindowAsk("131041", CODE, "card"), "131016", "clerk")


def test_the_request_carries_the_licence_and_a_fresh_request_id() -> None:
    ask = WindowAsk("131041", CODE, "licence", licence="301234567890", with_domicile=True)
    one, two = (build_request(ask, "131016", "clerk") for _ in range(2))
    assert one.request_id != two.request_id and len(one.request_id) == 32
    assert (one.verified_by, one.licence, one.card, one.subject) == (
        "licence", "301234567890", None, CODE,
    )  # fmt: skip
    again = WideAreaRequest.model_validate_json(one.model_dump_json())  # as B parses it
    assert again == one


def test_the_answer_has_no_place_for_the_domicile() -> None:
    assert not {f for f in WideAreaAnswer.model_fields if "domicile" in f}
    answer = {"request_id": "a" * 32, "home": "131041", "home_name": "東京都新宿区",
              "address": "東京都新宿区東榎町955番地", "persons": [PERSON]}  # fmt: skip
    WideAreaAnswer.model_validate(answer)
    for extra in ({"domicile": "京都府京都市"}, {"domicile_head": "髙橋 太郎"}):
        with pytest.raises(ValidationError):
            WideAreaAnswer.model_validate(answer | {"persons": [PERSON | extra]})


def test_a_issues_the_copy_from_b_s_answer() -> None:
    answer = WideAreaAnswer.model_validate(
        {"request_id": "a" * 32, "home": "131041", "home_name": "東京都新宿区",
         "address": "東京都新宿区東榎町955番地", "head_name": "髙橋 太郎",
         "persons": [PERSON | {"relationship": "子", "resident_code": CODE}]}
    )  # fmt: skip
    issuer = Issuer("131016", "東京都千代田区", mayor_title_for("東京都千代田区"), "千代田 太郎")
    copy = wide_area_copy(answer, issuer, "131016-W1", date(2026, 12, 2))
    assert (issuer.mayor_title, mayor_title_for("大阪府大阪市北区")) == (
        "千代田区長", "大阪市北区長",
    )  # fmt: skip
    assert copy.wide_area and (copy.issuer_code, copy.home_code) == ("131016", "131041")
    items = copy.printed_items()
    assert items["広域交付"] is True and items["世帯主"] == "髙橋 太郎"
    assert items["記載事項"] == [
        {"氏名": "髙橋 一郎", "氏名（かな）": "タカハシ イチロウ", "生年月日": "2010-04-04",
         "性別": "男", "住民となった年月日": "2018-12-24", "住所を定めた年月日": "2018-12-24",
         "届出年月日": "2018-12-24", "従前の住所": "", "続柄": "子", "住民票コード": CODE}
    ]  # fmt: skip
    assert "本籍" not in json.dumps(items, ensure_ascii=False)
    assert len(printed_digest(copy)) == 64
