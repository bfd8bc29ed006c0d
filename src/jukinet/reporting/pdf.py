"""The report as a PDF: Typst with IPAmj Mincho, signed by the national node (R25).

The PDF is typeset from the tables (``tables``) and nothing else: no date, no clock,
so the same figures give the same unsigned bytes. It prints the SHA-256 of every CSV
file, so the signature covers the CSV files too. The signature is a PAdES certifying
signature (no changes allowed) made with pyHanko as an *incremental update*: the
signed file begins with the unsigned bytes, unchanged, and only what follows (the
signature, with its time) differs between two runs.

Signed with ECDSA P-256 under the network's document CA, not with the national
node's Ed25519 key, because poppler's ``pdfsig`` (NSS) cannot verify Ed25519
(docs/copies.md, "Why P-256 and an intermediate").
"""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path

import typst
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from jukinet.documents.fonts import (
    FONT_FAMILY,
    FontTables,
    check_coverage,
    font_path,
    font_tables,
    is_selector,
)
from jukinet.documents.signing import DocumentSigner
from jukinet.errors import ConfigurationError, RenderFailed
from jukinet.reporting.model import SafetyFigures
from jukinet.reporting.tables import Table

__all__ = ["TITLE", "render", "sign"]

TITLE = "住民基本台帳ネットワークシステム　安全確保の状況　月次報告"
SUBTITLE = "Safety report for the advisory committee and external auditors (R25)"
REASON = "この報告書の内容を全国センターとして証明します。"
NONE = "該当なし（0件）"
MISSING = "〓"
MISSING_NOTE = "表の中の〓は、この書体にない文字です（CSVファイルには元の文字があります）。"
# The CSV files keep the codes programs read; the page says them in words, the code
# beside them so that a reader can find the row in the CSV file.
WORDS = {
    "issued": "発令（issued）",
    "obeyed": "実行（obeyed）",
    "halt": "全体の停止（halt）",
    "isolate": "切り離し（isolate）",
    "resume": "再開（resume）",
    "lookup": "個人照会（lookup）",
    "search": "検索（search）",
    "verify": "確認（verify）",
    "batch": "一括照会（batch）",
    "yes": "はい",
    "no": "いいえ",
    "no training recorded": "研修の記録なし",
    "training older than 365 days": "研修から365日を超えた",
    "trained after the month": "研修が月末より後",
}


def _summary(f: SafetyFigures) -> list[list[str]]:
    blocks = sum(1 for a in f.alerts if a.blocked_until)
    orders = {o.order_id for o in f.orders if o.role == "issued"}
    return [
        ["本人確認情報の提供（照会件数）", str(sum(p.calls for p in f.provisions))],
        ["提供した人数（延べ）", str(sum(p.persons for p in f.provisions))],
        ["拒否した操作", str(sum(r.count for r in f.refusals))],
        ["不正アクセスの警報", str(len(f.alerts))],
        ["そのうち自動遮断", str(blocks)],
        ["運用者が確認した遮断", str(sum(1 for b in f.blocks if b.action == "block"))],
        ["緊急時の命令（発令）", str(len(orders))],
        ["監査ログの連署の欠け", str(len(f.gaps))],
        ["有効な研修記録のない操作者", str(len(f.untrained))],
    ]


