"""The figures of the safety report, from verified audit bundles only (R25; docs/report.md).

Pure computation over ``NodeBundle``: no database, no clock, no node. The month is a
calendar month in Japan time (JST, UTC+9), as the committee reads it; entries carry
UTC times. Every list is sorted, so the same bundles give the same figures.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from jukinet.audit.log import Entry, Outcome
from jukinet.audit.note import NoteError, cosigned_at
from jukinet.domain.codes import LocalGovernmentCode, prefecture_code_of
from jukinet.errors import BundleRefused
from jukinet.reporting.bundles import NodeBundle
from jukinet.reporting.model import (
    JST,
    TRAINING_VALID_DAYS,
    Alert,
    Block,
    CosignGap,
    CosignSummary,
    Month,
    Order,
    Provision,
    Refusal,
    SafetyFigures,
    Source,
    Untrained,
)

__all__ = ["compute"]

_SEAL_ROWS = re.compile(r"; rows (\d+) at ")
_REASON = re.compile(r"^([a-z0-9][a-z0-9-]*): ")
_ORDER = re.compile(r"^order (\S+): (\S+) (\S+), signed by ([^,]+(?:,[^,\s]+)*)")
_BLOCK = re.compile(r"^block (\S+): (block|lift) (\S+) (\S+) until (\S+), (.*), by (\S+), "
                    r"directory version \d+$")  # fmt: skip
_TRAINED = re.compile(r"trained_on=(\d{4}-\d{2}-\d{2}|None)")


def _time(at: str) -> datetime:
    return datetime.fromisoformat(at)


def _jst(at: str) -> str:
    """An entry's time as the report prints it: JST, to the second."""
    return _time(at).astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")


def _in(b: NodeBundle, month: Month) -> list[Entry]:
    return [e for e in b.entries if month.holds(e.at)]


def _provisions(bundles: Sequence[NodeBundle], month: Month) -> list[Provision]:
    calls: Counter[tuple[str, str, str, str]] = Counter()
    persons: Counter[tuple[str, str, str, str]] = Counter()
    for b in bundles:
        for e in _in(b, month):
            if not e.operation.startswith("provision.") or e.outcome != Outcome.OK:
                continue
            recipient, _, affair = e.target.partition("/")
            key = (b.node_id, recipient, affair, e.operation.removeprefix("provision."))
            calls[key] += 1
            persons[key] += sum(int(n) for n in _SEAL_ROWS.findall(e.detail))
    return sorted(Provision(*k, calls[k], persons[k]) for k in calls)


def _refusals(bundles: Sequence[NodeBundle], month: Month) -> list[Refusal]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for b in bundles:
        for e in _in(b, month):
            if e.outcome == Outcome.OK:
                continue
            found = _REASON.match(e.detail)
            reason = found[1] if found else (e.detail[:60] or e.outcome)
            counts[(b.node_id, e.operation, reason)] += 1
    return sorted(Refusal(*k, n) for k, n in counts.items())


def _alerts(national: NodeBundle, month: Month) -> list[Alert]:
    out = []
    for e in _in(national, month):
        if e.operation != "ids.alert" or e.outcome != Outcome.OK:
            continue
        try:
            a = json.loads(e.detail)
            at = _jst(str(a["at"]))
            until = _jst(str(a["blocked_until"])) if a.get("blocked_until") else ""
            out.append(Alert(at, e.actor, e.target, str(a["key"]), str(a["value"]),
                             f"{float(a['count']):g}", until))  # fmt: skip
        except (ValueError, KeyError, TypeError):
            raise BundleRefused(
                f"Entry {e.seq} of {national.node_id} is an IDS alert the report cannot read."
            ) from None
    return sorted(out)


def _blocks(national: NodeBundle, month: Month) -> list[Block]:
    """The hotlist's changes as the national node accepted them: the first entry of each
    (block id, action); the national node also audits taking its own directory."""
    seen: dict[tuple[str, str], Block] = {}
    for e in _in(national, month):
        if e.operation not in ("ids.block", "ids.lift") or e.outcome != Outcome.OK:
            continue
        found = _BLOCK.match(e.detail)
        if found is None:
            raise BundleRefused(
                f"Entry {e.seq} of {national.node_id} is a hotlist change the report cannot read."
            )
        block_id, action, kind, subject, until, reason, by = found.groups()
        seen.setdefault((block_id, action),
                        Block(_jst(e.at), block_id, action, kind, subject, _jst(until), reason,
                              by))  # fmt: skip
    return sorted(seen.values())


