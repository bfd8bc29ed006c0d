"""Name folding for matching: width, kana, spaces and variant kanji."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jukinet.domain.names import VARIANTS, fold, fold_kana

HIRAGANA = st.text(alphabet=st.characters(min_codepoint=0x3041, max_codepoint=0x3096), min_size=1)


@pytest.mark.parametrize(("variant", "standard"), sorted(VARIANTS.items()))
def test_every_variant_folds_to_its_standard_form(variant: str, standard: str) -> None:
    assert fold(variant) == standard
    assert fold(f"山{variant}太郎") == f"山{standard}太郎"


def test_variants_are_single_characters_that_survive_nfkc_and_fold_in_one_step() -> None:
    for variant, standard in VARIANTS.items():
        assert len(variant) == 1 and len(standard) == 1
        assert unicodedata.normalize("NFKC", variant) == variant
        assert unicodedata.normalize("NFKC", standard) == standard
        assert standard not in VARIANTS, f"{standard} is itself folded further"


@pytest.mark.parametrize(
    "names",
    [
        ("髙橋", "高橋", "髙槗"),
        ("山﨑", "山崎", "山嵜"),
        ("渡邉", "渡邊", "渡辺"),
        ("𠮷田", "吉田"),
        ("齋藤", "齊藤", "斎藤", "斉藤"),
        ("濵田", "濱田", "浜田"),
    ],
)
def test_classic_variant_names_match_after_folding(names: tuple[str, ...]) -> None:
    assert len({fold(n) for n in names}) == 1


def test_half_width_katakana_equals_full_width() -> None:
    assert fold("ﾔﾏﾀﾞ ﾀﾛｳ") == fold("ヤマダ タロウ") == "ヤマダタロウ"
    assert fold_kana("ｶﾞｯｺｳ") == "ガッコウ"


def test_full_width_latin_and_digits_are_unified() -> None:
    assert fold("ＳＭＩＴＨ　Ｊｏｈｎ") == "SMITHJohn"
    assert fold("１２３") == "123"


def test_spaces_of_every_kind_are_removed() -> None:
    assert fold("山田　太郎") == fold("山田 太郎") == fold("山田\t太郎") == "山田太郎"


def test_hiragana_folds_to_katakana_and_vu_is_kept() -> None:
    assert fold_kana("やまだ たろう") == "ヤマダタロウ"
    assert fold_kana("ゔぃくとる") == "ヴィクトル"
    assert fold_kana("ヴ") == "ヴ"


def test_fold_kana_leaves_kanji_variants_alone() -> None:
    assert fold_kana("髙橋") == "髙橋"


def test_ideographic_variation_selectors_are_dropped() -> None:
    assert fold("葛\U000e0100城") == "葛城"
    assert fold("邊\U000e0101") == "辺"


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text())
def test_fold_kana_is_idempotent(text: str) -> None:
    assert fold_kana(fold_kana(text)) == fold_kana(text)


@given(st.text(), st.data())
def test_spaces_anywhere_do_not_change_the_fold(text: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(text)))
    space = data.draw(st.sampled_from([" ", "\u3000", "  ", "\t"]))
    assert fold(text[:position] + space + text[position:]) == fold(text)


@given(HIRAGANA)
def test_hiragana_reading_folds_like_its_katakana(reading: str) -> None:
    katakana = "".join(chr(ord(c) + 0x60) for c in reading)
    assert fold(reading) == fold(katakana)
    assert fold_kana(reading) == fold_kana(katakana)


def test_folding_drops_exactly_what_str_isspace_calls_a_space() -> None:
    """R2 (search by the 4 items): the regex fold uses drops the same spaces as before."""
    import sys

    from jukinet.domain import names

    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    assert [c for c in map(chr, range(sys.maxunicode + 1)) if names._SPACES.fullmatch(c)] == spaces
    assert fold("葛\U000e0100飾\ufe00 区") == "葛飾区"
