"""The PDF of a copy of the resident record prints what the law gives, nothing else.

The PDF is rendered for real (Typst, IPAmj Mincho) and read back with poppler's
``pdftotext``, as anyone holding the file would: each option of 住民基本台帳法 第12条
changes what is printed (items left out are absent, items asked for are present),
R4 (the resident code only when asked, for the person's own household), R20 (a
wide-area copy says so and never prints 本籍・筆頭者). Layout: docs/copies.md.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from jukinet.documents.render import era_date, render_copy
from jukinet.domain.copies import CERTIFICATION, CopyOptions, ResidentCopy, copy_persons, head_name
from jukinet.domain.record import Name
from jukinet.errors import CopyRefused, GlyphMissing
from tests.pdf import pdf_fonts, pdf_text
from tests.unit.scene import Family, family_register

ISSUED = date(2026, 12, 2)
TOKEN = "JKN1.example-token"


def copy_of(f: Family, options: CopyOptions, *, person: str = "spouse") -> ResidentCopy:
    household = [f.head, f.spouse, f.child]
    asked = getattr(f, person)
    return ResidentCopy(
        serial="131016-2026-000042",
        issuer_code="131016",
        issuer_name="東京都千代田区",
        mayor_title="千代田区長",
        mayor_name="山田 太郎",
        issued_on=ISSUED,
        address=f.head.address.text,
        head_name=head_name(household, options),
        persons=copy_persons(asked, household, options),
        home_code="131016",
        wide_area=options.wide_area,
    )


@pytest.fixture(scope="module")
def family() -> Family:
    return family_register()[1]


def printed(copy: ResidentCopy) -> str:
    return pdf_text(render_copy(copy, TOKEN))


def test_a_plain_copy_prints_the_person_and_the_certification_nothing_left_out(
    family: Family,
) -> None:
    text = printed(copy_of(family, CopyOptions()))
    for seen in (
        "住民票の写し", "東京都千代田区（131016）", "東京都千代田区丸の内一丁目1番1号",
        "山田花子", "ヤマダハナコ", "1982-03-03", "女", "従前の住所", CERTIFICATION,
        "令和8年12月2日（2026-12-02）", "千代田区長山田太郎", "交付番号131016-2026-000042",
    ):  # fmt: skip
        assert seen in text
    # 第12条 第5項: relationship, head, domicile and code are left out unless asked.
    for absent in ("続柄", "世帯主", "本籍", "筆頭者", "住民票コード", family.spouse.resident_code):
        assert absent not in text
    assert "山田太郎" not in text.replace("千代田区長山田太郎", "")  # only the mayor's name
    assert "山田一郎" not in text  # the other members are not on a copy of one person
    assert "広域交付" not in text


def test_whole_household_prints_every_member_in_household_order(family: Family) -> None:
    text = printed(copy_of(family, CopyOptions(household=True)))
    assert text.index("山田太郎") < text.index("山田花子") < text.index("山田一郎")
    assert "記載事項1／3" in text and "記載事項3／3" in text


def test_some_members_print_those_members_only(family: Family) -> None:
    options = CopyOptions(members=(family.child.resident_code,))
    text = printed(copy_of(family, options))
    assert "山田花子" in text and "山田一郎" in text
    assert "1980-05-05" not in text  # the head's birth date: the head is not on it


def test_relationship_asked_prints_the_head_and_each_relationship(family: Family) -> None:
    text = printed(copy_of(family, CopyOptions(household=True, with_relationship=True)))
    assert "世帯主山田太郎" in text
    assert "続柄世帯主" in text and "続柄妻" in text and "続柄子" in text


def test_domicile_asked_prints_domicile_and_its_head(family: Family) -> None:
    text = printed(copy_of(family, CopyOptions(with_domicile=True)))
    assert f"本籍{family.spouse.domicile}" in text
    assert "筆頭者" + family.spouse.domicile_head.replace(" ", "") in text


def test_code_asked_prints_the_resident_code_r4(family: Family) -> None:
    text = printed(copy_of(family, CopyOptions(household=True, with_code=True)))
    for member in (family.head, family.spouse, family.child):
        assert f"住民票コード{member.resident_code}" in text


def test_wide_area_copy_is_marked_names_the_home_and_never_prints_the_domicile_r20(
    family: Family,
) -> None:
    copy = copy_of(family, CopyOptions(with_domicile=True, wide_area=True))
    copy = replace(copy, issuer_code="271004", issuer_name="大阪府大阪市", mayor_title="大阪市長")
    text = printed(copy)
    assert "広域交付" in text and "住所地市区町村131016" in text
    named = printed(replace(copy, home_name="東京都千代田区"))
    assert "住所地市区町村東京都千代田区（131016）" in named
    assert "大阪府大阪市（271004）" in text and "大阪市長" in text
    assert "本籍" not in text and "筆頭者" not in text


def test_markup_characters_in_a_name_print_literally(family: Family) -> None:
    name = Name("#[山]田", "花]子#set", "ヤマダ", "ハナコ")
    copy = copy_of(family, CopyOptions())
    copy = replace(copy, persons=(replace(copy.persons[0], name=name),))
    assert "氏名#[山]田花]子#set" in printed(copy)


def test_the_only_font_embedded_is_ipamj_mincho(family: Family) -> None:
    assert pdf_fonts(render_copy(copy_of(family, CopyOptions()), TOKEN)) == ["IPAmjMincho"]


def test_a_character_the_font_lacks_refuses_the_copy_naming_it(family: Family) -> None:
    copy = copy_of(family, CopyOptions())
    # U+1F600 is no character of a register; IPAmj Mincho has no glyph for it.
    person = replace(copy.persons[0], previous_address="東京都\U0001f600区")
    with pytest.raises(GlyphMissing) as refused:
        render_copy(replace(copy, persons=(person,)), TOKEN)
    assert isinstance(refused.value, CopyRefused)
    assert refused.value.item == "従前の住所 (person 1 of the copy)"
    assert "U+1F600 (\U0001f600)" in str(refused.value)
    assert "従前の住所 (person 1 of the copy)" in str(refused.value)


def test_a_variation_sequence_the_font_does_not_register_refuses_the_copy(
    family: Family,
) -> None:
    # IPAmj Mincho registers 葛 with U+E0102–U+E0108 (Moji_Joho), not U+E0100: set
    # alone, Typst would print the base glyph, which is not the registered name.
    copy = copy_of(family, CopyOptions())
    person = replace(copy.persons[0], name=Name("葛\U000e0100西", "花子", "カサイ", "ハナコ"))
    with pytest.raises(GlyphMissing) as refused:
        render_copy(replace(copy, persons=(person,)), TOKEN)
    assert refused.value.code_points == (0x845B, 0xE0100)
    assert "U+845B U+E0100" in str(refused.value) and "氏名" in str(refused.value)


def test_a_selector_with_no_base_character_refuses_the_copy(family: Family) -> None:
    copy = replace(copy_of(family, CopyOptions()), address="\U000e0102東京都")
    with pytest.raises(GlyphMissing, match=r"U\+E0102 .* in 住所"):
        render_copy(copy, TOKEN)


@pytest.mark.parametrize(
    ("day", "shown"),
    [
        (date(2026, 12, 2), "令和8年12月2日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
    ],
)
def test_issue_date_in_the_japanese_era(day: date, shown: str) -> None:
    assert era_date(day) == shown
