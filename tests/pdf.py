"""Reading a PDF back with poppler's tools, as a person checking a copy would.

Real subprocesses (poppler-utils, scripts/system-packages): ``pdftotext`` for the
printed text, ``pdffonts`` for the embedded fonts, ``pdftoppm`` for the pixels and
``pdftotext -bbox`` for where each word sits on the page.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt


def _run(*args: str, data: bytes) -> bytes:
    return subprocess.run(args, input=data, capture_output=True, check=True, timeout=60).stdout


def pdf_text(pdf: bytes) -> str:
    """The printed text, whitespace removed (Typst and poppler space CJK differently)."""
    return re.sub(r"\s+", "", _run("pdftotext", "-layout", "-", "-", data=pdf).decode("utf-8"))


def pdf_fonts(pdf: bytes) -> list[str]:
    """The names of the fonts the PDF embeds, without their subset prefix (ABCDEF+)."""
    lines = _run("pdffonts", "-", data=pdf).decode().splitlines()[2:]
    return [line.split()[0].split("+", 1)[-1] for line in lines if line.strip()]


@dataclass(frozen=True)
class Word:
    text: str
    x_min: float  # points from the left edge
    y_min: float  # points from the top edge
    x_max: float
    y_max: float


def pdf_words(pdf: bytes) -> list[tuple[int, Word]]:
    """(page index, word) of every word with its box (``pdftotext -bbox``), in order."""
    html = _run("pdftotext", "-bbox", "-", "-", data=pdf).decode()
    body = html[html.index("<doc>") : html.index("</doc>") + len("</doc>")]
    return [
        (
            n,
            Word(
                w.text or "",
                float(w.get("xMin", 0)),
                float(w.get("yMin", 0)),
                float(w.get("xMax", 0)),
                float(w.get("yMax", 0)),
            ),
        )
        for n, page in enumerate(ET.fromstring(body).iter("page"))
        for w in page.iter("word")
    ]


def rasterise(pdf: bytes, dpi: int, tmp: Path) -> list[npt.NDArray[np.bool_]]:
    """Each page at ``dpi`` in grey (``pdftoppm``), as ink: True where darker than half."""
    source = tmp / "copy.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-gray", "-r", str(dpi), str(source), str(tmp / "page")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return [read_pgm(pgm.read_bytes()) < 128 for pgm in sorted(tmp.glob("page*.pgm"))]


def read_pgm(data: bytes) -> npt.NDArray[np.uint8]:
    """A binary PGM (P5, 8 bits) as rows of grey levels."""
    fields = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    assert fields is not None, "pdftoppm -gray wrote no binary PGM"
    width, height = int(fields[1]), int(fields[2])
    pixels = np.frombuffer(data, dtype=np.uint8, count=width * height, offset=fields.end())
    return pixels.reshape(height, width)


def read_qr(pdf: bytes, tmp: Path) -> list[str]:
    """The texts of the QR codes on page 1, read by zbar (``zbarimg``) from its pixels."""
    source = tmp / "qr.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-gray", "-r", "200", "-f", "1", "-l", "1", str(source), str(tmp / "qr")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    (pgm,) = tmp.glob("qr*.pgm")
    out = subprocess.run(
        ["zbarimg", "-q", "--raw", "-Sdisable", "-Sqrcode.enable", str(pgm)],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode("utf-8")
    return out.splitlines()
