"""What the safety report holds: the month and the rows of each section (R25; docs/report.md).

Plain frozen dataclasses; ``figures.compute`` fills them from the bundles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from jukinet.errors import InvalidInput

__all__ = [
    "JST",
    "TRAINING_VALID_DAYS",
    "Alert",
    "Block",
    "CosignGap",
    "CosignSummary",
    "Month",
    "Order",
    "Provision",
    "Refusal",
    "SafetyFigures",
    "Source",
    "Untrained",
]

JST = timezone(timedelta(hours=9), "JST")
# R13: training is current if it was on one of the 365 days up to the month's last day.
TRAINING_VALID_DAYS = 365


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        found = re.fullmatch(r"(\d{4})-(\d{2})", text)
        if found is None or not 1 <= int(found[2]) <= 12:
            raise InvalidInput(f"{text!r} is not a month: write it as YYYY-MM, e.g. 2026-11.")
        return cls(int(found[1]), int(found[2]))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=JST)

    @property
    def end(self) -> datetime:
        after = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return datetime(*after, 1, tzinfo=JST)

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    def holds(self, at: str) -> bool:
        return self.start <= datetime.fromisoformat(at) < self.end


@dataclass(frozen=True, slots=True, order=True)
class Source:
    """A bundle the report was made from: anyone can check they hold the same one."""

    node: str
    entries: int
    root: str
    in_month: int


@dataclass(frozen=True, slots=True, order=True)
class Provision:
    node: str
    recipient: str
    affair: str
    function: str
    calls: int
    persons: int


@dataclass(frozen=True, slots=True, order=True)
class Refusal:
    node: str
    operation: str
    reason: str
    count: int


@dataclass(frozen=True, slots=True, order=True)
class Alert:
    at: str
    reported_by: str
    rule: str
    key: str
    value: str
    count: str
    blocked_until: str


@dataclass(frozen=True, slots=True, order=True)
class Block:
    """A block of the hotlist confirmed or lifted by an operator of the national node."""

    at: str
    block_id: str
    action: str  # "block" or "lift"
    kind: str  # "address" or "node"
    subject: str
    until: str
    reason: str
    by: str


@dataclass(frozen=True, slots=True, order=True)
class Order:
    order_id: str
    action: str
    scope: str
    node: str
    role: str  # "issued" (the national node accepted it) or "obeyed"
    at: str
    signers: str


@dataclass(frozen=True, slots=True, order=True)
class CosignSummary:
    municipality: str
    checkpoints: int
    cosigned: int
    not_cosigned: int
    gaps: int
    entries_not_witnessed: int


@dataclass(frozen=True, slots=True, order=True)
class CosignGap:
    municipality: str
    first_seq: int
    last_seq: int
    since: str
    until: str
    checkpoints: int
    closed_later: bool


@dataclass(frozen=True, slots=True, order=True)
class Untrained:
    municipality: str
    operator: str
    last_training: str
    why: str


@dataclass(frozen=True, slots=True)
class SafetyFigures:
    month: Month
    sources: tuple[Source, ...]
    provisions: tuple[Provision, ...]
    refusals: tuple[Refusal, ...]
    alerts: tuple[Alert, ...]
    blocks: tuple[Block, ...]
    orders: tuple[Order, ...]
    cosign: tuple[CosignSummary, ...]
    gaps: tuple[CosignGap, ...]
    untrained: tuple[Untrained, ...]
    operators: int  # municipality operators known at the month's end
