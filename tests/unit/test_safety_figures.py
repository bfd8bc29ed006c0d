"""The safety report's figures from real audit bundles (R25, R7, R9, R12, R13;
docs/report.md): logs made with the real audit-log code on in-memory SQLite, their
times set by the log's clock, exported with ``audit.bundle.export``."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, create_engine

from jukinet.audit import bundle, checkpoints, cosigning
from jukinet.audit import log as audit
from jukinet.audit.log import Draft, Outcome
from jukinet.audit.tables import audit_tables
from jukinet.errors import BundleRefused, InvalidInput
from jukinet.keys import NodeKey
from jukinet.network.messages_hotlist import HotlistEntry
from jukinet.nodes.runtime import hotlist_draft
from jukinet.reporting import bundles
from jukinet.reporting.figures import compute
from jukinet.reporting.model import (
    Alert,
    Block,
    CosignGap,
    CosignSummary,
    Month,
    Order,
    Provision,
    Refusal,
    Untrained,
)
from jukinet.reporting.tables import csv_bytes, tables

NOV = Month(2026, 11)
BEFORE = "2026-10-31T14:59:59.000000+00:00"  # 23:59:59 JST on 31 October
FIRST = "2026-10-31T15:00:00.000000+00:00"  # 00:00 JST on 1 November
MID = "2026-11-15T03:00:00.000000+00:00"
LAST = "2026-11-30T14:59:59.000000+00:00"  # 23:59:59 JST on 30 November
AFTER = "2026-11-30T15:00:00.000000+00:00"  # 00:00 JST on 1 December


class Node:
    """One node's real audit log (tables, signed head, tree, checkpoints)."""

    def __init__(self, kind: str, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.kind, self.code, self.patch = kind, code, monkeypatch
        self.key = NodeKey.generate()
        self.engine: Engine = create_engine("sqlite://")
        metadata = MetaData()
        audit_tables(metadata)
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            audit.start(conn, self.key)

    @property
    def origin(self) -> str:
        return checkpoints.origin(self.kind, self.code)

    def add(self, at: str, *drafts: Draft) -> None:
        self.patch.setattr(audit, "now", lambda: at)
        with self.engine.begin() as conn:
            audit.append(conn, self.key, self.code, drafts)

    def checkpoint(self, at: str) -> checkpoints.Stored:
        self.patch.setattr(audit, "now", lambda: at)
        with self.engine.begin() as conn:
            return checkpoints.make(conn, self.key, self.origin)

    def export(self, out: Path, at: str = AFTER) -> Path:
        self.patch.setattr(audit, "now", lambda: at)
        with self.engine.begin() as conn:
            bundle.export(conn, self.key, self.origin, out)
        return out


def cosign(prefecture: Node, municipality: Node, made: checkpoints.Stored, previous: int) -> None:
    """The prefecture's real witness check and cosignature, kept beside the checkpoint."""
    with municipality.engine.begin() as conn:
        proof = checkpoints.consistency(conn, previous, made.size) if previous else []
    request = cosigning.Request(made.note, previous, [base64.b64encode(h).decode() for h in proof])
    with prefecture.engine.begin() as conn:
        line = cosigning.cosign(
            conn, prefecture.key, checkpoints.witness_name(prefecture.code),
            municipality.origin, municipality.key.public, request, now=1_795_000_000,
        )  # fmt: skip
    with municipality.engine.begin() as conn:
        checkpoints.add_cosignatures(conn, made.size, line)


def provision(recipient: str, affair: str, function: str, rows: int) -> Draft:
    seal = f"; rows {rows} at {MID} sha256 {'0' * 64}" if rows else ""
    return Draft("agency:mofa-passport", f"provision.{function}", f"{recipient}/{affair}",
                 detail=f"request {'a' * 32}: provided {rows}{seal}")  # fmt: skip


def alert(rule: str, value: str, blocked: str | None) -> Draft:
    body = {"at": MID, "rule": rule, "key": "source.ip", "value": value, "count": 5.0,
            "reason": "", "source_ip": value, "blocked_until": blocked}  # fmt: skip
    return Draft("municipality:131016", "ids.alert", rule, detail=json.dumps(body))


def hotlist(change: str, lifted: bool = False) -> Draft:
    """The entry the national node writes for a hotlist change (the real function)."""
    entry = HotlistEntry(
        id="b-1", kind="address", subject="10.0.0.9", reason="burst of bad signatures, 5 in 60 s",
        since=datetime(2026, 11, 15, 3, tzinfo=UTC), until=datetime(2026, 11, 16, 3, tzinfo=UTC),
        confirmed_by="operator-1", lifted_at=datetime(2026, 11, 15, 4, tzinfo=UTC) if lifted
        else None, lifted_by="operator-2" if lifted else None,
    )  # fmt: skip
    return hotlist_draft(change, entry, 8)


@pytest.fixture
def network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    national = Node("national", "000000", monkeypatch)
    tokyo = Node("prefecture", "130001", monkeypatch)
    chiyoda = Node("municipality", "131016", monkeypatch)
    national.add(BEFORE, provision("mofa", "passport", "lookup", 1))  # October: not counted
    national.add(FIRST, provision("mofa", "passport", "lookup", 1),
                 provision("mofa", "passport", "batch", 250))  # fmt: skip
    national.add(MID, provision("mofa", "passport", "lookup", 0),  # not found: a call, 0 persons
                 Draft("agency:x", "provision.lookup", "unknown-affair", Outcome.REFUSED,
                       "provision-refused: The affair is not in the table."),
                 alert("auth-failures", "10.0.0.9", "2026-11-15T03:10:00+00:00"),
                 alert("off-hours", "agency:x", None),
                 hotlist("block"), hotlist("block"),  # accepted, then obeyed: counted once
                 hotlist("lift", lifted=True),
                 Draft("operator:a,b", "emergency.isolate", "municipality:131016",
                       detail="order o-1: isolate municipality:131016, signed by a, directory "
                              "version 7"))  # fmt: skip
    national.add(AFTER, provision("mofa", "passport", "lookup", 1))  # December: not counted
    tokyo.add(LAST, provision("pension", "pension", "search", 3),
              Draft("municipality:131016", "audit.cosign", chiyoda.origin, Outcome.REFUSED,
                    "checkpoint-refused: rewrote its audit history"))  # fmt: skip
    chiyoda.add(BEFORE, Draft("system", "operator.add", "admin",
                              detail="role administrator; administrator; trained_on=2025-12-01, "
                                     "pledge_signed_on=2025-12-01"))  # fmt: skip
    chiyoda.add(FIRST, Draft("operator:admin", "operator.add", "clerk",
                             detail="role clerk; inactive; trained_on=None, pledge_signed_on=None"),
                Draft("operator:admin", "operator.add", "old",
                      detail="role clerk; active; trained_on=2025-11-30, "
                             "pledge_signed_on=2025-11-30"))  # fmt: skip
    first = chiyoda.checkpoint(FIRST)  # size 3: cosigned
    cosign(tokyo, chiyoda, first, 0)
    chiyoda.add(MID, Draft("operator:clerk", "resident.show", "x", Outcome.REFUSED,
                           "account-inactive: no training"))  # fmt: skip
    chiyoda.checkpoint(MID)  # size 4: the prefecture was down, never cosigned
    chiyoda.add(MID, Draft("operator:admin", "operator.training", "old",
                           detail="trained_on=2026-11-15"),
                Draft("operator:a,b", "emergency.isolate", "municipality:131016",
                      detail="order o-1: isolate municipality:131016, signed by a, accepted "
                             "2026-11-15T03:00:00+00:00, directory version 7"))  # fmt: skip
    third = chiyoda.checkpoint(LAST)  # size 6: cosigned, closes the gap
    cosign(tokyo, chiyoda, third, first.size)
    chiyoda.add(LAST, Draft("operator:admin", "resident.show", "y"))  # after it: unwitnessed
    yield [
        national.export(tmp_path / "n"), tokyo.export(tmp_path / "p"),
        chiyoda.export(tmp_path / "m"),
    ]  # fmt: skip


def test_provisions_per_recipient_affair_and_function_count_the_month_in_japan_time(
    network: list[Path],
) -> None:
    f = compute(bundles.load_all(network), NOV)
    assert f.provisions == (
        Provision("national:000000", "mofa", "passport", "batch", 1, 250),
        Provision("national:000000", "mofa", "passport", "lookup", 2, 1),
        Provision("prefecture:130001", "pension", "pension", "search", 1, 3),
    )


def test_refusals_are_grouped_by_node_operation_and_reason(network: list[Path]) -> None:
    f = compute(bundles.load_all(network), NOV)
    assert f.refusals == (
        Refusal("municipality:131016", "resident.show", "account-inactive", 1),
        Refusal("national:000000", "provision.lookup", "provision-refused", 1),
        Refusal("prefecture:130001", "audit.cosign", "checkpoint-refused", 1),
    )


def test_ids_alerts_and_blocks_come_from_the_national_log_in_japan_time(
    network: list[Path],
) -> None:
    f = compute(bundles.load_all(network), NOV)
    assert f.alerts == (
        Alert("2026-11-15 12:00:00", "municipality:131016", "auth-failures", "source.ip",
              "10.0.0.9", "5", "2026-11-15 12:10:00"),
        Alert("2026-11-15 12:00:00", "municipality:131016", "off-hours", "source.ip",
              "agency:x", "5", ""),
    )  # fmt: skip
    reason = "burst of bad signatures, 5 in 60 s"
    assert f.blocks == (
        Block("2026-11-15 12:00:00", "b-1", "block", "address", "10.0.0.9",
              "2026-11-16 12:00:00", reason, "operator-1"),
        Block("2026-11-15 12:00:00", "b-1", "lift", "address", "10.0.0.9",
              "2026-11-16 12:00:00", reason, "operator-2"),
    )  # fmt: skip


def test_an_emergency_order_is_issued_at_national_and_obeyed_per_node(
    network: list[Path],
) -> None:
    f = compute(bundles.load_all(network), NOV)
    assert f.orders == (
        Order("o-1", "isolate", "municipality:131016", "municipality:131016", "obeyed",
              "2026-11-15 12:00:00", "a"),
        Order("o-1", "isolate", "municipality:131016", "national:000000", "issued",
              "2026-11-15 12:00:00", "a"),
    )  # fmt: skip


def test_an_uncosigned_checkpoint_and_the_entries_after_the_last_cosigned_one_are_gaps(
    network: list[Path],
) -> None:
    f = compute(bundles.load_all(network), NOV)
    # checkpoints 3 (cosigned), 4 (not), 6 (cosigned), 7 (the export's, not yet)
    assert f.cosign == (CosignSummary("municipality:131016", 4, 2, 2, 2, 1),)
    assert f.gaps == (
        CosignGap("municipality:131016", 4, 4, "2026-11-15 12:00:00", "2026-11-15 12:00:00",
                  1, True),
        CosignGap("municipality:131016", 7, 7, "2026-11-30 23:59:59", "2026-11-30 23:59:59",
                  1, False),
    )  # fmt: skip


def test_operators_without_training_in_the_365_days_up_to_the_months_end(
    network: list[Path],
) -> None:
    f = compute(bundles.load_all(network), NOV)
    # admin: 2025-12-01 is day 365 before 30 November: current. old: retrained in November.
    assert f.untrained == (Untrained("municipality:131016", "clerk", "", "no training recorded"),)
    assert f.operators == 3
    december = compute(bundles.load_all(network), Month(2026, 12))
    assert [(u.operator, u.why) for u in december.untrained] == [
        ("admin", "training older than 365 days"), ("clerk", "no training recorded"),
    ]  # fmt: skip


def test_the_same_bundles_give_the_same_csv_bytes(network: list[Path]) -> None:
    one = [csv_bytes(t) for t in tables(compute(bundles.load_all(network), NOV))]
    two = [csv_bytes(t) for t in tables(compute(bundles.load_all(network), NOV))]
    assert one == two
    assert one[0].decode("utf-8-sig").splitlines()[1] == (
        "national:000000,mofa,passport,batch,1,250"
    )


def test_a_bundle_with_one_changed_byte_is_refused_naming_the_problem(
    network: list[Path],
) -> None:
    entries = network[0] / "entries.jsonl"
    data = entries.read_bytes()
    assert b"mofa/passport" in data
    entries.write_bytes(data.replace(b"mofa/passport", b"mofa/passpore", 1))
    with pytest.raises(BundleRefused, match="does not hold: the entries do not make the tree"):
        bundles.load_all(network)


def test_the_report_needs_the_national_bundle_and_each_municipalitys_prefecture(
    network: list[Path],
) -> None:
    with pytest.raises(BundleRefused, match="national node's audit bundle"):
        bundles.load_all(network[1:])
    with pytest.raises(BundleRefused, match="give the bundle of prefecture:130001"):
        compute(bundles.load_all([network[0], network[2]]), NOV)
    with pytest.raises(BundleRefused, match="are both bundles of national:000000"):
        bundles.load_all([network[0], network[0]])


def test_a_month_is_written_yyyy_mm() -> None:
    assert Month.parse("2026-11") == NOV
    for bad in ("2026-13", "11-2026", "2026/11"):
        with pytest.raises(InvalidInput, match="YYYY-MM"):
            Month.parse(bad)
