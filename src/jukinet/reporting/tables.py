"""The report's sections as tables: one CSV file each, and the same rows in the PDF.

Each table has a file name, English column names (the CSV header, for programs) and
Japanese ones (the PDF, for readers), and rows of text. The CSV files are UTF-8 with
a byte-order mark, so that a spreadsheet opens them as UTF-8, with ``\\r\\n`` line ends
(RFC 4180); the same figures give the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

from jukinet.reporting.model import SafetyFigures

__all__ = ["Table", "csv_bytes", "sha256", "tables"]


@dataclass(frozen=True, slots=True)
class Table:
    file: str
    heading: str  # Japanese first, as the PDF prints it
    note: str
    columns: tuple[str, ...]
    labels: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def tables(f: SafetyFigures) -> list[Table]:
    """Every section of the report, in the order it prints."""
    return [
        Table(
            "provisions.csv",
            "1. 本人確認情報の提供（提供先・事務ごと）",
            "国の機関等に本人確認情報を提供した件数です。照会件数は受け付けた照会の数、"
            "提供人数はその照会で情報を提供した人の延べ数です。",
            ("node", "recipient", "affair", "function", "calls", "persons"),
            ("提供したノード", "提供先", "事務", "照会の種類", "照会件数", "提供人数"),
            tuple(
                (p.node, p.recipient, p.affair, p.function, str(p.calls), str(p.persons))
                for p in f.provisions
            ),
        ),
        Table(
            "refusals.csv",
            "2. 拒否した操作（理由ごと）",
            "規則に合わず、システムが断った操作の数です。何も変更されず、記録だけが残ります。",
            ("node", "operation", "reason", "count"),
            ("ノード", "操作", "理由（コード）", "件数"),
            tuple((r.node, r.operation, r.reason, str(r.count)) for r in f.refusals),
        ),
        Table(
            "ids_alerts.csv",
            "3. 不正アクセスの検知（警報と遮断）",
            "侵入検知の規則が出した警報です。遮断の終了欄がある行は、"
            "その送信元からの接続を自動で一時遮断したものです。",
            ("at_jst", "reported_by", "rule", "key", "value", "count", "blocked_until_jst"),
            (
                "日時（日本時間）",
                "報告したノード",
                "規則",
                "対象の種類",
                "対象",
                "回数",
                "遮断の終了",
            ),
            tuple(
                (a.at, a.reported_by, a.rule, a.key, a.value, a.count, a.blocked_until)
                for a in f.alerts
            ),
        ),
        Table(
            "ids_blocks.csv",
            "3の2. 運用者が確認した遮断（ホットリスト）",
            "全国センターの運用者が確認し、署名された名簿（ディレクトリ）で全ノードに"
            "知らせた遮断と、その解除です。遮断の終了を過ぎると、各ノードは自動で解除します。",
            ("at_jst", "block", "action", "kind", "subject", "until_jst", "reason", "by"),
            (
                "日時（日本時間）",
                "遮断番号",
                "内容",
                "対象の種類",
                "対象",
                "遮断の終了",
                "理由",
                "確認した運用者",
            ),
            tuple(
                (b.at, b.block_id, b.action, b.kind, b.subject, b.until, b.reason, b.by)
                for b in f.blocks
            ),
        ),
        Table(
            "emergency_orders.csv",
            "4. 緊急時の命令（発令と実行）",
            "全国センターが受け付けた緊急停止・切り離し・再開の命令と、"
            "それに従った各ノードの記録です。",
            ("order", "action", "scope", "node", "role", "at_jst", "signed_by"),
            ("命令番号", "内容", "範囲", "ノード", "発令／実行", "日時（日本時間）", "署名者"),
            tuple(
                (o.order_id, o.action, o.scope, o.node, o.role, o.at, o.signers) for o in f.orders
            ),
        ),
        Table(
            "cosignatures.csv",
            "5. 監査ログの連署（市区町村ごと）",
            "市区町村の監査ログの区切り（チェックポイント）に、都道府県が連署したかどうかです。"
            "連署のない区切りは、記録が書き換えられていないことを第三者が確かめていない部分です。",
            (
                "municipality",
                "checkpoints",
                "cosigned",
                "not_cosigned",
                "gaps",
                "entries_not_witnessed",
            ),
            ("市区町村", "区切りの数", "連署あり", "連署なし", "欠けの数", "連署のない記録の数"),
            tuple(
                (
                    c.municipality,
                    str(c.checkpoints),
                    str(c.cosigned),
                    str(c.not_cosigned),
                    str(c.gaps),
                    str(c.entries_not_witnessed),
                )
                for c in f.cosign
            ),
        ),
        Table(
            "cosignature_gaps.csv",
            "6. 連署の欠けた期間",
            "連署のない区切りが続いた期間です。「後で連署」が「いいえ」（CSVではno）の行は、"
            "バンドルの作成時点でまだ連署されていない期間です。",
            (
                "municipality",
                "first_entry",
                "last_entry",
                "since_jst",
                "until_jst",
                "checkpoints",
                "closed_later",
            ),
            (
                "市区町村",
                "最初の記録番号",
                "最後の記録番号",
                "開始（日本時間）",
                "終了（日本時間）",
                "区切りの数",
                "後で連署",
            ),
            tuple(
                (
                    g.municipality,
                    str(g.first_seq),
                    str(g.last_seq),
                    g.since,
                    g.until,
                    str(g.checkpoints),
                    _yes(g.closed_later),
                )
                for g in f.gaps
            ),
        ),
        Table(
            "operators_untrained.csv",
            "7. 有効な研修記録のない操作者",
            f"月末までの365日間に情報セキュリティ研修の記録がない操作者です"
            f"（月末時点の操作者 {f.operators} 人のうち）。",
            ("municipality", "operator", "last_training", "why"),
            ("市区町村", "操作者", "最後の研修日", "理由"),
            tuple((u.municipality, u.operator, u.last_training, u.why) for u in f.untrained),
        ),
        Table(
            "sources.csv",
            "8. この報告書の元になった監査バンドル",
            "各ノードの署名付きチェックポイントの記録数と根ハッシュです。"
            "同じバンドルから同じ数字が得られることを、これで確かめられます。",
            ("node", "entries", "root_sha256_base64", "entries_in_month"),
            ("ノード", "記録の数", "根ハッシュ（base64）", "対象月の記録"),
            tuple((s.node, str(s.entries), s.root, str(s.in_month)) for s in f.sources),
        ),
    ]


def csv_bytes(table: Table) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    return out.getvalue().encode("utf-8-sig")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
