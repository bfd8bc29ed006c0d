"""How records, households and reports look in the terminal."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from jukinet.domain.reasons import reason
from jukinet.domain.record import ResidentRecord
from jukinet.nodes.municipality.service import HouseholdView, Receipt
from jukinet.nodes.municipality.store import Version


def record_table(r: ResidentRecord) -> Table:
    t = Table(title=f"住民票 {r.name.full}", show_header=False, title_justify="left")
    t.add_column("field", style="bold")
    t.add_column("value")
    status = (
        "在籍 resident"
        if r.is_resident
        else (f"除票 removed: {reason(r.removal_reason or '').name_ja} {r.removal_date}")
    )
    rows = [
        ("状態 status", status),
        ("住民票コード code", r.resident_code),
        ("氏名 name", r.name.full),
        ("ふりがな reading", r.name.kana),
        ("生年月日 born", r.date_of_birth.isoformat()),
        ("性別 sex", r.sex.ja),
        ("世帯 household", str(r.household_id)),
        ("続柄 relationship", r.relationship),
        ("住所 address", r.address.text),
        ("本籍 domicile", r.domicile),
        ("筆頭者 domicile head", r.domicile_head),
        ("住民となった日 resident since", r.became_resident_on.isoformat()),
        ("住所を定めた日 address fixed", r.address_fixed_on.isoformat()),
        ("届出日 notified", r.notified_on.isoformat()),
        ("前住所 previous address", r.previous_address or "—"),
        ("記載事由 entry", f"{reason(r.entry_reason).name_ja} {r.entry_date}"),
    ]
    if r.destination:
        rows.append(("転出先 destination", r.destination))
    rows.append(("版 version", str(r.version)))
    for k, v in rows:
        t.add_row(k, v)
    return t


def history_lines(versions: list[Version]) -> list[Text]:
    """Every version, oldest first: what changed it, then the record as it stood."""
    lines: list[Text] = []
    for v in versions:
        r = v.record
        lines.append(
            Text.assemble(
                (f"v{r.version} ", "bold"),
                f"{v.occurred_on}  {reason(v.reason).name_ja} ({v.reason}), "
                f"event {v.event_id}, recorded {v.recorded_at[:19]} by {v.operator}",
            )
        )
        status = "resident" if r.is_resident else f"removed {r.removal_date}"
        lines.append(
            Text(
                f"    {r.resident_code}  {r.name.full} ({r.name.kana})  {r.date_of_birth}  "
                f"{r.sex.ja}  household {r.household_id} {r.relationship}  "
                f"{r.address.text}  {status}"
            )
        )
    return lines


def household_table(view: HouseholdView) -> Table:
    h = view.household
    state = f"dissolved {h.dissolved_on}" if h.dissolved_on else "active"
    t = Table(title=f"世帯 {h.household_id} — {h.address.text} ({state})", title_justify="left")
    for col in ("code", "name", "reading", "born", "sex", "relationship"):
        t.add_column(col)
    for m in view.members:
        t.add_row(
            m.resident_code, m.name.full, m.name.kana, m.date_of_birth.isoformat(), m.sex.ja,
            m.relationship,
        )  # fmt: skip
    return t


def receipt_lines(receipt: Receipt) -> list[str]:
    lines = [
        f"Recorded event {receipt.event_id}: {reason(receipt.reason).name_ja} ({receipt.kind})."
    ]
    for r in receipt.records:
        lines.append(
            f"  {r.resident_code}  {r.name.full}  household {r.household_id}  "
            f"{r.relationship}  {r.status.value}"
        )
    for code in receipt.retired_codes:
        lines.append(f"  retired code {code} (never reissued)")
    return lines
