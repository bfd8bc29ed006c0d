"""A glyph drawn from the font's own outlines, to compare with what poppler rasterised.

The copy's PDF is rasterised by poppler (``pdftoppm``); the expected picture of each
character is drawn here straight from the glyph outline in the font file (fontTools),
for the glyph the font's own tables assign to that character or variation sequence.
The two paths share nothing but the font file: if Typst set the base glyph instead
of the registered variant (or a fallback font's glyph, or .notdef), the pictures
differ, whatever the PDF's text layer claims.

The outline is filled by a short scanline rasteriser with the non-zero winding rule
TrueType uses: kanji outlines overlap their strokes, which a per-polygon fill (Pillow's
``ImageDraw.polygon``) would get wrong, and FreeType's Python binding is no dependency
of the project. Curves are flattened into short lines (fontTools' ``BasePen`` splits
TrueType's implied on-curve points for us).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from fontTools.pens.basePen import BasePen
from fontTools.ttLib import TTFont

Point = tuple[float, float]
Bitmap = npt.NDArray[np.bool_]
STEPS = 12  # straight segments per curve: well under a pixel at the sizes tested


class _FlatteningPen(BasePen):  # type: ignore[misc]
    def __init__(self, glyph_set: object) -> None:
        super().__init__(glyph_set)
        self.contours: list[list[Point]] = []
        self._current: list[Point] = []

    def _moveTo(self, p: Point) -> None:
        self._current = [p]

    def _lineTo(self, p: Point) -> None:
        self._current.append(p)

    def _qCurveToOne(self, p1: Point, p2: Point) -> None:
        (x0, y0) = self._current[-1]
        for i in range(1, STEPS + 1):
            t = i / STEPS
            a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t * t
            self._current.append((a * x0 + b * p1[0] + c * p2[0], a * y0 + b * p1[1] + c * p2[1]))

    def _curveToOne(self, p1: Point, p2: Point, p3: Point) -> None:
        (x0, y0) = self._current[-1]
        for i in range(1, STEPS + 1):
            t = i / STEPS
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t**3
            self._current.append(
                (
                    a * x0 + b * p1[0] + c * p2[0] + d * p3[0],
                    a * y0 + b * p1[1] + c * p2[1] + d * p3[1],
                )
            )

    def _closePath(self) -> None:
        if len(self._current) > 2:
            self.contours.append(self._current)
        self._current = []

    _endPath = _closePath


@dataclass(frozen=True)
class Glyph:
    """A glyph filled at some scale: ``ink`` with its top-left at (left, top) em units."""

    name: str
    advance: int  # font units
    left: float  # the ink's left edge, font units from the pen position
    top: float  # the ink's top edge, font units above the baseline
    ink: Bitmap


@cache
def _font(path: Path) -> TTFont:
    # Read from memory: the cached font holds no open file for the rest of the run.
    return TTFont(io.BytesIO(path.read_bytes()))


def vertical_metrics(path: Path) -> tuple[int, int]:
    """The font's ascent and descent (hhea, font units; the descent is negative)."""
    hhea = _font(path)["hhea"]
    return int(hhea.ascent), int(hhea.descent)


def draw_glyph(
    path: Path, name: str, px_per_unit: float, phase: tuple[float, float] = (0.0, 0.0)
) -> Glyph:
    """The glyph ``name`` of the font at ``path``, filled with the non-zero rule.

    ``phase`` shifts the outline right and down by a fraction of a pixel, for a
    comparison with a page where the glyph does not start on a pixel boundary.
    """
    font = _font(path)
    glyph_set = font.getGlyphSet()
    pen = _FlatteningPen(glyph_set)
    glyph_set[name].draw(pen)
    advance = int(font["hmtx"][name][0])
    points = [p for contour in pen.contours for p in contour]
    if not points:
        return Glyph(name, advance, 0.0, 0.0, np.zeros((1, 1), dtype=bool))
    left = min(p[0] for p in points)
    top = max(p[1] for p in points)
    width = int(np.ceil((max(p[0] for p in points) - left) * px_per_unit)) + 2
    height = int(np.ceil((top - min(p[1] for p in points)) * px_per_unit)) + 2
    # Edges in pixel coordinates (y down), each from one point to the next.
    starts, ends = [], []
    for contour in pen.contours:
        pixels = [
            ((x - left) * px_per_unit + phase[0], (top - y) * px_per_unit + phase[1])
            for x, y in contour
        ]
        starts += pixels
        ends += pixels[1:] + pixels[:1]
    s, e = np.array(starts), np.array(ends)
    ink = np.zeros((height, width), dtype=bool)
    going = s[:, 1] != e[:, 1]
    s, e = s[going], e[going]
    direction = np.where(e[:, 1] > s[:, 1], 1, -1)
    low, high = np.minimum(s[:, 1], e[:, 1]), np.maximum(s[:, 1], e[:, 1])
    for row in range(height):
        yc = row + 0.5
        on = (low <= yc) & (yc < high)
        if not on.any():
            continue
        a, b, w = s[on], e[on], direction[on]
        xs = a[:, 0] + (yc - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
        order = np.argsort(xs)
        xs, winding = xs[order], np.cumsum(w[order])
        for i in range(len(xs) - 1):
            if winding[i] != 0:
                first = max(int(np.ceil(xs[i] - 0.5)), 0)
                last = min(int(np.ceil(xs[i + 1] - 0.5)), width)
                ink[row, first:last] = True
    return Glyph(name, advance, left, top, ink)


def best_overlap(page: Bitmap, glyph: Bitmap, x: int, y: int, reach: tuple[int, int]) -> float:
    """The best IoU of ``glyph`` placed near (x, y) on ``page``, within ``reach`` pixels.

    The search absorbs what neither side fixes to the pixel (poppler's rounding of the
    word box, the font's ascent in the PDF); it is far smaller than a stroke's spacing,
    so it cannot make one glyph pass for another.
    """
    h, w = glyph.shape
    glyph_count = int(glyph.sum())
    best = 0.0
    for dy in range(-reach[1], reach[1] + 1):
        for dx in range(-reach[0], reach[0] + 1):
            top, left = y + dy, x + dx
            if top < 0 or left < 0:
                continue
            window = page[top : top + h, left : left + w]
            if window.shape != glyph.shape:
                continue
            both = int(np.logical_and(window, glyph).sum())
            union = glyph_count + int(window.sum()) - both
            best = max(best, both / union if union else 0.0)
    return best


def overlap(a: Bitmap, b: Bitmap) -> float:
    """The IoU of two pictures laid at the same top-left corner (padded to one size)."""
    h, w = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])
    pa = np.zeros((h, w), dtype=bool)
    pb = np.zeros((h, w), dtype=bool)
    pa[: a.shape[0], : a.shape[1]] = a
    pb[: b.shape[0], : b.shape[1]] = b
    union = int(np.logical_or(pa, pb).sum())
    return int(np.logical_and(pa, pb).sum()) / union if union else 1.0
