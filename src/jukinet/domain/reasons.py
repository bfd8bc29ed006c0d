"""Change reasons (異動事由) in their three families, as a data table.

The table is data, not code: a reason is looked up by its stable code. Each
reason says whether it can change identity information (R1), which later decides
whether an identity update leaves the municipality.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from jukinet.errors import InvalidInput


class Family(StrEnum):
    ENTRY = "entry"  # 記載
    REMOVAL = "removal"  # 消除
    CORRECTION = "correction"  # 修正


@dataclass(frozen=True, slots=True)
class ChangeReason:
    code: str
    name_ja: str
    name_en: str
    family: Family


_TABLE: tuple[ChangeReason, ...] = (
    # entry (記載)
    ChangeReason("birth", "出生", "birth", Family.ENTRY),
    ChangeReason("move-in", "転入", "domestic move-in", Family.ENTRY),
    ChangeReason("move-in-abroad", "国外転入", "move-in from abroad", Family.ENTRY),
    ChangeReason("ex-officio-entry", "職権記載", "ex officio entry", Family.ENTRY),
    # removal (消除)
    ChangeReason("move-out", "転出", "domestic move-out", Family.REMOVAL),
    ChangeReason("move-out-abroad", "国外転出", "move-out abroad", Family.REMOVAL),
    ChangeReason("death", "死亡", "death", Family.REMOVAL),
    ChangeReason("ex-officio-removal", "職権消除", "ex officio removal", Family.REMOVAL),
    # correction (修正)
    ChangeReason("move-within", "転居", "move within the municipality", Family.CORRECTION),
    ChangeReason("name-change", "氏名の変更", "name change", Family.CORRECTION),
    ChangeReason("minor-correction", "職権修正", "minor correction", Family.CORRECTION),
    ChangeReason("code-change", "住民票コードの変更", "resident code change", Family.CORRECTION),
    ChangeReason("household-split", "世帯分離", "household split", Family.CORRECTION),
    ChangeReason("household-merge", "世帯合併", "household merge", Family.CORRECTION),
    ChangeReason("head-change", "世帯主変更", "change of head of household", Family.CORRECTION),
    ChangeReason("address-indication", "住居表示の実施", "address renumbering", Family.CORRECTION),
)

REASONS: dict[str, ChangeReason] = {r.code: r for r in _TABLE}


def reason(code: str) -> ChangeReason:
    """The change reason with this code."""
    try:
        return REASONS[code]
    except KeyError:
        raise InvalidInput(f"There is no change reason {code!r}.") from None


def reasons_of(family: Family) -> list[ChangeReason]:
    return [r for r in _TABLE if r.family is family]
