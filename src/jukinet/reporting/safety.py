"""``jukinet report safety``: bundles in, the report's files out (R25; docs/report.md).

Writes into an empty folder: ``report.pdf`` (signed by the national node when its key
is given, unsigned otherwise), one CSV file per section, ``manifest.json`` (what the
report was made from, and the SHA-256 of every file, of the unsigned PDF too) and
``SHA256SUMS`` (for ``sha256sum -c``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jukinet.documents.signing import DocumentSigner
from jukinet.reporting import bundles, pdf
from jukinet.reporting.figures import compute
from jukinet.reporting.model import Month, SafetyFigures
from jukinet.reporting.tables import csv_bytes, sha256, tables

__all__ = ["Written", "write_report"]


@dataclass(frozen=True, slots=True)
class Written:
    figures: SafetyFigures
    files: tuple[str, ...]
    signed: bool


def write_report(
    paths: Sequence[Path], month: Month, out: Path, signer: DocumentSigner | None
) -> Written:
    """Verify ``paths`` (refused whole if one does not hold), then write the report in ``out``."""
    figures = compute(bundles.load_all(paths), month)
    sections = tables(figures)
    contents = {t.file: csv_bytes(t) for t in sections}
    digests = [(name, sha256(data)) for name, data in contents.items()]
    unsigned = pdf.render(figures, sections, digests)
    national = next(s.node for s in figures.sources if s.node.startswith("national:"))
    document = unsigned if signer is None else pdf.sign(unsigned, signer, national)
    contents["report.pdf"] = document
    out.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        (out / name).write_bytes(data)
    manifest = {
        "report": "jukinet safety report",
        "month": str(month),
        "signed_by": national if signer is not None else None,
        "sources": [
            {"node": s.node, "entries": s.entries, "root": s.root} for s in figures.sources
        ],
        # The signature is an incremental update: report.pdf starts with these bytes.
        "unsigned_pdf": {"bytes": len(unsigned), "sha256": sha256(unsigned)},
        "files": {name: sha256(data) for name, data in sorted(contents.items())},
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    sums = "".join(f"{sha256(data)}  {name}\n" for name, data in sorted(contents.items()))
    (out / "SHA256SUMS").write_text(sums, encoding="ascii")
    return Written(figures, tuple(sorted(contents)), signer is not None)
