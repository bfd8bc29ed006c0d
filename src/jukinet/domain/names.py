"""Japanese name folding for matching: width, kana, spaces and variant kanji.

A search by the 4 items must find a person whatever way the agency typed the
name: full- or half-width, hiragana or katakana, with or without the space
between surname and given name, and with a variant kanji (異体字) that the
register keeps as it is written in the 住民票 but the agency's system cannot
(the network's unified character set has about 21,000 characters; 髙/高, 﨑/崎,
邊/邉/辺, 𠮷/吉 are the classic cases). Folding is for matching only: the
register always keeps and returns the name as written.

VARIANTS maps each variant to one representative, the 常用/新字体 form where
there is one. It is curated from the variant kanji that most often appear in
surnames and given names on resident records (旧字体 and 俗字 pairs of the 人名用
漢字 lists, and the well-known matching cases in 住基 and 戸籍 character work),
not generated: every pair is a real variant pair. Two choices fold characters that
are distinct in law, because a search that misses a person is worse than one that
ranks a near-namesake among the candidates:

- 齋, 齊, 斎 and 斉 all fold to 斉: 斎藤/斉藤/齋藤/齊藤 are confused constantly
  in practice, even though 斎 (purify) and 斉 (equal) are different characters;
- 龍 folds to 竜: both are common in given names and are the same character in
  old and new form.

Variation selectors (IVS, e.g. 葛 + U+E0100) are dropped: they select a glyph,
not a different name.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv

__all__ = ["VARIANTS", "fold", "fold_kana"]

VARIANTS: dict[str, str] = {
    # the classic cases named in the network's character-set problem
    "髙": "高",  # はしご高
    "﨑": "崎",  # たつさき (U+FA11, untouched by NFKC)
    "嵜": "崎",
    "碕": "崎",
    "邉": "辺",
    "邊": "辺",
    "𠮷": "吉",  # つちよし (U+20BB7, outside the BMP)
    # 斎藤 and friends: all four fold to 斉 (see the module docstring)
    "齋": "斉",
    "齊": "斉",
    "斎": "斉",
    # 旧字体 / 俗字 frequent in surnames
    "濵": "浜",
    "濱": "浜",
    "嶋": "島",
    "嶌": "島",
    "槗": "橋",
    "德": "徳",
    "廣": "広",
    "國": "国",
    "澤": "沢",
    "櫻": "桜",
    "邨": "村",
    "冨": "富",
    "條": "条",
    "峯": "峰",
    "舘": "館",
    "渕": "淵",
    "桒": "桑",
    "埜": "野",
    "嶽": "岳",
    "栁": "柳",
    "杦": "杉",
    "𡈽": "土",  # 土 with a dot (U+2123D), as in 𡈽屋
    "淺": "浅",
    "瀨": "瀬",
    "黑": "黒",
    "槇": "槙",
    "篭": "籠",  # 籠 is the 常用 form since 2010
    "萬": "万",
    # 旧字体 frequent in given names
    "眞": "真",
    "實": "実",
    "惠": "恵",
    "藏": "蔵",
    "龍": "竜",
    "壽": "寿",
    "榮": "栄",
    "禮": "礼",
    "傳": "伝",
    "靜": "静",
    "彌": "弥",
    "與": "与",
    "會": "会",
    "來": "来",
    "增": "増",
    "淸": "清",
    "曻": "昇",
    "鷗": "鴎",
}

_VARIANT_TABLE = str.maketrans(VARIANTS)


# What folding drops: whitespace (``\s`` of a str pattern is exactly ``str.isspace``)
# and, for ``fold``, the variation selectors (U+FE00–FE0F, U+E0100–E01EF). One regex
# pass costs a fifth of a per-character loop (a bulk load folds every name).
_SPACES = re.compile(r"\s+")
_SPACES_AND_SELECTORS = re.compile("[\\s\ufe00-\ufe0f\U000e0100-\U000e01ef]+")


def _kana(text: str, *, drop_selectors: bool) -> str:
    # NFKC unifies width (ｶﾀｶﾅ → カタカナ, ＡＢＣ → ABC, U+3000 → space). Dropping spaces
    # can bring a combining sound mark next to a kana (NFKC turns ゛ into space +
    # U+3099), so compose again after the kana shift; this keeps fold idempotent.
    text = unicodedata.normalize("NFKC", text)
    text = (_SPACES_AND_SELECTORS if drop_selectors else _SPACES).sub("", text)
    return unicodedata.normalize("NFKC", jaconv.hira2kata(text))


def fold_kana(text: str) -> str:
    """A reading folded for matching: NFKC, hiragana → katakana, no spaces (ヴ kept)."""
    return _kana(text, drop_selectors=False)


def fold(text: str) -> str:
    """A name folded for matching: width, kana, spaces and variant kanji unified."""
    return _kana(text, drop_selectors=True).translate(_VARIANT_TABLE)
