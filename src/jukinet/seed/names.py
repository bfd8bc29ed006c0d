"""Curated Japanese family names for the synthetic population, and the name types.

Family names carry a weight: roughly the number of bearers in ten-thousands,
rounded, after the public surname rankings (佐藤 about 1.9 million, 鈴木 1.8
million, …). Only the relative sizes matter. Given names, by the birth years in
which they were usual, are in ``given_names.py``.

Variant-kanji family names (異体字) are written in a character other than the
everyday one: 髙橋 rather than 高橋. The resident register must keep them
exactly as the person writes them, so they are kept here with their everyday
("plain") form for tests that check matching and round-tripping. None of them
is a CJK compatibility ideograph that Unicode normalization (NFC) would
rewrite; 﨑 (U+FA11) is in the compatibility block but is a unified ideograph
and survives NFC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "FAMILY_NAMES",
    "VARIANT_FAMILY_NAMES",
    "FamilyName",
    "GivenName",
    "Sex",
    "VariantFamilyName",
]

Sex = Literal["male", "female"]


@dataclass(frozen=True, slots=True)
class FamilyName:
    name: str
    kana: str
    weight: int


@dataclass(frozen=True, slots=True)
class GivenName:
    name: str
    kana: str
    sex: Sex
    born_from: int
    """First birth year in which the name was usual."""
    born_until: int
    """Last birth year in which the name was usual (inclusive)."""


@dataclass(frozen=True, slots=True)
class VariantFamilyName:
    name: str
    """As the register must keep it, e.g. 髙橋."""
    kana: str
    plain: str
    """The everyday form, e.g. 高橋."""


def _family(rows: str) -> tuple[FamilyName, ...]:
    # "name kana weight" per line keeps 150 entries readable and diffable.
    names = []
    for line in rows.strip().splitlines():
        name, kana, weight = line.split()
        names.append(FamilyName(name, kana, int(weight)))
    return tuple(names)


FAMILY_NAMES: tuple[FamilyName, ...] = _family(
    """