def _data(
    f: SafetyFigures, sections: list[Table], files: list[tuple[str, str]], font: FontTables
) -> dict[str, object]:
    m = f.month
    last = m.last_day
    period = f"{m.year}年{m.month}月1日0時 から {last.year}年{last.month}月{last.day}日24時まで"
    period += "（日本時間）"
    national = next(s.node for s in f.sources if s.node.startswith("national:"))
    return {
        "title": TITLE,
        "subtitle": SUBTITLE,
        "author": national,
        "header": [
            ["対象の月", f"{m.year}年{m.month}月（{m}）"],
            ["期間", period],
            ["作成したノード", national],
            ["監査バンドルの数", f"{len(f.sources)}（ノードごとに1つ）"],
        ],
        "intro": "この報告書の数字は、各ノードの監査ログ（署名付きの監査バンドル）だけから"
        "数えたものです。バンドルはどれも、署名と記録のつながりを確かめてから使いました。"
        "同じバンドルがあれば、だれでも `jukinet report safety` で同じ数字と同じCSVを"
        "作り直せます。各表の数字はCSVファイルにも入っています。" + MISSING_NOTE,
        "sections": [
            {
                "heading": t.heading,
                "note": t.note,
                "labels": list(t.labels),
                "rows": [[printable(WORDS.get(v, v), font) for v in r] for r in t.rows],
            }
            for t in sections
        ],
        "summary_heading": "概要（対象の月の合計）",
        "summary": _summary(f),
        "none_text": NONE,
        "files_heading": "9. CSVファイルのSHA-256",
        "files_note": "この報告書に署名したので、次のハッシュ値も署名で守られています。"
        "受け取ったCSVファイルのSHA-256が同じであれば、この報告書と同じ数字です。",
        "files": [list(x) for x in files],
        "footer": f"{TITLE}（{m}）",
    }


def printable(value: str, font: FontTables) -> str:
    """``value`` with each character the font lacks as 〓 (the CSV keeps it as it is).

    A value comes from a log (a detail, an alert's value): a character no font of the
    report holds must not stop the report, and must not print as some other glyph.
    """
    out: list[str] = []
    for char in value:
        point = ord(char)
        if is_selector(point):
            if out and (ord(out[-1]), point) in font.sequences:
                out.append(char)
            continue  # an unregistered selector: the base character stays as written
        out.append(char if point in font.cmap else MISSING)
    return "".join(out)


def _texts(data: dict[str, object]) -> list[str]:
    """Every string the page prints, for the font's coverage check."""
    out: list[str] = ["0123456789 /（）"]

    def walk(value: object) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(data)
    return out


def render(f: SafetyFigures, sections: list[Table], files: list[tuple[str, str]]) -> bytes:
    """The unsigned PDF of the report: the same arguments give the same bytes."""
    path = font_path()
    tables = font_tables(path)
    data = _data(f, sections, files, tables)
    for text in _texts(data):
        check_coverage("the safety report", text, tables)
    fonts = typst.Fonts(
        include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(path.parent)]
    )
    if fonts.families() != [FONT_FAMILY]:
        raise ConfigurationError(f"The font folder {path.parent} must hold {FONT_FAMILY} only.")
    template = (
        resources.files("jukinet.reporting") / "templates" / "safety_report.typ"
    ).read_bytes()
    inputs = {"data": json.dumps(data, ensure_ascii=False)}
    try:
        result, warnings = typst.Compiler(
            input=template, font_paths=fonts, ignore_system_fonts=True
        ).compile_with_warnings(input=template, format="pdf", sys_inputs=inputs)
    except typst.TypstError as exc:
        raise RenderFailed(f"The report could not be typeset: {exc.message}") from exc
    if warnings:
        raise RenderFailed(f"The report could not be typeset as meant: {warnings[0].message}")
    if not isinstance(result, bytes):
        raise RenderFailed("The report could not be typeset: Typst gave no single PDF.")
    return result


def sign(pdf: bytes, signer: DocumentSigner, location: str) -> bytes:
    """``pdf`` with the national node's certifying signature appended (incremental)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name="Report",
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        location=location,
        reason=REASON,
    )
    out = signers.PdfSigner(meta, signer.pyhanko()).sign_pdf(writer)
    return bytes(out.getbuffer())


def load_signer(home: Path) -> DocumentSigner:
    """The national node's report-signing key and certificate (``network init`` makes them)."""
    if not (home / "document.key").exists():
        raise ConfigurationError(
            f"{home} holds no report-signing key (document.key): the national node of a "
            "network made with `jukinet network init` has one."
        )
    return DocumentSigner.load(home)
