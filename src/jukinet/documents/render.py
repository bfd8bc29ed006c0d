"""A copy of the resident record (住民票の写し) as a PDF: Typst, IPAmj Mincho, a QR code.

``render_copy(copy, qr_text)`` gives the PDF bytes of a ``ResidentCopy`` (which items
it prints is decided in ``jukinet.domain.copies``; this module only lays them out).
``CopyRenderer`` keeps one ``typst.Compiler`` alive, set up with the template and with
the IPAmj Mincho font only (no system or embedded font a name could fall back to), so
that each copy after the first costs milliseconds. Its data goes to Typst as one JSON
document in ``sys.inputs`` (never pasted into markup), the QR code as SVG text.

Before anything is typeset every printed text is checked against the font
(``fonts.check_coverage``): a character or variation sequence the font lacks refuses
the copy with ``GlyphMissing``, naming the character and the item.
"""

from __future__ import annotations

import json
import threading
from datetime import date
from importlib import resources
from pathlib import Path

import typst

from jukinet.documents.fonts import FONT_FAMILY, check_coverage, font_path, font_tables
from jukinet.documents.qr import qr_svg
from jukinet.domain.copies import CERTIFICATION, ResidentCopy
from jukinet.errors import ConfigurationError, RenderFailed

__all__ = [
    "LABELS",
    "TITLE",
    "CopyRenderer",
    "copy_data",
    "era_date",
    "render_copy",
    "shared_renderer",
]

TITLE = "住民票の写し"
# Every fixed text of the page lives here, not in the template, so the coverage check
# sees it too.
LABELS = {
    "issuer": "交付市区町村",
    "address": "住所",
    "head": "世帯主",
    "home": "住所地市区町村",
    "serial": "交付番号",
    "wide_area": "広域交付",
    "name": "氏名",
    "person": "記載事項",
    "end": "以下余白",  # after the last person: nothing may be added below
}

# The eras of the Japanese calendar by their first day (Gregorian). A four-row table
# is all a copy needs (it is dated the day it is issued), so no library for it.
_ERAS = (
    (date(2019, 5, 1), "令和"),
    (date(1989, 1, 8), "平成"),
    (date(1926, 12, 25), "昭和"),
    (date(1912, 7, 30), "大正"),
)


def era_date(day: date) -> str:
    """``day`` in the Japanese era calendar, e.g. 令和8年12月2日 (元年 for the first year)."""
    for first, era in _ERAS:
        if day >= first:
            year = day.year - first.year + 1
            shown = "元" if year == 1 else str(year)
            return f"{era}{shown}年{day.month}月{day.day}日"
    return day.isoformat()


def copy_data(copy: ResidentCopy) -> dict[str, object]:
    """Everything the page prints, as the JSON document the template reads."""
    header = [[LABELS["issuer"], f"{copy.issuer_name}（{copy.issuer_code}）"]]
    header.append([LABELS["address"], copy.address])
    if copy.head_name:
        header.append([LABELS["head"], copy.head_name])
    if copy.wide_area:
        home = f"{copy.home_name}（{copy.home_code}）" if copy.home_name else copy.home_code
        header.append([LABELS["home"], home])
    count = len(copy.persons)
    persons = [
        {
            "heading": f"{LABELS['person']}　{n}／{count}",
            "items": [[label, value] for label, value in person.items().items()],
        }
        for n, person in enumerate(copy.persons, start=1)
    ]
    return {
        "title": TITLE,
        "labels": LABELS,
        "issuer": copy.issuer_name,
        "serial": copy.serial,
        "wide_area": copy.wide_area,
        "header": header,
        "persons": persons,
        "certification": CERTIFICATION,
        "issued_on": f"{era_date(copy.issued_on)}（{copy.issued_on.isoformat()}）",
        "mayor_title": copy.mayor_title,
        "mayor_name": copy.mayor_name,
    }


def printed_texts(copy: ResidentCopy, data: dict[str, object]) -> list[tuple[str, str]]:
    """(item, text) of every string the page prints, for the coverage check."""
    # The punctuation and digits the layout adds around the items (headings, codes).
    fixed = [TITLE, CERTIFICATION, *LABELS.values(), "（）／　0123456789"]
    out = [("the copy's fixed text", text) for text in fixed]
    out += [
        (LABELS["issuer"], copy.issuer_name),
        (LABELS["address"], copy.address),
        (LABELS["head"], copy.head_name or ""),
        (LABELS["serial"], copy.serial),
        ("交付年月日", str(data["issued_on"])),
        ("市区町村長", copy.mayor_title),
        ("市区町村長", copy.mayor_name),
        (LABELS["home"], copy.home_name),
        (LABELS["home"], copy.home_code),
        (LABELS["issuer"], copy.issuer_code),
    ]
    for n, person in enumerate(copy.persons, start=1):
        out += [(f"{label} (person {n} of the copy)", v) for label, v in person.items().items()]
        out += [(f"{label} (person {n} of the copy)", label) for label in person.items()]
    return out


class CopyRenderer:
    """One long-lived Typst compiler with the copy's template and the IPAmj font only."""

    def __init__(self, font: Path | None = None) -> None:
        path = font or font_path()
        self._tables = font_tables(path)
        # Typst takes font folders, not files: the folder of fonts-ipamj-mincho holds
        # this one font; anything else there would be a font a name could fall back to.
        fonts = typst.Fonts(
            include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(path.parent)]
        )
        if fonts.families() != [FONT_FAMILY]:
            raise ConfigurationError(
                f"The font folder {path.parent} must hold {FONT_FAMILY} only "
                f"(it holds {', '.join(fonts.families()) or 'nothing Typst reads'})."
            )
        template = resources.files("jukinet.documents") / "templates" / "resident_copy.typ"
        self._template = template.read_bytes()
        self._compiler = typst.Compiler(
            input=self._template, font_paths=fonts, ignore_system_fonts=True
        )
        self._lock = threading.Lock()  # one compilation at a time in the one compiler

    def render(self, copy: ResidentCopy, qr_text: str) -> bytes:
        """The PDF of ``copy`` with ``qr_text`` in its QR code; ``GlyphMissing`` first."""
        data = copy_data(copy)
        for where, text in printed_texts(copy, data):
            check_coverage(where, text, self._tables)
        inputs = {"data": json.dumps(data, ensure_ascii=False), "qr": qr_svg(qr_text)}
        return self._compile(inputs)

    def _compile(self, inputs: dict[str, str]) -> bytes:
        with self._lock:
            try:
                result, warnings = self._compiler.compile_with_warnings(
                    input=self._template, format="pdf", sys_inputs=inputs
                )
            except typst.TypstError as exc:
                raise RenderFailed(f"The copy could not be typeset: {exc.message}") from exc
        if warnings:
            raise RenderFailed(f"The copy could not be typeset as meant: {warnings[0].message}")
        if not isinstance(result, bytes):
            raise RenderFailed("The copy could not be typeset: Typst gave no single PDF.")
        return result


_shared: CopyRenderer | None = None
_shared_lock = threading.Lock()


def shared_renderer() -> CopyRenderer:
    """The process's renderer, made on first use (the font and compiler load once)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = CopyRenderer()
        return _shared


def render_copy(copy: ResidentCopy, qr_text: str) -> bytes:
    """The PDF (bytes) of a copy of the resident record, its QR code holding ``qr_text``."""
    return shared_renderer().render(copy, qr_text)