佐藤 サトウ 187
鈴木 スズキ 179
高橋 タカハシ 140
田中 タナカ 133
伊藤 イトウ 107
渡辺 ワタナベ 104
山本 ヤマモト 102
中村 ナカムラ 102
小林 コバヤシ 101
加藤 カトウ 88
吉田 ヨシダ 83
山田 ヤマダ 81
佐々木 ササキ 67
山口 ヤマグチ 64
松本 マツモト 63
井上 イノウエ 61
木村 キムラ 57
林 ハヤシ 54
斎藤 サイトウ 54
清水 シミズ 53
山崎 ヤマザキ 48
森 モリ 47
池田 イケダ 44
橋本 ハシモト 44
阿部 アベ 44
石川 イシカワ 43
山下 ヤマシタ 42
中島 ナカジマ 41
石井 イシイ 40
小川 オガワ 40
前田 マエダ 39
岡田 オカダ 39
長谷川 ハセガワ 38
藤田 フジタ 38
後藤 ゴトウ 37
近藤 コンドウ 37
村上 ムラカミ 36
遠藤 エンドウ 35
青木 アオキ 34
坂本 サカモト 34
斉藤 サイトウ 33
福田 フクダ 33
太田 オオタ 33
西村 ニシムラ 32
藤井 フジイ 32
金子 カネコ 31
岡本 オカモト 31
藤原 フジワラ 31
中野 ナカノ 30
三浦 ミウラ 30
原田 ハラダ 30
中川 ナカガワ 29
松田 マツダ 29
竹内 タケウチ 29
小野 オノ 29
田村 タムラ 28
中山 ナカヤマ 28
和田 ワダ 28
石田 イシダ 27
森田 モリタ 27
上田 ウエダ 27
原 ハラ 27
内田 ウチダ 26
柴田 シバタ 26
酒井 サカイ 26
宮崎 ミヤザキ 26
横山 ヨコヤマ 25
高木 タカギ 25
安藤 アンドウ 25
宮本 ミヤモト 25
大野 オオノ 25
小島 コジマ 24
谷口 タニグチ 24
今井 イマイ 24
工藤 クドウ 24
高田 タカダ 23
増田 マスダ 23
丸山 マルヤマ 23
杉山 スギヤマ 23
村田 ムラタ 23
大塚 オオツカ 22
新井 アライ 22
小山 コヤマ 22
平野 ヒラノ 22
藤本 フジモト 22
河野 コウノ 22
上野 ウエノ 22
野口 ノグチ 21
武田 タケダ 21
松井 マツイ 21
千葉 チバ 21
岩崎 イワサキ 21
菅原 スガワラ 21
木下 キノシタ 21
久保 クボ 20
佐野 サノ 20
野村 ノムラ 20
松尾 マツオ 20
市川 イチカワ 20
菊地 キクチ 20
杉本 スギモト 19
古川 フルカワ 19
大西 オオニシ 19
島田 シマダ 19
水野 ミズノ 19
桜井 サクライ 19
高野 タカノ 18
渡部 ワタナベ 18
吉川 ヨシカワ 18
山内 ヤマウチ 18
西田 ニシダ 18
飯田 イイダ 18
菊池 キクチ 18
西川 ニシカワ 18
小松 コマツ 18
北村 キタムラ 17
安田 ヤスダ 17
五十嵐 イガラシ 17
川口 カワグチ 17
平田 ヒラタ 17
関 セキ 17
中田 ナカタ 17
久保田 クボタ 17
服部 ハットリ 17
東 ヒガシ 16
岩田 イワタ 16
土屋 ツチヤ 16
川崎 カワサキ 16
福島 フクシマ 16
本田 ホンダ 16
辻 ツジ 16
樋口 ヒグチ 16
秋山 アキヤマ 16
田口 タグチ 16
永井 ナガイ 16
山中 ヤマナカ 15
中西 ナカニシ 15
吉村 ヨシムラ 15
川上 カワカミ 15
石原 イシハラ 15
大橋 オオハシ 15
松岡 マツオカ 15
馬場 ババ 15
浅野 アサノ 15
荒木 アラキ 15
大久保 オオクボ 15
野田 ノダ 15
小池 コイケ 15
田辺 タナベ 14
永田 ナガタ 14
松下 マツシタ 14
吉野 ヨシノ 14
大川 オオカワ 14
内藤 ナイトウ 14
比嘉 ヒガ 13
浜田 ハマダ 13
徳永 トクナガ 9
"""
)

VARIANT_FAMILY_NAMES: tuple[VariantFamilyName, ...] = (
    VariantFamilyName("髙橋", "タカハシ", "高橋"),
    VariantFamilyName("山﨑", "ヤマザキ", "山崎"),
    VariantFamilyName("渡邉", "ワタナベ", "渡辺"),
    VariantFamilyName("渡邊", "ワタナベ", "渡辺"),
    VariantFamilyName("𠮷田", "ヨシダ", "吉田"),
    VariantFamilyName("齋藤", "サイトウ", "斎藤"),
    VariantFamilyName("齊藤", "サイトウ", "斉藤"),
    VariantFamilyName("濵田", "ハマダ", "浜田"),
    VariantFamilyName("髙田", "タカダ", "高田"),
    VariantFamilyName("宮﨑", "ミヤザキ", "宮崎"),
    VariantFamilyName("德永", "トクナガ", "徳永"),
    VariantFamilyName("髙木", "タカギ", "高木"),
    VariantFamilyName("櫻井", "サクライ", "桜井"),
    VariantFamilyName("澤田", "サワダ", "沢田"),
    VariantFamilyName("廣瀬", "ヒロセ", "広瀬"),
    VariantFamilyName("濱田", "ハマダ", "浜田"),
    VariantFamilyName("邊見", "ヘンミ", "辺見"),
    VariantFamilyName("藤﨑", "フジサキ", "藤崎"),
    VariantFamilyName("眞鍋", "マナベ", "真鍋"),
    VariantFamilyName("嶋田", "シマダ", "島田"),
)
