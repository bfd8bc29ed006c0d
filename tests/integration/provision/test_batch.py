"""Batch proof-of-life (R24): per-row answers in input order, one provision row per
person provided, an empty and a refused batch.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from jukinet.domain.codes import generate_resident_code
from jukinet.errors import ProvisionRefused
from jukinet.nodes.identity import provision as pv
from tests.integration.provision.nodes import TABLE, Node


def test_batch_reports_per_row_in_input_order(
    national: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pv, "CHUNK", 3)  # several chunks, each sorted inside
    alive = [national.person() for _ in range(4)]
    dead = national.person(status="removed", change_reason="death", change_date=date(2025, 3, 1))
    unknown = generate_resident_code()
    bad_check = alive[0][:10] + str((int(alive[0][10]) + 1) % 10)
    lines = [
        "resident_code\n", f"{alive[3]}\n", "abc\n", f"{dead}\n", "\n",
        json.dumps({"resident_code": alive[1]}) + "\n", '{"resident_code": 1}\n',
        f"{bad_check}\n", f"{unknown}\n", f'"{alive[0]}"\n', "{not json\n",
        f"{alive[2]},x\n", f"{alive[3]}\n",
    ]  # fmt: skip
    rows = list(pv.batch(national.store, TABLE, "onkyu", "onkyu-entitlement", lines))
    assert [r.row for r in rows] == [2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13]
    assert [r.resident_code for r in rows] == [
        alive[3], None, dead, alive[1], None, None, unknown, alive[0], None, None, alive[3],
    ]  # fmt: skip
    errors = {r.row: r.error for r in rows if r.error}
    assert set(errors) == {3, 7, 8, 11, 12}
    assert "11 digits" in (errors[3] or "") and "check digit" in (errors[8] or "")
    assert all(e and e.startswith(f"row {n}:") for n, e in errors.items())
    by_code = {r.resident_code: r for r in rows if r.record is not None}
    assert by_code[dead].record is not None
    removal = {
        k: by_code[dead].record.fields[k] for k in ("status", "change_reason", "change_date")
    }
    assert removal == {"status": "removed", "change_reason": "death", "change_date": "2025-03-01"}
    assert not next(r for r in rows if r.resident_code == unknown).found
    # One provision row per person provided (alive[3] twice, in two chunks: twice).
    provided = national.provisions()
    assert sorted(r.resident_code for r in provided) == sorted(
        [alive[3], dead, alive[1], alive[0], alive[3]]
    )
    assert {r.request_id for r in provided} == {provided[0].request_id}
    assert {r.function for r in provided} == {"batch"}
    chunks = [e for e in national.audit() if e.operation == "provision.batch"]
    assert len(chunks) == 4  # 11 rows in chunks of 3


def test_a_death_reaches_the_pension_bodys_next_batch(national: Node) -> None:
    code = national.person()

    def status() -> dict[str, str]:
        (row,) = pv.batch(national.store, TABLE, "pension-fund", "national-pension-status",
                          [code])  # fmt: skip
        assert row.record is not None
        return {k: row.record.fields[k] for k in ("status", "change_reason", "change_date")}

    assert status()["status"] == "resident"
    national.apply({"resident_code": code, "status": "removed", "change_reason": "death",
                    "change_date": date(2026, 1, 15)})  # fmt: skip
    assert status() == {"status": "removed", "change_reason": "death", "change_date": "2026-01-15"}


def test_an_empty_or_refused_batch(national: Node) -> None:
    assert list(pv.batch(national.store, TABLE, "onkyu", "onkyu-entitlement", [])) == []
    assert national.audit()[-1].detail.endswith("empty batch")
    before = national.counts()
    with pytest.raises(ProvisionRefused):  # refused at the call, before any row
        pv.batch(national.store, TABLE, "mofa-passport", "passport-issuance", ["x"])
    assert national.counts() == (before[0], before[1] + 1)
