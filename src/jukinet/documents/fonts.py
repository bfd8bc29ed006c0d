"""The font copies are set in, and the check that it holds every printed character.

Copies of the resident record print names as the register holds them: variant kanji
(髙, 﨑, 邉, 𠮷) and ideographic variation sequences (a base character followed by a
variation selector, e.g. 葛 U+845B + U+E0102), which only the IPAmj Mincho font of
the 文字情報基盤 carries as registered. Typst does not warn about a character its fonts
lack (it sets the font's empty ``.notdef`` box or a fallback glyph), so before a copy
is rendered every code point, and every base + selector pair, is looked up in the
font's own tables with fontTools: the character map, and the variation-sequence table
(cmap format 14). A character the font lacks refuses the copy (``GlyphMissing``).

The font is read once per process (``font_tables`` is cached); Debian's
``fonts-ipamj-mincho`` installs it (scripts/system-packages).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont

from jukinet.errors import ConfigurationError, GlyphMissing

__all__ = [
    "FONT_FAMILY",
    "FONT_PATH",
    "FontTables",
    "check_coverage",
    "font_path",
    "font_tables",
    "is_selector",
]

# Where Debian's fonts-ipamj-mincho puts the font (`dpkg -L fonts-ipamj-mincho`).
FONT_PATH = Path("/usr/share/fonts/truetype/ipamj/ipamjm.ttf")
FONT_FAMILY = "IPAmjMincho"
# A different file (another build of IPAmj Mincho) can be named for a test or a node.
FONT_ENV = "JUKINET_COPY_FONT"


def font_path() -> Path:
    """The font file copies are set in; ``ConfigurationError`` when it is not there."""
    path = Path(os.environ.get(FONT_ENV) or FONT_PATH)
    if not path.is_file():
        raise ConfigurationError(
            f"The font for copies of the resident record ({path}) is missing: "
            "install the Debian package fonts-ipamj-mincho (scripts/setup does)."
        )
    return path


def is_selector(code_point: int) -> bool:
    """A variation selector: VS1–VS16 (U+FE00–FE0F) or VS17–VS256 (U+E0100–E01EF)."""
    return 0xFE00 <= code_point <= 0xFE0F or 0xE0100 <= code_point <= 0xE01EF


@dataclass(frozen=True, slots=True)
class FontTables:
    """What the font holds: its glyphs by code point and by (base, selector) sequence."""

    path: Path
    family: str
    units_per_em: int
    cmap: dict[int, str]  # code point -> glyph name
    sequences: dict[tuple[int, int], str]  # (base, selector) -> glyph name

    def glyph_for(self, sequence: str) -> str:
        """The glyph the font draws for one character or one base + selector sequence."""
        points = [ord(c) for c in sequence]
        if len(points) == 2 and is_selector(points[1]):
            return self.sequences[(points[0], points[1])]
        if len(points) != 1:
            raise ValueError(f"{sequence!r} is not one character or one variation sequence")
        return self.cmap[points[0]]


@cache
def font_tables(path: Path | None = None) -> FontTables:
    """The font's character map and variation sequences, read once per path."""
    source = path or font_path()
    font = TTFont(str(source), lazy=True)
    try:
        cmap: dict[int, str] = dict(font.getBestCmap() or {})
        sequences: dict[tuple[int, int], str] = {}
        for table in font["cmap"].tables:
            if table.format != 14:
                continue
            for selector, pairs in table.uvsDict.items():
                for base, glyph in pairs:
                    # A default sequence (glyph None) draws the base character's glyph.
                    default = cmap.get(base)
                    chosen = glyph if glyph is not None else default
                    if chosen is not None:
                        sequences[(base, selector)] = chosen
        family = str(font["name"].getDebugName(1) or "")
        units = int(font["head"].unitsPerEm)
    finally:
        font.close()
    return FontTables(source, family, units, cmap, sequences)


def _describe(points: list[int]) -> str:
    codes = " ".join(f"U+{p:04X}" for p in points)
    return f"{codes} ({''.join(chr(p) for p in points)})"


def check_coverage(item: str, text: str, tables: FontTables | None = None) -> None:
    """Refuse (``GlyphMissing``) a text the font cannot print exactly as written.

    Every code point must be in the character map; a variation selector must follow a
    base character with which the font registers that sequence (an unregistered
    sequence would silently print the base glyph, which is not the registered name).
    """
    font = tables or font_tables()
    previous: int | None = None
    for char in text:
        point = ord(char)
        if is_selector(point):
            if previous is None or (previous, point) not in font.sequences:
                points = [point] if previous is None else [previous, point]
                raise GlyphMissing(
                    f"The font {font.family} has no glyph for the variation sequence "
                    f"{_describe(points)} in {item}: the copy is not issued; "
                    "check the characters of the record.",
                    item=item,
                    code_points=tuple(points),
                )
            previous = None
            continue
        if point not in font.cmap:
            raise GlyphMissing(
                f"The font {font.family} has no glyph for {_describe([point])} in {item}: "
                "the copy is not issued; check the characters of the record.",
                item=item,
                code_points=(point,),
            )
        previous = point
