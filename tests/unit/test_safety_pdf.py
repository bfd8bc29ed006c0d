"""The safety report's PDF (R25; docs/report.md): the same figures give the same bytes,
poppler's ``pdftotext`` reads the figures back, and a character the font lacks prints
as 〓 instead of stopping the report (the CSV file keeps it)."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

from jukinet.documents.fonts import font_tables
from jukinet.reporting import bundles, pdf
from jukinet.reporting.figures import compute
from jukinet.reporting.model import Refusal
from jukinet.reporting.tables import csv_bytes, sha256, tables
from tests.unit.test_safety_figures import NOV, network

__all__ = ["network"]


def _text(data: bytes, tmp_path: Path) -> str:
    (tmp_path / "r.pdf").write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip


def test_a_character_the_font_lacks_prints_as_geta_and_stays_in_the_csv(
    network: list[Path], tmp_path: Path
) -> None:
    f = compute(bundles.load_all(network), NOV)
    odd = Refusal("national:000000", "resident.show", "\U0001f600 broke", 1)
    f = dataclasses.replace(f, refusals=(odd,))
    sections = tables(f)
    files = [(t.file, sha256(csv_bytes(t))) for t in sections]
    one, two = pdf.render(f, sections, files), pdf.render(f, sections, files)
    assert one == two
    text = _text(one, tmp_path)
    assert "〓 broke" in text and "\U0001f600" not in text
    assert "一括照会（batch）" in text and "250" in text  # the provisions, in words and figures
    assert files[0][1] in text  # the CSV files' digests are on the signed page
    assert "\U0001f600 broke" in csv_bytes(sections[1]).decode("utf-8-sig")


def test_printable_keeps_what_the_font_holds() -> None:
    font = font_tables()
    assert pdf.printable("髙橋 abc 123", font) == "髙橋 abc 123"
    assert pdf.printable("a\U0001f600b", font) == "a〓b"