def _orders(bundles: Sequence[NodeBundle], month: Month) -> list[Order]:
    out = []
    for b in bundles:
        for e in _in(b, month):
            if not e.operation.startswith("emergency.") or e.outcome != Outcome.OK:
                continue
            found = _ORDER.match(e.detail)
            order_id, signers = (found[1], found[4]) if found else ("?", "")
            role = "issued" if b.kind == "national" else "obeyed"
            action = e.operation.removeprefix("emergency.")
            out.append(Order(order_id, action, e.target, b.node_id, role, _jst(e.at), signers))
    return sorted(out)


def _cosignatures(
    bundles: Sequence[NodeBundle], month: Month
) -> tuple[list[CosignSummary], list[CosignGap]]:
    prefectures = {b.code: b for b in bundles if b.kind == "prefecture"}
    summaries, gaps = [], []
    for b in bundles:
        if b.kind != "municipality":
            continue
        prefecture = prefectures.get(_prefecture_of(b.code))
        if prefecture is None:
            raise BundleRefused(
                f"The cosignatures of {b.node_id} are checked with its prefecture's key: "
                f"give the bundle of prefecture:{_prefecture_of(b.code)} too."
            )
        witness = f"jukinet/prefecture/{prefecture.code}/witness"
        marks: list[tuple[int, bool]] = []
        for size, note in b.checkpoints:
            try:
                marks.append((size, cosigned_at(note, witness, prefecture.public) is not None))
            except NoteError:
                marks.append((size, False))
        at = {e.seq: e.at for e in b.entries}
        in_month = [(s, c) for s, c in marks if s > 0 and month.holds(at[s])]
        runs: list[tuple[int, list[int], bool]] = []
        last_cosigned, run = 0, list[int]()
        for size, cosigned in marks:
            if cosigned:
                if run:
                    runs.append((last_cosigned, run, True))
                    run = []
                last_cosigned = size
            else:
                run.append(size)
        if run:
            runs.append((last_cosigned, run, False))
        count = 0
        for before, sizes, closed in runs:
            first, last = before + 1, sizes[-1]
            if first > last or not (
                _time(at[first]) < month.end and _time(at[last]) >= month.start
            ):
                continue
            count += 1
            gaps.append(CosignGap(b.node_id, first, last, _jst(at[first]), _jst(at[last]),
                                  len(sizes), closed))  # fmt: skip
        unwitnessed = sum(1 for e in _in(b, month) if e.seq > last_cosigned)
        cosigned_n = sum(1 for _, c in in_month if c)
        summaries.append(CosignSummary(b.node_id, len(in_month), cosigned_n,
                                       len(in_month) - cosigned_n, count, unwitnessed))  # fmt: skip
    return sorted(summaries), sorted(gaps)


def _prefecture_of(code: str) -> str:
    return str(prefecture_code_of(LocalGovernmentCode(code)))


def _untrained(bundles: Sequence[NodeBundle], month: Month) -> tuple[list[Untrained], int]:
    out, known = [], 0
    oldest = month.last_day - timedelta(days=TRAINING_VALID_DAYS - 1)
    for b in bundles:
        if b.kind != "municipality":
            continue
        trained: dict[str, date | None] = {}
        for e in b.entries:
            if _time(e.at) >= month.end or e.outcome != Outcome.OK:
                continue
            if e.operation not in ("operator.add", "operator.training"):
                continue
            found = _TRAINED.search(e.detail)
            day = date.fromisoformat(found[1]) if found and found[1] != "None" else None
            if e.operation == "operator.add" or day is not None:
                trained[e.target] = day  # the newest record wins
        known += len(trained)
        for name, day in trained.items():
            if day is None:
                out.append(Untrained(b.node_id, name, "", "no training recorded"))
            elif day > month.last_day:
                out.append(Untrained(b.node_id, name, day.isoformat(), "trained after the month"))
            elif day < oldest:
                out.append(
                    Untrained(b.node_id, name, day.isoformat(), "training older than 365 days")
                )
    return sorted(out), known


def compute(bundles: Sequence[NodeBundle], month: Month) -> SafetyFigures:
    """Every figure of the report for ``month``, from ``bundles`` (``bundles.load_all``)."""
    national = next(b for b in bundles if b.kind == "national")
    sources = [Source(b.node_id, b.size, b.root, len(_in(b, month))) for b in bundles]
    cosign, gaps = _cosignatures(bundles, month)
    untrained, known = _untrained(bundles, month)
    return SafetyFigures(
        month=month,
        sources=tuple(sources),
        provisions=tuple(_provisions(bundles, month)),
        refusals=tuple(_refusals(bundles, month)),
        alerts=tuple(_alerts(national, month)),
        blocks=tuple(_blocks(national, month)),
        orders=tuple(_orders(bundles, month)),
        cosign=tuple(cosign),
        gaps=tuple(gaps),
        untrained=tuple(untrained),
        operators=known,
    )
