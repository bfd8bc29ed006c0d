"""Variant kanji and variation sequences print as registered on a copy's PDF.

The issue's test: a copy whose names hold 髙, 𠮷, 﨑, 邉 and ideographic variation
sequences (葛 with two of its selectors, 邉 with one) is rendered, rasterised by
poppler's ``pdftoppm`` (a real process, 600 dpi) and compared glyph by glyph with the
font's own outlines (tests/glyphs.py draws them from the font file with fontTools).

Why this way: Typst sets a glyph the font lacks, or the base glyph for a sequence,
without a word, and the PDF's text layer would still carry the right code points, so
reading the text back proves nothing about what is drawn. Comparing pixels of the
printed page with the outline the font registers for that exact sequence does: each
character must match its registered glyph (IoU at least 0.85) and match it clearly
better than the common form or the other variants (the base 葛, 葛 with another
selector, 高 for 髙, 吉 for 𠮷, ...). Were the base glyph printed instead of a
variant, the variant's overlap would drop and the base's rise, and the test fails.
Where each character sits comes from ``pdftotext -bbox`` (the word's box) and the
advances of the glyphs before it; a search of under a point absorbs the rounding.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from jukinet.documents.fonts import FontTables, font_tables, is_selector
from jukinet.documents.render import render_copy
from jukinet.domain.copies import CopyPerson, ResidentCopy
from jukinet.domain.identity import Sex
from jukinet.domain.record import Name
from tests.glyphs import Bitmap, best_overlap, draw_glyph, overlap, vertical_metrics
from tests.pdf import Word, pdf_fonts, pdf_text, pdf_words, rasterise

DPI = 600
NAME_SIZE = 13.0  # points: the template sets the 氏名 value at 13pt
REACH = (8, 20)  # pixels searched around the computed place (under 1 pt at 600 dpi)
PHASES = [(0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5)]  # sub-pixel starts tried
MATCH = 0.85  # IoU of the printed glyph with its registered outline
MARGIN = 0.08  # by which the registered glyph must beat every other candidate

KUZU_E0102 = "葛\U000e0102"
KUZU_E0104 = "葛\U000e0104"
HEN_E0110 = "邉\U000e0110"
# Each tested character or sequence, and the glyphs it must not be mistaken for.
TESTED = {
    "髙": ["高"],
    "𠮷": ["吉"],
    "﨑": ["崎"],
    "邉": ["邊", "辺", HEN_E0110],
    HEN_E0110: ["邉", "邊"],
    KUZU_E0102: ["葛", KUZU_E0104],
    KUZU_E0104: ["葛", KUZU_E0102],
}
NAMES = [
    Name("髙橋", "𠮷男", "タカハシ", "ヨシオ"),
    Name("山﨑", "邉", "ヤマザキ", "ホトリ"),
    Name(KUZU_E0102 + "西", KUZU_E0104 + "子", "カサイ", "カツコ"),
    Name("渡" + HEN_E0110, "花子", "ワタナベ", "ハナコ"),
]


def person(name: Name) -> CopyPerson:
    return CopyPerson(
        name=name,
        date_of_birth=date(1980, 1, 2),
        sex=Sex.FEMALE,
        became_resident_on=date(2020, 4, 1),
        address_fixed_on=date(2020, 4, 1),
        notified_on=date(2020, 4, 3),
        previous_address="大阪府大阪市北区梅田一丁目1番1号",
    )


@pytest.fixture(scope="module")
def pdf() -> bytes:
    copy = ResidentCopy(
        serial="131016-2026-000777",
        issuer_code="131016",
        issuer_name="東京都千代田区",
        mayor_title="千代田区長",
        mayor_name="山田 太郎",
        issued_on=date(2026, 12, 2),
        address="東京都千代田区丸の内一丁目1番1号",
        head_name=None,
        persons=tuple(person(n) for n in NAMES),
        home_code="131016",
    )
    return render_copy(copy, "JKN1.glyph-test")


def sequences(text: str) -> list[str]:
    """The text cut into characters, a variation selector kept with its base."""
    out: list[str] = []
    for char in text:
        if is_selector(ord(char)) and out:
            out[-1] += char
        else:
            out.append(char)
    return out


def placed(font: FontTables, word: Word, before: list[str], sequence: str) -> tuple[int, int]:
    """The page pixel where the ink of ``sequence`` starts, after ``before`` in ``word``."""
    ascent, descent = vertical_metrics(font.path)
    em = NAME_SIZE / font.units_per_em  # points per font unit
    pen_x = (
        word.x_min + sum(draw_glyph(font.path, font.glyph_for(s), 1.0).advance for s in before) * em
    )
    baseline = word.y_min + NAME_SIZE * ascent / (ascent - descent)
    glyph = draw_glyph(font.path, font.glyph_for(sequence), 1.0)
    return (
        round((pen_x + glyph.left * em) * DPI / 72),
        round((baseline - glyph.top * em) * DPI / 72),
    )


def score(
    font: FontTables, pages: list[Bitmap], where: tuple[int, Word, list[str]], sequence: str
) -> float:
    """How well the printed ink at ``where`` matches the outline of ``sequence``'s glyph."""
    page, word, before = where
    x, y = placed(font, word, before, sequence)
    scale = NAME_SIZE / font.units_per_em * DPI / 72
    return max(
        best_overlap(
            pages[page], draw_glyph(font.path, font.glyph_for(sequence), scale, p).ink, x, y, REACH
        )
        for p in PHASES
    )


def test_variant_kanji_and_variation_sequences_print_as_registered(
    pdf: bytes, tmp_path: Path
) -> None:
    font = font_tables()
    pages = rasterise(pdf, DPI, tmp_path)
    names = [
        (page, word)
        for page, word in pdf_words(pdf)
        if abs((word.y_max - word.y_min) - NAME_SIZE) < 0.01
    ]
    checked: dict[str, float] = {}
    for tested, others in TESTED.items():
        where = next(
            (page, word, parts[: parts.index(tested)])
            for page, word in names
            for parts in [sequences(word.text)]
            if tested in parts
        )
        mine = score(font, pages, where, tested)
        assert mine >= MATCH, f"{tested!r} ({font.glyph_for(tested)}) printed unlike its glyph"
        for other in others:
            scale = NAME_SIZE / font.units_per_em * DPI / 72
            a = draw_glyph(font.path, font.glyph_for(tested), scale).ink
            b = draw_glyph(font.path, font.glyph_for(other), scale).ink
            assert overlap(a, b) < 0.9, f"{tested!r} and {other!r} look alike: no test"
            theirs = score(font, pages, where, other)
            assert mine - theirs >= MARGIN, (
                f"{tested!r} printed as {other!r} ({font.glyph_for(other)})? "
                f"IoU {mine:.3f} against {theirs:.3f}"
            )
        checked[tested] = mine
    assert set(checked) == set(TESTED)


def test_the_selectors_of_kuzu_give_distinct_glyphs_in_the_font() -> None:
    font = font_tables()
    glyphs = {font.glyph_for(s) for s in ("葛", KUZU_E0102, KUZU_E0104)}
    assert len(glyphs) == 3


def test_the_text_layer_keeps_the_sequences_and_the_font_is_ipamj_mincho(pdf: bytes) -> None:
    text = pdf_text(pdf)
    for name in NAMES:
        assert (name.family + name.given) in text
    assert pdf_fonts(pdf) == ["IPAmjMincho"]
