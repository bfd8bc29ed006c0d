"""Curated Japanese names for the synthetic population.

Family names carry a weight: roughly the number of bearers in ten-thousands,
rounded, after the public surname rankings (佐藤 about 1.9 million, 鈴木 1.8
million, …). Only the relative sizes matter.

Given names carry the range of birth years in which they were common, so that
a person born in 1940 is called 和子 or 清 and a child born in 2018 陽葵 or 蓮.
The ranges follow the published yearly rankings of baby names loosely; the
point is that no 90-year-old is called 陽翔.

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
    "FEMALE_NAMES",
    "MALE_NAMES",
    "VARIANT_FAMILY_NAMES",
    "FamilyName",
    "GivenName",
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


def _given(sex: Sex, rows: str) -> tuple[GivenName, ...]:
    names = []
    for line in rows.strip().splitlines():
        name, kana, born_from, born_until = line.split()
        names.append(GivenName(name, kana, sex, int(born_from), int(born_until)))
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

MALE_NAMES: tuple[GivenName, ...] = _given(
    "male",
    """
清 キヨシ 1900 1945
茂 シゲル 1900 1950
勇 イサム 1900 1950
実 ミノル 1910 1950
進 ススム 1910 1955
正 タダシ 1905 1950
武 タケシ 1910 1955
勝 マサル 1910 1955
三郎 サブロウ 1900 1945
正雄 マサオ 1900 1945
和夫 カズオ 1915 1950
幸雄 ユキオ 1910 1950
一郎 イチロウ 1900 1945
博 ヒロシ 1920 1960
昭 アキラ 1926 1955
弘 ヒロシ 1920 1955
明 アキラ 1920 1960
稔 ミノル 1920 1955
豊 ユタカ 1920 1960
修 オサム 1930 1965
隆 タカシ 1935 1970
浩 ヒロシ 1940 1975
誠 マコト 1945 1990
健一 ケンイチ 1940 1975
和彦 カズヒコ 1940 1970
哲也 テツヤ 1950 1985
秀樹 ヒデキ 1945 1975
浩二 コウジ 1945 1975
聡 サトシ 1950 1985
伸一 シンイチ 1945 1975
博之 ヒロユキ 1945 1980
直樹 ナオキ 1955 1990
剛 ツヨシ 1955 1985
学 マナブ 1950 1980
淳 ジュン 1955 1985
健二 ケンジ 1945 1980
正樹 マサキ 1955 1985
大輔 ダイスケ 1970 1995
拓也 タクヤ 1970 1995
健太 ケンタ 1975 2000
翔太 ショウタ 1980 2005
達也 タツヤ 1965 1995
和也 カズヤ 1965 1995
直人 ナオト 1970 2000
亮 リョウ 1970 2000
太郎 タロウ 1960 2000
雄太 ユウタ 1975 2000
大樹 ダイキ 1980 2005
翔 ショウ 1980 2005
拓海 タクミ 1985 2010
健 ケン 1960 1995
翼 ツバサ 1985 2005
涼 リョウ 1985 2010
駿 シュン 1985 2010
海斗 カイト 1990 2012
大翔 ヒロト 1995 2020
蓮 レン 1995 2025
悠斗 ユウト 1995 2020
颯太 ソウタ 1995 2020
陽向 ヒナタ 2000 2025
湊 ミナト 2005 2025
悠真 ユウマ 1995 2025
陽翔 ハルト 2005 2025
大和 ヤマト 1995 2025
樹 イツキ 1995 2025
結翔 ユイト 2008 2025
碧 アオイ 2010 2025
蒼 アオイ 2008 2025
朝陽 アサヒ 2010 2025
律 リツ 2012 2025
陸 リク 2000 2025
奏太 ソウタ 2000 2025
颯 ハヤテ 2005 2025
悠人 ユウト 1995 2020
凪 ナギ 2015 2025
暖 ダン 2015 2025
新 アラタ 2010 2025
陽太 ヨウタ 2000 2025
瑛太 エイタ 2000 2025
晴 ハル 2012 2025
""",
)

FEMALE_NAMES: tuple[GivenName, ...] = _given(
    "female",
    """
ハル ハル 1900 1935
キヨ キヨ 1900 1935
千代子 チヨコ 1900 1940
静子 シズコ 1900 1945
文子 フミコ 1900 1945
正子 マサコ 1905 1945
清子 キヨコ 1905 1945
八重子 ヤエコ 1905 1945
久子 ヒサコ 1910 1950
和子 カズコ 1920 1955
幸子 サチコ 1920 1960
節子 セツコ 1920 1955
美代子 ミヨコ 1920 1955
敏子 トシコ 1920 1955
弘子 ヒロコ 1930 1960
洋子 ヨウコ 1935 1970
恵子 ケイコ 1935 1970
京子 キョウコ 1935 1970
悦子 エツコ 1935 1965
信子 ノブコ 1925 1960
由美子 ユミコ 1945 1980
久美子 クミコ 1950 1980
真由美 マユミ 1955 1985
裕子 ユウコ 1950 1980
智子 トモコ 1955 1985
直美 ナオミ 1955 1985
明美 アケミ 1950 1980
陽子 ヨウコ 1950 1980
典子 ノリコ 1950 1980
順子 ジュンコ 1945 1975
みゆき ミユキ 1955 1985
恵美子 エミコ 1945 1975
美智子 ミチコ 1935 1965
淳子 ジュンコ 1955 1985
愛 アイ 1970 2000
恵 メグミ 1965 1995
麻衣 マイ 1975 2000
彩 アヤ 1975 2005
美穂 ミホ 1965 1995
由美 ユミ 1960 1990
香織 カオリ 1965 1995
舞 マイ 1970 2000
沙織 サオリ 1970 2000
千尋 チヒロ 1975 2005
美咲 ミサキ 1980 2010
優子 ユウコ 1970 1995
さくら サクラ 1985 2015
愛美 マナミ 1975 2000
彩香 アヤカ 1980 2005
明日香 アスカ 1975 2000
綾乃 アヤノ 1980 2005
七海 ナナミ 1985 2010
美優 ミユ 1985 2010
遥 ハルカ 1980 2010
菜々子 ナナコ 1985 2010
陽菜 ヒナ 1995 2020
結衣 ユイ 1995 2020
陽葵 ヒマリ 2005 2025
結菜 ユイナ 2000 2025
凛 リン 1995 2025
芽依 メイ 2005 2025
葵 アオイ 1995 2025
結愛 ユア 2005 2025
紬 ツムギ 2012 2025
澪 ミオ 2008 2025
莉子 リコ 2000 2025
美桜 ミオ 2000 2025
杏 アン 2005 2025
花 ハナ 2000 2025
詩 ウタ 2015 2025
心春 コハル 2008 2025
咲良 サクラ 2000 2025
美羽 ミウ 1995 2020
愛莉 アイリ 2000 2025
彩葉 イロハ 2012 2025
琴音 コトネ 2000 2020
翠 ミドリ 2018 2025
芽生 メイ 2010 2025
楓 カエデ 1995 2025
ひなた ヒナタ 2005 2025
""",
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
